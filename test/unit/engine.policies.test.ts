/**
 * Each eviction policy against a small reference implementation written with plain arrays and Maps,
 * on random traces (get, set on miss, overwrites of the same or another size, deletes). The
 * deterministic policies (lru, fifo, sieve, s3fifo, and ttl when no key has an expiry) must evict
 * the same keys in the same order as their reference; the sampling ones (random, lfu, ttl) are held
 * to invariants and to what their sampling should achieve on average.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash32, TABLE_SEED } from '../../src/hash.js';
import { Engine, EVICTION_POLICIES, type EvictionName } from '../../src/engine/index.js';
import { LINK } from '../../src/engine/lru.js';
import { GHOST_MIN_SLOTS } from '../../src/engine/s3fifo.js';
import { LFU_INIT, LFU_LOG_FACTOR, lfuDecay, lfuIncr } from '../../src/engine/sampled.js';

const KEYS = Array.from({ length: 80 }, (_, i) => Buffer.from(`k${i}`));
const SIZES = [8, 20, 60];
const words = (key: Buffer, vlen: number): number => 4 + Math.ceil((key.length + vlen) / 4);
const ks = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** A reference policy over key strings. `words` is the entry's size in arena words. */
interface Ref {
  insert(k: string, w: number): void;
  access(k: string): void;
  rewrite(k: string): void;
  /** out of the policy; returns what reattach needs. */
  detach(k: string): unknown;
  reattach(k: string, w: number, state: unknown): void;
  victim(): string;
  evicted(k: string): void;
  remove(k: string): void;
}

class RefLru implements Ref {
  q: string[] = []; // newest first
  constructor(readonly fifo = false) {}
  insert(k: string): void {
    this.q.unshift(k);
  }
  access(k: string): void {
    if (!this.fifo) this.rewrite(k);
  }
  rewrite(k: string): void {
    this.remove(k);
    this.q.unshift(k);
  }
  detach(k: string): unknown {
    this.remove(k);
    return null;
  }
  reattach(k: string): void {
    this.q.unshift(k);
  }
  victim(): string {
    return this.q[this.q.length - 1];
  }
  evicted(k: string): void {
    this.remove(k);
  }
  remove(k: string): void {
    this.q.splice(this.q.indexOf(k), 1);
  }
}

/** SIEVE as the paper's pseudo-code, with the list newest first and the hand moving towards index 0. */
class RefSieve implements Ref {
  q: string[] = [];
  visited = new Set<string>();
  hand: string | null = null;
  insert(k: string): void {
    this.q.unshift(k);
  }
  access(k: string): void {
    this.visited.add(k);
  }
  rewrite(k: string): void {
    this.reattach(k, 0, this.detach(k));
  }
  detach(k: string): unknown {
    const v = this.visited.has(k);
    this.remove(k);
    return v;
  }
  reattach(k: string, _w: number, state: unknown): void {
    this.q.unshift(k);
    if (state) this.visited.add(k);
  }
  victim(): string {
    let i = this.hand === null ? this.q.length - 1 : this.q.indexOf(this.hand);
    while (this.visited.has(this.q[i])) {
      this.visited.delete(this.q[i]);
      i = i === 0 ? this.q.length - 1 : i - 1;
    }
    this.hand = this.q[i];
    return this.q[i];
  }
  evicted(k: string): void {
    this.remove(k);
  }
  remove(k: string): void {
    const i = this.q.indexOf(k);
    if (this.hand === k) this.hand = i === 0 ? null : this.q[i - 1];
    this.q.splice(i, 1);
    this.visited.delete(k);
  }
}

/**
 * S3-FIFO as the paper describes it (threshold 1, 10% small queue by bytes), with the ghost as
 * cairn specifies it: 4-way buckets of (12-bit fingerprint, 4-bit insertion tick), 64 slots while
 * fewer than 171 keys are cached (this test caches at most 40).
 */
class RefS3Fifo implements Ref {
  s: string[] = [];
  m: string[] = [];
  freq = new Map<string, number>();
  size = new Map<string, number>();
  ghost = new Array<number>(GHOST_MIN_SLOTS).fill(0);
  ghostInserted = 0;
  private words(q: string[]): number {
    return q.reduce((a, k) => a + this.size.get(k)!, 0);
  }
  private bucket(h: number): number {
    return Math.floor(((Math.imul(h, 0x9e3779b1) >>> 0) * (GHOST_MIN_SLOTS / 4)) / 2 ** 32) * 4;
  }
  private tick(): number {
    return Math.floor(this.ghostInserted / (GHOST_MIN_SLOTS / 8)) % 16;
  }
  private ghostAdd(h: number): void {
    const b = this.bucket(h);
    const t = this.tick();
    let at = b;
    let oldest = -1;
    for (let i = b; i < b + 4; i++) {
      const age = (t - (this.ghost[i] % 16) + 16) % 16;
      if (this.ghost[i] === 0 || age >= 8) {
        at = i;
        break;
      }
      if (age > oldest) [oldest, at] = [age, i];
    }
    this.ghost[at] = (h >>> 20 || 1) * 16 + t;
    this.ghostInserted++;
  }
  private ghostTake(h: number): boolean {
    const b = this.bucket(h);
    for (let i = b; i < b + 4; i++) {
      const e = this.ghost[i];
      if (e !== 0 && Math.floor(e / 16) === (h >>> 20 || 1) && (this.tick() - (e % 16) + 16) % 16 < 8) {
        this.ghost[i] = 0;
        return true;
      }
    }
    return false;
  }
  insert(k: string, w: number): void {
    this.size.set(k, w);
    this.freq.set(k, 0);
    const h = hash32(Buffer.from(k, 'latin1'), 0, k.length, TABLE_SEED);
    (this.ghostTake(h) ? this.m : this.s).unshift(k);
  }
  access(k: string): void {
    this.freq.set(k, Math.min(3, this.freq.get(k)! + 1));
  }
  rewrite(k: string): void {
    this.reattach(k, this.size.get(k)!, this.detach(k));
  }
  detach(k: string): unknown {
    const inMain = this.m.includes(k);
    const f = this.freq.get(k);
    this.remove(k);
    return [inMain, f];
  }
  reattach(k: string, w: number, state: unknown): void {
    const [inMain, f] = state as [boolean, number];
    this.size.set(k, w);
    this.freq.set(k, f);
    (inMain ? this.m : this.s).unshift(k);
  }
  victim(): string {
    for (;;) {
      const sw = this.words(this.s);
      if (this.s.length > 0 && (sw * 10 >= sw + this.words(this.m) || this.m.length === 0)) {
        const t = this.s[this.s.length - 1];
        if (this.freq.get(t) === 0) return t;
        this.s.pop();
        this.m.unshift(t);
        this.freq.set(t, 0);
        continue;
      }
      const t = this.m[this.m.length - 1];
      if (this.freq.get(t) === 0) return t;
      this.m.pop();
      this.m.unshift(t);
      this.freq.set(t, this.freq.get(t)! - 1);
    }
  }
  evicted(k: string): void {
    const inSmall = this.s.includes(k);
    this.remove(k);
    if (inSmall) this.ghostAdd(hash32(Buffer.from(k, 'latin1'), 0, k.length, TABLE_SEED));
  }
  remove(k: string): void {
    for (const q of [this.s, this.m]) {
      const i = q.indexOf(k);
      if (i >= 0) q.splice(i, 1);
    }
    this.freq.delete(k);
    this.size.delete(k);
  }
}

interface TraceOp {
  k: number;
  t: number;
  v: number;
}
const traceArb = fc.array(fc.record({ k: fc.nat(KEYS.length - 1), t: fc.nat(19), v: fc.nat(SIZES.length - 1) }), {
  minLength: 50,
  maxLength: 1500,
});

/** Skewed keys: low indices far more often, so that hits and promotions happen. */
const skew = (k: number, t: number): number => (t % 3 === 0 ? k : k % (1 + (k % 13)));

/**
 * Replay a trace through the engine and a reference, checking every eviction against it.
 * Returns how many evictions were compared.
 */
function replay(policy: EvictionName, ref: Ref, ops: TraceOp[], budget: number): number {
  let compared = 0;
  const e = new Engine({
    maxMemory: budget,
    eviction: policy,
    onRemove: (reason, r) => {
      expect(reason).toBe('evicted');
      const key = ks(e.keyOf(r));
      const want = ref.victim();
      expect(key, `eviction #${compared + 1}`).toBe(want);
      ref.evicted(key);
      compared++;
    },
  });
  const vsize = new Map<string, number>();
  for (const op of ops) {
    const key = KEYS[skew(op.k, op.t)];
    const k = ks(key);
    const vlen = SIZES[op.v];
    if (op.t < 12) {
      // get; on a miss, set
      if (e.get(key) !== undefined) ref.access(k);
      else {
        e.set(key, Buffer.alloc(vlen, 1));
        ref.insert(k, words(key, vlen));
        vsize.set(k, vlen);
      }
    } else if (op.t < 18) {
      // overwrite (or first set)
      const old = vsize.get(k);
      if (old === undefined || e.peek(key) < 0) {
        e.set(key, Buffer.alloc(vlen, 2));
        ref.insert(k, words(key, vlen));
      } else if (words(key, old) === words(key, vlen)) {
        e.set(key, Buffer.alloc(vlen, 2));
        ref.rewrite(k);
      } else {
        const st = ref.detach(k);
        e.set(key, Buffer.alloc(vlen, 2));
        ref.reattach(k, words(key, vlen), st);
      }
      vsize.set(k, vlen);
    } else if (e.delete(key)) ref.remove(k);
  }
  e.verify();
  expect(e.bytesUsed).toBeLessThanOrEqual(budget);
  return compared;
}

/** the engine's arena words, for looking at headers directly. */
const memOf = (e: Engine): Uint32Array => (e as unknown as { m: Uint32Array }).m;

describe('eviction policies against reference implementations', () => {
  const deterministic: [EvictionName, () => Ref][] = [
    ['lru', () => new RefLru()],
    ['fifo', () => new RefLru(true)],
    ['ttl', () => new RefLru()], // no key has an expiry: ttl falls back to exact LRU
    ['sieve', () => new RefSieve()],
    ['s3fifo', () => new RefS3Fifo()],
  ];
  for (const [policy, make] of deterministic) {
    it(`${policy}: same evictions in the same order`, () => {
      let total = 0;
      fc.assert(
        fc.property(fc.constantFrom(2_600, 2_900, 3_300), traceArb, (budget, ops) => {
          total += replay(policy, make(), ops, budget);
        }),
        { numRuns: 120 },
      );
      // 120 random traces compare about 2,300 evictions (1,900-2,800 seen); far fewer would mean the
      // traces stopped reaching the budget and the comparison went hollow.
      expect(total).toBeGreaterThan(1_000);
    });
  }

  it('sieve and s3fifo: a hit writes no list pointers', () => {
    for (const policy of ['sieve', 's3fifo'] as const) {
      const e = new Engine({ maxMemory: 1 << 20, eviction: policy });
      for (let i = 0; i < 2000; i++) e.set(Buffer.from(`key${i}`), Buffer.alloc(20));
      const m = memOf(e);
      const refs = Array.from({ length: 2000 }, (_, i) => e.peek(Buffer.from(`key${i}`)));
      const links = refs.map((r) => [m[r + 1] & LINK, m[r + 2] & LINK]);
      const before = JSON.stringify(links);
      for (let n = 0; n < 20_000; n++) expect(e.get(Buffer.from(`key${(n * 7919) % 2000}`))).toBeDefined();
      expect(JSON.stringify(refs.map((r) => [m[r + 1] & LINK, m[r + 2] & LINK]))).toBe(before);
      e.verify();
    }
  });
});

describe('every policy', () => {
  it('rejects an unknown policy name', () => {
    expect(() => new Engine({ maxMemory: 1 << 20, eviction: 'mru' as EvictionName })).toThrowError(/unknown eviction policy/);
  });

  for (const policy of EVICTION_POLICIES) {
    it(`${policy}: lowering the budget evicts down to it; clear() empties the policy`, () => {
      const evicted: string[] = [];
      const e = new Engine({ maxMemory: 1 << 20, eviction: policy, onRemove: (_r, ref) => evicted.push(ks(e.keyOf(ref))) });
      expect(e.eviction).toBe(policy);
      for (let i = 0; i < 3000; i++) e.set(Buffer.from(`key${i}`), Buffer.alloc(40 + (i % 50)), i % 4 === 0 ? Date.now() + 60_000 + i : 0);
      for (let i = 0; i < 3000; i += 3) e.get(Buffer.from(`key${i}`));
      e.setMaxMemory(100_000);
      expect(e.bytesUsed).toBeLessThanOrEqual(100_000);
      expect(evicted.length + e.count).toBe(3000);
      e.verify();
      e.clear();
      expect(e.count).toBe(0);
      e.verify();
      for (let i = 0; i < 3000; i++) e.set(Buffer.from(`again${i}`), Buffer.alloc(40));
      expect(e.bytesUsed).toBeLessThanOrEqual(100_000);
      e.verify();
    });
  }
});

describe('sampling policies: invariants', () => {
  for (const policy of ['random', 'lfu', 'ttl'] as const) {
    it(`${policy}: evicts live entries other than the one being written, within budget`, () => {
      let writing = '';
      const live = new Set<string>();
      const evictedCount = new Map<string, number>();
      const e = new Engine({
        maxMemory: 6_000,
        eviction: policy,
        clock: () => 1_000_000,
        onRemove: (reason, r) => {
          const k = ks(e.keyOf(r));
          expect(reason).toBe('evicted');
          expect(live.has(k)).toBe(true);
          expect(k).not.toBe(writing);
          live.delete(k);
          evictedCount.set(k, (evictedCount.get(k) ?? 0) + 1);
        },
      });
      let x = 12345;
      for (let n = 0; n < 15_000; n++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const k = `key${x % 200}`;
        writing = k;
        const vlen = 10 + ((x >>> 24) % 60);
        e.set(Buffer.from(k), Buffer.alloc(vlen), n % 3 === 0 ? 2_000_000 + (x % 5000) : 0);
        live.add(k);
        expect(e.bytesUsed).toBeLessThanOrEqual(6_000);
        if (n % 1000 === 0) e.verify();
      }
      expect(e.count).toBe(live.size);
      // sampling reaches the whole table, not a corner of it
      expect(evictedCount.size).toBeGreaterThan(150);
    });
  }

  it('ttl: evicts among the soonest to expire', () => {
    const now = 1_000_000;
    const exp = new Map<string, number>();
    const ranks: number[] = [];
    const e = new Engine({
      maxMemory: 40_000,
      eviction: 'ttl',
      clock: () => now,
      onRemove: (_reason, r) => {
        const k = ks(e.keyOf(r));
        const mine = exp.get(k)!;
        let below = 0;
        for (const v of exp.values()) if (v < mine) below++;
        ranks.push(below / exp.size);
        exp.delete(k);
      },
    });
    let x = 777;
    for (let n = 0; n < 20_000; n++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const k = `key${n}`;
      const at = now + 1000 + (x % 1_000_000);
      exp.set(k, at);
      e.set(Buffer.from(k), Buffer.alloc(20), at);
    }
    expect(ranks.length).toBeGreaterThan(10_000);
    // the best of 8 uniform samples sits at rank ~1/9 on average
    const mean = ranks.reduce((a, b) => a + b, 0) / ranks.length;
    expect(mean).toBeLessThan(0.2);
  });

  it('ttl: keys with an expiry go first, the LRU tail when samples find none', () => {
    const now = 1_000_000;
    let withTtl = 0;
    let without = 0;
    const e = new Engine({
      maxMemory: 20_000,
      eviction: 'ttl',
      clock: () => now,
      onRemove: (_r, ref) => (e.expiresAtOf(ref) !== 0 ? withTtl++ : without++),
    });
    for (let n = 0; n < 5_000; n++) e.set(Buffer.from(`key${n}`), Buffer.alloc(20), n % 2 === 0 ? now + 10_000 + n : 0);
    // half the writes carry an expiry, yet the cache ends up holding mostly keys without one
    let live = 0;
    let liveTtl = 0;
    let cursor = 0;
    do
      cursor = e.scan(cursor, 100, (ref) => {
        live++;
        if (e.expiresAtOf(ref) !== 0) liveTtl++;
      });
    while (cursor !== 0);
    expect(liveTtl / live).toBeLessThan(0.2);
    expect(withTtl).toBeGreaterThan(without);
    expect(without).toBeGreaterThan(0);
    e.verify();
  });

  it('lfu: hot keys survive a scan that lru gives them up to', () => {
    const survivors = (policy: EvictionName): number => {
      const e = new Engine({ maxMemory: 30_000, eviction: policy, clock: () => 1_000_000 });
      const hot = Array.from({ length: 50 }, (_, i) => Buffer.from(`hot${i}`));
      for (let round = 0; round < 20; round++) for (const k of hot) if (!e.get(k)) e.set(k, Buffer.alloc(40));
      for (let i = 0; i < 2000; i++) e.set(Buffer.from(`cold${i}`), Buffer.alloc(40));
      return hot.filter((k) => e.peek(k) >= 0).length;
    };
    expect(survivors('lru')).toBe(0);
    expect(survivors('lfu')).toBeGreaterThan(40);
  });
});

describe('lfu counters follow Redis', () => {
  // Redis (evict.c): LFULogIncr and LFUDecrAndReturn, written out again here
  const redisIncr = (c: number, r: number): number => {
    if (c === 255) return 255;
    const base = Math.max(0, c - LFU_INIT);
    return r < 1.0 / (base * LFU_LOG_FACTOR + 1) ? c + 1 : c;
  };
  const redisDecr = (c: number, ldt: number, now: number): number => {
    const elapsed = now >= ldt ? now - ldt : 65536 - ldt + now; // Redis wraps with 65535: one period apart
    return elapsed > c ? 0 : c - elapsed;
  };
  it('increments and decays as Redis does', () => {
    fc.assert(
      fc.property(fc.nat(255), fc.double({ min: 0, max: 0.999999, noNaN: true }), fc.nat(65535), fc.nat(65535), (c, r, ldt, now) => {
        expect(lfuIncr(c, r)).toBe(redisIncr(c, r));
        expect(lfuDecay(c, ldt, now)).toBe(redisDecr(c, ldt, now));
      }),
      { numRuns: 5000 },
    );
  });
  it('a counter climbs logarithmically: ~100 hits reach ~10, a million reach 255', () => {
    let x = 99;
    const rand = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    let c = LFU_INIT;
    for (let i = 0; i < 100; i++) c = lfuIncr(c, rand());
    expect(c).toBeGreaterThan(8);
    expect(c).toBeLessThan(16);
    for (let i = 0; i < 1_000_000; i++) c = lfuIncr(c, rand());
    expect(c).toBeGreaterThan(200);
  });
});
