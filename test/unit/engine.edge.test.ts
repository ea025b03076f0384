/** Edge cases of the shard engine that random sequences reach rarely or never. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import {
  Engine,
  EVICTION_POLICIES,
  INCR_NOT_FOUND,
  INCR_NOT_INTEGER,
  INCR_OK,
  INCR_OVERFLOW,
  INCR_WRONG_TYPE,
  NOT_STORED,
  SET_NX,
  STORED,
  TYPE_PACKED,
} from '../../src/engine/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const MiB = 1 << 20;

function scanAll(e: Engine, count: number, between?: (step: number) => void): Set<string> {
  const seen = new Set<string>();
  let cursor = 0;
  let step = 0;
  do {
    cursor = e.scan(cursor, count, (ref) => seen.add(e.keyOf(ref).toString('latin1')));
    between?.(step++);
  } while (cursor !== 0);
  return seen;
}

describe('engine edge cases', () => {
  it('a packed collection reads as its plain type, keeps the packed bit through an expiry rewrite, and is no stub to drop', () => {
    const dropped: string[] = [];
    const e = new Engine({ maxMemory: MiB, onDropTyped: (ref) => dropped.push(e.keyOf(ref).toString()) });
    e.set(b('packed'), b('\x01\x00\x00\x00'), 0, 0, 0, 0, false, 1 | TYPE_PACKED);
    e.set(b('stub'), b('\x07\x00\x00\x00'), 0, 0, 0, 0, false, 1);
    const p = e.peek(b('packed'));
    expect(e.typeOf(p)).toBe(1);
    expect(e.isPacked(p)).toBe(true);
    expect(e.isPacked(e.peek(b('stub')))).toBe(false);
    expect(e.incr(b('packed'), 1n, false, false)).toBe(INCR_WRONG_TYPE);
    // the entry has no expiry field yet: it is rewritten with one, its type nibble whole
    expect(e.expire(b('packed'), Date.now() + 60_000)).toBe(true);
    expect(e.isPacked(e.peek(b('packed')))).toBe(true);
    expect(e.typeOf(e.peek(b('packed')))).toBe(1);
    e.delete(b('packed'));
    e.delete(b('stub'));
    expect(dropped).toEqual(['stub']);
    e.verify();
  });

  it('stores empty keys, empty values and binary keys with zero bytes', () => {
    const e = new Engine({ maxMemory: MiB });
    expect(e.set(Buffer.alloc(0), Buffer.alloc(0))).toBe(STORED);
    expect(e.get(Buffer.alloc(0))?.length).toBe(0);
    const keys = [b('\x00'), b('\x00\x00'), b('a\x00'), b('a\x00b'), b('\xff\x00\xfe')];
    keys.forEach((k, i) => e.set(k, b(`v${i}`)));
    keys.forEach((k, i) => expect(e.get(k)?.toString()).toBe(`v${i}`));
    expect(e.get(b('a'))).toBeUndefined();
    expect(e.count).toBe(6);
    e.verify();
  });

  it('takes keys and values of the maximum size and refuses larger ones with coded errors', () => {
    const e = new Engine({ maxMemory: 8 * MiB });
    const key = Buffer.alloc(65536, 0x61);
    const value = Buffer.alloc(MiB, 0x62);
    expect(e.set(key, value)).toBe(STORED);
    const ref = e.find(key);
    expect(e.keyLength(ref)).toBe(65536);
    expect(e.valueOf(ref).equals(value)).toBe(true);
    expect(() => e.set(Buffer.alloc(65537), b('x'))).toThrowError(expect.objectContaining({ code: ErrorCode.KEY_TOO_LARGE }));
    expect(() => e.set(b('k'), Buffer.alloc(MiB + 1))).toThrowError(expect.objectContaining({ code: ErrorCode.VALUE_TOO_LARGE }));
    expect(() => e.append(key, b('x'), false, false)).toThrowError(expect.objectContaining({ code: ErrorCode.VALUE_TOO_LARGE }));
    const small = new Engine({ maxMemory: 64 * 1024 });
    expect(() => small.set(b('k'), Buffer.alloc(100_000))).toThrowError(expect.objectContaining({ code: ErrorCode.OUT_OF_MEMORY }));
    expect(small.insertClean(b('k'), Buffer.alloc(100_000), 0, 0, 5)).toBe(-1);
    e.verify();
  });

  it('keeps working when every key has the same hash', () => {
    const e = new Engine({ maxMemory: 16 * MiB, hash: () => 0x12345678 });
    for (let i = 0; i < 600; i++) e.set(b(`c${i}`), b(`v${i}`));
    e.verify();
    for (let i = 0; i < 600; i++) expect(e.get(b(`c${i}`))?.toString()).toBe(`v${i}`);
    for (let i = 0; i < 600; i += 2) expect(e.delete(b(`c${i}`))).toBe(true);
    e.verify();
    expect(scanAll(e, 10).size).toBe(300);
    for (let i = 0; i < 600; i++) expect(e.peek(b(`c${i}`)) >= 0).toBe(i % 2 === 1);
  });

  it('handles a low-entropy hash (many collisions per home, segment splits)', () => {
    const e = new Engine({ maxMemory: 64 * MiB, hash: (k, _s, end) => (k[end - 1] * 0x01010101) >>> 0 });
    for (let i = 0; i < 3_000; i++) e.set(b(`k${i}`), b(`${i}`));
    e.verify();
    for (let i = 0; i < 3_000; i += 7) expect(e.get(b(`k${i}`))?.toString()).toBe(`${i}`);
  });

  it('grows through many segment splits and keeps every key', () => {
    const e = new Engine({ maxMemory: 256 * MiB });
    const n = 150_000;
    for (let i = 0; i < n; i++) e.set(b(`key:${i}`), b(`value:${i}`));
    e.verify();
    expect(e.debug.segments).toBeGreaterThan(4);
    for (let i = 0; i < n; i += 7) expect(e.get(b(`key:${i}`))?.toString()).toBe(`value:${i}`);
    expect(e.count).toBe(n);
  });

  it('scan visits every key present throughout while the table grows', () => {
    const e = new Engine({ maxMemory: 128 * MiB });
    for (let i = 0; i < 5_000; i++) e.set(b(`old:${i}`), b('x'));
    let next = 0;
    const seen = scanAll(e, 100, () => {
      for (let j = 0; j < 100; j++) e.set(b(`new:${next++}`), b('y'));
    });
    expect(next).toBeGreaterThan(5_000); // the table grew a lot while the scan ran
    for (let i = 0; i < 5_000; i++) expect(seen.has(`old:${i}`)).toBe(true);
    e.verify();
  });

  it('scan visits every key present throughout while keys are deleted, inside and outside the visitor', () => {
    const e = new Engine({ maxMemory: 64 * MiB });
    for (let i = 0; i < 20_000; i++) e.set(b(`k${i}`), b('x'));
    const deleted = new Set<string>();
    const seen = new Set<string>();
    let cursor = 0;
    let other = 0;
    do {
      cursor = e.scan(cursor, 100, (ref) => {
        const k = e.keyOf(ref).toString('latin1');
        seen.add(k);
        if (seen.size % 3 === 0) {
          e.delete(b(k));
          deleted.add(k);
        }
      });
      for (let j = 0; j < 30; j++, other += 7) {
        const k = `k${other % 20_000}`;
        if (e.delete(b(k))) deleted.add(k);
      }
    } while (cursor !== 0);
    for (let i = 0; i < 20_000; i++) {
      const k = `k${i}`;
      if (!deleted.has(k)) expect(seen.has(k)).toBe(true);
    }
    e.verify();
    // the table shrinks back to the survivors
    expect(scanAll(e, 1000).size).toBe(e.count);
  });

  it('incr follows memcached rules when unsigned: wrap at 2^64, clamp at 0, strtoull syntax, padded in place', () => {
    const e = new Engine({ maxMemory: MiB });
    expect(e.incr(b('n'), 1n, true, false)).toBe(INCR_NOT_FOUND);
    e.set(b('n'), b('18446744073709551615'), 0, 42);
    expect(e.incr(b('n'), 1n, true, false)).toBe(INCR_OK);
    expect(e.lastInt).toBe(0n);
    // memcached writes the shorter result over the old bytes and pads with spaces
    expect(e.get(b('n'))?.toString()).toBe('0' + ' '.repeat(19));
    expect(e.flagsOf(e.peek(b('n')))).toBe(42);
    expect(e.incr(b('n'), -5n, true, false)).toBe(INCR_OK);
    expect(e.lastInt).toBe(0n);
    e.set(b('n'), b('10'));
    expect(e.incr(b('n'), -3n, true, false)).toBe(INCR_OK);
    expect(e.get(b('n'))?.toString()).toBe('7 ');
    e.set(b('n'), b('99'));
    expect(e.incr(b('n'), 1n, true, false)).toBe(INCR_OK);
    expect(e.get(b('n'))?.toString()).toBe('100');
    for (const bad of ['-1', 'abc', '', '18446744073709551616', '1.5', '+', ' ', '1x']) {
      e.set(b('n'), b(bad));
      expect(e.incr(b('n'), 1n, true, false)).toBe(INCR_NOT_INTEGER);
      expect(e.get(b('n'))?.toString()).toBe(bad);
    }
    for (const [good, n] of [
      ['007', 8n],
      ['1 ', 2n],
      [' 1', 2n],
      ['+1', 2n],
      ['-0', 1n],
      ['5 junk', 6n],
    ] as const) {
      e.set(b('n'), b(good));
      expect(e.incr(b('n'), 1n, true, false)).toBe(INCR_OK);
      expect(e.lastInt).toBe(n);
    }
  });

  it('incr follows Redis rules when signed: i64 overflow is an error and writes nothing', () => {
    const e = new Engine({ maxMemory: MiB, clock: () => 1000 });
    expect(e.incr(b('r'), 5n, false, true)).toBe(INCR_OK);
    expect(e.get(b('r'))?.toString()).toBe('5');
    e.set(b('r'), b('9223372036854775807'), 5000);
    const cas = e.casOf(e.peek(b('r')));
    expect(e.incr(b('r'), 1n, false, true)).toBe(INCR_OVERFLOW);
    expect(e.get(b('r'))?.toString()).toBe('9223372036854775807');
    expect(e.casOf(e.peek(b('r')))).toBe(cas);
    e.set(b('r'), b('-9223372036854775808'));
    expect(e.incr(b('r'), -1n, false, true)).toBe(INCR_OVERFLOW);
    expect(e.incr(b('r'), 9223372036854775807n, false, true)).toBe(INCR_OK);
    expect(e.lastInt).toBe(-1n);
    for (const bad of ['007', '-0', '+1', ' 1', '1 ', 'abc', '', '9223372036854775808', '1e3']) {
      e.set(b('r'), b(bad));
      expect(e.incr(b('r'), 1n, false, true)).toBe(INCR_NOT_INTEGER);
    }
    // keeps expiry
    e.set(b('t'), b('1'), 9000);
    expect(e.incr(b('t'), 1n, false, true)).toBe(INCR_OK);
    expect(e.expireTime(b('t'))).toBe(9000);
  });

  it('evicts from the LRU tail under budget pressure and reports every eviction', () => {
    const order: string[] = [];
    const e: Engine = new Engine({
      maxMemory: 32 * 1024,
      onRemove: (reason, ref) => order.push(`${reason}:${e.keyOf(ref).toString()}`),
    });
    for (let i = 0; i < 100; i++) e.set(b(`k${i}`), Buffer.alloc(100));
    e.get(b('k0')); // k0 becomes most recently used
    for (let i = 100; i < 400; i++) e.set(b(`k${i}`), Buffer.alloc(100));
    expect(order[0]).toBe('evicted:k1');
    // k0 leaves after every older key, not in its insertion place
    expect(order.indexOf('evicted:k0')).toBeGreaterThan(order.indexOf('evicted:k99'));
    expect(e.bytesUsed).toBeLessThanOrEqual(e.maxMemory);
    expect(e.stats.evicted).toBe(order.length);
    e.verify();
  });

  it('expires lazily on access and actively with bounded work', () => {
    let now = 1000;
    const removed: string[] = [];
    const e: Engine = new Engine({
      maxMemory: 4 * MiB,
      clock: () => now,
      onRemove: (reason, ref) => removed.push(`${reason}:${e.keyOf(ref).toString()}`),
    });
    for (let i = 0; i < 1000; i++) e.set(b(`t${i}`), b('v'), 2000);
    e.set(b('keep'), b('v'));
    now = 2000;
    expect(e.peek(b('t1'))).toBe(-1);
    expect(e.count).toBe(1001); // peek does not remove
    expect(e.find(b('t1'))).toBe(-1);
    expect(removed).toEqual(['expired:t1']);
    let ticks = 0;
    while (e.count > 1) {
      const n = e.expireTick(64);
      expect(n).toBeLessThanOrEqual(64);
      ticks++;
    }
    expect(ticks).toBeGreaterThan(10);
    expect(e.stats.expired).toBe(1000);
    expect(e.get(b('keep'))?.toString()).toBe('v');
    e.verify();
  });

  it('keeps CAS monotonic across restores and wide CAS values', () => {
    const e = new Engine({ maxMemory: MiB });
    e.set(b('a'), b('1'));
    expect(e.lastCas).toBe(1);
    expect(e.insertClean(b('d'), b('disk'), 0, 7, 5_000_000_000)).toBeGreaterThanOrEqual(0);
    expect(e.casCounter).toBe(5_000_000_000);
    const r = e.peek(b('d'));
    expect(e.isDirty(r)).toBe(false);
    expect(e.flagsOf(r)).toBe(7);
    expect(e.casOf(r)).toBe(5_000_000_000);
    e.set(b('a'), b('2'));
    expect(e.lastCas).toBe(5_000_000_001);
    expect(e.casOf(e.peek(b('a')))).toBe(5_000_000_001);
    expect(e.set(b('a'), b('3'), 0, 0, 0, 5_000_000_001)).toBe(STORED);
    expect(e.set(b('a'), b('4'), 0, 0, SET_NX)).toBe(NOT_STORED);
    e.verify();
  });

  it('lowering the budget evicts down to it', () => {
    const e = new Engine({ maxMemory: 4 * MiB });
    for (let i = 0; i < 10_000; i++) e.set(b(`k${i}`), Buffer.alloc(100));
    e.setMaxMemory(512 * 1024);
    expect(e.bytesUsed).toBeLessThanOrEqual(512 * 1024);
    expect(e.get(b('k9999'))).toBeDefined();
    e.setMaxMemory(64 * MiB);
    for (let i = 0; i < 100_000; i++) e.set(b(`n${i}`), Buffer.alloc(100));
    expect(e.count).toBeGreaterThan(100_000);
    e.verify();
  });

  it('evicts idle entries from the LRU end when access times are tracked', () => {
    let now = 0;
    const e = new Engine({ maxMemory: MiB, clock: () => now, trackAccessTime: true });
    for (let i = 0; i < 10; i++) {
      e.set(b(`k${i}`), b('v'));
      now += 100;
    }
    e.get(b('k0'));
    expect(e.evictIdle(450, 100)).toBe(5); // k1..k5 were last used at 100..500, now is 1000
    expect(e.peek(b('k0'))).toBeGreaterThanOrEqual(0);
    expect(e.stats.idle).toBe(5);
    expect(new Engine({ maxMemory: MiB }).evictIdle(0, 10)).toBe(0);
  });

  it('append and prepend in place and with moves', () => {
    const e = new Engine({ maxMemory: MiB });
    expect(e.append(b('s'), b('x'), false, false)).toBe(-1);
    expect(e.append(b('s'), b('mid'), false, true)).toBe(3);
    expect(e.append(b('s'), b(''), true, false)).toBe(3);
    expect(e.append(b('s'), b('<'), true, false)).toBe(4);
    expect(e.append(b('s'), b('>'), false, false)).toBe(5);
    expect(e.append(b('s'), Buffer.alloc(200, 0x2e), true, false)).toBe(205);
    expect(e.get(b('s'))?.toString()).toBe('.'.repeat(200) + '<mid>');
    e.verify();
  });

  it('clear empties everything and the engine stays usable', () => {
    const e = new Engine({ maxMemory: 4 * MiB });
    for (let i = 0; i < 5000; i++) e.set(b(`k${i}`), b('v'));
    e.clear();
    expect(e.count).toBe(0);
    expect(e.get(b('k1'))).toBeUndefined();
    expect(e.randomRef()).toBe(-1);
    e.set(b('z'), b('1'));
    expect(e.keyOf(e.randomRef()).toString()).toBe('z');
    e.verify();
  });

  it('gives an entry that fills most of memory an expiry without losing its key or value', () => {
    // The entry grows by the expiry field and cannot sit beside its old copy: the engine moves it
    // from a copy of its key and value, not from views into the block it frees and overwrites.
    const e = new Engine({ maxMemory: MiB });
    const value = Buffer.alloc(700_000, 0x41);
    expect(e.set(b('a'), b('x'))).toBe(STORED); // leaves a hole before the big entry, where the move lands
    expect(e.set(b('a'), value)).toBe(STORED);
    expect(e.expire(b('a'), 4_102_444_800_000)).toBe(true);
    expect(e.get(b('a'))?.equals(value)).toBe(true);
    expect(e.expireTime(b('a'))).toBe(4_102_444_800_000);
    e.verify();
  });

  it.each(EVICTION_POLICIES)('leaves an entry as it was when its bigger new version cannot fit even alone (%s)', (eviction) => {
    const e = new Engine({ maxMemory: 64 * 1024, eviction });
    // grow the table (an empty one is so small that the engine refuses such an entry before trying)
    for (let i = 0; i < 500; i++) e.set(b(`f${i}`), b('x'));
    for (let i = 0; i < 500; i++) e.delete(b(`f${i}`));
    // one entry filling the budget to the byte: build(n) makes it n bytes longer than its shortest form
    const fill = (build: (n: number) => [Buffer, Buffer]): [Buffer, Buffer] => {
      const [k0, v0] = build(0);
      const [k1, v1] = build((4 - ((k0.length + v0.length) % 4)) % 4);
      expect(e.set(k1, v1)).toBe(STORED);
      const [key, value] = build(k1.length + v1.length - k0.length - v0.length + e.maxMemory - e.bytesUsed);
      e.delete(k1);
      expect(e.set(key, value)).toBe(STORED);
      expect(e.bytesUsed).toBe(e.maxMemory);
      return [key, value];
    };
    const oom = expect.objectContaining({ code: ErrorCode.OUT_OF_MEMORY });
    const intact = (key: Buffer, value: Buffer, cas: number): void => {
      expect(e.count).toBe(1);
      const ref = e.find(key);
      expect(ref).toBeGreaterThan(0);
      expect(e.valueOf(ref).equals(value)).toBe(true);
      expect(e.expiresAtOf(ref)).toBe(0);
      expect(e.casOf(ref)).toBe(cas);
      e.verify();
    };
    let [key, value] = fill((n) => [b('a'), Buffer.alloc(8 + n, 0x76)]);
    let cas = e.casOf(e.find(key));
    expect(() => e.expire(key, 4_102_444_800_000)).toThrowError(oom); // two more header words
    intact(key, value, cas);
    expect(() => e.append(key, b('tail'), false, false)).toThrowError(oom);
    intact(key, value, cas);
    expect(() => e.append(key, b('head'), true, false)).toThrowError(oom);
    intact(key, value, cas);
    expect(() => e.set(key, Buffer.concat([value, b('more')]))).toThrowError(oom);
    intact(key, value, cas);
    e.delete(key);
    [key, value] = fill((n) => [Buffer.alloc(30_000 + n, 0x6b), b('9999')]);
    cas = e.casOf(e.find(key));
    expect(() => e.incr(key, 1n, false, false)).toThrowError(oom); // 10000: one more word
    intact(key, value, cas);
    expect(e.incr(key, -9000n, false, false)).toBe(INCR_OK); // a number no longer still fits
    expect(e.get(key)?.toString()).toBe('999');
    e.verify();
  });
});
