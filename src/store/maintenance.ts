/**
 * The background work of one shard's store: the tick that expires and idles out hot entries and
 * keeps the CAS ceiling ahead, the sweep of due expiry-index entries and of the oldest cold records
 * over the cold limits (both become queued ops, decided when their batch is built), the access index
 * rebuilt or cleared to match the configuration, and verifyDisk, the check of the disk tier against
 * its bookkeeping.
 */
import { chunkSize, decodeHead } from '../engine/collections/chunks.js';
import type { Engine } from '../engine/index.js';
import { overColdLimits } from './batch.js';
import { type ShardDisk, yieldToLoop } from './disk.js';
import {
  ACCESS_END,
  ACCESS_START,
  accessKey,
  checkRecord,
  DATA_END,
  DATA_START,
  EXPIRY_START,
  expiryBound,
  expiryKey,
  CHUNK_END,
  CHUNK_START,
  META_KEY,
  parseChunkKey,
  parseOrderedKey,
  recordBytes,
  recordExpiresAt,
  recordChunked,
  recordSeq,
  recordType,
  recordValue,
  recordValueLength,
} from './format.js';
import { type OwnedChunks, ownedChunks, owns } from './chunk-records.js';
import { dropOp, expireDueOp } from './ops.js';
import type { StoreSettings } from './options.js';
import type { WritebackQueue } from './writeback.js';

const ZERO = Buffer.alloc(0);
/** access-index entries written or deleted per batch when it is rebuilt or cleared */
const INDEX_SLICE = 4096;

export class Maintenance {
  /** the cold sweep under way, if any (close waits for it) */
  sweeping: Promise<void> | null = null;
  /** the clear of a stale access index (started at open when no cold limit is set) */
  private accessCleared: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly s: StoreSettings,
    private readonly engine: Engine,
    private readonly disk: ShardDisk,
    private readonly writeback: WritebackQueue,
    private readonly isClosed: () => boolean,
  ) {
    this.timer = setInterval(() => this.tick(), s.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.isClosed()) return;
    const disk = this.disk;
    try {
      this.engine.expireTick(this.s.sweepBatch);
      if (this.s.idleMs > 0) this.engine.evictIdle(this.s.idleMs, this.s.sweepBatch);
      if (disk.reserveCas(this.engine.casCounter)) void this.writeback.exclusive(() => disk.db.put(META_KEY, disk.metaRecord(false))).catch(() => {});
    } catch (err) {
      this.s.onError(err as Error);
    }
    if (this.sweeping === null && disk.items > 0 && disk.dirPresent()) {
      this.sweeping = this.sweepCold()
        .catch((err: unknown) => {
          if (!this.isClosed()) this.s.onError(err as Error);
        })
        .finally(() => {
          this.sweeping = null;
        });
    }
  }

  /** Queues removal of due entries of the expiry index and, over the cold limits, the oldest ones. */
  private async sweepCold(): Promise<void> {
    const { s, disk, writeback } = this;
    const due = await disk.db.keys({ gte: EXPIRY_START, lt: expiryBound(s.now()), limit: s.sweepBatch }).all();
    for (const k of due) {
      if (this.isClosed()) return;
      const { n, key } = parseOrderedKey(k);
      const kstr = key.toString('latin1');
      if (writeback.find(kstr) !== undefined) continue; // a newer op decides
      writeback.queue(kstr, expireDueOp(Buffer.from(key), n));
    }
    if (!overColdLimits(s, disk.items, disk.bytes)) return;
    const excess = s.coldMaxItems > 0 ? Math.max(1, disk.items - s.coldMaxItems) : s.sweepBatch;
    const oldest = await disk.db.keys({ gte: ACCESS_START, lt: ACCESS_END, limit: Math.min(s.sweepBatch, excess + 64) }).all();
    for (const k of oldest) {
      if (this.isClosed()) return;
      const { n, key } = parseOrderedKey(k);
      const kstr = key.toString('latin1');
      if (writeback.find(kstr) !== undefined) continue;
      writeback.queue(kstr, dropOp(Buffer.from(key), n));
    }
  }

  /**
   * Bring the access index in line with this configuration: rebuilt from the data records when a cold
   * limit is set on a shard that ran without one (one pass over the disk tier), dropped when no
   * limit is set any more (it would go stale). `complete`: the meta record says the index is whole.
   */
  async matchAccessIndex(complete: boolean): Promise<void> {
    if (!this.s.indexAccess) {
      // Nothing reads a stale index: it is cleared behind the writer, not before serving. (Also
      // when the meta record says it is gone: a clear cut short by a crash leaves some behind.)
      this.accessCleared = this.clearAccessIndex();
      return;
    }
    if (complete) return;
    const db = this.disk.db;
    await db.clear({ gte: ACCESS_START, lt: ACCESS_END });
    let batch = db.batch();
    for await (const [k, rec] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
      if (!checkRecord(rec)) continue;
      batch.put(accessKey(recordSeq(rec), k.subarray(1)), ZERO);
      if (batch.length >= INDEX_SLICE) {
        await batch.write();
        batch = db.batch();
      }
    }
    await batch.write();
  }

  /**
   * Deletes the access index in slices of 4096 entries, each a turn of the writer, so that a large
   * index (millions of entries after a cold limit is removed) never holds writeback batches back for
   * long. Errors are reported; what is left is cleared at the next open.
   */
  private async clearAccessIndex(): Promise<void> {
    const slice = async (): Promise<boolean> => {
      const db = this.disk.db;
      const keys = await db.keys({ gte: ACCESS_START, lt: ACCESS_END, limit: INDEX_SLICE }).all();
      if (keys.length === 0) return false;
      const batch = db.batch();
      for (const k of keys) batch.del(k);
      await batch.write();
      return keys.length === INDEX_SLICE;
    };
    try {
      while (!this.isClosed() && (await this.writeback.exclusive(slice))) await yieldToLoop();
    } catch (err) {
      if (!this.isClosed()) this.s.onError(err as Error);
    }
  }

  /**
   * Checks the disk tier against its bookkeeping after writing everything queued: the cold counts,
   * one expiry-index entry per record with an expiry and none else, and (when kept) one access-index
   * entry per record at its position. Throws on the first difference. For tests; it reads the whole
   * disk tier.
   */
  async verifyDisk(): Promise<void> {
    await this.accessCleared;
    await this.writeback.drain();
    // Inside the writer's turn: no batch (the sweep's, say) commits while the records are counted.
    await this.writeback.exclusive(() => this.checkDisk());
  }

  private async checkDisk(): Promise<void> {
    const { disk, s } = this;
    const db = disk.db;
    const fail = (what: string): never => {
      throw new Error(`shard ${s.shard} disk check: ${what}`);
    };
    let items = 0;
    let bytes = 0;
    const expiries = new Set<string>();
    const positions = new Set<string>();
    /**
     * the collections stored in chunks: what their heads say, less what their chunk records hold; a
     * list's head lists its chunk ids with their element counts
     */
    const chunked = new Map<string, { type: number; size: number; bytes: number; owned: OwnedChunks }>();
    for await (const [k, rec] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
      if (!checkRecord(rec)) fail(`unreadable record for ${k.subarray(1).toString('latin1')}`);
      const key = k.subarray(1);
      items++;
      bytes += recordBytes(key.length, recordValueLength(rec));
      const exp = recordExpiresAt(rec);
      if (exp !== 0) expiries.add(expiryKey(exp, key).toString('latin1'));
      positions.add(accessKey(recordSeq(rec), key).toString('latin1'));
      if (recordChunked(rec)) {
        const { size, bytes: chunkBytes } = decodeHead(recordValue(rec));
        chunked.set(key.toString('latin1'), { type: recordType(rec), size, bytes: chunkBytes, owned: ownedChunks(rec) });
      }
    }
    if (items !== disk.items || bytes !== disk.bytes) fail(`${items} records of ${bytes} bytes on disk, bookkeeping says ${disk.items} of ${disk.bytes}`);
    for await (const [k, chunk] of db.iterator({ gte: CHUNK_START, lt: CHUNK_END })) {
      const { key, n } = parseChunkKey(k);
      const head = chunked.get(key.toString('latin1'));
      if (head === undefined || !owns(head.owned, n)) fail(`chunk ${n} of ${key.toString('latin1')} without its record`);
      const members = chunkSize(chunk, head!.type);
      const ids = head!.owned.ids;
      if (ids !== null && ids.get(n) !== members) fail(`chunk ${n} of ${key.toString('latin1')} holds ${members} elements, its head says ${ids.get(n)}`);
      head!.bytes -= chunk.length;
      head!.size -= members;
    }
    for (const [key, left] of chunked)
      if (left.bytes !== 0 || left.size !== 0) fail(`the chunks of ${key} differ from their head by ${left.size} members and ${left.bytes} bytes`);
    const indexed = async (gte: Buffer, lt: Buffer, want: Set<string>, name: string): Promise<void> => {
      let n = 0;
      for await (const k of db.keys({ gte, lt })) {
        if (!want.has(k.toString('latin1'))) fail(`${name} entry without its record: ${k.toString('latin1')}`);
        n++;
      }
      if (n !== want.size) fail(`${want.size} records need a ${name} entry, ${n} found`);
    };
    await indexed(EXPIRY_START, Buffer.from([EXPIRY_START[0] + 1]), expiries, 'expiry index');
    // Not kept: it must be gone (an old one was cleared at open).
    await indexed(ACCESS_START, ACCESS_END, s.indexAccess ? positions : new Set(), 'access index');
  }
}

/** a list head's chunk ids and their element counts; null for a record that is not a list in chunks */
