/**
 * Large hashes, sets and sorted sets stored on disk in chunks: a command that names its members reads
 * and rewrites only their chunks of a collection below memory, a collection in memory writes only the
 * chunks that changed, and everything else reads the whole collection back from its chunks. Checked
 * against a model through random member and whole-collection changes, evictions, restores, writeback
 * batches and a restart, in every durability mode, with the disk's own consistency check (every chunk
 * belongs to its head and adds up to it) after each run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HashValue, SetValue, ValueType, ZSetValue } from '../../src/engine/collections/index.js';
import type { Collection } from '../../src/engine/collections/types.js';
import { seededRandom } from '../../src/engine/policies.js';
import { ClassicLevel } from 'classic-level';
import { ChunkedCollections } from '../../src/store/chunked.js';
import { dataKey } from '../../src/store/format.js';
import { repairShardDir } from '../../src/store/repair.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import { batchInFlight } from '../helpers/batch-in-flight.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(closeStores);

/** members longer than a packed collection's (64 bytes), so that these small collections are structures and go to disk in chunks */
const LONG = 'm'.repeat(65);

const k = (s: string): Buffer => Buffer.from(s);

type Kind = 'hash' | 'set' | 'zset';
const TYPE: Record<Kind, number> = { hash: ValueType.HASH, set: ValueType.SET, zset: ValueType.ZSET };
const CREATE: Record<Kind, () => Collection> = { hash: () => new HashValue(), set: () => new SetValue(), zset: () => new ZSetValue() };

/** a member's value as the model keeps it: a hash's value, a sorted set's score, '' for a set */
function memberValue(kind: Kind, c: Collection, m: string): string | null {
  if (kind === 'hash') return (c as HashValue).get(m) ?? null;
  if (kind === 'set') return (c as SetValue).has(m) ? '' : null;
  const s = (c as ZSetValue).score(m);
  return s === undefined ? null : String(s);
}

function put(kind: Kind, c: Collection, m: string, v: string): void {
  if (kind === 'hash') (c as HashValue).set(m, v);
  else if (kind === 'set') (c as SetValue).add(m);
  else (c as ZSetValue).set(m, Number(v));
}

function remove(kind: Kind, c: Collection, m: string): void {
  if (kind === 'hash') (c as HashValue).delete(m);
  else if (kind === 'set') (c as SetValue).delete(m);
  else (c as ZSetValue).delete(m);
}

function whole(kind: Kind, c: Collection): Map<string, string> {
  const out = new Map<string, string>();
  if (kind === 'hash') for (let i = 0; i < c.size; i++) out.set((c as HashValue).fieldAt(i), (c as HashValue).valueAt(i));
  else if (kind === 'set') for (let i = 0; i < c.size; i++) out.set((c as SetValue).at(i), '');
  else for (let x = (c as ZSetValue).first(); x !== null; x = x.next) out.set(x.member, String(x.score));
  return out;
}

function readWhole(s: TieredShardStore, kind: Kind, key: string): Map<string, string> | null {
  const c = s.readCollection(k(key), TYPE[kind]);
  if (c === WRONG_TYPE) throw new Error(`${key}: wrong type`);
  return c === null ? null : whole(kind, c);
}

const KEYS: [Kind, string][] = [
  ['hash', 'h1'],
  ['hash', 'h2'],
  ['set', 's1'],
  ['set', 's2'],
  ['zset', 'z1'],
  ['zset', 'z2'],
];

/** random changes and reads of six collections large enough to be stored in chunks of 2 members */
async function exercise(s: TieredShardStore, model: Map<string, Map<string, string>>, seed: number, steps: number): Promise<void> {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const memberName = (): string => `${LONG}${Math.floor(r() * 40)}`;
  for (let step = 0; step < steps; step++) {
    const [kind, key] = pick(KEYS);
    const type = TYPE[kind];
    const want = model.get(key) ?? new Map<string, string>();
    const roll = r();
    if (roll < 0.35) {
      // a command naming its members: HSET / SADD / ZADD, or HDEL / SREM / ZREM
      const members = Array.from({ length: 1 + Math.floor(r() * 3) }, memberName);
      const adding = r() < 0.7;
      const c = s.writeCollection(k(key), type, adding ? CREATE[kind] : undefined, members);
      if (c === WRONG_TYPE) throw new Error('wrong type');
      if (c === null) continue;
      expect(c.size, `${key} size before a member write (step ${step})`).toBe(want.size);
      for (const m of members) {
        const v = String(Math.floor(r() * 1000));
        if (adding) {
          put(kind, c, m, v);
          want.set(m, kind === 'set' ? '' : v);
        } else {
          remove(kind, c, m);
          want.delete(m);
        }
      }
      s.collectionChanged(k(key));
      if (want.size === 0) model.delete(key);
      else model.set(key, want);
    } else if (roll < 0.6) {
      // a command reading named members: HGET / SISMEMBER / ZSCORE, with the size (HLEN)
      const members = [memberName(), memberName()];
      const c = s.readCollection(k(key), type, members);
      if (c === WRONG_TYPE) throw new Error('wrong type');
      if (!model.has(key)) {
        expect(c, `${key} absent (step ${step})`).toBeNull();
        continue;
      }
      expect(c, `${key} present (step ${step})`).not.toBeNull();
      expect(c!.size, `${key} size (step ${step})`).toBe(want.size);
      for (const m of members) expect(memberValue(kind, c!, m), `${key} ${m} (step ${step})`).toBe(want.get(m) ?? null);
    } else if (roll < 0.7) {
      // a command changing members it does not name up front (SPOP, ZPOPMIN, ...): the whole collection
      const c = s.writeCollection(k(key), type);
      if (c === WRONG_TYPE) throw new Error('wrong type');
      if (c === null) continue;
      const all = whole(kind, c);
      const drop = [...all.keys()].slice(0, 1 + Math.floor(r() * 3));
      for (const m of drop) {
        remove(kind, c, m);
        want.delete(m);
      }
      const add = memberName();
      put(kind, c, add, '7');
      want.set(add, kind === 'set' ? '' : '7');
      s.collectionChanged(k(key));
      model.set(key, want);
    } else if (roll < 0.78) {
      expect(readWhole(s, kind, key), `${key} whole (step ${step})`).toEqual(model.get(key) ?? null);
    } else if (roll < 0.8) {
      s.delete(k(key));
      model.delete(key);
    } else if (roll < 0.83) {
      if (model.has(key)) {
        const exp = Date.now() + 3_600_000 + step;
        expect(s.expire(k(key), exp)).toBe(true);
        expect(s.expireTime(k(key))).toBe(exp);
      }
    } else if (roll < 0.95) {
      // strings that push collections out of memory
      for (let i = 0; i < 20; i++) s.set(k(`filler-${Math.floor(r() * 200)}`), Buffer.alloc(1500, 1));
    } else if (roll < 0.97) {
      // the next commands run while a batch is written: what it holds is not on disk yet
      const { written } = await batchInFlight(s);
      written.catch(() => undefined);
    } else await s.settled();
  }
}

/** grows each collection to 30 members so that it is stored in chunks (of 2: from 8 members) */
function seed(s: TieredShardStore, model: Map<string, Map<string, string>>): void {
  for (const [kind, key] of KEYS) {
    const members = Array.from({ length: 30 }, (_, i) => `${LONG}${i}`);
    const c = s.writeCollection(k(key), TYPE[kind], CREATE[kind], members);
    if (c === null || c === WRONG_TYPE) throw new Error('seed');
    const want = new Map<string, string>();
    for (const m of members) {
      put(kind, c, m, '1');
      want.set(m, kind === 'set' ? '' : '1');
    }
    s.collectionChanged(k(key));
    model.set(key, want);
  }
}

describe('collections stored in chunks', () => {
  for (const durability of ['spill', 'writeback', 'sync'] as const) {
    it(`keep every member through member and whole changes, evictions, restores and a restart (${durability})`, async () => {
      const dir = tempDir();
      const options = { dir, durability, maxMemory: 48 * 1024, chunkMembers: 2, writebackDelayMs: 5 };
      let s = await open(options);
      const reads = vi.spyOn(ChunkedCollections.prototype, 'readPartial');
      const model = new Map<string, Map<string, string>>();
      seed(s, model);
      for (let round = 0; round < 4; round++) {
        await exercise(s, model, 1000 * round + durability.length, 400);
        await s.verifyDisk();
      }
      for (const [kind, key] of KEYS) expect(readWhole(s, kind, key), key).toEqual(model.get(key) ?? null);
      // the collections were below memory, in chunks, for many of those commands
      expect(reads.mock.calls.length).toBeGreaterThan(50);
      reads.mockRestore();
      await s.close();
      s = await open(options);
      await s.verifyDisk();
      for (const [kind, key] of KEYS) expect(readWhole(s, kind, key), `${key} after the restart`).toEqual(model.get(key) ?? null);
      await exercise(s, model, 77, 300);
      await s.verifyDisk();
      for (const [kind, key] of KEYS) expect(readWhole(s, kind, key), key).toEqual(model.get(key) ?? null);
    }, 120_000);
  }

  it('a one-member command on a cold 50,000-member hash reads two records and writes one chunk', async () => {
    const dir = tempDir();
    const s = await open({ dir, durability: 'writeback', maxMemory: 1 << 20 });
    const n = 50_000;
    const fields = Array.from({ length: n }, (_, i) => `field:${i}`);
    const h = s.writeCollection<HashValue>(k('big'), ValueType.HASH, () => new HashValue());
    if (h === null || h === WRONG_TYPE) throw new Error('big');
    for (const f of fields) h.set(f, 'v');
    s.collectionChanged(k('big'));
    await s.sync();
    // larger than the 1 MiB budget: it lives below memory, in chunks
    expect(s.stats().hot.items).toBe(0);
    await s.verifyDisk();

    const reads = s.ioStats().diskReads;
    const got = s.readCollection<HashValue>(k('big'), ValueType.HASH, ['field:4242']);
    if (got === null || got === WRONG_TYPE) throw new Error('read');
    expect(got.get('field:4242')).toBe('v');
    expect(got.size).toBe(n);
    expect(s.ioStats().diskReads - reads, 'records read for one field').toBe(2);

    const ops = s.ioStats().batchOps;
    const w = s.writeCollection<HashValue>(k('big'), ValueType.HASH, undefined, ['new-field']);
    if (w === null || w === WRONG_TYPE) throw new Error('write');
    expect(w.set('new-field', 'x')).toBe(true);
    s.collectionChanged(k('big'));
    await s.sync();
    // the head, its chunk and the meta record
    expect(s.ioStats().batchOps - ops, 'records written for one field').toBe(3);
    await s.verifyDisk();

    const all = s.readCollection<HashValue>(k('big'), ValueType.HASH);
    if (all === null || all === WRONG_TYPE) throw new Error('whole');
    expect(all.size).toBe(n + 1);
    expect(all.get('new-field')).toBe('x');
    expect(all.get('field:49999')).toBe('v');
  }, 60_000);

  it('a repair removes the chunks of a collection whose record was lost, and keeps the others', async () => {
    const dir = tempDir();
    const options = { dir, durability: 'sync' as const, maxMemory: 48 * 1024, chunkMembers: 2 };
    const s = await open(options);
    const model = new Map<string, Map<string, string>>();
    seed(s, model);
    for (let i = 0; i < 60; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    await s.sync();
    await s.verifyDisk();
    await s.close();
    // the damage: h1's data record gone, its chunks left behind
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    await db.del(dataKey(k('h1')));
    await db.close();
    const report = await repairShardDir(dir, 0);
    expect(report.orphanChunks).toBeGreaterThan(0);
    const repaired = await open(options);
    await repaired.verifyDisk();
    expect(readWhole(repaired, 'hash', 'h1')).toBeNull();
    for (const [kind, key] of KEYS) if (key !== 'h1') expect(readWhole(repaired, kind, key), key).toEqual(model.get(key));
  });
});
