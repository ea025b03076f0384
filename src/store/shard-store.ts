/**
 * One shard's two-tier store: the hot engine (SharedArrayBuffer hash table + arena + LRU) in front of
 * a LevelDB cold tier, behind the ShardStore contract. See docs/storage.md for the on-disk format and
 * what each durability mode can lose, and docs/architecture.md for the files the store is made of.
 *
 * Read path: a hot miss reads LevelDB with `getSync`. On a shard worker that blocks only this shard,
 * costs ~12 us per cold hit instead of 50-100 us for an awaited `get` (docs/storage.md has the
 * measurements), and keeps every command's effect synchronous at the moment it starts: there is
 * never a window in which two commands on one key interleave, so concurrent reads of a key being
 * restored share one disk read by construction (the first restores it, the rest find it hot).
 *
 * Write path: every change that must reach disk becomes one pending op per key in the writeback
 * queue (src/store/writeback.ts, latest op wins). A single writer takes the ops in batches, reads the
 * old data records of the batch with one `getMany` (so the expiry and access indexes and the cold
 * counts stay exact), and commits one atomic LevelDB batch that also rewrites the meta record
 * (src/store/disk.ts, built by src/store/batch.ts). Reads consult the queue and the batch in flight
 * before the disk, so a queued delete or spill is never hidden by an older disk copy.
 *
 * This file is the ShardStore methods, the lookup they share (`locate()`) and the queueing of each
 * change; the jobs behind them live in writeback.ts, batch.ts, disk.ts, maintenance.ts and walk.ts,
 * and the collection paths (readCollection, writeCollection, collectionChanged) in collection-tier.ts.
 * It passes 600 lines because the contract has some thirty methods, each of which decides, next to
 * the lookup, what a key in memory, below it or absent means for it.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { KeyEvent, type KeyEventListener, Notify, notifiedEvent } from '../events/codes.js';
import {
  addDelta,
  decimalLength,
  Engine,
  INCR_NOT_FOUND,
  INCR_NOT_INTEGER,
  INCR_OK,
  INCR_OVERFLOW,
  INCR_WRONG_TYPE,
  parseSigned,
  parseUnsigned,
  SET_ALWAYS,
  STORED,
} from '../engine/index.js';
import type { BatchBuilder } from './batch.js';
import { asBuffer, checkTime, isOutOfMemory } from './checks.js';
import { COLLECTION_QUEUED_BYTES, CollectionTier } from './collection-tier.js';
import { type CommitSource, causes, ShardDisk } from './disk.js';
import { checkRecord, dataKey, HEADER_SIZE, recordCas, recordChunked, recordExpiresAt, recordFlags, recordType, recordValue } from './format.js';
import type { CollectionRegistry } from './collections.js';
import type { ChunkedCollections } from './chunked.js';
import { ABSENT, type BelowMemory, type InMemory, type Located } from './located.js';
import { Maintenance } from './maintenance.js';
import { delOp, dirtyOp, expireDueOp, type Op, OP_DEL, OP_PUT, PRIOR_NONE, PRIOR_UNKNOWN, type PutOp, putOp } from './ops.js';
import { badArgument, type Durability, type StoreIoStats, type StoreSettings, storeSettings, type TieredShardStoreOptions } from './options.js';
import type { Collection } from '../engine/collections/types.js';
import type {
  Entry,
  Reach,
  HotKeyStat,
  IncrResult,
  ScanPage,
  SetOptions,
  SetResult,
  SetStatus,
  ShardStats,
  ShardStore,
  UpdateAction,
  WritebackLag,
  WrongType,
} from './types.js';
import { Walks } from './walk.js';
import { RETRY_MS, WritebackQueue } from './writeback.js';

export type { Durability, StoreIoStats, TieredShardStoreOptions } from './options.js';

const EMPTY_KEY = Buffer.alloc(0);
/** hot keys per shard in stats(): enough for a dashboard, small enough for every STATS reply */
const HOT_KEYS_REPORTED = 10;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function hotKeyStat(h: { key: Buffer; count: number }): HotKeyStat {
  try {
    return { key: utf8.decode(h.key), count: h.count };
  } catch {
    return { key: h.key.toString('base64'), binary: true, count: h.count };
  }
}

export class TieredShardStore implements ShardStore {
  readonly shard: number;
  readonly durability: Durability;
  readonly dir: string;

  private readonly s: StoreSettings;
  private readonly engine: Engine;
  private readonly disk: ShardDisk;
  private readonly writeback: WritebackQueue;
  private readonly maintenance: Maintenance;
  private readonly walks: Walks;
  /** the hot tier as a batch commit sees it */
  private readonly hot: CommitSource;
  private readonly inMemory: InMemory = { kind: 'memory', ref: -1, restored: false };
  /** the collection paths (hashes, lists, sets, sorted sets, streams), which this store owns and serves */
  private readonly collections: CollectionTier;
  /** the collection paths' registry and chunks, which the writes of collections in memory (hotPut, committed) use */
  private readonly colls: CollectionRegistry;
  private readonly chunked: ChunkedCollections;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** key-event subscribers (the shard worker installs one only while some front listens) */
  private keyEvent: KeyEventListener | null = null;

  private readonly counters = {
    hitsHot: 0,
    hitsCold: 0,
    misses: 0,
    evicted: 0,
    idle: 0,
    spills: 0,
    restores: 0,
    expirations: 0,
    writes: 0,
  };
  private readonly io: Omit<StoreIoStats, 'pending'> = { diskReads: 0, batches: 0, batchOps: 0, syncs: 0, coldDropped: 0 };

  private constructor(s: StoreSettings, disk: ShardDisk) {
    this.s = s;
    this.shard = s.shard;
    this.dir = s.dir;
    this.durability = s.durability;
    this.disk = disk;
    const e = new Engine({
      maxMemory: s.maxMemory,
      maxKeySize: s.maxKeySize,
      maxValueSize: s.maxItemSize,
      clock: s.now,
      trackAccessTime: s.idleMs > 0,
      eviction: s.eviction,
      onRemove: (reason, ref) => this.onHotRemove(reason, ref),
      onDropTyped: (ref) => this.collections.dropped(ref),
    });
    this.engine = e;
    // Every CAS handed out before a crash is below the reserved ceiling written to disk.
    e.casCounter = Math.max(e.casCounter, disk.casCeiling);
    disk.reserveCas(e.casCounter);
    this.hot = {
      snapshot: (key) => {
        const ref = e.peek(key);
        if (ref < 0) return null;
        // Read back into memory since from a put queued behind this batch, and unchanged since (a
        // change replaces that put): the put writes it. A snapshot of it here would be overwritten
        // by that put, whose chunks may be another split than the snapshot's.
        if (this.writeback.pendingCount !== 0 && this.writeback.queued(key.toString('latin1'))?.kind === OP_PUT) return null;
        return this.hotPut(key, ref);
      },
      holds: (key) => e.peek(key) >= 0,
      casCounter: () => e.casCounter,
    };
    this.writeback = new WritebackQueue(
      { sync: s.durability === 'sync', delayMs: s.writebackDelayMs, maxLagMs: s.maxLagMs, maxBytes: s.maxUnwrittenBytes },
      { writeBatch: (batch) => this.writeBatch(batch), isClosed: () => this.closed, onError: s.onError },
    );
    this.maintenance = new Maintenance(s, e, disk, this.writeback, () => this.closed);
    this.walks = new Walks(e, disk, this.writeback, s.now);
    this.collections = new CollectionTier(s, e, disk, this.writeback, {
      counters: this.counters,
      io: this.io,
      locate: (key, promote) => this.locate(key, promote),
      inMemoryAt: (ref, restored) => this.inMemoryAt(ref, restored),
      countRead: (at) => this.countRead(at),
      isPast: (expiresAt) => this.isPast(expiresAt),
      emit: (event, key) => {
        if (this.keyEvent !== null) this.keyEvent(event, key);
      },
      afterWrite: (key, valueBytes, event) => this.afterWrite(key, valueBytes, event),
      storeOnDisk: (key, value, flags, expiresAt, type) => this.storeOnDisk(key, value, flags, expiresAt, type),
      removeKey: (k, inMemory, notify) => this.removeKey(k, inMemory, notify),
    });
    this.colls = this.collections.colls;
    this.chunked = this.collections.chunked;
  }

  static async open(opts: TieredShardStoreOptions): Promise<TieredShardStore> {
    const s = storeSettings(opts);
    const disk = await ShardDisk.open(s);
    const store = new TieredShardStore(s, disk);
    try {
      await store.maintenance.matchAccessIndex(disk.accessIndexedAtOpen);
    } catch (err) {
      await disk.db.close();
      throw err;
    }
    // From here until a graceful close the directory is marked in use (cleanShutdown: false).
    await disk.writeMeta(false, s.durability === 'sync');
    return store;
  }

  // ---------------------------------------------------------------------------------------------
  // Hot-tier removal hook: runs before the engine frees the entry.

  private onHotRemove(reason: 'evicted' | 'expired' | 'idle', ref: number): void {
    const e = this.engine;
    if (reason === 'expired') {
      // A clean entry has the same expiry on disk; the sweep removes and counts it there. A dirty
      // one may hide an older disk copy with another expiry, so the key is deleted from disk too.
      if (e.isDirty(ref)) {
        this.counters.expirations++;
        const key = e.keyOf(ref);
        this.queueDelete(key);
        if (this.keyEvent !== null) this.keyEvent(KeyEvent.EXPIRE, key);
      }
      return;
    }
    if (reason === 'idle') this.counters.idle++;
    else this.counters.evicted++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.EVICT, e.keyOf(ref));
    if (!e.isDirty(ref)) return; // already on disk (or on its way in a pending op)
    this.counters.spills++;
    const key = e.keyOf(ref);
    this.writeback.queue(key.toString('latin1'), this.hotPut(key, ref));
  }

  /**
   * A put of the entry at `ref`: its value is copied once, straight into the data record the batch
   * writes (the batch fills in the header), not into a value buffer that the batch copies again.
   */
  private hotPut(key: Buffer, ref: number): PutOp {
    const e = this.engine;
    const type = e.typeOf(ref);
    if (type !== 0 && !e.isPacked(ref)) {
      // a collection: in one record, or the chunks that changed (its tracker says which)
      const h = e.valueU32(ref);
      const { op, tracker } = this.chunked.put(key, this.collectionAt(ref), this.colls.tracker(h), e.flagsOf(ref), e.expiresAtOf(ref), e.casOf(ref), type);
      this.colls.setTracker(h, tracker);
      return op;
    }
    // a string, or a packed collection: its value is the record's value as it is
    const record = Buffer.allocUnsafe(HEADER_SIZE + e.valueLength(ref));
    e.copyValue(ref, record, HEADER_SIZE);
    return putOp(key, record.subarray(HEADER_SIZE), e.flagsOf(ref), e.expiresAtOf(ref), e.casOf(ref), record, type);
  }

  // ---------------------------------------------------------------------------------------------
  // Queueing changes for the disk.

  /**
   * Queue the write of a key just changed in memory, whose value is now `valueBytes` long. When the
   * change rewrote a clean entry (the engine says so) and no op for the key is queued or in flight,
   * the disk record it replaces is that entry as it was, so the batch need not read it back: without
   * the access index (no cold limits) an overwrite then costs one put and no read.
   */
  private queueDirty(key: Buffer, valueBytes: number): void {
    if (this.durability === 'spill') return;
    this.writeback.queueDirty(key, key.toString('latin1'), valueBytes, this.newDirty);
    this.engine.replacedCleanRef = -1;
  }

  /** queueDirty's op for a key whose dirty op is not queued; `queued`: its queued op of another kind. */
  private readonly newDirty = (key: Buffer, kstr: string, queued: Op | undefined): Op => {
    const e = this.engine;
    const wb = this.writeback;
    let prior = PRIOR_UNKNOWN;
    let priorExpiry = 0;
    // a queued op of another kind knows the disk record better (the queue gives its prior to this op)
    if (queued === undefined && !this.disk.clearOwed && !wb.writing(kstr)) {
      if (this.disk.items === 0 && wb.idle) prior = PRIOR_NONE;
      // replacedCleanRef is cleared after every write queued here, so when set it is this key's:
      // the write that just changed it found it clean
      else if (!this.s.indexAccess && e.replacedCleanRef >= 0) {
        prior = e.replacedLength;
        priorExpiry = e.replacedExpiry;
      }
    }
    return dirtyOp(Buffer.from(key), prior, priorExpiry);
  };

  /** Removes the key from disk if it may be there (deletes and overwrites must reach disk). */
  private queueDelete(key: Buffer): void {
    if (this.disk.items === 0 && this.writeback.idle) return; // nothing can be on disk
    this.writeback.queue(key.toString('latin1'), delOp(Buffer.from(key)));
  }

  private queuePut(key: Buffer, value: Buffer, flags: number, expiresAt: number, cas: number, type = 0): void {
    this.writeback.queue(key.toString('latin1'), putOp(Buffer.from(key), value, flags, expiresAt, cas, null, type));
  }

  /** The writeback queue's batch writer: commit on disk, then account for it. */
  private async writeBatch(batch: Map<string, Op>): Promise<void> {
    try {
      const built = await this.disk.commit(batch, this.hot, this.keyEvent !== null);
      if (built !== null) this.committed(built);
    } catch (err) {
      this.disk.reopenOwed = true;
      throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: disk batch failed: ${causes(err)}`, { cause: err });
    }
  }

  private committed(built: BatchBuilder): void {
    this.counters.expirations += built.expired;
    this.io.coldDropped += built.dropped;
    if (built.events !== null && this.keyEvent !== null) for (const ev of built.events) this.keyEvent(ev.code, ev.key);
    this.io.batches++;
    this.io.batchOps += built.writes;
    if (this.durability === 'sync') this.io.syncs++;
    // Mark clean what is unchanged since its snapshot; a key rewritten meanwhile stays dirty and
    // has a newer op queued.
    const e = this.engine;
    for (const op of built.snapshots) {
      const ref = e.peek(op.key);
      if (ref < 0) continue;
      // the chunks it wrote are on disk: changes after it (a later generation) stay to be written. The
      // key may hold a packed collection by now, whose value is its bytes, not a handle to a tracker.
      if (op.gen !== 0 && e.typeOf(ref) !== 0 && !e.isPacked(ref)) this.colls.tracker(e.valueU32(ref))?.written(op.gen);
      if (e.casOf(ref) === op.cas && e.expiresAtOf(ref) === op.expiresAt && e.flagsOf(ref) === op.flags) e.setClean(ref);
    }
    // A key the cold limits dropped that memory holds now was read back from its record while this
    // batch was written (the batch moves a key memory holds when built to the young end instead):
    // memory holds its only copy, so it is written again, whole.
    for (const key of built.drops) {
      const ref = e.peek(key);
      if (ref < 0) continue;
      let bytes = e.valueLength(ref);
      if (e.typeOf(ref) !== 0 && !e.isPacked(ref)) {
        const tracker = this.colls.tracker(e.valueU32(ref));
        if (tracker !== null) tracker.all = ++this.chunked.gen;
        bytes = Math.min(this.collectionAt(ref).bytes, COLLECTION_QUEUED_BYTES);
      }
      e.setDirty(ref);
      this.queueDirty(key, bytes);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lookup.

  private checkOpen(): void {
    if (this.closed) throw new CairnError(ErrorCode.CLOSED, `shard ${this.shard} store is closed`);
  }

  private checkKey(key: Uint8Array): Buffer {
    this.checkOpen();
    if (key.length > this.s.maxKeySize) throw new CairnError(ErrorCode.KEY_TOO_LARGE, `key of ${key.length} bytes exceeds the limit of ${this.s.maxKeySize}`);
    return asBuffer(key);
  }

  private checkValue(value: Uint8Array): void {
    if (value.length > this.s.maxValueSize)
      throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `value of ${value.length} bytes exceeds the limit of ${this.s.maxValueSize}`);
  }

  private inMemoryAt(ref: number, restored: boolean): InMemory {
    const at = this.inMemory;
    at.ref = ref;
    at.restored = restored;
    return at;
  }

  /**
   * Finds the live entry of a key: in memory, below it (on disk or in the write queue), or absent. A
   * key found below memory is promoted into it when `promote` and it fits.
   */
  private locate(key: Buffer, promote: boolean): Located {
    const pre = this.collections.takePreread();
    const ref = this.engine.find(key);
    if (ref >= 0) return this.inMemoryAt(ref, false);
    const kstr = key.toString('latin1');
    const op = this.writeback.find(kstr);
    let value: Buffer;
    let flags: number;
    let expiresAt: number;
    let cas: number;
    let type: number;
    let chunked = false;
    if (op !== undefined && op.kind === OP_DEL) return ABSENT;
    if (op !== undefined && op.kind === OP_PUT) {
      value = op.value;
      flags = op.flags;
      expiresAt = op.expiresAt;
      cas = op.cas;
      type = op.type;
      chunked = op.chunks !== null;
    } else {
      if (this.disk.items === 0 || this.disk.clearOwed) return ABSENT; // nothing on disk, or all of it going
      let rec: Buffer | undefined;
      if (pre !== null && pre.key === key) rec = pre.rec;
      else {
        this.io.diskReads++;
        rec = this.disk.read(dataKey(key));
      }
      if (rec === undefined || !checkRecord(rec)) return ABSENT;
      value = recordValue(rec);
      flags = recordFlags(rec);
      expiresAt = recordExpiresAt(rec);
      cas = recordCas(rec);
      type = recordType(rec);
      chunked = recordChunked(rec);
    }
    if (expiresAt !== 0 && expiresAt <= this.s.now()) {
      if (op === undefined) this.writeback.queue(kstr, expireDueOp(Buffer.from(key), expiresAt));
      return ABSENT;
    }
    if (chunked) return this.collections.locateInChunks(key, type, value, op?.kind === OP_PUT ? op : undefined, flags, expiresAt, cas, promote);
    if (promote && type !== 0) {
      const r = this.collections.restoreCollection(key, type, value, null, null, expiresAt, flags, cas);
      if (r >= 0) return this.inMemoryAt(r, true);
    } else if (promote && value.length <= this.s.maxItemSize) {
      const r = this.engine.insertClean(key, value, expiresAt, flags, cas);
      if (r >= 0) {
        this.counters.restores++;
        if (this.keyEvent !== null) this.keyEvent(KeyEvent.RESTORE, key);
        return this.inMemoryAt(r, true);
      }
    }
    return { kind: 'below', entry: { value: Buffer.from(value), type, flags, expiresAt, cas }, chunked: null };
  }

  /** the structure behind the collection stub at ref */
  private collectionAt(ref: number): Collection {
    return this.collections.collectionAt(ref);
  }

  private entryOf(ref: number): Entry {
    const e = this.engine;
    const type = e.typeOf(ref);
    if (type !== 0) {
      const value = e.isPacked(ref) ? e.valueOf(ref) : this.collectionAt(ref).encode();
      return { value, type, flags: e.flagsOf(ref), expiresAt: e.expiresAtOf(ref), cas: e.casOf(ref) };
    }
    return { value: e.valueOf(ref), flags: e.flagsOf(ref), expiresAt: e.expiresAtOf(ref), cas: e.casOf(ref) };
  }

  /** The live entry locate() found. */
  private entryAt(at: Located): Entry | null {
    if (at.kind === 'memory') return this.entryOf(at.ref);
    if (at.kind === 'below') return at.entry;
    return null;
  }

  private countRead(at: Located): void {
    if (at.kind === 'absent') this.counters.misses++;
    else if (at.kind === 'memory' && !at.restored) this.counters.hitsHot++;
    else this.counters.hitsCold++;
  }

  private isPast(expiresAt: number): boolean {
    return expiresAt !== 0 && expiresAt <= this.s.now();
  }

  /** After a write in memory that left a value of `valueBytes`: queue it for the disk (its acknowledgement waits for `settled()`). */
  private afterWrite(key: Buffer, valueBytes: number, event: number = KeyEvent.SET): void {
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(event, key);
    this.queueDirty(key, valueBytes);
  }

  /** After a delete or any other change that must reach disk as a removal. */
  private afterDelete(key: Buffer, notify = 0): void {
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(notifiedEvent(KeyEvent.DELETE, notify), key);
    this.queueDelete(key);
  }

  /** engine.set that reports "does not fit in memory" as false instead of throwing. */
  private hotSet(k: Buffer, value: Uint8Array, expiresAt: number, flags: number): boolean {
    try {
      return this.engine.set(k, value, expiresAt, flags, SET_ALWAYS, 0, false) === STORED;
    } catch (err) {
      if (isOutOfMemory(err)) return false;
      throw err;
    }
  }

  /** A new expiry (0: none) for a key in memory; false when the entry with it does not fit there. */
  private hotExpiry(k: Buffer, expiresAt: number): boolean {
    try {
      if (expiresAt === 0) this.engine.persist(k);
      else this.engine.expire(k, expiresAt);
      return true;
    } catch (err) {
      if (isOutOfMemory(err)) return false;
      throw err;
    }
  }

  /** Stores a value too large for memory: disk only, removing any hot copy. */
  private storeOnDisk(key: Buffer, value: Uint8Array, flags: number, expiresAt: number, type = 0): number {
    this.engine.delete(key);
    const cas = ++this.engine.casCounter;
    this.queuePut(key, Buffer.from(value), flags, expiresAt, cas, type);
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.SET, key);
    return cas;
  }

  /**
   * Deletes a located key from both tiers. `notify`: the data-type command that emptied it, notified
   * before the `del` as Redis does (a notification only: the key event is the delete).
   */
  private removeKey(k: Buffer, inMemory: boolean, notify = 0): void {
    if (notify > Notify.NONE && this.keyEvent !== null) this.keyEvent(notifiedEvent(0, notify), k);
    if (inMemory) this.engine.delete(k);
    this.counters.writes++;
    this.queueDelete(k);
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.DELETE, k);
  }

  /**
   * A new expiry for a located key (0: none): in memory, or as a rewrite of its record below it.
   * An entry in memory whose version with an expiry no longer fits there moves to disk with it (as
   * a value too large for memory lives there), its hot copy removed.
   */
  private setExpiry(k: Buffer, at: InMemory | BelowMemory, expiresAt: number): void {
    let d: Entry;
    if (at.kind === 'memory') {
      const len = this.engine.valueLength(at.ref);
      if (this.hotExpiry(k, expiresAt)) {
        this.afterWrite(k, len, KeyEvent.TTL);
        return;
      }
      d = this.entryOf(at.ref); // the engine left the entry as it was
      this.engine.delete(k);
    } else if (at.chunked !== null) {
      // a collection in chunks: only its head changes
      const d = at.entry;
      this.writeback.queue(k.toString('latin1'), this.chunked.expiryPut(Buffer.from(k), at.chunked.head, d.flags, expiresAt, d.cas, d.type ?? 0));
      this.counters.writes++;
      if (this.keyEvent !== null) this.keyEvent(KeyEvent.TTL, k);
      return;
    } else d = at.entry;
    this.queuePut(k, d.value, d.flags, expiresAt, d.cas, d.type);
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.TTL, k);
  }

  // ---------------------------------------------------------------------------------------------
  // ShardStore.

  get changes(): number {
    return this.counters.writes;
  }

  settled(): Promise<void> | null {
    return this.writeback.settled();
  }

  /** A cold hit is a synchronous disk read here, so a read never waits. */
  get(key: Uint8Array): Entry | null {
    const k = this.checkKey(key);
    const at = this.locate(k, true);
    this.countRead(at);
    return this.entryAt(at);
  }

  set(key: Uint8Array, value: Uint8Array, options?: SetOptions): SetResult {
    const k = this.checkKey(key);
    if (options?.type) return this.setCollection(k, value, options.type, options);
    this.checkValue(value);
    const expiresAt = options?.expiresAt ?? 0;
    checkTime(expiresAt, 'expiresAt');
    const flags = options?.flags ?? 0;
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw badArgument(`flags must be a u32, got ${flags}`);
    const mode = options?.mode ?? 'always';
    const casWanted = options?.cas ?? 0;
    if (!Number.isSafeInteger(casWanted) || casWanted < 0) throw badArgument(`cas must be a non-negative integer, got ${casWanted}`);
    const keepTtl = options?.keepTtl === true;
    const returnOld = options?.returnOld === true;
    const plain = mode === 'always' && casWanted === 0 && !keepTtl && !returnOld;
    const big = value.length > this.s.maxItemSize;

    if (plain && !big && !this.isPast(expiresAt)) {
      // No condition depends on the current entry: a newer hot copy supersedes any disk copy.
      if (this.hotSet(k, value, expiresAt, flags)) {
        const cas = this.engine.lastCas;
        this.afterWrite(k, value.length);
        return { status: 'stored', cas };
      }
      // The engine could not place it (no room): keep it on disk only.
      const cas = this.storeOnDisk(k, value, flags, expiresAt);
      return { status: 'stored', cas };
    }

    const at = this.locate(k, true);
    const cur = this.entryAt(at);
    const result: SetResult = { status: 'stored', cas: 0 };
    if (returnOld) result.old = cur;
    let status: SetStatus = 'stored';
    if (mode === 'nx' && cur) status = 'not_stored';
    else if (mode === 'xx' && !cur) status = 'not_stored';
    else if (casWanted !== 0 && !cur) status = 'not_found';
    else if (casWanted !== 0 && cur!.cas !== casWanted) status = 'exists';
    if (status !== 'stored') {
      result.status = status;
      return result;
    }
    const exp = keepTtl ? (cur?.expiresAt ?? 0) : expiresAt;
    if (this.isPast(exp)) {
      // A time in the past stores nothing and deletes the key.
      if (cur) this.removeKey(k, at.kind === 'memory');
      return result;
    }
    if (!big && at.kind !== 'below') {
      if (this.hotSet(k, value, exp, flags)) {
        result.cas = this.engine.lastCas;
        this.afterWrite(k, value.length);
        return result;
      }
    }
    result.cas = this.storeOnDisk(k, value, flags, exp);
    return result;
  }

  /**
   * A collection written whole from its encoded bytes (a move, a replica's copy, an import): nx/xx,
   * expiresAt, keepTtl and flags as for a string; cas and returnOld are not asked for by any caller.
   */
  private setCollection(k: Buffer, value: Uint8Array, type: number, o: SetOptions): SetResult {
    return this.collections.setCollection(k, value, type, o);
  }

  typeOf(key: Uint8Array): number | null {
    return this.collections.typeOf(this.checkKey(key));
  }

  readCollection<T extends Collection>(key: Uint8Array, type: number, reach?: Reach): T | null | WrongType {
    return this.collections.readCollection<T>(this.checkKey(key), type, reach);
  }

  writeCollection<T extends Collection>(key: Uint8Array, type: number, create?: () => T, reach?: Reach): T | null | WrongType {
    return this.collections.writeCollection<T>(this.checkKey(key), type, create, reach);
  }

  collectionChanged(key: Uint8Array, notify = 0): void {
    this.collections.collectionChanged(this.checkKey(key), notify);
  }

  notifyKey(key: Uint8Array, notify: number): void {
    if (this.keyEvent !== null) this.keyEvent(notifiedEvent(0, notify), this.checkKey(key));
  }

  delete(key: Uint8Array, notify = 0): boolean {
    const k = this.checkKey(key);
    const at = this.locate(k, false);
    if (at.kind === 'absent') return false;
    if (at.kind === 'memory') this.engine.delete(k);
    this.afterDelete(k, notify);
    return true;
  }

  getdel(key: Uint8Array): Entry | null {
    const k = this.checkKey(key);
    const at = this.locate(k, false);
    this.countRead(at);
    if ((at.kind === 'memory' && this.engine.typeOf(at.ref) !== 0) || (at.kind === 'below' && at.entry.type)) {
      throw new CairnError(ErrorCode.WRONG_TYPE, 'GETDEL of a key holding a collection');
    }
    const entry = this.entryAt(at);
    if (!entry) return null;
    if (at.kind === 'memory') this.engine.delete(k);
    this.afterDelete(k);
    return entry;
  }

  exists(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    return this.locate(k, false).kind !== 'absent';
  }

  expire(key: Uint8Array, expiresAt: number): boolean {
    const k = this.checkKey(key);
    checkTime(expiresAt, 'expiresAt');
    const at = this.locate(k, true);
    if (at.kind === 'absent') return false;
    if (expiresAt === 0 || this.isPast(expiresAt)) {
      // Like Redis EXPIRE with a time at or before now (0 is the epoch): the key is deleted.
      this.removeKey(k, at.kind === 'memory');
      return true;
    }
    this.setExpiry(k, at, expiresAt);
    return true;
  }

  persist(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    const at = this.locate(k, true);
    if (at.kind === 'absent') return false;
    const cur = at.kind === 'memory' ? this.engine.expiresAtOf(at.ref) : at.entry.expiresAt;
    if (cur === 0) return false;
    this.setExpiry(k, at, 0);
    return true;
  }

  expireTime(key: Uint8Array): number {
    const k = this.checkKey(key);
    const at = this.locate(k, true);
    if (at.kind === 'absent') return -2;
    const exp = at.kind === 'memory' ? this.engine.expiresAtOf(at.ref) : at.entry.expiresAt;
    return exp === 0 ? -1 : exp;
  }

  touch(key: Uint8Array, expiresAt: number): Entry | null {
    const k = this.checkKey(key);
    checkTime(expiresAt, 'expiresAt');
    const at = this.locate(k, true);
    this.countRead(at);
    if (at.kind === 'absent') return null;
    if (this.isPast(expiresAt)) {
      const entry = this.entryAt(at);
      this.removeKey(k, at.kind === 'memory');
      return entry;
    }
    const entry = this.entryAt(at)!; // a copy: setExpiry may move the entry to disk
    this.setExpiry(k, at, expiresAt);
    entry.expiresAt = expiresAt;
    return entry;
  }

  incr(key: Uint8Array, delta: bigint, unsigned: boolean, create: boolean): IncrResult {
    const k = this.checkKey(key);
    if (typeof delta !== 'bigint') throw badArgument('delta must be a bigint');
    const at = this.locate(k, true);
    if (at.kind === 'below') return at.entry.type ? { status: 'wrong_type' } : this.incrBelow(k, at.entry, delta, unsigned);
    const oldLen = at.kind === 'memory' ? this.engine.valueLength(at.ref) : 0;
    let st: number;
    try {
      st = this.engine.incr(k, delta, unsigned, create);
    } catch (err) {
      if (!isOutOfMemory(err)) throw err;
      // the result does not fit in memory (the engine left the entry as it was): count on disk
      if (at.kind === 'memory') return this.incrBelow(k, this.entryOf(at.ref), delta, unsigned);
      if (!create) return { status: 'not_found' };
      return this.incrBelow(k, null, delta, unsigned);
    }
    switch (st) {
      case INCR_OK: {
        const value = this.engine.lastInt;
        // memcached's incr keeps a shorter result at the item's old length, padded with spaces
        const len = decimalLength(value);
        this.afterWrite(k, unsigned && oldLen > len ? oldLen : len);
        return { status: 'ok', value };
      }
      case INCR_NOT_FOUND:
        return { status: 'not_found' };
      case INCR_NOT_INTEGER:
        return { status: 'not_integer' };
      case INCR_OVERFLOW:
        return { status: 'overflow' };
      case INCR_WRONG_TYPE:
        return { status: 'wrong_type' };
      default:
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `incr failed with engine status ${st}`);
    }
  }

  /**
   * incr of an entry that lives below memory (or whose result does not fit there; null: a new key):
   * the engine's rules on a copy, the result stored on disk only.
   */
  private incrBelow(k: Buffer, cur: Entry | null, delta: bigint, unsigned: boolean): IncrResult {
    const old = cur?.value;
    let v = 0n;
    if (old !== undefined) {
      const parsed = unsigned ? parseUnsigned(old, 0, old.length) : parseSigned(old, 0, old.length);
      if (parsed === null) return { status: 'not_integer' };
      v = parsed;
    }
    const r = addDelta(v, delta, unsigned);
    if (r === null) return { status: 'overflow' };
    const digits = r.toString();
    // memcached's incr keeps a shorter result at the item's old length, padded with spaces
    const value = Buffer.alloc(unsigned && old !== undefined && old.length > digits.length ? old.length : digits.length, 32);
    value.write(digits, 0, 'latin1');
    this.storeOnDisk(k, value, cur?.flags ?? 0, cur?.expiresAt ?? 0);
    return { status: 'ok', value: r };
  }

  append(key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number {
    const k = this.checkKey(key);
    const at = this.locate(k, true);
    if (at.kind === 'absent' && !create) return -1;
    if ((at.kind === 'memory' && this.engine.typeOf(at.ref) !== 0) || (at.kind === 'below' && at.entry.type)) return -2;
    const curLen = at.kind === 'memory' ? this.engine.valueLength(at.ref) : at.kind === 'below' ? at.entry.value.length : 0;
    const newLen = curLen + bytes.length;
    if (newLen > this.s.maxValueSize) throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `value of ${newLen} bytes exceeds the limit of ${this.s.maxValueSize}`);
    if (newLen <= this.s.maxItemSize && at.kind !== 'below') {
      let n = -1;
      try {
        n = this.engine.append(k, bytes, prepend, create);
      } catch (err) {
        if (!isOutOfMemory(err)) throw err; // the engine left the entry as it was: read it below
      }
      if (n >= 0) {
        this.afterWrite(k, n);
        return n;
      }
    }
    // Grows past what memory holds (or already disk-only): rewrite the whole value on disk.
    const cur = this.entryAt(at);
    const value = cur ? (prepend ? Buffer.concat([bytes, cur.value]) : Buffer.concat([cur.value, bytes])) : Buffer.from(bytes);
    this.storeOnDisk(k, value, cur?.flags ?? 0, cur?.expiresAt ?? 0);
    return value.length;
  }

  update(key: Uint8Array, fn: (current: Entry | null) => UpdateAction): Entry | null {
    const k = this.checkKey(key);
    const at = this.locate(k, true);
    const cur = this.entryAt(at);
    // what this lookup found, before fn (which may use the store) runs
    const inMemory = at.kind === 'memory';
    const below = at.kind === 'below';
    const action = fn(cur);
    if (action.op === 'keep') return cur;
    if (action.op === 'delete') {
      if (cur) this.removeKey(k, inMemory);
      return cur;
    }
    if (action.op === 'expire') {
      if (cur === null) return cur;
      checkTime(action.expiresAt, 'expiresAt');
      if (action.expiresAt !== 0 && this.isPast(action.expiresAt)) this.removeKey(k, inMemory);
      else {
        const again = this.locate(k, true); // fn may have used the store: look again
        if (again.kind !== 'absent') this.setExpiry(k, again, action.expiresAt);
      }
      return cur;
    }
    if (action.op !== 'set') throw badArgument(`update: unknown op ${(action as { op: unknown }).op}`);
    this.checkValue(action.value);
    const flags = action.flags ?? cur?.flags ?? 0;
    const exp = action.expiresAt ?? cur?.expiresAt ?? 0;
    checkTime(exp, 'expiresAt');
    if (this.isPast(exp)) {
      if (cur) this.removeKey(k, inMemory);
      return cur;
    }
    if (action.value.length <= this.s.maxItemSize && !below) {
      if (this.hotSet(k, action.value, exp, flags)) {
        this.afterWrite(k, action.value.length);
        return cur;
      }
    }
    this.storeOnDisk(k, action.value, flags, exp);
    return cur;
  }

  restore(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    return this.locate(k, true).kind !== 'absent';
  }

  /** See Walks.scan: the hot table first, then the disk records, each key from one walk. */
  async scan(cursor: string, count: number): Promise<ScanPage> {
    this.checkOpen();
    return this.walks.scan(cursor, count);
  }

  /** Live keys per tier, exact (see Walks.count). */
  async count(): Promise<{ hot: number; cold: number; total: number }> {
    this.checkOpen();
    return this.walks.count();
  }

  async randomKey(): Promise<Buffer | null> {
    this.checkOpen();
    return this.walks.randomKey();
  }

  /** Removes every key from both tiers (FLUSHALL). The CAS counter keeps rising. */
  async flush(): Promise<void> {
    this.checkOpen();
    this.engine.clear();
    this.collections.clear();
    this.writeback.discard();
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.FLUSH, EMPTY_KEY);
    // Until the disk is cleared, reads must not find what it still holds.
    this.disk.clearOwed = true;
    try {
      await this.writeback.exclusive(() => this.disk.clear(() => this.engine.casCounter));
    } catch (err) {
      throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: flush failed to clear the disk: ${(err as Error).message}`, { cause: err });
    }
    this.writeback.releaseWaiters();
  }

  /**
   * Listen to key events (set, delete, expire, evict, restore, drop, flush); null stops. One
   * listener; with none, each event point costs one null check. The key is a view: copy it to keep it.
   */
  onKeyEvent(listener: KeyEventListener | null): void {
    this.keyEvent = listener;
  }

  /** false once close() has begun (LevelDB is or will be closed). */
  get isOpen(): boolean {
    return this.closing === null && !this.closed;
  }

  stats(): ShardStats {
    const e = this.engine;
    const c = this.counters;
    return {
      shard: this.shard,
      hot: { items: e.count, bytes: e.bytesUsed, maxBytes: e.maxMemory },
      cold: { items: this.disk.items, bytes: this.disk.bytes },
      hits: { hot: c.hitsHot, cold: c.hitsCold },
      misses: c.misses,
      evictions: { evicted: c.evicted, idle: c.idle },
      spills: c.spills,
      restores: c.restores,
      // Dirty hot entries count when they expire in memory; everything else when its disk record
      // is removed (a clean hot entry has the same expiry on disk), so each key counts once.
      expirations: c.expirations,
      writes: c.writes,
      eviction: e.eviction,
      hotKeys: e.hotKeys(HOT_KEYS_REPORTED).map(hotKeyStat),
      hotKeyRate: e.hotKeyRate,
      valueSizes: e.valueSizes(),
      writeback: this.writebackLag(),
    };
  }

  frequency(key: Uint8Array): number | null {
    const k = this.checkKey(key);
    const f = this.engine.frequency(k);
    if (f !== -2) return f;
    // not in memory: a missing key is nil whatever the policy (Redis looks the key up first); a key
    // on disk has had no access counted since it left
    if (this.locate(k, false).kind === 'absent') return null;
    return this.engine.eviction === 'lfu' ? 0 : -1;
  }

  /** Reads served from the cold tier so far (a cheap counter for per-request accounting). */
  get coldHitCount(): number {
    return this.counters.hitsCold;
  }

  ioStats(): StoreIoStats {
    return { ...this.io, diskReads: this.io.diskReads + this.chunked.reads, pending: this.writeback.pendingCount };
  }

  /** The changes acknowledged but not yet on disk: what a crash would lose now. */
  writebackLag(): WritebackLag {
    return this.writeback.lag();
  }

  /** Make every disk batch fail (as a full or read-only disk would) until called with null. Test hook (CAIRN_TEST_HOOKS=1 only, via the shard worker). */
  injectDiskFault(message: string | null): void {
    this.disk.fault = message;
  }

  /**
   * Checks the disk tier against its bookkeeping after writing everything queued (see
   * Maintenance.verifyDisk). For tests; it reads the whole disk tier.
   */
  async verifyDisk(): Promise<void> {
    this.checkOpen();
    await this.maintenance.verifyDisk();
  }

  /** Writes every queued op now (all modes). Resolves when committed. */
  async sync(): Promise<void> {
    this.checkOpen();
    await this.writeback.drain();
  }

  /**
   * Graceful close: every dirty entry reaches disk (in every mode), then LevelDB closes. When the disk
   * refuses the writes they are retried once a second until `giveUpAt` (Date.now() time; default: no
   * retry), then the close fails with CAIRN_ERR_DISK naming how many keys were not written (LevelDB
   * is closed either way). However long writing takes, a disk that accepts writes is never cut short.
   */
  close(giveUpAt?: number): Promise<void> {
    this.closing ??= this.doClose(giveUpAt ?? 0);
    return this.closing;
  }

  private async doClose(giveUpAt: number): Promise<void> {
    if (this.closed) return;
    this.maintenance.stop();
    const e = this.engine;
    const disk = this.disk;
    // Expired dirty entries are invisible to scan; removing them now queues the deletes of any
    // older disk copies they hide. One pass over the table's slots is enough.
    e.expireTick(Math.max(4096, e.tableBytes >>> 2));
    let c = 0;
    do {
      c = e.scan(c, 1024, (ref) => {
        if (!e.isDirty(ref)) return;
        const key = e.keyOf(ref);
        // Snapshot now; it is written even if it is evicted later. The queue keeps a queued op's
        // place, queue time and disk record, and counts the bytes.
        this.writeback.queue(key.toString('latin1'), this.hotPut(key, ref));
      });
    } while (c !== 0);
    await this.maintenance.sweeping;
    for (;;) {
      try {
        await this.writeback.drain();
        if (!disk.dirPresent()) throw disk.lostDir!;
        break;
      } catch (err) {
        const left = giveUpAt - Date.now();
        if (left > 0 && disk.dirPresent()) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, left)));
          continue;
        }
        // the disk refuses the last writes: release the database (its lock) and say what is lost
        this.closed = true;
        if (!disk.dirPresent()) {
          // the directory went away: what memory held has nowhere to go, and the close says so
          await disk.db.close().catch(() => undefined);
          this.writeback.stop();
          throw disk.lostDir!;
        }
        const lost = this.writeback.pendingCount;
        await disk.db.close().catch(() => undefined);
        this.writeback.stop();
        const why = err instanceof CairnError && err.cause !== undefined ? err.cause : err;
        throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: ${lost} keys not written to disk (lost): ${causes(why)}`, { cause: err });
      }
    }
    this.closed = true;
    this.writeback.stop();
    disk.reserveCas(e.casCounter);
    await this.writeback.exclusive(() => disk.writeMeta(true, true));
    await disk.db.close();
  }
}
