import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemcacheFramer, commandWord, parseI32, parseMemcacheCommand, parseU32, tokenize, validKey, type MemcacheFrame } from '../../src/memcache/framer.js';

function frameAll(input: Buffer, splits: number[] = [], options = {}): MemcacheFrame[] {
  const framer = new MemcacheFramer(options);
  const out: MemcacheFrame[] = [];
  let at = 0;
  for (const s of [...splits, input.length]) {
    framer.push(input.subarray(at, s));
    for (let f = framer.next(); f !== null; f = framer.next()) out.push(f);
    at = s;
  }
  return out;
}

function show(frames: MemcacheFrame[]): string[] {
  return frames.map((f) => {
    if (f.type === 'error') return `FATAL ${f.reply.toString().trim()}`;
    const words = f.args.map(String).join(' ');
    if (f.error !== undefined) return `${words} => ${f.error.toString().trim() || '(quiet)'}`;
    return f.data === null ? words : `${words} [${f.data.toString('latin1')}]`;
  });
}

const STREAM = Buffer.from(
  'set k 0 0 5\r\nhello\r\n' +
    'get k  other\r\n' +
    'append k 0 0 3 noreply\r\n!!!\r\n' +
    'cas k 1 60 2 77\r\nhi\r\n' +
    'set k 0 0 3\r\nabcde\r\n' + // bad data chunk ("abcde" read as the block); the "\r\n" left is an empty line
    'delete k\n' +
    'set k 0 0 2\r\n\r\n\r\n',
);
const EXPECTED = [
  'set k 0 0 5 [hello]',
  'get k other',
  'append k 0 0 3 noreply [!!!]',
  'cas k 1 60 2 77 [hi]',
  'set k 0 0 3 => CLIENT_ERROR bad data chunk',
  '\r', // as memcached: a 1-byte line keeps its \r (answered ERROR)
  'delete k',
  'set k 0 0 2 [\r\n]',
];

describe('MemcacheFramer', () => {
  it('frames command lines and data blocks, checking the block terminator', () => {
    expect(show(frameAll(STREAM))).toEqual(EXPECTED);
  });

  it('gives the same frames byte by byte and for any split', () => {
    expect(
      show(
        frameAll(
          STREAM,
          Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1),
        ),
      ),
    ).toEqual(EXPECTED);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 15 }), (cuts) => {
        expect(
          show(
            frameAll(
              STREAM,
              [...cuts].sort((a, b) => a - b),
            ),
          ),
        ).toEqual(EXPECTED);
      }),
    );
  });

  it('keeps raw as the exact bytes of each command', () => {
    const frames = frameAll(STREAM);
    expect(frames.map((f) => (f.type === 'command' ? f.raw.toString('latin1') : '')).join('')).toBe(STREAM.toString('latin1'));
  });

  it('answers bad storage lines like memcached 1.6: a line refused on its own reads no block', () => {
    const input = Buffer.from(
      'set k 0 0\r\n' + // wrong word count: ERROR, nothing skipped
        'set k 0 0 x\r\n' + // unreadable length: CLIENT_ERROR, nothing skipped
        'set k 0 0 -1 noreply\r\n' + // negative length, quiet under noreply
        `set ${'k'.repeat(251)} 0 0 3\r\nabc\r\n` + // key too long: CLIENT_ERROR, the block is the next line
        'set k abc 0 3\r\nabc\r\n' +
        'set k 0 x 3 noreply\r\nabc\r\n' + // bad exptime, quiet under noreply
        'set k\x01 0 0 3\r\nabc\r\n' + // a key memcached takes and cairn refuses: its block is skipped
        'get k\r\n',
      'latin1',
    );
    expect(show(frameAll(input))).toEqual([
      'set k 0 0 => ERROR',
      'set k 0 0 x => CLIENT_ERROR bad command line format',
      'set k 0 0 -1 noreply => (quiet)',
      `set ${'k'.repeat(251)} 0 0 3 => CLIENT_ERROR bad command line format`,
      'abc',
      'set k abc 0 3 => CLIENT_ERROR bad command line format',
      'abc',
      'set k 0 x 3 noreply => (quiet)',
      'abc',
      'set k\x01 0 0 3 => CLIENT_ERROR bad command line format',
      'get k',
    ]);
  });

  it('skips a too-large value as it arrives and carries on', () => {
    const big = Buffer.alloc(5000, 0x61);
    const input = Buffer.concat([Buffer.from('set k 0 0 5000\r\n'), big, Buffer.from('\r\nget k\r\n')]);
    const framer = new MemcacheFramer({ maxValueSize: 1000 });
    const frames: MemcacheFrame[] = [];
    for (let at = 0; at < input.length; at += 700) {
      framer.push(input.subarray(at, at + 700));
      for (let f = framer.next(); f !== null; f = framer.next()) frames.push(f);
      expect(framer.buffered).toBeLessThan(1500);
    }
    expect(show(frames)).toEqual(['set k 0 0 5000 => SERVER_ERROR object too large for cache', 'get k']);
    expect(frames[0].type === 'command' && frames[0].tooLarge).toBe(true);
  });

  it('closes on a line longer than 2048 bytes, except a long get', () => {
    expect(show(frameAll(Buffer.alloc(3000, 0x61)))).toEqual(['FATAL CLIENT_ERROR line too long']);
    const keys = Array.from({ length: 400 }, (_, i) => `key${i}`).join(' ');
    expect(show(frameAll(Buffer.from(`get ${keys}\r\n`), [2500]))).toEqual([`get ${keys}`]);
    expect(show(frameAll(Buffer.from(`get ${keys}`), [], { maxGetLineLength: 1000 }))).toEqual(['FATAL CLIENT_ERROR line too long']);
  });

  it('never throws and holds bounded memory on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 20 }), (chunks) => {
        const framer = new MemcacheFramer({ maxValueSize: 512, maxGetLineLength: 4096 });
        for (const c of chunks) {
          framer.push(Buffer.from(c));
          for (let f = framer.next(); f !== null; f = framer.next());
          expect(framer.buffered).toBeLessThanOrEqual(4096 + 400);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('memcached helpers', () => {
  it('tokenizes on spaces and validates keys', () => {
    expect(tokenize(Buffer.from('  get  a b ')).map(String)).toEqual(['get', 'a', 'b']);
    expect(validKey(Buffer.from('a'.repeat(250)))).toBe(true);
    expect(validKey(Buffer.from('a'.repeat(251)))).toBe(false);
    expect(validKey(Buffer.from('a\x01b'))).toBe(false);
    expect(validKey(Buffer.from('a\x7fb'))).toBe(false);
  });

  it('reads flags, exptime and byte counts as strtoul and strtol do in memcached', () => {
    // the reference: a strict decimal token, then a range check (as the parsers did with strings)
    const refU32 = (s: string): number | null => {
      if (s.length === 0 || s.length > 21 || !/^\+?[0-9]+$/.test(s)) return null;
      const v = BigInt(s.replace('+', ''));
      return v > 0xffffffffn ? null : Number(v);
    };
    const refI32 = (s: string): number | null => {
      if (s.length === 0 || s.length > 12 || !/^[+-]?[0-9]+$/.test(s)) return null;
      const v = Number(s);
      return v < -2147483648 || v > 2147483647 ? null : v;
    };
    const token = fc.oneof(
      fc.stringMatching(/^[+-]?0{0,20}[0-9]{0,12}$/),
      fc.constantFrom(
        '4294967295',
        '4294967296',
        '2147483647',
        '2147483648',
        '-2147483648',
        '-2147483649',
        '+',
        '-',
        '',
        '1a',
        '٣',
        '00000000000000000004294967295',
        '-0',
      ),
    );
    fc.assert(
      fc.property(token, (s) => {
        expect(parseU32(Buffer.from(s))).toBe(refU32(s));
        expect(parseI32(Buffer.from(s))).toBe(refI32(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('names command words byte for byte, case-sensitively', () => {
    for (const word of ['get', 'set', 'gets', 'GET', 'Set', 'gex', 'ge', 'delete', 'g\xe5t', 's\x05t']) {
      expect(commandWord(Buffer.from(word, 'latin1'))).toBe(word);
    }
  });

  it('parses forwarded commands', () => {
    const c = parseMemcacheCommand(Buffer.from('set k 1 2 3 noreply\r\nabc\r\n'))!;
    expect([c.args.map(String), c.data?.toString(), c.noreply]).toEqual([['set', 'k', '1', '2', '3', 'noreply'], 'abc', true]);
    expect(parseMemcacheCommand(Buffer.from('set k 1 2 3\r\nab'))).toBeNull();
  });
});

describe('MemcacheFramer: a long line arriving in many small chunks is framed in linear time', () => {
  it('a 1 MB get line in 1 KB chunks costs at most 4 units of work per byte', () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `key:${i}`);
    const input = Buffer.from(`get ${keys.join(' ')}\r\n`);
    expect(input.length).toBeLessThan(1024 * 1024);
    const framer = new MemcacheFramer();
    const frames: MemcacheFrame[] = [];
    for (let at = 0; at < input.length; at += 1024) {
      framer.push(input.subarray(at, at + 1024));
      for (let f = framer.next(); f !== null; f = framer.next()) frames.push(f);
      const fed = Math.min(input.length, at + 1024);
      expect(framer.work, `framing work after ${fed} of ${input.length} bytes`).toBeLessThanOrEqual(4 * fed + 1024);
    }
    expect(framer.work).toBeGreaterThanOrEqual(input.length);
    expect(frames).toHaveLength(1);
    const f = frames[0];
    expect(f.type === 'command' && f.args.length).toBe(keys.length + 1);
    expect(f.type === 'command' && f.raw.equals(input)).toBe(true);
  });
});
