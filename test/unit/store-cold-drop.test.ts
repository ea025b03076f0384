/**
 * The cold limit (--cold-max-items) drops the oldest records from disk in a writeback batch. A key
 * read back into memory while that batch is written (after it was built: its record is still on
 * disk, and memory did not hold the key when the batch looked) must not be left in memory as a clean
 * copy of a record that is gone: its later changes, for a collection in chunks the chunks it did not
 * change, would otherwise be written on top of nothing. Real LevelDB; the read happens at the one
 * moment between building the batch and writing it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HashValue, ValueType } from '../../src/engine/collections/index.js';
import { BatchBuilder } from '../../src/store/batch.js';
import { type Op, OP_DROP } from '../../src/store/ops.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(() => {
  vi.restoreAllMocks();
  return closeStores();
});

const k = (s: string): Buffer => Buffer.from(s);
/** fields longer than a packed hash's, so that the hash is a structure stored in chunks */
const field = (i: number): string => `${i}:`.padEnd(70, 'f');

function hash(s: TieredShardStore, key: string): HashValue | null {
  const h = s.readCollection<HashValue>(k(key), ValueType.HASH);
  if (h === WRONG_TYPE) throw new Error(`${key}: wrong type`);
  return h;
}

describe('a key read back while the batch dropping it for the cold limit is written', () => {
  it('is written to disk again, whole, and keeps every member through its next change', async () => {
    const dir = tempDir();
    const s = await open({ dir, durability: 'writeback', maxMemory: 64 * 1024, chunkMembers: 2, coldMaxItems: 4, writebackDelayMs: 5, sweepIntervalMs: 10 });
    // the limit scan queues drops; once a batch has dropped h, and before it is written, h is read
    // back into memory
    let dropping: BatchBuilder | null = null;
    let readBack = false;
    const add = BatchBuilder.prototype.add;
    vi.spyOn(BatchBuilder.prototype, 'add').mockImplementation(function (this: BatchBuilder, op: Op, dkey: Buffer, old: Buffer | undefined) {
      const dropped = this.dropped;
      const out = add.call(this, op, dkey, old);
      if (op.kind === OP_DROP && op.key.equals(k('h')) && this.dropped > dropped) dropping = this;
      return out;
    });
    const meta = BatchBuilder.prototype.meta;
    vi.spyOn(BatchBuilder.prototype, 'meta').mockImplementation(function (this: BatchBuilder, record: Buffer) {
      if (dropping === this && !readBack) {
        expect(hash(s, 'h')?.size, 'h read back from the record being dropped').toBe(40);
        readBack = true;
      }
      return meta.call(this, record);
    });
    const h0 = s.writeCollection<HashValue>(k('h'), ValueType.HASH, () => new HashValue());
    if (h0 === null || h0 === WRONG_TYPE) throw new Error('h');
    for (let i = 0; i < 40; i++) h0.set(field(i), 'v');
    s.collectionChanged(k('h'));
    await s.sync();
    // h leaves memory (spilled in chunks), and is the oldest record on disk
    for (let i = 0; i < 60; i++) s.set(k(`filler-${i}`), Buffer.alloc(1500, 1));

    // the cold sweep's turn comes when it comes: wait for the state, up to a generous deadline
    const deadline = Date.now() + 30_000;
    for (let i = 0; !readBack && Date.now() < deadline; i++) {
      // more strings keep the disk over its limit, so that the scan keeps dropping the oldest
      s.set(k(`more-${i}`), Buffer.alloc(1500, 2));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(readBack, 'h was read back while the batch dropping it was written').toBe(true);
    vi.restoreAllMocks();

    // HSET h new v: one field changed on the copy in memory
    const w = s.writeCollection<HashValue>(k('h'), ValueType.HASH, undefined, [field(99)]);
    if (w === null || w === WRONG_TYPE) throw new Error('w');
    w.set(field(99), 'x');
    s.collectionChanged(k('h'));
    await s.verifyDisk();
    // what the disk holds, read back whole once the store is closed and opened without the limit
    await s.close();
    const again = await open({ dir, maxMemory: 64 * 1024, chunkMembers: 2 });
    await again.verifyDisk();
    const all = hash(again, 'h');
    expect(all?.size).toBe(41);
    expect(all?.get(field(0))).toBe('v');
    expect(all?.get(field(99))).toBe('x');
  }, 60_000);
});
