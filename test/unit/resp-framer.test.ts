import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RespFramer, parseRespCommand, parseRespCommands, splitArgs, type RespFrame } from '../../src/resp/framer.js';

function drain(framer: RespFramer): RespFrame[] {
  const out: RespFrame[] = [];
  for (let f = framer.next(); f !== null; f = framer.next()) out.push(f);
  return out;
}

function frameAll(input: Buffer, splits: number[] = [], options = {}): RespFrame[] {
  const framer = new RespFramer(options);
  const out: RespFrame[] = [];
  let at = 0;
  for (const s of [...splits, input.length]) {
    framer.push(input.subarray(at, s));
    out.push(...drain(framer));
    at = s;
  }
  return out;
}

function texts(frames: RespFrame[]): (string[] | string)[] {
  return frames.map((f) => (f.type === 'command' ? f.args.map((a) => a.toString('latin1')) : `ERR:${f.reply.toString()}`));
}

const PIPELINE = Buffer.from(
  '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n' +
    'GET k\r\n' +
    '*0\r\n' +
    '\r\n' +
    '*2\r\n$3\r\nGET\r\n$0\r\n\r\n' +
    'set "a b" \'c\\\'d\' "\\x41\\n"\n' +
    '*-1\r\n' +
    '*1\r\n$4\r\nPING\r\n',
);
const EXPECTED = [['SET', 'k', 'hello'], ['GET', 'k'], ['GET', ''], ['set', 'a b', "c'd", 'A\n'], ['PING']];

describe('RespFramer', () => {
  it('frames a pipeline of multibulk and inline commands, skipping empty ones', () => {
    const frames = frameAll(PIPELINE);
    expect(texts(frames)).toEqual(EXPECTED);
    // raw is exactly the command's bytes
    expect(frames.map((f) => (f.type === 'command' ? f.raw.toString('latin1') : '')).join('')).toBe(
      PIPELINE.toString('latin1').replace('*0\r\n\r\n', '').replace('*-1\r\n', ''),
    );
  });

  it('gives the same commands fed byte by byte', () => {
    const splits = Array.from({ length: PIPELINE.length - 1 }, (_, i) => i + 1);
    expect(texts(frameAll(PIPELINE, splits))).toEqual(EXPECTED);
  });

  it('gives the same commands for any split of the input', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: PIPELINE.length - 1 }), { maxLength: 20 }), (cuts) => {
        expect(
          texts(
            frameAll(
              PIPELINE,
              [...cuts].sort((a, b) => a - b),
            ),
          ),
        ).toEqual(EXPECTED);
      }),
    );
  });

  it('returns zero-copy views of the received chunk', () => {
    const chunk = Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n');
    const framer = new RespFramer();
    framer.push(chunk);
    const f = framer.next();
    expect(f?.type).toBe('command');
    if (f?.type === 'command') {
      expect(f.args[1].buffer).toBe(chunk.buffer);
      expect(f.raw.buffer).toBe(chunk.buffer);
    }
    expect(framer.buffered).toBe(0);
  });

  it('joins a large bulk arriving in many chunks once, not per chunk', () => {
    const value = Buffer.alloc(1 << 20, 0x61);
    const input = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    const framer = new RespFramer();
    const frames: RespFrame[] = [];
    for (let at = 0; at < input.length; at += 1000) {
      framer.push(input.subarray(at, at + 1000));
      frames.push(...drain(framer));
    }
    expect(frames).toHaveLength(1);
    expect(frames[0].type === 'command' && frames[0].args[2].equals(value)).toBe(true);
  });

  it.each([
    ['*abc\r\n', 'Protocol error: invalid multibulk length'],
    ['*01\r\n', 'Protocol error: invalid multibulk length'],
    ['*2\r\n$3\r\nGET\r\n:1\r\n', "Protocol error: expected '$', got ':'"],
    ['*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
    ['*1\r\n$x\r\n', 'Protocol error: invalid bulk length'],
    ['SET "a\r\n', 'Protocol error: unbalanced quotes in request'],
    ['SET "a"b\r\n', 'Protocol error: unbalanced quotes in request'],
    ["GET 'a\r\n", 'Protocol error: unbalanced quotes in request'],
  ])('answers %j with -ERR %s and closes', (input, message) => {
    const framer = new RespFramer();
    framer.push(Buffer.from(`PING\r\n${input}PING\r\n`));
    const frames = drain(framer);
    expect(texts(frames)).toEqual([['PING'], `ERR:-ERR ${message}\r\n`]);
    expect(frames[1]).toMatchObject({ type: 'error', close: true });
    expect(framer.closed).toBe(true);
    framer.push(Buffer.from('PING\r\n'));
    expect(framer.next()).toBeNull();
  });

  it('enforces the bulk length and multibulk count limits it is given', () => {
    expect(texts(frameAll(Buffer.from('*1\r\n$11\r\n'), [], { maxBulkLength: 10 }))).toEqual(['ERR:-ERR Protocol error: invalid bulk length\r\n']);
    expect(texts(frameAll(Buffer.from('*5\r\n'), [], { maxMultibulkLength: 4 }))).toEqual(['ERR:-ERR Protocol error: invalid multibulk length\r\n']);
    expect(texts(frameAll(Buffer.from('*1\r\n$10\r\n'), [], { maxBulkLength: 10 }))).toEqual([]);
  });

  it("applies Redis' limits before authentication when asked", () => {
    const opts = { authRequired: () => true };
    expect(texts(frameAll(Buffer.from('*11\r\n'), [], opts))).toEqual(['ERR:-ERR Protocol error: unauthenticated multibulk length\r\n']);
    expect(texts(frameAll(Buffer.from('*2\r\n$4\r\nAUTH\r\n$16385\r\n'), [], opts))).toEqual(['ERR:-ERR Protocol error: unauthenticated bulk length\r\n']);
  });

  it('caps unterminated lines at 64 KB', () => {
    const long = Buffer.alloc(70 * 1024, 0x61);
    expect(texts(frameAll(long, [1000, 30000]))).toEqual(['ERR:-ERR Protocol error: too big inline request\r\n']);
    expect(texts(frameAll(Buffer.concat([Buffer.from('*1'), long])))).toEqual(['ERR:-ERR Protocol error: too big mbulk count string\r\n']);
    expect(texts(frameAll(Buffer.concat([Buffer.from('*1\r\n$1'), long])))).toEqual(['ERR:-ERR Protocol error: too big bulk count string\r\n']);
  });

  it('closes without a reply past the query buffer limit', () => {
    const frames = frameAll(Buffer.from('*2\r\n$3\r\nGET\r\n$100\r\n' + 'x'.repeat(50)), [], { maxQueryBuffer: 40 });
    expect(frames).toEqual([{ type: 'error', reply: Buffer.alloc(0), close: true, reason: 'query buffer limit reached' }]);
  });

  it('never throws and holds bounded memory on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const framer = new RespFramer({ maxInlineLength: 256, maxBulkLength: 1024, maxQueryBuffer: 4096 });
        for (const c of chunks) {
          framer.push(Buffer.from(c));
          drain(framer);
          expect(framer.buffered).toBeLessThanOrEqual(4096 + 300);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('splitArgs (inline commands)', () => {
  const split = (s: string) => splitArgs(Buffer.from(s, 'latin1'), 0, Buffer.byteLength(s, 'latin1'))?.map((b) => b.toString('latin1')) ?? null;
  it('follows sdssplitargs', () => {
    expect(split('  set   a  b ')).toEqual(['set', 'a', 'b']);
    expect(split('"\\t\\r\\a\\b\\\\\\"" \'x\\\'y\'')).toEqual(['\t\r\x07\b\\"', "x'y"]);
    expect(split('a"b c"d')).toBeNull();
    expect(split('a"b c" d')).toEqual(['ab c', 'd']);
    expect(split('"\\x4g"')).toEqual(['x4g']);
    expect(split('a\0b c')).toEqual(['a']);
    expect(split('')).toEqual([]);
  });
});

describe('parseRespCommand(s)', () => {
  it('parses forwarded commands', () => {
    expect(parseRespCommand(Buffer.from('*1\r\n$4\r\nPING\r\n'))?.map(String)).toEqual(['PING']);
    expect(parseRespCommand(Buffer.from('GET k\r\n'))?.map(String)).toEqual(['GET', 'k']);
    expect(parseRespCommand(Buffer.from('*2\r\n$3\r\nGET\r\n'))).toBeNull();
    const many = parseRespCommands(Buffer.from('*1\r\n$4\r\nPING\r\nECHO x\r\n'));
    expect(many.map((c) => c.args.map(String))).toEqual([['PING'], ['ECHO', 'x']]);
  });
});

describe('RespFramer: a command arriving in many small chunks is framed in linear time', () => {
  /** `DEL` with `n` one-byte arguments, as redis-cli or a client library would send it */
  function bigDel(n: number): Buffer {
    const head = Buffer.from(`*${n + 1}\r\n$3\r\nDEL\r\n`);
    const arg = Buffer.from('$1\r\nx\r\n');
    const out = Buffer.allocUnsafe(head.length + n * arg.length);
    head.copy(out, 0);
    for (let i = 0, at = head.length; i < n; i++, at += arg.length) arg.copy(out, at);
    return out;
  }

  /** feeds `input` in `chunk`-byte pieces; calls `check` after each piece (to stop a runaway early) */
  function frameInChunks(input: Buffer, chunk: number, check: (framer: RespFramer) => void): RespFrame[] {
    const framer = new RespFramer();
    const frames: RespFrame[] = [];
    for (let at = 0; at < input.length; at += chunk) {
      framer.push(input.subarray(at, at + chunk));
      for (let f = framer.next(); f !== null; f = framer.next()) frames.push(f);
      check(framer);
    }
    return frames;
  }

  it('examines and copies O(bytes): at most 4 units of work per input byte at 200,000 and 800,000 arguments', () => {
    for (const n of [200_000, 800_000]) {
      const input = bigDel(n);
      let fed = 0;
      let work = 0;
      const frames = frameInChunks(input, 1024, (framer) => {
        fed = Math.min(input.length, fed + 1024);
        work = framer.work;
        // checked as it goes, so a quadratic framer fails in seconds rather than running for minutes
        expect(work, `framing work after ${fed} of ${input.length} bytes`).toBeLessThanOrEqual(4 * fed + 1024);
      });
      // the count is real: each argument's `$1` was looked at, and the chunks were joined
      expect(work).toBeGreaterThanOrEqual(2 * n + input.length);
      expect(frames).toHaveLength(1);
      const f = frames[0];
      if (f.type !== 'command') throw new Error('expected a command');
      expect(f.args).toHaveLength(n + 1);
      expect(f.args[0].toString()).toBe('DEL');
      expect(f.args.every((a, i) => i === 0 || (a.length === 1 && a[0] === 0x78))).toBe(true);
      expect(f.raw.equals(input)).toBe(true);
    }
  });

  it('4x the arguments take well under 16x the CPU time (generous: < 10x)', () => {
    const cpu = (): number => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
    const timed = (n: number, limitUs = Infinity): number => {
      const input = bigDel(n);
      const t0 = cpu();
      const frames = frameInChunks(input, 16 * 1024, () => {
        if (cpu() - t0 > limitUs) throw new Error(`framing ${n} arguments took over ${Math.round(limitUs / 1000)} ms of CPU`);
      });
      expect(frames).toHaveLength(1);
      return cpu() - t0;
    };
    timed(50_000); // warm up the JIT
    const small = Math.min(timed(200_000), timed(200_000));
    // a quadratic framer needs about 16x; stop it at 10x instead of waiting for it
    const large = timed(800_000, 10 * small);
    expect(large / small).toBeLessThan(10);
  });
});
