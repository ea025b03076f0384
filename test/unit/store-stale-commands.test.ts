/**
 * Commands that take a collection to change and then change nothing (SADD of members already there,
 * SMOVE of a member the source lacks, a WRONGTYPE on the second key) leave no trace that a later
 * command on the same key, in memory or below it, takes for its own change. Real LevelDB, with a
 * budget smaller than the collections so that they live below memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
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
});
