/**
 * The sorted-set structure (src/engine/collections/zset.ts): a skiplist with spans beside a Map,
 * checked against a naive sorted array under random operations, plus its encoding and the
 * listpack-like `small` rule Redis' -0 and ZSCAN answers depend on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCollection, ValueType } from '../../src/engine/collections/index.js';
import { LISTPACK_ENTRIES, type ZNode, ZSetValue } from '../../src/engine/collections/zset.js';
import { grownBy } from '../helpers/heap.js';

type Pair = [member: string, score: number];

/** the model: an array kept sorted by (score, member bytes) */
function sorted(model: Map<string, number>): Pair[] {
  return [...model].sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function listed(z: ZSetValue): Pair[] {
  return [...z.entries()].map((n) => [n.member, n.score]);
}

const members = fc.constantFrom('', 'a', 'b', 'ab', 'b\x00', '\xff', '\x00', 'zz', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8');
const scores = fc.constantFrom(0, 1, -1, 2.5, -2.5, 1e300, -Infinity, Infinity, 3, 7, 0.1);

type Op = { op: 'set'; m: string; s: number } | { op: 'del'; m: string };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), m: members, s: scores }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('del' as const), m: members }) },
);

describe('ZSetValue against a sorted array', () => {
  it('order, rank, at, ranges, tail and back links agree after every operation', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const z = new ZSetValue(false);
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            expect(z.set(o.m, o.s)).toBe(!model.has(o.m));
            model.set(o.m, o.s);
          } else {
            expect(z.delete(o.m)).toBe(model.delete(o.m));
          }
          const want = sorted(model);
          expect(listed(z)).toEqual(want);
          expect(z.size).toBe(want.length);
          want.forEach(([m, s], i) => {
            expect(z.rank(m)).toBe(i);
            expect(z.at(i)?.member).toBe(m);
            expect(z.score(m)).toBe(s);
          });
          expect(z.at(want.length)).toBeNull();
          expect(z.rank('absent-member')).toBe(-1);
          // backward links and tail
          const back: string[] = [];
          for (let n: ZNode | null = z.last(); n !== null; n = n.prev) back.push(n.member);
          expect(back).toEqual(want.map((p) => p[0]).reverse());
          // score ranges
          for (const [v, ex] of [
            [1, false],
            [1, true],
            [-Infinity, false],
            [2.5, true],
          ] as [number, boolean][]) {
            const first = want.find((p) => (ex ? p[1] > v : p[1] >= v));
            expect(z.firstAbove({ value: v, ex })?.member).toBe(first?.[0]);
            const last = [...want].reverse().find((p) => (ex ? p[1] < v : p[1] <= v));
            expect(z.lastBelow({ value: v, ex })?.member).toBe(last?.[0]);
          }
        }
        const empty = z.size === 0 ? 0 : 1;
        expect(z.bytes > 0).toBe(empty === 1);
      }),
      { numRuns: 200 },
    );
  });

  it.each([true, false])('lex ranges over members of one score (small: %s)', (small) => {
    const z = new ZSetValue(small);
    for (const m of ['a', 'b', 'ba', 'c', '\xff']) z.set(m, 0);
    const v = (value: string, ex = false) => ({ kind: 'value' as const, value, ex });
    const MIN = { kind: 'min' as const };
    const MAX = { kind: 'max' as const };
    expect(z.firstInLex(v('b'), MAX)?.member).toBe('b');
    expect(z.firstInLex(v('b', true), MAX)?.member).toBe('ba');
    expect(z.lastInLex(MIN, v('c', true))?.member).toBe('ba');
    expect(z.lastInLex(MIN, MAX)?.member).toBe('\xff');
    expect(z.firstInLex(MIN, MAX)?.member).toBe('a');
    expect(z.firstInLex(MAX, MAX)).toBeNull();
    expect(z.lastInLex(MIN, MIN)).toBeNull();
    expect(z.firstInLex(v('bb'), v('bz'))).toBeNull();
    expect(z.firstInLex(v('c'), v('b'))).toBeNull();
    expect(z.firstInLex(v('c'), v('c'))?.member).toBe('c');
    expect(z.firstInLex(v('c', true), v('c'))).toBeNull();
  });

  it('bytes come back to zero as members leave', () => {
    const z = new ZSetValue();
    for (let i = 0; i < 500; i++) z.set(`m${i}`, i % 7);
    expect(z.bytes).toBeGreaterThan(500 * 32);
    for (let i = 0; i < 500; i++) z.set(`m${i}`, -i); // updates do not change the estimate
    const full = z.bytes;
    for (let i = 0; i < 500; i++) z.delete(`m${i}`);
    expect(full).toBeGreaterThan(0);
    expect(z.bytes).toBe(0);
  });

  it('a million members: `bytes` within 5% of what the heap grew by, nodes without a stored span or level', async () => {
    const { made: z, measured } = await grownBy(() => {
      const z = new ZSetValue(false);
      for (let i = 0; i < 1_000_000; i++) z.set(`member:${i}`, i + 0.5);
      return z;
    });
    expect(z.size).toBe(1_000_000);
    expect(Math.abs(z.bytes - measured)).toBeLessThan(measured / 20);
    // 196 bytes per member with the level-0 span and the level as fields of every node
    expect(measured / 1e6).toBeLessThan(188);
  });

  it('ranks and positions in a 200,000-member set, after removals in the middle', () => {
    const z = new ZSetValue();
    const n = 200_000;
    for (let i = 0; i < n; i++) z.set(`m${i}`, i);
    for (let i = 1000; i < 2000; i++) z.delete(`m${i}`);
    for (let i = 0; i < n; i += 97) {
      if (i >= 1000 && i < 2000) continue;
      const rank = i < 1000 ? i : i - 1000;
      expect(z.rank(`m${i}`)).toBe(rank);
      expect(z.at(rank)!.member).toBe(`m${i}`);
    }
  });
});

describe('ZSetValue: Redis listpack rules and encoding', () => {
  it('a small set keeps -0 as 0, a large one keeps -0; updates to an equal score change nothing', () => {
    const z = new ZSetValue();
    z.set('a', -0);
    expect(Object.is(z.score('a'), 0)).toBe(true);
    for (let i = 0; i < LISTPACK_ENTRIES; i++) z.set(`m${i}`, i);
    expect(z.small).toBe(false);
    z.set('b', -0);
    expect(Object.is(z.score('b'), -0)).toBe(true);
    z.set('b', 0); // equal: no change
    expect(Object.is(z.score('b'), -0)).toBe(true);
    const long = new ZSetValue();
    long.set('x'.repeat(65), 1);
    expect(long.small).toBe(false);
  });

  it('encodes and decodes: order, scores (-0, inf), the small flag', () => {
    const z = new ZSetValue(false);
    z.set('a', -0);
    z.set('\x00\xff', Infinity);
    z.set('c', -Infinity);
    z.set('d', 0.1);
    const back = decodeCollection(ValueType.ZSET, z.encode()) as ZSetValue;
    expect(listed(back)).toEqual(listed(z));
    expect(Object.is(back.score('a'), -0)).toBe(true);
    expect(back.small).toBe(false);
    const small = new ZSetValue();
    small.set('x', 1);
    expect((decodeCollection(ValueType.ZSET, small.encode()) as ZSetValue).small).toBe(true);
  });
});
