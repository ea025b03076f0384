/**
 * Large lists in memory written to disk in part (src/store/list-tracker.ts): a spill or writeback
 * batch writes a list's head and the chunks its pushes, pops, trims and LSETs changed. Random
 * commands on four lists in chunks of 4 elements (chunked from 16, written in one record again below
 * 8), with pushes that fill an end chunk exactly or add several, pops of up to 40 that empty several
 * chunks, LSET next to the ends, LTRIM at both ends (past them, or keeping nothing, now and then),
 * whole-list changes (LINSERT, LREM), LMOVE between any two keys and from a key to itself (every
 * pair of ends), DEL, RENAME, COPY, RESTORE, EXPIRE / PERSIST, FLUSHALL,
 * strings that evict the lists, batches in flight while the next commands run and batches the disk
 * refuses, in every durability mode: after each round every list equals an array model and
 * `verifyDisk` passes, in the store, in a copy of its directory opened without a graceful close
 * (writeback and sync), and after a restart. And an LSET after one out of range writes its own chunk:
 * what a command that changed nothing reached does not stand for the next change.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as K from '../../src/commands/keyspace.js';
import * as L from '../../src/commands/lists.js';
import { createContext } from '../../src/commands/types.js';
import { seededRandom } from '../../src/engine/policies.js';
import { ListTracker } from '../../src/store/list-tracker.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { batchInFlight } from '../helpers/batch-in-flight.js';
import { crashCopy } from '../helpers/crash-copy.js';
import { modelMove, modelPop, modelTrim, ok, randomTrim, readWhole } from '../helpers/list-model.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(() => {
  vi.restoreAllMocks();
  return closeStores();
});

/** the writes of lists in memory: in part, and whole */
function trackerWrites(): { partial: number; whole: number } {
  const n = { partial: 0, whole: 0 };
  const write = ListTracker.prototype.write;
  vi.spyOn(ListTracker.prototype, 'write').mockImplementation(function (this: ListTracker, l, perChunk) {
    const out = write.call(this, l, perChunk);
    if (out.partial) n.partial++;
    else n.whole++;
    return out;
  });
  return n;
}

/** elements longer than a packed list's (64 bytes), so that these small lists are structures and go to disk in chunks */
const LONG = 'e'.repeat(65);
const k = (s: string): Buffer => Buffer.from(s);
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const KEYS = ['l1', 'l2', 'l3', 'l4'];

type Model = Map<string, string[]>;

async function exercise(s: TieredShardStore, model: Model, seed: number, steps: number, names: { n: number }, log: string[]): Promise<void> {
  const ctx = createContext(s, 1 << 20);
  const r = seededRandom(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const fresh = (): string => `${LONG}${names.n++}`;
  for (let step = 0; step < steps; step++) {
    const key = pick(KEYS);
    const want = model.get(key) ?? [];
    const at = `${key} step ${step} seed ${seed}`;
    const roll = r();
    if (roll < 0.18) {
      const left = r() < 0.5;
      // up to 3 chunks' worth: fills the end chunk exactly, or spills into new ones
      const n = r() < 0.3 ? 4 - (want.length % 4) : 1 + int(12);
      const els = Array.from({ length: n }, fresh);
      log.push(`${key} ${left ? 'L' : 'R'}PUSH ${n}`);
      expect(ok(L.lpush(ctx, k(key), els.map(b), left)), at).toBe(want.length + n);
      for (const e of els)
        if (left) want.unshift(e);
        else want.push(e);
      model.set(key, want);
    } else if (roll < 0.34) {
      const left = r() < 0.5;
      const count = r() < 0.3 ? null : int(r() < 0.2 ? 40 : 10);
      log.push(`${key} ${left ? 'L' : 'R'}POP ${count}`);
      const got = ok(L.lpop(ctx, k(key), left, count));
      expect(got, at).toEqual(modelPop(model, key, left, count));
    } else if (roll < 0.46) {
      // LSET near an end (a chunk just made or just shrunk) or anywhere
      if (want.length === 0) continue;
      const i = r() < 0.5 ? (r() < 0.5 ? int(5) : -1 - int(5)) : int(want.length);
      const p = i < 0 ? want.length + i : i;
      const e = fresh();
      log.push(`${key} LSET ${i}`);
      const got = ok(L.lset(ctx, k(key), i, b(e)));
      if (p < 0 || p >= want.length) expect(got, at).toBe('range');
      else {
        expect(got, at).toBe('ok');
        want[p] = e;
      }
    } else if (roll < 0.5) {
      const i = int(want.length + 2) - 1 - (r() < 0.5 ? want.length : 0);
      const p = i < 0 ? want.length + i : i;
      expect(ok(L.lindex(ctx, k(key), i)), at).toBe(p >= 0 && p < want.length ? want[p] : null);
    } else if (roll < 0.53) {
      expect(ok(L.lrange(ctx, k(key), 0, -1)), at).toEqual(want);
    } else if (roll < 0.58) {
      if (want.length === 0) continue;
      const w = r();
      if (w < 0.4) {
        const e = fresh();
        const p = int(want.length);
        log.push(`${key} LINSERT`);
        expect(ok(L.linsert(ctx, k(key), true, b(want[p]), b(e))), at).toBe(want.length + 1);
        // before the pivot's first occurrence (COPY makes duplicates)
        want.splice(want.indexOf(want[p]), 0, e);
      } else if (w < 0.7) {
        const e = pick(want);
        log.push(`${key} LREM`);
        expect(ok(L.lrem(ctx, k(key), 1, b(e))), at).toBe(1);
        want.splice(want.indexOf(e), 1);
      } else {
        const { start, stop } = randomTrim(r, want.length, 6, 0.7);
        log.push(`${key} LTRIM ${start} ${stop}`);
        ok(L.ltrim(ctx, k(key), start, stop));
        modelTrim(want, start, stop);
      }
      if (want.length === 0) model.delete(key);
    } else if (roll < 0.68) {
      // LMOVE between any two keys, the same one too, several in a row
      const to = r() < 0.3 ? key : pick(KEYS);
      const fromLeft = r() < 0.5;
      const toLeft = r() < 0.5;
      const times = 1 + int(r() < 0.3 ? 12 : 2);
      log.push(`${key} LMOVE ${to} ${fromLeft} ${toLeft} x${times}`);
      for (let t = 0; t < times; t++) {
        const got = ok(L.lmove(ctx, k(key), k(to), fromLeft, toLeft));
        const e = modelMove(model, key, to, fromLeft, toLeft);
        expect(got, at).toBe(e);
        if (e === null) break;
      }
    } else if (roll < 0.7) {
      log.push(`${key} DEL`);
      s.delete(k(key));
      model.delete(key);
    } else if (roll < 0.73) {
      const to = pick(KEYS);
      if (r() < 0.5) {
        log.push(`${key} RENAME ${to}`);
        const got = K.rename(ctx, k(key), k(to), false);
        if (want.length === 0) expect(got).toBe('missing');
        else if (to !== key) {
          model.set(to, want);
          model.delete(key);
        }
      } else {
        log.push(`${key} COPY ${to}`);
        const got = K.copy(ctx, k(key), k(to), true);
        if (to !== key && want.length > 0) {
          expect(got).toBe('done');
          model.set(to, [...want]);
        }
      }
    } else if (roll < 0.75) {
      log.push(`${key} RESTORE`);
      s.restore(k(key));
    } else if (roll < 0.77) {
      if (want.length === 0) continue;
      log.push(`${key} EXPIRE`);
      if (r() < 0.7) expect(s.expire(k(key), Date.now() + 3_600_000 + step)).toBe(true);
      else s.persist(k(key));
    } else if (roll < 0.87) {
      log.push('fillers');
      for (let i = 0; i < 20; i++) s.set(k(`filler-${int(200)}`), Buffer.alloc(1500, 1));
    } else if (roll < 0.92) {
      log.push('in flight');
      const { written } = await batchInFlight(s);
      written.catch(() => undefined);
    } else if (roll < 0.94) {
      log.push('refused');
      s.injectDiskFault('refused by the test');
      const { written } = await batchInFlight(s);
      const n = 1 + int(4);
      for (let i = 0; i < n; i++) {
        const key2 = pick(KEYS);
        const list = model.get(key2) ?? [];
        // read back into memory from the put queued for it over the refused one, then changed
        if (r() < 0.3) s.restore(k(key2));
        const left = r() < 0.5;
        if (r() < 0.5 || list.length === 0) {
          const e = fresh();
          ok(L.lpush(ctx, k(key2), [b(e)], left));
          if (left) list.unshift(e);
          else list.push(e);
          model.set(key2, list);
        } else {
          expect(ok(L.lpop(ctx, k(key2), left, null))).toBe(left ? list.shift() : list.pop());
          if (list.length === 0) model.delete(key2);
        }
      }
      await written.catch(() => undefined);
      s.injectDiskFault(null);
      // the next batch reopens LevelDB first: reads of the disk fail until then
      await s.sync();
    } else if (roll < 0.945) {
      log.push('flush');
      await s.flush();
      model.clear();
    } else await s.settled();
  }
}

function seed(s: TieredShardStore, model: Model, names: { n: number }): void {
  const ctx = createContext(s, 1 << 20);
  for (const key of KEYS) {
    const els = Array.from({ length: 30 }, () => `${LONG}${names.n++}`);
    ok(L.lpush(ctx, k(key), els.map(b), false));
    model.set(key, els);
  }
}

async function check(s: TieredShardStore, model: Model, what: string): Promise<void> {
  await s.verifyDisk();
  for (const key of KEYS) expect(readWhole(s, key), `${key} ${what}`).toEqual(model.get(key) ?? null);
}

describe('large lists in memory written in part (ListTracker)', () => {
  for (const durability of ['spill', 'writeback', 'sync'] as const) {
    it(`equal an array model through end, index and whole-list commands, moves, renames, copies, flushes, evictions, batches in flight or refused, crash copies and restarts (${durability})`, async () => {
      const writes = trackerWrites();
      for (let run = 0; run < 2; run++) {
        const dir = tempDir();
        // room for the four lists in the first run (the strings evict them now and then); in the
        // second they are below memory more often than not, changed there in part and read back
        const options = { dir, durability, maxMemory: (run === 0 ? 160 : 56) * 1024, chunkMembers: 4, writebackDelayMs: 5, onError: () => undefined };
        let s = await open(options);
        const model: Model = new Map();
        const names = { n: 0 };
        // the commands of the last steps, shown when a check fails
        const log: string[] = [];
        seed(s, model, names);
        try {
          for (let round = 0; round < 6; round++) {
            for (let slice = 0; slice < 20; slice++) {
              await exercise(s, model, 7919 * run + 1000 * round + 10 * slice + durability.length, 15, names, log);
              if (slice % 3 === 0) await s.sync();
              else if (slice % 3 === 1) (await batchInFlight(s)).written.catch(() => undefined);
            }
            if (durability !== 'spill') {
              // the disk alone once synced, opened without a graceful close (as after a crash)
              await s.sync();
              const copy = tempDir();
              await crashCopy(dir, copy);
              const c = await open({ ...options, dir: copy });
              await check(c, model, `crash copy, round ${round}`);
              await c.close();
            }
            await check(s, model, `after round ${round}`);
            if (round % 2 === 1) {
              await s.close();
              s = await open(options);
              await check(s, model, `after a restart, round ${round}`);
            }
          }
        } catch (err) {
          console.log(log.slice(-60).join('\n'));
          throw err;
        }
        await s.close();
      }
      // lists in memory were written in part, and whole, many times
      if (durability !== 'spill') {
        expect(writes.partial).toBeGreaterThan(40);
        expect(writes.whole).toBeGreaterThan(20);
      }
    }, 120_000);
  }
});

describe('a large list in memory', () => {
  it('writes the chunk of an LSET that follows one out of range (what a command that changed nothing reached is forgotten)', async () => {
    const dir = tempDir();
    const options = { dir, durability: 'writeback' as const, maxMemory: 1 << 20, chunkMembers: 4 };
    let s = await open(options);
    let ctx = createContext(s, 1 << 20);
    const model = Array.from({ length: 40 }, (_, i) => `${LONG}${i}`);
    ok(L.lpush(ctx, k('l'), model.map(b), false));
    await s.sync();
    expect(ok(L.lset(ctx, k('l'), 99, b('x')))).toBe('range');
    expect(ok(L.lset(ctx, k('l'), 0, b('first')))).toBe('ok');
    model[0] = 'first';
    await s.close();
    s = await open(options);
    ctx = createContext(s, 1 << 20);
    expect(ok(L.lrange(ctx, k('l'), 0, -1))).toEqual(model);
    await s.verifyDisk();
  });
});
