/**
 * Commands that take a collection to change and then change nothing (SADD of members already there,
 * SMOVE of a member the source lacks, a WRONGTYPE on the second key, LSET out of range) leave no trace
 * that a later command on the same key, in memory or below it, takes for its own change. Real
 * LevelDB, with a budget smaller than some collections so that they live below memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as L from '../../src/commands/lists.js';
import * as S from '../../src/commands/sets.js';
import { createContext, Failure } from '../../src/commands/types.js';
import { KEPT } from '../../src/store/collection-tier.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(closeStores);

const k = (s: string): Buffer => Buffer.from(s);

function ok<T>(v: T | Failure): T {
  if (v instanceof Failure) throw new Error(`command failed: ${v.fault}`);
  return v;
}

/** members of 1,000 bytes: 100 of them are past the 64 KiB budget, and fewer than a set in chunks holds */
const big = (i: number): string => `${i}:`.padEnd(1000, 'm');

describe('a command that changed nothing', () => {
  for (const durability of ['spill', 'writeback'] as const) {
    it(`leaves nothing a later change to the key writes instead of its own (${durability})`, async () => {
      const s = await open({ dir: tempDir(), durability, maxMemory: 64 * 1024, writebackDelayMs: 5 });
      const ctx = createContext(s, 1 << 20);
      const members = Array.from({ length: 100 }, (_, i) => big(i));
      expect(ok(S.sadd(ctx, k('s'), members))).toBe(100);
      expect(s.stats().hot.items, 'the set lives below memory').toBe(0);
      // SADD of a member it has, SMOVE of one it lacks: read below memory, not changed
      expect(ok(S.sadd(ctx, k('s'), [big(7)]))).toBe(0);
      expect(ok(S.smove(ctx, k('s'), k('t'), 'absent'))).toBe(false);
      // SMOVE onto a string: WRONGTYPE after the source was read
      s.set(k('str'), k('v'));
      expect(S.smove(ctx, k('s'), k('str'), big(3))).toBeInstanceOf(Failure);
      // DEL s, SADD s x: a new small set, in memory
      expect(s.delete(k('s'))).toBe(true);
      expect(ok(S.sadd(ctx, k('s'), ['x']))).toBe(1);
      expect(ok(S.smembers(ctx, k('s')))).toEqual(['x']);
      await s.sync();
      expect(ok(S.smembers(ctx, k('s')))).toEqual(['x']);
      expect(ok(S.scard(ctx, k('s')))).toBe(1);
      if (durability !== 'spill') await s.verifyDisk();
    }, 60_000);
  }

  it('in memory: LMOVE whose destination pushes its source out writes the source as this command left it, not as a no-op one read it', async () => {
    const s = await open({ dir: tempDir(), durability: 'writeback', maxMemory: 64 * 1024, writebackDelayMs: 5 });
    const ctx = createContext(s, 1 << 20);
    const el = (p: string, i: number): Buffer => Buffer.from(`${p}${i}:`.padEnd(100, 'e'));
    // dst: 100 KiB, past the budget, below memory; src and other: small lists in memory
    ok(
      L.lpush(
        ctx,
        k('dst'),
        Array.from({ length: 100 }, (_, i) => Buffer.from(big(i))),
        false,
      ),
    );
    ok(L.lpush(ctx, k('other'), [el('o', 0), el('o', 1)], false));
    ok(L.lpush(ctx, k('src'), [el('s', 0), el('s', 1), el('s', 2)], false));
    // LSET out of range on each: read for a change, changed nothing
    expect(ok(L.lset(ctx, k('other'), 99, el('x', 0)))).toBe('range');
    expect(ok(L.lset(ctx, k('src'), 99, el('x', 0)))).toBe('range');
    // src leaves memory and comes back (its structure is another one now)
    for (let i = 0; i < 60; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    expect(ok(L.lrange(ctx, k('src'), 0, -1))).toHaveLength(3);
    // LMOVE src dst RIGHT LEFT: reading dst back evicts src, which is then written below memory
    expect(ok(L.lmove(ctx, k('src'), k('dst'), false, true))).toBe(el('s', 2).toString());
    const want = [el('s', 0), el('s', 1)].map(String);
    expect(ok(L.lrange(ctx, k('src'), 0, -1))).toEqual(want);
    expect(ok(L.lindex(ctx, k('dst'), 0))).toBe(el('s', 2).toString());
    expect(ok(L.llen(ctx, k('dst')))).toBe(101);
    await s.sync();
    await s.verifyDisk();
    expect(ok(L.lrange(ctx, k('src'), 0, -1))).toEqual(want);
  }, 60_000);

  // below memory each such command left its copy of what it read, one per key for good: a key that
  // is not written again held a whole collection (or its chunks) in the heap, past the budget
  for (const chunks of [false, true]) {
    it(`keeps at most ${KEPT} copies of what such commands read below memory, over many keys (${chunks ? 'chunks read in part' : 'read whole'})`, async () => {
      // 100 members: one record, read whole; in chunks of 4, read in part for the members named
      const s = await open({ dir: tempDir(), durability: 'writeback', maxMemory: 64 * 1024, writebackDelayMs: 5, chunkMembers: chunks ? 4 : undefined });
      const ctx = createContext(s, 1 << 20);
      const keys = Array.from({ length: 12 }, (_, i) => `set-${i}`);
      const member = (key: string, i: number): string => `${key}/${big(i)}`;
      for (const key of keys) {
        const members = Array.from({ length: 100 }, (_, i) => member(key, i));
        expect(ok(S.sadd(ctx, k(key), members))).toBe(100);
      }
      expect(s.stats().hot.items, 'the sets live below memory').toBe(0);
      // SADD of a member each has, SREM of one each lacks: read for a change, changed nothing
      for (const key of keys) expect(ok(S.sadd(ctx, k(key), [member(key, 5)]))).toBe(0);
      for (const key of keys) expect(ok(S.srem(ctx, k(key), ['absent']))).toBe(0);
      const kept = (s as unknown as { collections: { belowColls: Map<string, unknown>; partials: Map<string, unknown> } }).collections;
      expect(kept.belowColls.size + kept.partials.size, 'copies kept').toBeLessThanOrEqual(KEPT);
      expect((chunks ? kept.partials : kept.belowColls).size, 'the last command read as this case means').toBeGreaterThan(0);
      // a command holding two below memory still writes both (SMOVE), with copies left before it
      expect(ok(S.smove(ctx, k('set-0'), k('set-1'), member('set-0', 3)))).toBe(true);
      expect(ok(S.smove(ctx, k('set-2'), k('set-3'), 'absent'))).toBe(false);
      expect(ok(S.smove(ctx, k('set-4'), k('set-5'), member('set-4', 4)))).toBe(true);
      await s.sync();
      await s.verifyDisk();
      expect([0, 1, 2, 3, 4, 5].map((i) => ok(S.scard(ctx, k(`set-${i}`))))).toEqual([99, 101, 100, 100, 99, 101]);
      expect(ok(S.sismember(ctx, k('set-1'), member('set-0', 3)))).toBe(true);
      expect(ok(S.sismember(ctx, k('set-5'), member('set-4', 4)))).toBe(true);
      for (const key of keys.slice(6)) expect(ok(S.scard(ctx, k(key)))).toBe(100);
    }, 120_000);
  }
});
