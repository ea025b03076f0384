/**
 * The engine's sampled hot-key tracker and value-size bins against exact models: the true hottest
 * keys of a skewed access stream must be found in the sampled list, counts must be near the truth,
 * and the size bins must equal a recount of the live entries after any mix of writes and removals.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { HotKeyTracker } from '../../src/engine/hotkeys.js';
import { seededRandom } from '../../src/engine/policies.js';
import { sizeBin } from '../../src/engine/sizes.js';

/** Zipf(s) over n ranks by inversion of the cumulative weights; rank 0 is the hottest. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

describe('hot keys', () => {
  it('the true top keys of a skewed stream are in the sampled top list, with counts near the truth', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed * 7919);
      const engine = new Engine({ maxMemory: 64 << 20, evictionSeed: seed });
      const n = 20_000;
      const keys = Array.from({ length: n }, (_, i) => Buffer.from(`user:${(i * 2654435761) >>> 0}`));
      for (const k of keys) engine.set(k, Buffer.from('v'));
      const draw = zipf(n, 1.1, random);
      const truth = new Map<number, number>();
      const accesses = 200_000;
      let missed = 0;
      for (let a = 0; a < accesses; a++) {
        const r = draw();
        truth.set(r, (truth.get(r) ?? 0) + 1);
        if (random() < 0.8) missed += engine.find(keys[r]) < 0 ? 1 : 0;
        else engine.set(keys[r], Buffer.from('w'));
      }
      expect(missed).toBe(0);
      const top = engine.hotKeys(10);
      expect(top.length).toBe(10);
      const reported = top.map((h) => h.key.toString());
      const exact = [...truth.entries()].sort((a, b) => b[1] - a[1]);
      // the five hottest keys are all named, the hottest first
      for (const [r] of exact.slice(0, 5)) expect(reported).toContain(keys[r].toString());
      expect(reported[0]).toBe(keys[exact[0][0]].toString());
      // counts are estimates of accesses (the sample scaled back), within 25% for the hottest
      // (the writes after the initial load count too: one per key, negligible at this scale)
      const hottest = exact[0][1];
      expect(top[0].count).toBeGreaterThan(hottest * 0.75);
      expect(top[0].count).toBeLessThan(hottest * 1.25);
    }
  });

  it('follows a change of what is hot (counts halve every halfLife samples)', () => {
    const tracker = new HotKeyTracker(seededRandom(5), { rate: 1, capacity: 4, halfLife: 1000 });
    const a = Buffer.from('a');
    const b = Buffer.from('b');
    for (let i = 0; i < 5000; i++) tracker.record(a, 1);
    for (let i = 0; i < 3000; i++) tracker.record(b, 2);
    expect(tracker.top(1)[0].key.toString()).toBe('b');
  });

  it('rate 0 tracks nothing and costs no sketch', () => {
    const engine = new Engine({ maxMemory: 1 << 20, hotKeys: { rate: 0 } });
    engine.set(Buffer.from('k'), Buffer.from('v'));
    for (let i = 0; i < 1000; i++) engine.find(Buffer.from('k'));
    expect(engine.hotKeys()).toEqual([]);
    expect(engine.hotKeyRate).toBe(0);
  });

  it('FLUSH (clear) forgets hot keys and sizes', () => {
    const engine = new Engine({ maxMemory: 1 << 20, hotKeys: { rate: 1 } });
    engine.set(Buffer.from('k'), Buffer.from('v'));
    engine.find(Buffer.from('k'));
    expect(engine.hotKeys().length).toBe(1);
    expect(engine.valueSizes()).toEqual([0, 1]);
    engine.clear();
    expect(engine.hotKeys()).toEqual([]);
    expect(engine.valueSizes()).toEqual([]);
  });
});

describe('value-size bins', () => {
  it('bins are powers of two, as Redis 8 INFO keysizes', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 1023, 1024, 1 << 20].map(sizeBin)).toEqual([0, 1, 2, 2, 3, 3, 4, 10, 11, 21]);
  });

  it('equal a recount of the live entries after writes, appends, expiries, deletes and evictions', () => {
    const ops = fc.array(
      fc.record({
        op: fc.constantFrom('set', 'append', 'incr', 'del', 'expire', 'getdel'),
        key: fc.integer({ min: 0, max: 40 }),
        len: fc.integer({ min: 0, max: 3000 }),
      }),
      { maxLength: 300 },
    );
    fc.assert(
      fc.property(ops, fc.constantFrom('lru', 'lfu', 's3fifo'), (list, eviction) => {
        let now = 1_000_000;
        const engine = new Engine({ maxMemory: 48 * 1024, eviction, clock: () => now });
        for (const { op, key, len } of list) {
          const k = Buffer.from(`k${key}`);
          now += 1;
          switch (op) {
            case 'set':
              engine.set(k, Buffer.alloc(len, 0x61), len % 3 === 0 ? now + 5 : 0);
              break;
            case 'append':
              if (engine.peek(k) < 0 || engine.valueLength(engine.peek(k)) + len < 4000) engine.append(k, Buffer.alloc(len % 200, 0x62), false, true);
              break;
            case 'incr':
              engine.incr(k, 1n, false, true);
              break;
            case 'del':
              engine.delete(k);
              break;
            case 'expire':
              engine.expire(k, now + (len % 4));
              break;
            case 'getdel':
              engine.getdel(k);
              break;
          }
          if (op === 'expire') engine.expireTick(100);
        }
        const model: number[] = [];
        engine.scan(0, 1 << 20, (ref) => {
          const b = sizeBin(engine.valueLength(ref));
          model[b] = (model[b] ?? 0) + 1;
        });
        // scan hides expired-but-unswept entries; the bins still hold them until they go
        engine.expireTick(1 << 20);
        engine.verify();
        const bins = engine.valueSizes();
        expect(bins.map((n) => n)).toEqual(Array.from({ length: bins.length }, (_, i) => model[i] ?? 0));
      }),
      { numRuns: 150 },
    );
  });
});
