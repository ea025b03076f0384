/**
 * Collections stored in chunks while a writeback batch holding a put of some of their chunks is being
 * written: the put queued behind it writes other chunks, and the chunks of the batch are not on disk
 * until it commits. Reads and partial writes in that window must see the batch's chunks, not the
 * older copies still on disk. Real LevelDB; the window is held open deterministically (the batch is
 * taken, its disk read not yet answered, while the commands run synchronously).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as L from '../../src/commands/lists.js';
import { createContext, Failure } from '../../src/commands/types.js';
import { HashValue, type ListValue, ValueType } from '../../src/engine/collections/index.js';
import { chunkOf } from '../../src/engine/collections/chunks.js';
import { BatchBuilder } from '../../src/store/batch.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import type { WritebackQueue } from '../../src/store/writeback.js';
import { batchInFlight } from '../helpers/batch-in-flight.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(() => {
  vi.restoreAllMocks();
  return closeStores();
});

/** fields longer than a packed hash's (64 bytes), so that the hash is a structure stored in chunks */
const LONG = 'f'.repeat(65);
const k = (s: string): Buffer => Buffer.from(s);

/** a writeback store whose writer runs only when the test asks (sync / verifyDisk) */
function options(): Parameters<typeof open>[0] {
  return {
    dir: tempDir(),
    durability: 'writeback',
    maxMemory: 64 * 1024,
    chunkMembers: 2,
    writebackDelayMs: 600_000,
    writebackMaxLagMs: 600_000,
    onError: () => undefined,
  };
}

/** batchInFlight of the key's op, checked */
async function batchTaken(s: TieredShardStore, key: string): Promise<{ written: Promise<void> }> {
  const taken = await batchInFlight(s, key);
  expect((s as unknown as { writeback: WritebackQueue }).writeback.writing(key), 'the batch holds the key').toBe(true);
  return taken;
}

/** HSET key of n fields (LONG0, LONG1, ...) with the value 'v' */
function makeHash(s: TieredShardStore, key: string, n: number): void {
  const h = s.writeCollection<HashValue>(k(key), ValueType.HASH, () => new HashValue());
  if (h === null || h === WRONG_TYPE) throw new Error(`${key}: no hash`);
  for (let i = 0; i < n; i++) h.set(`${LONG}${i}`, 'v');
  s.collectionChanged(k(key));
}

function hash(s: TieredShardStore, key: string, fields?: string[]): HashValue {
  const h = s.readCollection<HashValue>(k(key), ValueType.HASH, fields);
  if (h === null || h === WRONG_TYPE) throw new Error(`${key}: no hash`);
  return h;
}

/** two fields of the hash that fall in different chunks of n */
function twoChunks(n: number): [string, string] {
  const a = `${LONG}a`;
  for (let i = 0; ; i++) if (chunkOf(`${LONG}b${i}`, n) !== chunkOf(a, n)) return [a, `${LONG}b${i}`];
}

/** a new field in the same chunk of n as `a` */
function sameChunk(a: string, n: number): string {
  for (let i = 0; ; i++) if (chunkOf(`${LONG}c${i}`, n) === chunkOf(a, n)) return `${LONG}c${i}`;
}

describe('collections in chunks while a batch with their chunks is written', () => {
  it('a hash below memory: a field written in the batch is read, and kept by a later write to its chunk', async () => {
    const s = await open(options());
    // 2,000 fields of ~70 bytes: larger than the 64 KiB budget, so it lives below memory in chunks
    makeHash(s, 'h', 2000);
    await s.sync();
    expect(s.stats().hot.items).toBe(0);
    const [a, b] = twoChunks(1024);

    // HSET h a 1: a put of a's chunk, queued, then taken by a batch
    const w1 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [a]);
    if (w1 === null || w1 === WRONG_TYPE) throw new Error('w1');
    w1.set(a, '1');
    s.collectionChanged(k('h'));
    const { written } = await batchTaken(s, 'h');

    // while it is written: HSET h b 2 queues a put of b's chunk behind it
    const w2 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [b]);
    if (w2 === null || w2 === WRONG_TYPE) throw new Error('w2');
    w2.set(b, '2');
    s.collectionChanged(k('h'));
    // HGET h a, HLEN h
    expect(hash(s, 'h', [a]).get(a), 'a field of the batch being written').toBe('1');
    expect(hash(s, 'h', [a]).size).toBe(2002);
    // HSET h c, c in a's chunk, in the same window: it rewrites a's chunk, which must keep a
    const c = sameChunk(a, 1024);
    const w3 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [c]);
    if (w3 === null || w3 === WRONG_TYPE) throw new Error('w3');
    w3.set(c, '3');
    s.collectionChanged(k('h'));
    await written;
    await s.verifyDisk();
    const all = hash(s, 'h');
    expect(all.size).toBe(2003);
    expect(all.get(a)).toBe('1');
    expect(all.get(c)).toBe('3');
    expect(all.get(b)).toBe('2');
  }, 60_000);

  it("a hash read whole into memory meanwhile keeps the batch's chunks when the batch fails and it changes again", async () => {
    const s = await open(options());
    const [a, b] = twoChunks(16);
    // 30 fields: stored in 16 chunks, small enough for memory, pushed out of it by strings
    makeHash(s, 'h', 30);
    for (let i = 0; i < 60; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    await s.sync();
    expect(s.typeOf(k('h'))).toBe(ValueType.HASH);
    expect(hash(s, 'h', [a]).size, 'below memory, read in part').toBe(30);

    const w1 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [a]);
    if (w1 === null || w1 === WRONG_TYPE) throw new Error('w1');
    w1.set(a, '1');
    s.collectionChanged(k('h'));
    s.injectDiskFault('injected: no space left on device');
    const { written } = await batchTaken(s, 'h');
    const w2 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [b]);
    if (w2 === null || w2 === WRONG_TYPE) throw new Error('w2');
    w2.set(b, '2');
    s.collectionChanged(k('h'));
    // HGETALL: read whole, back into memory
    expect(hash(s, 'h').get(a), 'read whole while the batch is written').toBe('1');
    await expect(written).rejects.toThrow(/no space/);
    // HSET h c 3 on the copy in memory: its write replaces the failed batch's put queued again
    const c = `${LONG}c`;
    const w3 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [c]);
    if (w3 === null || w3 === WRONG_TYPE) throw new Error('w3');
    w3.set(c, '3');
    s.collectionChanged(k('h'));
    s.injectDiskFault(null);
    await s.verifyDisk();
    // out of memory again: read back from its chunks
    for (let i = 0; i < 60; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 2));
    await s.sync();
    expect(hash(s, 'h', [a]).size, 'below memory').toBe(33);
    const all = hash(s, 'h');
    expect(all.size).toBe(33);
    expect([all.get(a), all.get(b), all.get(c)]).toEqual(['1', '2', '3']);
  }, 60_000);

  it('a list below memory: an element pushed in the batch is read and popped while a push at the other end is queued', async () => {
    const s = await open(options());
    const ctx = createContext(s, 1 << 20);
    const ok = <T>(v: T | Failure): T => {
      if (v instanceof Failure) throw new Error(`command failed: ${v.fault}`);
      return v;
    };
    const el = (i: number): Buffer => Buffer.from(`${LONG}${i}`);
    // 2,000 elements: larger than the budget, in chunks of 2 below memory
    ok(
      L.lpush(
        ctx,
        k('l'),
        Array.from({ length: 2000 }, (_, i) => el(i)),
        false,
      ),
    );
    await s.sync();
    expect(s.stats().hot.items).toBe(0);
    // RPUSH l x: a new chunk at the right end, taken by a batch
    expect(ok(L.lpush(ctx, k('l'), [el(9001)], false))).toBe(2001);
    const { written } = await batchTaken(s, 'l');
    // LPUSH l y behind it, then LINDEX l -1, RPOP l
    expect(ok(L.lpush(ctx, k('l'), [el(9002)], true))).toBe(2002);
    expect(ok(L.lindex(ctx, k('l'), -1)), 'the element of the batch being written').toBe(`${LONG}9001`);
    expect(ok(L.lpop(ctx, k('l'), false, null))).toBe(`${LONG}9001`);
    await written;
    await s.verifyDisk();
    const all = s.readCollection<ListValue>(k('l'), ValueType.LIST);
    if (all === null || all === WRONG_TYPE) throw new Error('l');
    expect(all.size).toBe(2001);
    expect([all.at(0), all.at(1), all.at(2000)]).toEqual([`${LONG}9002`, `${LONG}0`, `${LONG}1999`]);
  }, 60_000);
});

describe('a collection in chunks that leaves memory while a batch writes its change', () => {
  it('keeps the chunks its spill does not rewrite', async () => {
    const s = await open(options());
    // 40 fields in 32 chunks, small enough for memory
    makeHash(s, 'h', 40);
    await s.sync();
    // EXPIRE h: a change of the copy in memory, queued, then taken by a batch before it is read
    const at = Date.now() + 3_600_000;
    expect(s.expire(k('h'), at)).toBe(true);
    const { written } = await batchTaken(s, 'h');
    // strings push h out of memory meanwhile: its spill writes its head (no chunk changed)
    for (let i = 0; i < 100; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    await written;
    await s.verifyDisk();
    const all = hash(s, 'h');
    expect(all.size).toBe(40);
    expect(all.get(`${LONG}39`)).toBe('v');
    expect(s.expireTime(k('h'))).toBe(at);
  }, 60_000);
});

describe('a collection read back into memory from its queued put while a batch holds its older change', () => {
  for (const spill of ['whole', 'in part'] as const) {
    it(`is written in the chunks the disk holds once that put (${spill}) commits after the batch`, async () => {
      const s = await open(options());
      const f = (i: number): string => `${LONG}${i}`;
      // something on disk, so that the batch reads the records it replaces (a later turn of the loop)
      s.set(k('x'), k('x'));
      await s.sync();
      makeHash(s, 'h', 8);
      if (spill === 'in part') {
        // written once (its chunks now tracked), then one field changed: its spill writes that chunk
        await s.sync();
        const w0 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [f(3)]);
        if (w0 === null || w0 === WRONG_TYPE) throw new Error('w0');
        w0.set(f(3), 'v');
        s.collectionChanged(k('h'));
      }
      // its change taken by a batch; h pushed out of memory meanwhile: its spill, a put in 4 chunks
      const { written } = await batchTaken(s, 'h');
      for (let i = 0; i < 100; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
      expect(s.typeOf(k('h'))).toBe(ValueType.HASH);
      // HSET h of 10 more fields below memory (still 4 chunks), then HGETALL h: back in memory from that put
      const fields = Array.from({ length: 10 }, (_, i) => f(100 + i));
      const w = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, fields);
      if (w === null || w === WRONG_TYPE) throw new Error('w');
      for (const m of fields) w.set(m, 'v');
      s.collectionChanged(k('h'));
      expect(hash(s, 'h').size).toBe(18);
      // the batch takes h from memory (split anew: 16 chunks); the put behind it writes 4
      await written;
      await s.verifyDisk();
      // HDEL h f0, HSET h f200: in memory, written as the chunks that changed
      const w2 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [f(0), f(200)]);
      if (w2 === null || w2 === WRONG_TYPE) throw new Error('w2');
      w2.delete(f(0));
      w2.set(f(200), 'x');
      s.collectionChanged(k('h'));
      await s.verifyDisk();
      for (let i = 0; i < 100; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 2));
      await s.sync();
      const all = hash(s, 'h');
      expect(all.size).toBe(18);
      expect([all.get(f(0)), all.get(f(1)), all.get(f(109)), all.get(f(200))]).toEqual([undefined, 'v', 'v', 'x']);
    }, 60_000);
  }
});

describe('a key made packed while a batch writes its collection in chunks', () => {
  it('leaves the chunk changes of other collections to be written', async () => {
    const s = await open(options());
    // x and y in memory, each behind a stub: the registry's slots 0 and 1
    makeHash(s, 'x', 40);
    makeHash(s, 'y', 40);
    await s.sync();
    const hset = (key: string, f: string, v: string): void => {
      const h = s.writeCollection<HashValue>(k(key), ValueType.HASH, () => new HashValue(), [f]);
      if (h === null || h === WRONG_TYPE) throw new Error(key);
      h.set(f, v);
      s.collectionChanged(k(key));
    };
    hset('x', `${LONG}x`, '1');
    const { written } = await batchTaken(s, 'x');
    // a change to y's chunks, queued behind the batch
    hset('y', `${LONG}y`, '2');
    // once the batch is built: DEL x, HSET x a b, packed (its value starts with its field count, 1)
    const meta = BatchBuilder.prototype.meta;
    vi.spyOn(BatchBuilder.prototype, 'meta').mockImplementationOnce(function (this: BatchBuilder, record: Buffer) {
      s.delete(k('x'));
      hset('x', 'a', 'b');
      return meta.call(this, record);
    });
    await written;
    vi.restoreAllMocks();
    await s.verifyDisk();
    // y out of memory: read back from its chunks
    for (let i = 0; i < 100; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    await s.sync();
    const y = hash(s, 'y');
    expect(y.size).toBe(41);
    expect(y.get(`${LONG}y`)).toBe('2');
  }, 60_000);
});

describe('FLUSHALL while a batch is written', () => {
  it('a key or collection whose put the batch holds is gone for reads and does not come back', async () => {
    const s = await open(options());
    // a string and a hash pushed out of memory: their puts are queued
    s.set(k('a'), Buffer.alloc(1000, 97));
    makeHash(s, 'h', 40);
    for (let i = 0; i < 100; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));
    expect(s.stats().hot.items).toBeLessThan(100);
    s.injectDiskFault('injected: no space left on device');
    const { written } = await batchTaken(s, 'a');
    const flushed = s.flush();
    expect(s.get(k('a')), 'a string whose put is being written').toBeNull();
    expect(s.readCollection(k('h'), ValueType.HASH, [`${LONG}1`]), 'a hash whose put is being written, read in part').toBeNull();
    expect(s.readCollection(k('h'), ValueType.HASH), 'read whole').toBeNull();
    // the batch fails: its ops are not queued again over the flush
    await expect(written).rejects.toThrow(/no space/);
    s.injectDiskFault(null);
    await flushed;
    await s.verifyDisk();
    expect(s.get(k('a'))).toBeNull();
    expect(s.readCollection(k('h'), ValueType.HASH)).toBeNull();
    expect(s.stats().cold.items).toBe(0);
  }, 60_000);
});
