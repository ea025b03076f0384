/**
 * Large lists stored on disk in chunks of consecutive elements: a command that reaches only an end or
 * one index of a list below memory (pushes, pops with counts, LTRIM of one end, LINDEX, LSET, LLEN)
 * reads the head and the chunks it needs and writes back those it changed; everything else reads
 * every chunk (an LTRIM of both ends) or the whole list. Checked
 * through the list commands against an array model, with whole-list changes, evictions, restores,
 * writeback batches and a restart, in every durability mode, with the disk's own consistency check
 * (every chunk listed by its head, with the count the head says) after each round; and the exact
 * records one command reads and writes on a cold 50,000-element list, and one batch writes for a
 * change to a 50,000-element list in memory (its head and the chunks the change touched).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as L from '../../src/commands/lists.js';
import { createContext } from '../../src/commands/types.js';
import { ListValue } from '../../src/engine/collections/list.js';
import { PartialList } from '../../src/engine/collections/list-chunks.js';
import { ValueType } from '../../src/engine/collections/types.js';
import { KeyEvent } from '../../src/events/codes.js';
import { seededRandom } from '../../src/engine/policies.js';
import { ChunkedLists } from '../../src/store/list-chunked.js';
import { ListTracker } from '../../src/store/list-tracker.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { batchInFlight } from '../helpers/batch-in-flight.js';
import { modelMove, modelPop, modelTrim, ok, randomTrim, readWhole } from '../helpers/list-model.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(() => {
  vi.restoreAllMocks();
  return closeStores();
});

/** elements longer than a packed list's (64 bytes), so that these small lists are structures and go to disk in chunks */
const LONG = 'e'.repeat(65);

const k = (s: string): Buffer => Buffer.from(s);
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const KEYS = ['l1', 'l2', 'l3'];

/** random list commands on three lists large enough to be stored in chunks of 2 elements */
async function exercise(s: TieredShardStore, model: Map<string, string[]>, seed: number, steps: number, names: { n: number }): Promise<void> {
  const ctx = createContext(s, 1 << 20);
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const fresh = (): string => `${LONG}${names.n++}`;
  for (let step = 0; step < steps; step++) {
    const key = pick(KEYS);
    const want = model.get(key) ?? [];
    const at = `${key} step ${step}`;
    const roll = r();
    if (roll < 0.2) {
      // LPUSH RPUSH (LPUSHX RPUSHX)
      const left = r() < 0.5;
      const only = r() < 0.2;
      const els = Array.from({ length: 1 + Math.floor(r() * 5) }, fresh);
      const got = ok(L.lpush(ctx, k(key), els.map(b), left, only));
      if (only && want.length === 0) {
        expect(got, at).toBe(0);
        continue;
      }
      for (const e of els)
        if (left) want.unshift(e);
        else want.push(e);
      expect(got, at).toBe(want.length);
      model.set(key, want);
    } else if (roll < 0.38) {
      // LPOP RPOP, with or without a count
      const left = r() < 0.5;
      const count = r() < 0.4 ? null : Math.floor(r() * 8);
      const got = ok(L.lpop(ctx, k(key), left, count));
      expect(got, at).toEqual(modelPop(model, key, left, count));
    } else if (roll < 0.5) {
      const i = Math.floor(r() * (want.length + 4)) - 2 - (r() < 0.5 ? want.length : 0);
      const p = i < 0 ? want.length + i : i;
      expect(ok(L.lindex(ctx, k(key), i)), `${at} LINDEX ${i}`).toBe(p >= 0 && p < want.length ? want[p] : null);
    } else if (roll < 0.6) {
      const i = Math.floor(r() * (want.length + 4)) - 2 - (r() < 0.5 ? want.length : 0);
      const p = i < 0 ? want.length + i : i;
      const e = fresh();
      const got = ok(L.lset(ctx, k(key), i, b(e)));
      if (want.length === 0) expect(got, at).toBe('nokey');
      else if (p < 0 || p >= want.length) expect(got, at).toBe('range');
      else {
        expect(got, at).toBe('ok');
        want[p] = e;
      }
    } else if (roll < 0.65) {
      expect(ok(L.llen(ctx, k(key))), at).toBe(want.length);
    } else if (roll < 0.72) {
      expect(ok(L.lrange(ctx, k(key), 0, -1)), at).toEqual(want);
    } else if (roll < 0.77) {
      // whole-list changes (LINSERT, LREM) and LTRIM
      if (want.length === 0) continue;
      const w = r();
      if (w < 0.4) {
        const e = fresh();
        const p = Math.floor(r() * want.length);
        expect(ok(L.linsert(ctx, k(key), true, b(want[p]), b(e))), at).toBe(want.length + 1);
        want.splice(p, 0, e);
      } else if (w < 0.7) {
        const e = pick(want);
        expect(ok(L.lrem(ctx, k(key), 0, b(e))), at).toBe(1);
        want.splice(want.indexOf(e), 1);
      } else {
        // one end (a pop there below memory) or both
        const { start, stop } = randomTrim(r, want.length, 3, 0.8);
        ok(L.ltrim(ctx, k(key), start, stop));
        modelTrim(want, start, stop);
      }
      if (want.length === 0) model.delete(key);
    } else if (roll < 0.8) {
      // LMOVE between two of the lists
      const to = pick(KEYS);
      const fromLeft = r() < 0.5;
      const toLeft = r() < 0.5;
      const got = ok(L.lmove(ctx, k(key), k(to), fromLeft, toLeft));
      expect(got, at).toBe(modelMove(model, key, to, fromLeft, toLeft));
    } else if (roll < 0.81) {
      s.delete(k(key));
      model.delete(key);
    } else if (roll < 0.83) {
      if (want.length > 0) {
        const exp = Date.now() + 3_600_000 + step;
        expect(s.expire(k(key), exp)).toBe(true);
        expect(s.expireTime(k(key))).toBe(exp);
      }
    } else if (roll < 0.95) {
      // strings that push the lists out of memory
      for (let i = 0; i < 20; i++) s.set(k(`filler-${Math.floor(r() * 200)}`), Buffer.alloc(1500, 1));
    } else if (roll < 0.97) {
      // the next commands run while a batch is written: what it holds is not on disk yet
      const { written } = await batchInFlight(s);
      written.catch(() => undefined);
    } else if (roll < 0.98) {
      // a batch the disk refuses, with pushes and pops while it is written: what it carried, and
      // those, are written by the next one (which reopens LevelDB first: reads of the disk fail
      // until it has, so no command runs meanwhile)
      const change = (): void => {
        const key = pick(KEYS);
        const list = model.get(key) ?? [];
        if (r() < 0.6 || list.length === 0) {
          const e = fresh();
          ok(L.lpush(ctx, k(key), [b(e)], r() < 0.5));
          if (ok(L.lindex(ctx, k(key), 0)) === e) list.unshift(e);
          else list.push(e);
          model.set(key, list);
        } else {
          const left = r() < 0.5;
          expect(ok(L.lpop(ctx, k(key), left, null)), `${key} step ${step} pop`).toBe(left ? list.shift() : list.pop());
          if (list.length === 0) model.delete(key);
        }
      };
      s.injectDiskFault('refused by the test');
      const { written } = await batchInFlight(s);
      for (let i = 0; i < 4; i++) change();
      await written.catch(() => undefined);
      s.injectDiskFault(null);
      await s.sync();
      for (let i = 0; i < 4; i++) change();
    } else await s.settled();
  }
}

function seed(s: TieredShardStore, model: Map<string, string[]>, names: { n: number }): void {
  const ctx = createContext(s, 1 << 20);
  for (const key of KEYS) {
    const els = Array.from({ length: 30 }, () => `${LONG}${names.n++}`);
    ok(L.lpush(ctx, k(key), els.map(b), false));
    model.set(key, els);
  }
}

/** the writes of lists in memory that wrote only the chunks they changed */
function partialWrites(): { count: number } {
  const n = { count: 0 };
  const write = ListTracker.prototype.write;
  vi.spyOn(ListTracker.prototype, 'write').mockImplementation(function (this: ListTracker, l, perChunk) {
    const out = write.call(this, l, perChunk);
    if (out.partial) n.count++;
    return out;
  });
  return n;
}

/** a writeback store with a list 'big' of n elements in memory, on disk in chunks of 64 (the last one of n % 64) */
async function bigInMemory(n: number) {
  const options = { dir: tempDir(), durability: 'writeback' as const, maxMemory: 64 << 20 };
  const s = await open(options);
  const ctx = createContext(s, 1 << 20);
  const model = Array.from({ length: n }, (_, i) => `element:${i}`);
  ok(L.lpush(ctx, k('big'), model.map(b), false));
  await s.sync();
  expect(s.stats().hot.items).toBe(1);
  return { options, s, ctx, model };
}

/** the LevelDB writes (records put and deleted, the meta record included) of the batch that carries what `run` changed */
async function batchWrites(s: TieredShardStore, run: () => unknown): Promise<number> {
  const w0 = s.ioStats().batchOps;
  run();
  await s.sync();
  return s.ioStats().batchOps - w0;
}

describe('lists stored in chunks', () => {
  for (const durability of ['spill', 'writeback', 'sync'] as const) {
    it(`keep every element in order through end and index commands, whole changes, evictions, restores and a restart (${durability})`, async () => {
      const partial = vi.spyOn(ChunkedLists.prototype, 'partialPut');
      const inMemory = partialWrites();
      const dir = tempDir();
      const options = { dir, durability, maxMemory: 48 * 1024, chunkMembers: 2, writebackDelayMs: 5, onError: () => undefined };
      let s = await open(options);
      const model = new Map<string, string[]>();
      const names = { n: 0 };
      seed(s, model, names);
      for (let round = 0; round < 4; round++) {
        await exercise(s, model, 1000 * round + durability.length, 400, names);
        await s.verifyDisk();
        for (const key of KEYS) expect(readWhole(s, key), `${key} after round ${round}`).toEqual(model.get(key) ?? null);
      }
      await s.close();
      s = await open(options);
      await s.verifyDisk();
      for (const key of KEYS) expect(readWhole(s, key), `${key} after the restart`).toEqual(model.get(key) ?? null);
      await exercise(s, model, 77, 300, names);
      await s.verifyDisk();
      for (const key of KEYS) expect(readWhole(s, key), key).toEqual(model.get(key) ?? null);
      // the lists were below memory, in chunks, for many of those commands
      expect(partial.mock.calls.length).toBeGreaterThan(20);
      // and in memory, written in part, for others
      if (durability !== 'spill') expect(inMemory.count).toBeGreaterThan(10);
    }, 120_000);

    it(`in memory, written in part across batches, batches in flight, refused batches, evictions and a restart, stay whole (${durability})`, async () => {
      const inMemory = partialWrites();
      const dir = tempDir();
      // room for the three lists: the strings evict them now and then, not at every turn
      const options = { dir, durability, maxMemory: 160 * 1024, chunkMembers: 4, writebackDelayMs: 5, onError: () => undefined };
      let s = await open(options);
      const model = new Map<string, string[]>();
      const names = { n: 0 };
      seed(s, model, names);
      for (let round = 0; round < 4; round++) {
        // a batch every 10 commands, some of them in flight while the next commands run
        for (let slice = 0; slice < 40; slice++) {
          await exercise(s, model, 5000 + 1000 * round + 10 * slice + durability.length, 10, names);
          if (slice % 2 === 0) await s.sync();
          else (await batchInFlight(s)).written.catch(() => undefined);
        }
        await s.verifyDisk();
        for (const key of KEYS) expect(readWhole(s, key), `${key} after round ${round}`).toEqual(model.get(key) ?? null);
        if (round === 1) {
          await s.close();
          s = await open(options);
          await s.verifyDisk();
          for (const key of KEYS) expect(readWhole(s, key), `${key} after the restart`).toEqual(model.get(key) ?? null);
        }
      }
      await s.close();
      s = await open(options);
      await s.verifyDisk();
      for (const key of KEYS) expect(readWhole(s, key), `${key} after the last restart`).toEqual(model.get(key) ?? null);
      if (durability !== 'spill') expect(inMemory.count).toBeGreaterThan(50);
    }, 120_000);
  }

  it('one LPUSH / RPOP / LINDEX / LSET / LLEN / LTRIM of one end on a cold 50,000-element list reads and writes a few records', async () => {
    const dir = tempDir();
    const s = await open({ dir, durability: 'writeback', maxMemory: 1 << 20 });
    const ctx = createContext(s, 1 << 20);
    const n = 50_000;
    const model = Array.from({ length: n }, (_, i) => `element:${i}`);
    ok(L.lpush(ctx, k('big'), model.map(b), false));
    await s.sync();
    // larger than the 1 MiB budget: it lives below memory, in chunks of 64
    expect(s.stats().hot.items).toBe(0);
    await s.verifyDisk();

    const reads = (): number => s.ioStats().diskReads;
    const writes = (): number => s.ioStats().batchOps;
    const cost = async (run: () => unknown): Promise<{ read: number; written: number }> => {
      const r0 = reads();
      const w0 = writes();
      run();
      const read = reads() - r0;
      await s.sync();
      return { read, written: writes() - w0 };
    };

    // LLEN: the head alone
    expect(await cost(() => expect(ok(L.llen(ctx, k('big')))).toBe(n))).toEqual({ read: 1, written: 0 });
    // a command reaching one index is given the chunk holding it, not the list
    const part = s.readCollection<ListValue>(k('big'), ValueType.LIST, { kind: 'index', index: 4242 });
    expect(part).toBeInstanceOf(PartialList);
    expect((part as PartialList).heldCount).toBe(64);
    expect((part as PartialList).at(4242)).toBe('element:4242');
    // LINDEX: the head and the chunk holding the index
    expect(await cost(() => expect(ok(L.lindex(ctx, k('big'), 4242))).toBe('element:4242'))).toEqual({ read: 2, written: 0 });
    expect(await cost(() => expect(ok(L.lindex(ctx, k('big'), -1))).toBe(`element:${n - 1}`))).toEqual({ read: 2, written: 0 });
    // RPOP: the head and the last chunk; writes that chunk, the head and the meta record
    expect(await cost(() => expect(ok(L.lpop(ctx, k('big'), false, null))).toBe(`element:${n - 1}`))).toEqual({ read: 2, written: 3 });
    model.pop();
    // LPUSH onto a full first chunk: the head alone is read; a new chunk, the head and the meta record written
    expect(await cost(() => expect(ok(L.lpush(ctx, k('big'), [b('new:0')], true))).toBe(n))).toEqual({ read: 1, written: 3 });
    model.unshift('new:0');
    // the next LPUSH fills that chunk: read and rewritten
    expect(await cost(() => expect(ok(L.lpush(ctx, k('big'), [b('new:1')], true))).toBe(n + 1))).toEqual({ read: 2, written: 3 });
    model.unshift('new:1');
    // LSET: the head and one chunk read, that chunk and the head written
    expect(await cost(() => expect(ok(L.lset(ctx, k('big'), 30_000, b('set')))).toBe('ok'))).toEqual({ read: 2, written: 3 });
    model[30_000] = 'set';
    // LPOP 100: the head and the three chunks it spans (2 + 64 + 34 of the next); the two emptied go
    expect(await cost(() => expect(ok(L.lpop(ctx, k('big'), true, 100))).toEqual(model.slice(0, 100)))).toEqual({ read: 4, written: 5 });
    model.splice(0, 100);
    // LTRIM of one end is a pop there: RTRIM of the last element reads the head and the last chunk
    // (15 left of 16), writes it, the head and the meta record; 10 off the left, the first chunk (30)
    const trim = (start: number, stop: number) => () => expect(ok(L.ltrim(ctx, k('big'), start, stop))).toBeNull();
    expect(await cost(trim(0, -2))).toEqual({ read: 2, written: 3 });
    model.pop();
    expect(await cost(trim(10, -1))).toEqual({ read: 2, written: 3 });
    model.splice(0, 10);
    // a capped list's step on a cold list: LPUSH into the first chunk (20 of 64) reads the head and
    // that chunk; the LTRIM after it reads the head from that put, queued, and the last chunk
    expect(
      await cost(() => {
        ok(L.lpush(ctx, k('big'), [b('new:2')], true));
        ok(L.ltrim(ctx, k('big'), 0, model.length - 1));
      }),
    ).toEqual({ read: 3, written: 4 });
    model.unshift('new:2');
    model.pop();
    await s.verifyDisk();
    expect(s.stats().hot.items).toBe(0);

    expect(readWhole(s, 'big')).toEqual(model);
  }, 60_000);

  it('one LPUSH / RPOP / LSET / LMOVE on a 50,000-element list in memory writes the head, the chunks it changed and the meta record', async () => {
    const n = 50_000;
    let { options, s, ctx, model } = await bigInMemory(n);
    await s.verifyDisk();
    const written = (run: () => unknown): Promise<number> => batchWrites(s, run);
    // LPUSH onto a full first chunk: a new chunk, the head and the meta record
    expect(await written(() => expect(ok(L.lpush(ctx, k('big'), [b('new:0')], true))).toBe(n + 1))).toBe(3);
    model.unshift('new:0');
    // the next fills that chunk
    expect(await written(() => expect(ok(L.lpush(ctx, k('big'), [b('new:1')], true))).toBe(n + 2))).toBe(3);
    model.unshift('new:1');
    // RPOP: the last chunk
    expect(await written(() => expect(ok(L.lpop(ctx, k('big'), false, null))).toBe(`element:${n - 1}`))).toBe(3);
    model.pop();
    // LSET: the chunk holding the index
    expect(await written(() => expect(ok(L.lset(ctx, k('big'), 30_000, b('set')))).toBe('ok'))).toBe(3);
    model[30_000] = 'set';
    // LPOP 100 from a chunk of 2: the 2 emptied chunks' records go, the third is rewritten
    expect(await written(() => expect(ok(L.lpop(ctx, k('big'), true, 100))).toEqual(model.slice(0, 100)))).toBe(5);
    model.splice(0, 100);
    // several changes between two batches: one write of each chunk they changed
    expect(
      await written(() => {
        ok(L.lpush(ctx, k('big'), [b('a'), b('b')], false));
        ok(L.lpop(ctx, k('big'), false, 1));
        ok(L.lset(ctx, k('big'), 0, b('first')));
      }),
    ).toBe(4);
    model.push('a');
    model[0] = 'first';
    // RPUSH and RPOP of one element, a queue's steady state: the same two end chunks each time
    for (let i = 0; i < 5; i++) {
      expect(
        await written(() => {
          ok(L.lpush(ctx, k('big'), [b(`job:${i}`)], true));
          ok(L.lpop(ctx, k('big'), false, null));
        }),
      ).toBe(4);
      model.unshift(`job:${i}`);
      model.pop();
    }
    // LMOVE to another list: the chunk it popped from, the head, the other list's record
    expect(await written(() => expect(ok(L.lmove(ctx, k('big'), k('dst'), true, false))).toBe(model[0]))).toBe(4);
    const moved = model.shift()!;
    // a move that puts the element back where it was (a blocking move's wait): the head alone
    expect(await written(() => expect(ok(L.lmove(ctx, k('big'), k('big'), false, false))).toBe(model[model.length - 1]))).toBe(2);
    expect(s.stats().hot.items).toBe(2);
    await s.verifyDisk();
    expect(readWhole(s, 'big')).toEqual(model);
    expect(readWhole(s, 'dst')).toEqual([moved]);
    // a restart reads it back from those chunks, and its first change is written in part too
    await s.close();
    s = await open(options);
    ctx = createContext(s, 1 << 20);
    expect(ok(L.lrange(ctx, k('big'), 0, -1))).toEqual(model);
    expect(s.stats().hot.items).toBe(1);
    expect(await written(() => expect(ok(L.lset(ctx, k('big'), -3, b('again')))).toBe('ok'))).toBe(3);
    model[model.length - 3] = 'again';
    await s.verifyDisk();
    expect(readWhole(s, 'big')).toEqual(model);
  }, 60_000);

  it('LTRIM of a 50,000-element list in memory writes the end chunks it shortened, and a capped list (LPUSH + LTRIM) two chunks a batch', async () => {
    let { options, s, ctx, model } = await bigInMemory(50_000);
    const written = (run: () => unknown): Promise<number> => batchWrites(s, run);
    const trim = (start: number, stop: number) => () => expect(ok(L.ltrim(ctx, k('big'), start, stop))).toBeNull();
    // the last element: the last chunk, the head, the meta record
    expect(await written(trim(0, -2))).toBe(3);
    model.pop();
    // 10 from the left: the first chunk
    expect(await written(trim(10, -1))).toBe(3);
    model = model.slice(10);
    // 100 from each end: the first chunk (54) and the last (15) and the one before it (64) go, and
    // one chunk at each end is rewritten
    expect(await written(trim(100, -101))).toBe(7);
    model = model.slice(100, -100);
    // a trim that keeps everything writes nothing
    expect(await written(trim(-model.length - 5, model.length + 5))).toBe(0);
    // a capped list's steady state: one LPUSH and an LTRIM back to the cap, the chunk at each end
    const cap = model.length;
    for (let i = 0; i < 5; i++) {
      expect(
        await written(() => {
          ok(L.lpush(ctx, k('big'), [b(`new:${i}`)], true));
          ok(L.ltrim(ctx, k('big'), 0, cap - 1));
        }),
      ).toBe(4);
      model.unshift(`new:${i}`);
      model.pop();
    }
    await s.verifyDisk();
    expect(readWhole(s, 'big')).toEqual(model);
    await s.close();
    s = await open(options);
    ctx = createContext(s, 1 << 20);
    expect(ok(L.lrange(ctx, k('big'), 0, -1))).toEqual(model);
    await s.verifyDisk();
  }, 60_000);

  it('a list in memory read back from its chunks is spilled as the chunks its change touched (spill)', async () => {
    const inMemory = partialWrites();
    const dir = tempDir();
    const options = { dir, durability: 'spill' as const, maxMemory: 8 << 20 };
    let s = await open(options);
    let ctx = createContext(s, 1 << 20);
    const model = Array.from({ length: 20_000 }, (_, i) => `element:${i}`);
    ok(L.lpush(ctx, k('big'), model.map(b), false));
    await s.close();
    s = await open(options);
    ctx = createContext(s, 1 << 20);
    // read back into memory, from its chunks
    expect(ok(L.lindex(ctx, k('big'), 5))).toBe('element:5');
    expect(ok(L.lrange(ctx, k('big'), 0, -1))).toEqual(model);
    expect(s.stats().hot.items).toBe(1);
    ok(L.lpush(ctx, k('big'), [b('new')], false));
    model.push('new');
    const before = inMemory.count;
    // strings push it out of memory: its spill is the head and its last chunk
    let evicted = false;
    s.onKeyEvent((event, key) => {
      if (event === KeyEvent.EVICT && key.equals(k('big'))) evicted = true;
    });
    for (let i = 0; i < 20_000 && !evicted; i++) s.set(k(`filler-${i}`), Buffer.alloc(1000, 1));
    s.onKeyEvent(null);
    expect(s.readCollection(k('big'), ValueType.LIST, { kind: 'size' })).toBeInstanceOf(PartialList);
    expect(inMemory.count).toBe(before + 1);
    await s.sync();
    await s.verifyDisk();
    expect(readWhole(s, 'big')).toEqual(model);
  }, 60_000);

  it('a list read in part for a change that did not happen (LSET out of range) does not stand for the next change', async () => {
    const dir = tempDir();
    const options = { dir, durability: 'writeback' as const, maxMemory: 48 * 1024, chunkMembers: 2 };
    let s = await open(options);
    let ctx = createContext(s, 1 << 20);
    const model = Array.from({ length: 20 }, (_, i) => `${LONG}${i}`);
    ok(L.lpush(ctx, k('l'), model.map(b), false));
    // below memory, in chunks: pushed out by strings
    for (let i = 0; i < 200; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    await s.sync();
    expect(s.readCollection(k('l'), ValueType.LIST, { kind: 'size' })).toBeInstanceOf(PartialList);
    expect(ok(L.lset(ctx, k('l'), 99, b('x')))).toBe('range');
    // a whole-list change next: it is the one written
    expect(ok(L.linsert(ctx, k('l'), false, b(`${LONG}19`), b('last')))).toBe(21);
    model.push('last');
    await s.close();
    s = await open(options);
    ctx = createContext(s, 1 << 20);
    expect(ok(L.lrange(ctx, k('l'), 0, -1))).toEqual(model);
    await s.verifyDisk();
  });

  it('a list read in part holds its elements by their index in the whole list', () => {
    const l = new PartialList();
    l.before = 10;
    l.after = 5;
    l.fill(new ListValue().encode());
    expect(l.size).toBe(15);
    expect(() => l.push('x', false)).toThrow(/end it was not read at/);
  });
});
