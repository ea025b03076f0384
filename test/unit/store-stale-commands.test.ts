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
});
