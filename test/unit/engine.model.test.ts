/**
 * Model-based test of the shard engine: random operation sequences run against the engine and a
 * plain Map (insertion order = recency), with a fake clock and small budgets so that expiry and
 * eviction happen all the time. Every result is checked; list, table and arena invariants are
 * verified along the way; every onRemove callback is checked against the model (under lru an
 * eviction must take the least recently used entry; under every policy it must take a live entry
 * other than the one being written; an expiry must hit an entry whose time has passed). The exact
 * order of each policy is tested against reference implementations in engine.policies.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EXISTS,
  Engine,
  INCR_NOT_FOUND,
  INCR_NOT_INTEGER,
  INCR_OK,
  INCR_OVERFLOW,
  NOT_FOUND,
  NOT_STORED,
  SET_ALWAYS,
  SET_NX,
  SET_XX,
  STORED,
  type EvictionName,
} from '../../src/engine/index.js';
import { memcachedNumber, memcachedResult } from '../helpers/memcached-number.js';

interface MEntry {
  value: Buffer;
  flags: number;
  exp: number;
  cas: number;
  dirty: boolean;
  atime: number;
}

const U64 = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

const KEYS: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from([0]),
  Buffer.from([0, 0]),
  Buffer.from('a'),
  Buffer.from('b'),
  Buffer.from('k\x00z', 'latin1'),
  Buffer.from([255, 254, 0, 1]),
  Buffer.alloc(300, 7), // wide header (long key)
  Buffer.alloc(300, 8),
  ...Array.from({ length: 15 }, (_, i) => Buffer.from(`key:${i}`)),
];

const rnd = (seed: number, len: number): Buffer => {
  const b = Buffer.alloc(len);
  let x = seed * 2654435761;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

const VALUES: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.from('0'),
  Buffer.from('42'),
  Buffer.from('-5'),
  Buffer.from('007'),
  Buffer.from('abc'),
  Buffer.from(' 1'),
  Buffer.from('-0'),
  Buffer.from('18446744073709551615'),
  Buffer.from('18446744073709551614'),
  Buffer.from('9223372036854775807'),
  Buffer.from('-9223372036854775808'),
  Buffer.from('9223372036854775806'),
  ...Array.from({ length: 10 }, (_, i) => rnd(i + 1, 10 + i * 23)),
];

const DELTAS = [1n, -1n, 5n, -5n, 0n, 100n, -100n, I64_MAX, I64_MIN, U64, -U64, 1n << 63n];

function parseU(v: Buffer): bigint | null {
  return memcachedNumber(v.toString('latin1'));
}

function parseS(v: Buffer): bigint | null {
  const s = v.toString('latin1');
  if (s.length > 20 || !/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const n = BigInt(s);
  return n > I64_MAX || n < I64_MIN ? null : n;
}

const ks = (k: Uint8Array): string => Buffer.from(k).toString('latin1');

interface Op {
  t: number;
  k: number;
  v: number;
  a: number;
  b: number;
  c: number;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  t: fc.nat(29),
  k: fc.nat(KEYS.length - 1),
  v: fc.nat(VALUES.length - 1),
  a: fc.nat(1000),
  b: fc.nat(1000),
  c: fc.nat(1000),
});

class Harness {
  now = 1_000_000;
  model = new Map<string, MEntry>();
  cas = 0;
  protect: string | null = null;
  idleCutoff = -Infinity;
  engine: Engine;
  removals = 0;

  constructor(
    readonly budget: number,
    readonly track: boolean,
    readonly policy: EvictionName = 'lru',
  ) {
    this.engine = new Engine({
      maxMemory: budget,
      eviction: policy,
      clock: () => this.now,
      trackAccessTime: track,
      onRemove: (reason, ref) => this.onRemove(reason, ref),
    });
  }

  live(key: string): MEntry | undefined {
    const e = this.model.get(key);
    return e && (e.exp === 0 || e.exp > this.now) ? e : undefined;
  }

  bump(key: string, e: MEntry): void {
    this.model.delete(key);
    this.model.set(key, e);
    if (this.track) e.atime = this.now;
  }

  onRemove(reason: string, ref: number): void {
    const eng = this.engine;
    const key = ks(eng.keyOf(ref));
    const e = this.model.get(key);
    expect(e, `removed key ${JSON.stringify(key)} is not in the model`).toBeDefined();
    // the listener sees the whole entry, as the disk tier will
    expect(eng.valueOf(ref).equals(e!.value)).toBe(true);
    expect(eng.flagsOf(ref)).toBe(e!.flags);
    expect(eng.expiresAtOf(ref)).toBe(e!.exp);
    expect(eng.casOf(ref)).toBe(e!.cas);
    expect(eng.isDirty(ref)).toBe(e!.dirty);
    if (reason === 'expired') {
      expect(e!.exp !== 0 && e!.exp <= this.now).toBe(true);
    } else if (this.policy !== 'lru') {
      expect(key, 'the entry being written was evicted').not.toBe(this.protect);
      if (reason === 'idle') expect(e!.atime).toBeLessThanOrEqual(this.idleCutoff);
      expect(e!.exp === 0 || e!.exp > this.now).toBe(true);
    } else {
      // evicted / idle: the least recently used entry, apart from the one being rewritten
      let first: string | undefined;
      for (const k of this.model.keys()) {
        if (k !== this.protect) {
          first = k;
          break;
        }
      }
      expect(key).toBe(first);
      if (reason === 'evicted') expect(e!.exp === 0 || e!.exp > this.now).toBe(true);
    }
    this.model.delete(key);
    this.removals++;
  }

  checkEntry(ref: number, e: MEntry): void {
    const eng = this.engine;
    expect(eng.valueOf(ref).equals(e.value)).toBe(true);
    expect(eng.valueLength(ref)).toBe(e.value.length);
    expect(eng.flagsOf(ref)).toBe(e.flags);
    expect(eng.expiresAtOf(ref)).toBe(e.exp);
    expect(eng.casOf(ref)).toBe(e.cas);
    expect(eng.isDirty(ref)).toBe(e.dirty);
  }

  fullCheck(): void {
    const eng = this.engine;
    eng.verify();
    expect(eng.count).toBe(this.model.size);
    expect(eng.bytesUsed).toBeLessThanOrEqual(eng.maxMemory);
    if (this.policy === 'lru') {
      // recency order matches the model exactly
      const order = eng.debugOrder().map((r) => ks(eng.keyOf(r)));
      expect(order).toEqual([...this.model.keys()].reverse());
    }
    for (const [k, e] of this.model) {
      const ref = eng.peek(Buffer.from(k, 'latin1'));
      if (e.exp !== 0 && e.exp <= this.now) expect(ref).toBe(-1);
      else {
        expect(ref).toBeGreaterThanOrEqual(0);
        this.checkEntry(ref, e);
      }
    }
  }

  run(op: Op): void {
    const eng = this.engine;
    const key = KEYS[op.k];
    const k = ks(key);
    const value = VALUES[op.v];
    const pre = this.live(k);
    this.protect = k;
    const expAt = (x: number): number => (x % 4 === 0 ? 0 : x % 4 === 1 ? this.now - (x % 50) : this.now + 1 + (x % 3000));
    switch (op.t) {
      case 0:
      case 1: {
        // get
        const got = eng.get(key);
        if (pre) {
          expect(got?.equals(pre.value)).toBe(true);
          this.bump(k, pre);
        } else expect(got).toBeUndefined();
        break;
      }
      case 2: {
        const ref = eng.peek(key);
        if (pre) this.checkEntry(ref, pre);
        else expect(ref).toBe(-1);
        break;
      }
      case 3:
      case 4:
      case 5:
      case 6:
      case 7: {
        // set with every option
        const mode = op.a % 5 === 0 ? SET_NX : op.a % 5 === 1 ? SET_XX : SET_ALWAYS;
        const cas = op.b % 6 === 0 ? (pre ? pre.cas : 7) : op.b % 6 === 1 ? 999_999 : 0;
        const keepTtl = op.c % 5 === 0;
        const flags = op.c % 3 === 0 ? 0 : op.c % 3 === 1 ? 0xffffffff : op.c;
        const exp = expAt(op.a >> 2);
        let want = STORED;
        if (cas !== 0 && !pre) want = NOT_FOUND;
        else if (cas !== 0 && pre!.cas !== cas) want = EXISTS;
        else if ((mode === SET_NX && pre) || (mode === SET_XX && !pre)) want = NOT_STORED;
        const r = eng.set(key, value, exp, flags, mode, cas, keepTtl);
        expect(r).toBe(want);
        if (r === STORED) {
          const e2 = keepTtl && pre ? pre.exp : exp;
          if (e2 !== 0 && e2 <= this.now) {
            this.model.delete(k);
            expect(eng.lastCas).toBe(0);
          } else {
            const e: MEntry = { value, flags, exp: e2, cas: ++this.cas, dirty: true, atime: this.now };
            this.bump(k, e);
            expect(eng.lastCas).toBe(e.cas);
          }
        }
        break;
      }
      case 8:
      case 9: {
        expect(eng.delete(key)).toBe(!!pre);
        if (pre) this.model.delete(k);
        break;
      }
      case 10: {
        const got = eng.getdel(key);
        if (pre) {
          expect(got?.equals(pre.value)).toBe(true);
          this.model.delete(k);
        } else expect(got).toBeUndefined();
        break;
      }
      case 11:
      case 12: {
        const at = expAt(op.a);
        const r = op.t === 11 ? eng.expire(key, at) : eng.touch(key, at);
        expect(r).toBe(!!pre);
        if (pre) {
          if (at !== 0 && at <= this.now) this.model.delete(k);
          else {
            pre.exp = at;
            pre.dirty = true;
            this.bump(k, pre);
          }
        }
        break;
      }
      case 13: {
        const r = eng.persist(key);
        expect(r).toBe(!!pre && pre.exp !== 0);
        if (r) {
          pre!.exp = 0;
          pre!.dirty = true;
          this.bump(k, pre!);
        }
        break;
      }
      case 14: {
        expect(eng.expireTime(key)).toBe(pre ? (pre.exp === 0 ? -1 : pre.exp) : -2);
        break;
      }
      case 15:
      case 16:
      case 17: {
        const unsigned = op.a % 2 === 0;
        const create = op.b % 3 !== 0;
        const delta = DELTAS[op.c % DELTAS.length];
        let want = INCR_OK;
        let res = 0n;
        if (!pre) {
          if (!create) want = INCR_NOT_FOUND;
          else if (unsigned) res = delta >= 0n ? BigInt.asUintN(64, delta) : 0n;
          else {
            res = delta;
            if (res > I64_MAX || res < I64_MIN) want = INCR_OVERFLOW;
          }
        } else {
          const v = unsigned ? parseU(pre.value) : parseS(pre.value);
          if (v === null) want = INCR_NOT_INTEGER;
          else if (unsigned) res = delta >= 0n ? BigInt.asUintN(64, v + delta) : v + delta < 0n ? 0n : v + delta;
          else {
            res = v + delta;
            if (res > I64_MAX || res < I64_MIN) want = INCR_OVERFLOW;
          }
        }
        const r = eng.incr(key, delta, unsigned, create);
        expect(r).toBe(want);
        if (r === INCR_OK) {
          expect(eng.lastInt).toBe(res);
          const e: MEntry = {
            value: Buffer.from(unsigned && pre ? memcachedResult(res, pre.value.length) : res.toString()),
            flags: pre ? pre.flags : 0,
            exp: pre ? pre.exp : 0,
            cas: ++this.cas,
            dirty: true,
            atime: this.now,
          };
          this.bump(k, e);
          expect(eng.lastCas).toBe(e.cas);
        }
        break;
      }
      case 18:
      case 19: {
        const prepend = op.t === 19;
        const create = op.a % 2 === 0;
        const bytes = VALUES[op.b % VALUES.length];
        if (pre && pre.value.length + bytes.length > 1200) break;
        const r = eng.append(key, bytes, prepend, create);
        if (!pre && !create) expect(r).toBe(-1);
        else {
          const v = pre ? (prepend ? Buffer.concat([bytes, pre.value]) : Buffer.concat([pre.value, bytes])) : bytes;
          expect(r).toBe(v.length);
          const e: MEntry = { value: v, flags: pre ? pre.flags : 0, exp: pre ? pre.exp : 0, cas: ++this.cas, dirty: true, atime: this.now };
          this.bump(k, e);
          expect(eng.lastCas).toBe(e.cas);
        }
        break;
      }
      case 20: {
        // full scan, sometimes deleting as it goes; keys not deleted must all be seen
        const deleting = op.a % 3 === 0;
        const before = new Set([...this.model.keys()].filter((x) => this.live(x)));
        const seen = new Set<string>();
        const deleted = new Set<string>();
        let cursor = 0;
        let rounds = 0;
        do {
          const refs: number[] = [];
          const inside = op.a % 3 === 1;
          cursor = eng.scan(cursor, 1 + (op.b % 7), (ref) => {
            const kk = ks(eng.keyOf(ref));
            seen.add(kk);
            if (inside && seen.size % 2 === 0) {
              // delete the visited entry from inside the visitor
              this.protect = kk;
              expect(eng.delete(Buffer.from(kk, 'latin1'))).toBe(true);
              this.model.delete(kk);
              deleted.add(kk);
            } else refs.push(ref);
          });
          if (deleting) {
            for (const ref of refs.slice(0, 1)) {
              const kk = ks(eng.keyOf(ref));
              this.protect = kk;
              expect(eng.delete(Buffer.from(kk, 'latin1'))).toBe(true);
              this.model.delete(kk);
              deleted.add(kk);
            }
          }
          expect(++rounds).toBeLessThan(10_000);
        } while (cursor !== 0);
        for (const x of before) if (!deleted.has(x)) expect(seen.has(x), `scan missed ${JSON.stringify(x)}`).toBe(true);
        for (const x of seen) expect(before.has(x)).toBe(true);
        break;
      }
      case 21: {
        eng.expireTick(1 + (op.a % 40));
        break;
      }
      case 22:
      case 23: {
        this.now += op.a % 3 === 0 ? op.b * 3 : op.b % 100;
        break;
      }
      case 24: {
        const ref = eng.randomRef();
        const anyLive = [...this.model.keys()].some((x) => this.live(x));
        if (!anyLive) expect(ref).toBe(-1);
        else {
          expect(ref).toBeGreaterThanOrEqual(0);
          expect(this.live(ks(eng.keyOf(ref)))).toBeDefined();
        }
        break;
      }
      case 25: {
        const exp = expAt(op.a);
        const cas = op.b * 7;
        const flags = op.c;
        const r = eng.insertClean(key, value, exp, flags, cas);
        if (exp !== 0 && exp <= this.now) expect(r).toBe(-1);
        else if (pre) this.checkEntry(r, pre);
        else {
          expect(r).toBeGreaterThanOrEqual(0);
          if (cas > this.cas) this.cas = cas;
          expect(eng.casCounter).toBe(this.cas);
          const e: MEntry = { value, flags, exp, cas, dirty: false, atime: this.now };
          this.bump(k, e);
          expect(eng.lastCas).toBe(cas);
        }
        break;
      }
      case 26: {
        const ref = eng.peek(key);
        if (pre) {
          eng.setClean(ref);
          pre.dirty = false;
        }
        break;
      }
      case 27: {
        if (!this.track) break;
        this.protect = null;
        const idle = op.a * 3;
        const max = 1 + (op.b % 5);
        this.idleCutoff = this.now - idle;
        const n = eng.evictIdle(idle, max);
        expect(n).toBeLessThanOrEqual(max);
        if (n < max && this.model.size > 0 && this.policy === 'lru') {
          const first = this.model.values().next().value!;
          expect(first.atime).toBeGreaterThan(this.now - idle);
        }
        break;
      }
      default: {
        // plain set without options: the common path
        const r = eng.set(key, value);
        expect(r).toBe(STORED);
        this.bump(k, { value, flags: 0, exp: 0, cas: ++this.cas, dirty: true, atime: this.now });
      }
    }
    this.protect = null;
    expect(eng.count).toBe(this.model.size);
  }
}

describe('engine vs a Map model', () => {
  let total = 0;
  // every other policy runs the same model, with fewer runs (their own order is checked elsewhere)
  for (const policy of ['lfu', 'fifo', 'random', 'ttl', 'sieve', 's3fifo'] as const) {
    it(`${policy}: tight and medium budgets`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(6_000, 9_000, 14_000, 20_000),
          fc.boolean(),
          fc.array(opArb, { minLength: 0, maxLength: 1000, size: 'max' }),
          (budget, track, ops) => {
            const h = new Harness(budget, track, policy);
            ops.forEach((op, i) => {
              h.run(op);
              if (i % 40 === 39) h.fullCheck();
            });
            h.fullCheck();
          },
        ),
        { numRuns: 30 },
      );
    });
  }
  for (const [name, budgets, track, runs] of [
    ['tight budgets (constant eviction)', [6_000, 9_000, 14_000], false, 150],
    ['roomy budget (no eviction), access times on', [4 << 20], true, 60],
    ['medium budgets, access times on', [20_000, 40_000], true, 110],
  ] as const) {
    it(name, () => {
      fc.assert(
        fc.property(fc.constantFrom(...budgets), fc.array(opArb, { minLength: 0, maxLength: 1000, size: 'max' }), (budget, ops) => {
          const h = new Harness(budget, track);
          ops.forEach((op, i) => {
            h.run(op);
            if (i % 40 === 39) h.fullCheck();
          });
          h.fullCheck();
          total += ops.length;
        }),
        { numRuns: runs },
      );
    });
  }
  it('ran at least 100,000 random operations', () => {
    console.log(`model-based engine test: ${total} random operations`);
    expect(total).toBeGreaterThanOrEqual(100_000);
  });
});
