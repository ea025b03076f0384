/**
 * One shard's two-tier store: the hot engine (SharedArrayBuffer hash table + arena + LRU) in front of
 * a LevelDB cold tier. See docs/storage.md for the on-disk format and what each durability mode can
 * lose.
 *
 * Read path: a hot miss reads LevelDB with `getSync`. On a shard worker that blocks only this shard,
 * costs ~12 us per cold hit instead of 50-100 us for an awaited `get` (docs/storage.md has the
 * measurements), and keeps every command's effect synchronous at
 * the moment it starts: there is never a window in which two commands on one key interleave, so
 * concurrent reads of a key being restored share one disk read by construction (the first restores
 * it, the rest find it hot).
 *
 * Write path: every change that must reach disk becomes one pending op per key in `pending` (latest
 * op wins). A single writer takes the pending ops in batches, reads the old data records of the batch
 * with one `getMany` (so the expiry and access indexes and the cold counts stay exact), and commits one
 * atomic LevelDB batch that also rewrites the meta record. Reads consult `pending` and the batch in
 * flight before the disk, so a queued delete or spill is never hidden by an older disk copy.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { CairnError, ErrorCode } from '../errors.js';
import {
  Engine,
  INCR_NOT_FOUND,
  INCR_NOT_INTEGER,
  INCR_OK,
  INCR_OVERFLOW,
  SET_ALWAYS,
  STORED,
  type EvictionName,
} from '../engine/index.js';
import {
  ACCESS_END,
  ACCESS_START,
  AFTER_META,
  accessKey,
  checkRecord,
  DATA_END,
  DATA_START,
  dataKey,
  decodeMeta,
  encodeMeta,
  encodeRecord,
  EXPIRY_START,
  expiryBound,
  expiryKey,
  FORMAT_VERSION,
  HEADER_SIZE,
  META_KEY,
  type Meta,
  parseOrderedKey,
  recordBytes,
  recordCas,
  recordExpiresAt,
  recordFlags,
  recordSeq,
  recordValue,
} from './format.js';
import { checkShardDir, rebuildBookkeeping, repairAdvice } from './repair.js';
import type {
  Entry,
  IncrResult,
  ScanPage,
  SetOptions,
  SetResult,
  SetStatus,
  ShardStats,
  HotKeyStat,
  ShardStore,
  UpdateAction,
  WritebackLag,
} from './types.js';
import { KeyEvent, type KeyEventListener } from '../events/codes.js';

export type Durability = 'spill' | 'writeback' | 'sync';

const EMPTY_KEY = Buffer.alloc(0);

export interface TieredShardStoreOptions {
  shard: number;
  /** this shard's LevelDB directory, `<data>/shard-<i>`; created when missing. */
  dir: string;
  /** byte budget of the hot tier. */
  maxMemory: number;
  /** default 'writeback'. */
  durability?: Durability;
  /**
   * How soon after a change is queued the writer starts a batch with it (spill and writeback). A
   * longer delay coalesces more rewrites of one key into one put. Default 100.
   */
  writebackDelayMs?: number;
  /**
   * writeback and spill: the bound on unwritten changes, as the age of the oldest (ms). Writes are
   * acknowledged from memory while the queue is under it; over it they wait for the writer (or, while
   * disk batches fail, get CAIRN_ERR_DISK). What a crash can lose. Default 1000, never below the delay.
   */
  writebackMaxLagMs?: number;
  /** the same bound as bytes of unwritten changes (keys, values, and a fixed cost per key). Default 64 MiB. */
  writebackMaxBytes?: number;
  /** values larger than this live on disk only and are never promoted into memory. Default 1 MiB. */
  maxItemSize?: number;
  /** largest value accepted at all (disk-only values included). Default 64 MiB. */
  maxValueSize?: number;
  /** largest key accepted. Default 65535 bytes (the engine's own limit may be lower). */
  maxKeySize?: number;
  /** an entry unused this long leaves memory (it stays on disk). Default: no idle limit. */
  idleMs?: number;
  /** which entry leaves memory first (docs/eviction.md). Default 'lru'. */
  eviction?: EvictionName;
  /** cold-tier limits: least recently written cold entries are dropped first. Default: unbounded. */
  coldMaxItems?: number;
  coldMaxBytes?: number;
  /** milliseconds since the epoch; injectable for tests. Default Date.now. */
  clock?: () => number;
  /** how often the background maintenance (expiry sweep, idle eviction, cold limits) runs. Default 200. */
  sweepIntervalMs?: number;
  /** bounded work per maintenance tick (entries examined per tier). Default 2000. */
  sweepBatch?: number;
  /** LevelDB block cache size in bytes. Default 8 MiB (LevelDB's default). */
  cacheSize?: number;
  /**
   * LevelDB's uncompressed block size for the tables it writes. Default 1 KiB, not LevelDB's 4 KiB:
   * a cold read is a point read of one small record, and a smaller block is less to read, check and
   * decompress (docs/storage.md has the measurement).
   */
  blockSize?: number;
  /** called when a background disk batch fails (the ops are retried). Default: console.error. */
  onError?: (err: Error) => void;
}

/** Counters beyond ShardStats, for tests and benchmarks. */
export interface StoreIoStats {
  /** data records read from LevelDB on the read path (getSync calls). */
  diskReads: number;
  /** committed LevelDB batches and the ops in them. */
  batches: number;
  batchOps: number;
  /** fsyncs (batches written with sync: true). */
  syncs: number;
  /** cold entries dropped by the cold limits. */
  coldDropped: number;
  /** pending ops not yet committed. */
  pending: number;
}

// Pending op kinds. One op per key; a newer op for a key replaces the older one.
const OP_DIRTY = 0; // the hot copy is newer than disk: snapshot it when the batch is built
const OP_PUT = 1; // write this snapshot (an evicted dirty entry, or a value too large for memory)
const OP_DEL = 2; // remove the key from disk
const OP_EXPIRE_DUE = 3; // sweep: remove the disk record if its expiry has passed
const OP_DROP = 4; // cold limit: remove the disk record if it is still at access position `seq`

interface Op {
  kind: number;
  key: Buffer;
  value: Buffer | null;
  flags: number;
  expiresAt: number;
  cas: number;
  /** OP_DROP: the access position the limit scan saw. */
  seq: number;
  /**
   * The disk record this op replaces when it commits, if known without reading it: PRIOR_NONE (there
   * is none) or its value length, with its expiry in priorExpiry. PRIOR_UNKNOWN: the batch reads it.
   */
  prior: number;
  priorExpiry: number;
  /** when the oldest change this op carries was queued (performance.now()): a rewrite keeps it */
  since: number;
  /** what the op holds for the lag's byte bound (set by queue()) */
  bytes: number;
}

const PRIOR_UNKNOWN = -1;
const PRIOR_NONE = -2;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed batch with nobody waiting must not become an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

// locate() results besides a hot ref (>= 0).
const ABSENT = -1;
/** the key exists but only on disk (value larger than maxItemSize, or it did not fit): see `diskEntry`. */
const DISK_ONLY = -2;

// Where the last locate() found the key, for hit accounting.
const FROM_HOT = 0;
const FROM_COLD = 1;

const CAS_RESERVATION = 1 << 20;
const DEFAULT_BLOCK_SIZE = 1024;
/** ops of a disk batch built between two turns of the event loop */
const BUILD_SLICE = 512;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const MAX_BATCH_OPS = 4096;
/** bytes charged per queued key beyond its key and value: the op, its Map entry and key string */
const OP_OVERHEAD = 160;
/** how long after a failed disk batch the next one is tried */
const RETRY_MS = 1000;

/** An error's message with those of its causes ("Database failed to open: IO error: ..."). */
function causes(err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}

const ZERO = Buffer.alloc(0);
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

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function badArgument(message: string): CairnError {
  return new CairnError(ErrorCode.BAD_ARGUMENT, message);
}

function checkTime(t: number, what: string): void {
  if (!Number.isSafeInteger(t) || t < 0) throw badArgument(`${what} must be a non-negative integer of ms since the epoch, got ${t}`);
}

export class TieredShardStore implements ShardStore {
  readonly shard: number;
  readonly durability: Durability;
  readonly dir: string;

  private db: ClassicLevel<Buffer, Buffer>;
  private readonly cacheSize: number | undefined;
  private readonly blockSize: number;
  /** a disk batch failed: reopen LevelDB before the next one (clears LevelDB's sticky background error) */
  private reopenBeforeNextBatch = false;
  private readonly engine: Engine;
  private readonly now: () => number;
  private readonly writebackDelayMs: number;
  private readonly maxLagMs: number;
  private readonly maxUnwrittenBytes: number;
  private readonly maxItemSize: number;
  private readonly maxValueSize: number;
  private readonly maxKeySize: number;
  private readonly idleMs: number;
  private readonly coldMaxItems: number;
  private readonly coldMaxBytes: number;
  /**
   * Keep the access index (the disk tier's LRU order): only with a cold limit, the one thing that
   * reads it. Without it a write of a key whose disk record is known from memory needs no read.
   */
  private readonly indexAccess: boolean;
  private readonly sweepBatch: number;
  private readonly onError: (err: Error) => void;

  // Cold tier bookkeeping (exact: updated with each committed batch, persisted in the meta record).
  private coldItems: number;
  private coldBytes: number;
  private accessSeq: number;
  private casCeiling: number;

  private pending = new Map<string, Op>();
  private inflight: Map<string, Op> | null = null;
  /** sync mode: settles when the batch holding every op queued so far has committed. */
  private pendingDone: Deferred | null = null;
  private flushScheduled = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private writerTail: Promise<void> = Promise.resolve();
  private readonly maintenance: NodeJS.Timeout;
  private sweeping: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  /** a flush's disk clear has not finished: reads skip the disk, the meta record carries the marker */
  private clearOwed = false;
  /** LevelDB's CURRENT file: gone while the shard runs means its directory was removed */
  private readonly currentFile: string;
  /** set once the directory is found gone: every disk read and batch fails with it from then on */
  private lostDir: CairnError | null = null;
  /** set by locate() when it returns DISK_ONLY. */
  private diskEntry: Entry | null = null;
  private lastFrom = FROM_HOT;
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

  private constructor(opts: TieredShardStoreOptions, db: ClassicLevel<Buffer, Buffer>, meta: Meta) {
    this.shard = opts.shard;
    this.dir = opts.dir;
    this.currentFile = join(opts.dir, 'CURRENT');
    this.db = db;
    this.cacheSize = opts.cacheSize;
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.durability = opts.durability ?? 'writeback';
    this.now = opts.clock ?? Date.now;
    this.writebackDelayMs = opts.writebackDelayMs ?? 100;
    // a batch cannot start before its delay, so a bound below it would hold every write
    this.maxLagMs = Math.max(opts.writebackMaxLagMs ?? 1000, this.writebackDelayMs);
    this.maxUnwrittenBytes = opts.writebackMaxBytes ?? 64 << 20;
    this.maxItemSize = opts.maxItemSize ?? 1 << 20;
    this.maxValueSize = Math.max(opts.maxValueSize ?? 64 << 20, this.maxItemSize);
    this.maxKeySize = opts.maxKeySize ?? 65535;
    this.idleMs = opts.idleMs ?? 0;
    this.coldMaxItems = opts.coldMaxItems ?? 0;
    this.coldMaxBytes = opts.coldMaxBytes ?? 0;
    this.indexAccess = this.coldMaxItems > 0 || this.coldMaxBytes > 0;
    this.sweepBatch = opts.sweepBatch ?? 2000;
    this.onError = opts.onError ?? ((err) => console.error(`cairn shard ${this.shard}: ${err.message}`));
    this.coldItems = meta.items;
    this.coldBytes = meta.bytes;
    this.accessSeq = meta.accessSeq;
    this.casCeiling = meta.casHigh;

    this.engine = new Engine({
      maxMemory: opts.maxMemory,
      maxKeySize: this.maxKeySize,
      maxValueSize: this.maxItemSize,
      clock: this.now,
      trackAccessTime: this.idleMs > 0,
      eviction: opts.eviction,
      onRemove: (reason, ref) => this.onHotRemove(reason, ref),
    });
    // Every CAS handed out before a crash is below the reserved ceiling written to disk.
    this.engine.casCounter = Math.max(this.engine.casCounter, meta.casHigh);
    this.reserveCas();

    const interval = opts.sweepIntervalMs ?? 200;
    this.maintenance = setInterval(() => this.tick(), interval);
    this.maintenance.unref();
  }

  static async open(opts: TieredShardStoreOptions): Promise<TieredShardStore> {
    if (!Number.isInteger(opts.shard) || opts.shard < 0) throw badArgument(`shard must be a non-negative integer, got ${opts.shard}`);
    if (!(opts.maxMemory > 0)) throw badArgument(`maxMemory must be positive, got ${opts.maxMemory}`);
    const durability = opts.durability ?? 'writeback';
    if (durability !== 'spill' && durability !== 'writeback' && durability !== 'sync')
      throw badArgument(`durability must be spill, writeback or sync, got ${String(durability)}`);
    mkdirSync(opts.dir, { recursive: true });
    checkShardDir(opts.dir);
    const db = new ClassicLevel<Buffer, Buffer>(opts.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open({ createIfMissing: true, cacheSize: opts.cacheSize, blockSize: opts.blockSize ?? DEFAULT_BLOCK_SIZE });
    } catch (err) {
      // classic-level wraps LevelDB's status ("Corruption: ...", "IO error: ...") in its cause
      const parts: string[] = [];
      for (let e = err as Error | undefined; e && parts.length < 4; e = e.cause as Error | undefined) parts.push(e.message);
      const detail = parts.join(': ');
      const advice = /corrupt/i.test(detail) ? `; ${repairAdvice(opts.dir)}` : '';
      throw new CairnError(ErrorCode.DATA_DIR, `cannot open shard ${opts.shard} data directory ${opts.dir}: ${detail}${advice}`, { cause: err });
    }
    let meta: Meta | null;
    try {
      meta = TieredShardStore.readMeta(db, opts);
    } catch (err) {
      await db.close();
      throw err;
    }
    if (!meta) {
      const any = await db.keys({ limit: 1 }).all();
      if (any.length > 0) {
        await db.close();
        throw new CairnError(ErrorCode.DATA_DIR, `${opts.dir} holds a LevelDB database that is not a cairn shard (no meta record); point the shard at an empty directory`);
      }
      meta = { format: FORMAT_VERSION, shard: opts.shard, casHigh: 0, items: 0, bytes: 0, accessSeq: 0, cleanShutdown: false, accessIndexed: true, flushing: false, flushMarked: true };
    } else if (meta.flushing || (!meta.cleanShutdown && !meta.flushMarked)) {
      try {
        meta = await TieredShardStore.settleCounts(db, opts, meta);
      } catch (err) {
        await db.close();
        throw err;
      }
    }
    const store = new TieredShardStore(opts, db, meta);
    try {
      await store.matchAccessIndex(meta.accessIndexed);
    } catch (err) {
      await db.close();
      throw err;
    }
    // From here until a graceful close the directory is marked in use (cleanShutdown: false).
    await db.put(META_KEY, store.metaRecord(false), { sync: durability === 'sync' });
    return store;
  }

  /**
   * Counts the meta record cannot vouch for. A flush cut short by a crash (its marker is set) is
   * finished: what it had not deleted yet goes too, and the counts are zero. A directory left by an
   * unclean shutdown of a build that did not mark its flushes may hold the counts of a flush cut
   * short, which nothing on disk tells apart: its bookkeeping is rebuilt from the data records, once
   * (one pass, as `cairn repair` does).
   */
  private static async settleCounts(db: ClassicLevel<Buffer, Buffer>, opts: TieredShardStoreOptions, meta: Meta): Promise<Meta> {
    if (meta.flushing) {
      await db.clear({ gte: AFTER_META });
      return { ...meta, items: 0, bytes: 0, accessIndexed: true, flushing: false };
    }
    await rebuildBookkeeping(db, opts.dir, opts.shard);
    return TieredShardStore.readMeta(db, opts)!;
  }

  private static readMeta(db: ClassicLevel<Buffer, Buffer>, opts: TieredShardStoreOptions): Meta | null {
    const raw = db.getSync(META_KEY);
    if (!raw) return null;
    const meta = decodeMeta(raw);
    if (!meta) throw new CairnError(ErrorCode.DATA_DIR, `${opts.dir}: unreadable meta record; the directory is not a cairn shard`);
    if (meta.format !== FORMAT_VERSION)
      throw new CairnError(ErrorCode.DATA_DIR, `${opts.dir}: on-disk format ${meta.format}, this build reads format ${FORMAT_VERSION}`);
    if (meta.shard !== opts.shard)
      throw new CairnError(ErrorCode.DATA_DIR, `${opts.dir} holds shard ${meta.shard}, not shard ${opts.shard}; check the data directory and shard count`);
    return meta;
  }

  private metaRecord(cleanShutdown: boolean, items = this.coldItems, bytes = this.coldBytes): Buffer {
    return encodeMeta({
      format: FORMAT_VERSION,
      shard: this.shard,
      casHigh: this.casCeiling,
      items,
      bytes,
      accessSeq: this.accessSeq,
      cleanShutdown,
      accessIndexed: this.indexAccess,
      flushing: this.clearOwed,
      flushMarked: true,
    });
  }

  /**
   * Bring the access index in line with this configuration: rebuilt from the data records when a cold
   * limit is set on a shard that ran without one (one pass over the disk tier), dropped when no
   * limit is set any more (it would go stale).
   */
  private async matchAccessIndex(complete: boolean): Promise<void> {
    if (!this.indexAccess) {
      // Nothing reads a stale index: it is cleared behind the writer, not before serving. (Also
      // when the meta record says it is gone: a clear cut short by a crash leaves some behind.)
      this.accessCleared = this.clearAccessIndex();
      return;
    }
    if (complete) return;
    await this.db.clear({ gte: ACCESS_START, lt: ACCESS_END });
    let batch = this.db.batch();
    for await (const [k, rec] of this.db.iterator({ gte: DATA_START, lt: DATA_END })) {
      if (!checkRecord(rec)) continue;
      batch.put(accessKey(recordSeq(rec), k.subarray(1)), ZERO);
      if (batch.length >= 4096) {
        await batch.write();
        batch = this.db.batch();
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
      const keys = await this.db.keys({ gte: ACCESS_START, lt: ACCESS_END, limit: 4096 }).all();
      if (keys.length === 0) return false;
      const batch = this.db.batch();
      for (const k of keys) batch.del(k);
      await batch.write();
      return keys.length === 4096;
    };
    try {
      while (!this.closed && (await this.exclusive(slice))) await yieldToLoop();
    } catch (err) {
      if (!this.closed) this.onError(err as Error);
    }
  }
  private accessCleared: Promise<void> = Promise.resolve();

  /** Raises the persisted CAS ceiling when the engine's counter comes near it. */
  private reserveCas(): boolean {
    if (this.engine.casCounter + CAS_RESERVATION / 2 < this.casCeiling) return false;
    this.casCeiling = this.engine.casCounter + CAS_RESERVATION;
    return true;
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
    this.queue(key.toString('latin1'), {
      kind: OP_PUT,
      key,
      value: e.valueOf(ref),
      flags: e.flagsOf(ref),
      expiresAt: e.expiresAtOf(ref),
      cas: e.casOf(ref),
      seq: 0,
      prior: PRIOR_UNKNOWN,
      priorExpiry: 0,
      since: 0,
      bytes: 0,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Pending ops and the writer.

  /**
   * Queues an op, replacing the key's queued op if any: rewrites of a key while it waits are one put.
   * `valueBytes`: the size of the value it will write, for the byte bound (default: op.value's).
   */
  private queue(kstr: string, op: Op, valueBytes = op.value === null ? 0 : op.value.length): void {
    op.bytes = op.key.length + valueBytes + OP_OVERHEAD;
    const replaced = this.pending.get(kstr);
    if (replaced !== undefined) {
      // The replaced op never commits: the disk record the new one replaces is the one it would have,
      // and the oldest change not on disk is still the replaced one's (the Map keeps its place too).
      op.prior = replaced.prior;
      op.priorExpiry = replaced.priorExpiry;
      op.since = replaced.since;
      this.pendingBytes -= replaced.bytes;
    } else {
      op.since = performance.now();
      if (this.pending.size === 0) this.pendingSince = op.since;
    }
    this.pendingBytes += op.bytes;
    this.pending.set(kstr, op);
    this.scheduleFlush();
  }

  /**
   * Queue the write of a key just changed in memory. When the change rewrote a clean entry (the engine
   * says so) and no op for the key is queued or in flight, the disk record it replaces is that entry
   * as it was, so the batch need not read it back: without the access index (no cold limits) an
   * overwrite then costs one put and no read.
   */
  private queueDirty(key: Buffer): void {
    if (this.durability === 'spill') return;
    const kstr = key.toString('latin1');
    const e = this.engine;
    const ref = e.peek(key);
    const valueBytes = ref >= 0 ? e.valueLength(ref) : 0;
    const queued = this.pending.get(kstr);
    if (queued !== undefined && queued.kind === OP_DIRTY) {
      // A rewrite while queued: the queued op snapshots the newest value when its batch is built, so
      // it stays as it is (its disk record, queue time and place) and only its size changes.
      e.replacedCleanRef = -1;
      const bytes = key.length + valueBytes + OP_OVERHEAD;
      this.pendingBytes += bytes - queued.bytes;
      queued.bytes = bytes;
      return;
    }
    let prior = PRIOR_UNKNOWN;
    let priorExpiry = 0;
    if (!this.clearOwed && (this.inflight === null || !this.inflight.has(kstr))) {
      if (this.coldItems === 0 && this.pending.size === 0 && this.inflight === null) prior = PRIOR_NONE;
      else if (!this.indexAccess && e.replacedCleanRef >= 0 && e.replacedCleanRef === ref) {
        prior = e.replacedLength;
        priorExpiry = e.replacedExpiry;
      }
    }
    e.replacedCleanRef = -1;
    const op: Op = { kind: OP_DIRTY, key: Buffer.from(key), value: null, flags: 0, expiresAt: 0, cas: 0, seq: 0, prior, priorExpiry, since: 0, bytes: 0 };
    this.queue(kstr, op, valueBytes);
  }

  /** Removes the key from disk if it may be there (deletes and overwrites must reach disk). */
  private queueDelete(key: Buffer, kstr = key.toString('latin1')): void {
    if (this.coldItems === 0 && this.pending.size === 0 && this.inflight === null) return; // nothing can be on disk
    this.queue(kstr, { kind: OP_DEL, key: Buffer.from(key), value: null, flags: 0, expiresAt: 0, cas: 0, seq: 0, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 });
  }

  private queuePut(key: Buffer, value: Buffer, flags: number, expiresAt: number, cas: number): void {
    this.queue(key.toString('latin1'), { kind: OP_PUT, key: Buffer.from(key), value, flags, expiresAt, cas, seq: 0, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const run = (): void => {
      this.flushTimer = null;
      void this.exclusive(() => this.flushOnce()).catch(() => {});
    };
    if (this.durability === 'sync' || (this.pending.size >= MAX_BATCH_OPS && this.writeError === null)) setImmediate(run);
    else {
      // after a failed batch the next one waits for the retry time
      const wait = this.writeError === null ? this.writebackDelayMs : Math.max(this.writebackDelayMs, this.retryAt - performance.now());
      this.flushTimer = setTimeout(run, wait);
      this.flushTimer.unref();
    }
  }

  /** Runs disk-mutating work one task at a time, so each batch sees the previous batch committed. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writerTail.then(task);
    this.writerTail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Promise of the commit of every op queued so far (sync mode acknowledgements). */
  private durable(): Promise<void> {
    if (this.pending.size === 0) return this.inflightDone ?? Promise.resolve();
    this.pendingDone ??= deferred();
    return this.pendingDone.promise;
  }
  private inflightDone: Promise<void> | null = null;

  /** Writes pending ops until none is left (graceful close, flush, scan), failing on the first failed batch. */
  private async drain(): Promise<void> {
    while (this.pending.size > 0 || this.inflight !== null) await this.exclusive(() => this.flushOnce(true));
  }

  /** performance.now() of the oldest change not on disk (in the batch being written or queued); -1: none. */
  private oldestUnwritten(): number {
    if (this.inflight !== null) return this.inflightSince;
    return this.pending.size > 0 ? this.pendingSince : -1;
  }

  /**
   * The lag bound: a write is acknowledged from memory while the oldest change not on disk is younger
   * than maxLagMs and the unwritten changes hold at most maxUnwrittenBytes. The writer works in the
   * background meanwhile, so a healthy disk slows writes only when it falls that far behind.
   *
   * Checked on every write, not only by the writer's timer (which cannot fire while a caller keeps the
   * event loop busy with writes that never block). A failed batch's ops are queued again with their
   * first queue time, and the batch being written counts too, so a write is never acknowledged while
   * a change older than the bound waits for a disk that refuses it.
   */
  private overdue(): boolean {
    const oldest = this.oldestUnwritten();
    if (oldest < 0) return false;
    return this.pendingBytes + this.inflightBytes > this.maxUnwrittenBytes || performance.now() - oldest > this.maxLagMs;
  }

  /**
   * A write over the bound waits for batches until the unwritten changes are under it again; while the
   * disk refuses batches it fails at once with the last batch's error (CAIRN_ERR_DISK) rather than
   * start a batch of its own: batches are retried once a second, and the write cannot be acknowledged
   * before one commits.
   */
  private async backpressure(): Promise<void> {
    do {
      if (this.writeError !== null) throw this.writeError;
      this.dueFlush ??= this.exclusive(() => this.flushOnce()).finally(() => {
        this.dueFlush = null;
      });
      await this.dueFlush;
    } while (this.overdue());
  }
  private dueFlush: Promise<void> | null = null;
  /**
   * When the oldest pending op was first queued (performance.now()). The queue is in that order: a
   * Map keeps a rewritten key in its place, batches take its head, a failed batch goes back to it.
   */
  private pendingSince = 0;
  /** estimated bytes of the pending ops and of the batch being written (the lag's byte bound) */
  private pendingBytes = 0;
  private inflightBytes = 0;
  /** pendingSince of the batch being written */
  private inflightSince = 0;
  /** the error of the last batch while batches fail (null once one commits) */
  private writeError: CairnError | null = null;
  /** while batches fail: when the next one may run (performance.now()) */
  private retryAt = 0;

  /** One batch. `force` (drain) writes even before the retry time of a failed batch. */
  private async flushOnce(force = false): Promise<void> {
    this.flushScheduled = false;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pending.size === 0) return;
    // Writes waiting for a batch behind one that failed fail with it instead of retrying it at once
    // (sync writers keep their own batches: each group commit is its own attempt).
    if (!force && this.writeError !== null && this.durability !== 'sync' && performance.now() < this.retryAt) {
      // This call took the scheduled batch's place (and a timer may fire a little before retryAt):
      // schedule the retry again, or nothing would ever write the queue once writes stop coming.
      this.scheduleFlush();
      throw this.writeError;
    }
    let batch: Map<string, Op>;
    this.inflightSince = this.pendingSince;
    if (this.durability === 'sync' || this.pending.size <= MAX_BATCH_OPS) {
      batch = this.pending;
      this.pending = new Map();
      this.inflightBytes = this.pendingBytes;
      this.pendingBytes = 0;
    } else {
      batch = new Map();
      let bytes = 0;
      for (const [k, op] of this.pending) {
        batch.set(k, op);
        bytes += op.bytes;
        this.pending.delete(k);
        if (batch.size >= MAX_BATCH_OPS) break;
      }
      this.inflightBytes = bytes;
      this.pendingBytes -= bytes;
      this.pendingSince = this.pending.values().next().value!.since;
      this.scheduleFlush();
    }
    const done = this.pending.size === 0 ? this.pendingDone : null;
    if (done) this.pendingDone = null;
    this.inflight = batch;
    this.inflightDone = done?.promise ?? null;
    const ops = [...batch.values()];
    try {
      await this.commit(ops);
      this.inflight = null;
      this.inflightBytes = 0;
      this.inflightDone = null;
      this.writeError = null;
      done?.resolve();
    } catch (err) {
      this.inflight = null;
      this.inflightDone = null;
      const error = new CairnError(ErrorCode.DISK, `shard ${this.shard}: disk batch failed: ${causes(err)}`, { cause: err });
      this.requeue(batch);
      this.reopenBeforeNextBatch = true;
      this.writeError = error;
      this.retryAt = performance.now() + RETRY_MS;
      done?.reject(error);
      if (!this.closed) {
        this.onError(error);
        setTimeout(() => this.scheduleFlush(), RETRY_MS).unref();
      }
      throw error;
    }
  }

  /**
   * Puts the ops of a failed batch back at the head of the queue, with their queue times: they are
   * the oldest writes not on disk. A key with a newer op queued meanwhile keeps the newer op, in the
   * failed op's place and with its queue time.
   */
  private requeue(batch: Map<string, Op>): void {
    const queue = new Map<string, Op>();
    for (const [k, op] of batch) {
      const newer = this.pending.get(k);
      if (newer === undefined) {
        queue.set(k, op);
        this.pendingBytes += op.bytes;
      } else {
        newer.since = op.since;
        queue.set(k, newer);
      }
    }
    for (const [k, op] of this.pending) if (!queue.has(k)) queue.set(k, op);
    this.pending = queue;
    this.inflightBytes = 0;
    this.pendingSince = this.inflightSince;
  }

  /** Test hook (CAIRN_TEST_HOOKS=1 only, via the shard worker): while set, every disk batch fails when written. */
  private diskFault: string | null = null;

  /** Make every disk batch fail (as a full or read-only disk would) until called with null. */
  injectDiskFault(message: string | null): void {
    this.diskFault = message;
  }

  /**
   * LevelDB keeps a failed background write (a compaction on a full disk, say) as a sticky error that
   * fails every later write, even after space returns; only reopening the database clears it. The
   * ops of the failed batches wait in memory meanwhile, so nothing is lost. While the database is
   * closed (the reopen failed: the disk is still full), reads that need the disk fail; reads of what
   * memory holds do not.
   */
  private async reopenDb(): Promise<void> {
    try {
      await this.db.close();
    } catch {
      // it failed already; the new handle decides
    }
    const db = new ClassicLevel<Buffer, Buffer>(this.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open({ createIfMissing: false, cacheSize: this.cacheSize, blockSize: this.blockSize });
    } catch (err) {
      // "Database failed to open" says nothing; the cause ("IO error: ... No space left on device") does
      throw new Error(`reopening LevelDB: ${causes(err)}`, { cause: err });
    }
    this.db = db;
    this.reopenBeforeNextBatch = false;
  }

  /** The disk records of the ops whose prior is unknown, at their positions (undefined elsewhere). */
  private async readUnknown(ops: Op[], dkeys: Buffer[]): Promise<(Buffer | undefined)[]> {
    const at: number[] = [];
    for (let i = 0; i < ops.length; i++) if (ops[i].prior === PRIOR_UNKNOWN) at.push(i);
    const got = await this.db.getMany(at.map((i) => dkeys[i]));
    const out: (Buffer | undefined)[] = new Array(ops.length);
    for (let j = 0; j < at.length; j++) out[at[j]] = got[j];
    return out;
  }

  private async commit(ops: Op[]): Promise<void> {
    if (!this.dirPresent()) throw this.lostDir!;
    if (this.reopenBeforeNextBatch) await this.reopenDb();
    if (this.clearOwed) await this.clearDisk();
    const dkeys = ops.map((op) => dataKey(op.key));
    // Read the disk records the ops replace, except those already known from memory.
    let unknown = 0;
    for (const op of ops) if (op.prior === PRIOR_UNKNOWN) unknown++;
    const olds: (Buffer | undefined)[] =
      unknown === ops.length ? await this.db.getMany(dkeys) : unknown === 0 ? [] : await this.readUnknown(ops, dkeys);
    const e = this.engine;
    const now = this.now();
    const indexAccess = this.indexAccess;
    // A chained batch: each op goes straight to the native batch (about 1.6x the throughput of an
    // array batch, whose per-op object copies dominate the writer's CPU time).
    const batch = this.db.batch();
    let nops = 0;
    const writes = {
      push(op: { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }): void {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
        nops++;
      },
    };
    let items = this.coldItems;
    let bytes = this.coldBytes;
    let expired = 0;
    let dropped = 0;
    const written: Op[] = [];
    // keys to announce once the batch is on disk (only when someone listens)
    const events: { code: number; key: Buffer }[] | null = this.keyEvent !== null ? [] : null;

    // The record an op replaces: its value length (-1: none), expiry and access position (-1: not
    // known, only when the access index is not kept).
    let oldLen = -1;
    let oldExpiry = 0;
    let oldSeq = -1;
    const removeOld = (op: Op, dkey: Buffer): void => {
      writes.push({ type: 'del', key: dkey });
      if (indexAccess) writes.push({ type: 'del', key: accessKey(oldSeq, op.key) });
      if (oldExpiry !== 0) writes.push({ type: 'del', key: expiryKey(oldExpiry, op.key) });
      items--;
      bytes -= recordBytes(op.key.length, oldLen);
    };
    const put = (op: Op, dkey: Buffer, value: Buffer): void => {
      const seq = ++this.accessSeq;
      writes.push({ type: 'put', key: dkey, value: encodeRecord(value, op.flags, op.expiresAt, op.cas, seq) });
      if (indexAccess) writes.push({ type: 'put', key: accessKey(seq, op.key), value: ZERO });
      if (op.expiresAt !== 0) writes.push({ type: 'put', key: expiryKey(op.expiresAt, op.key), value: ZERO });
      if (oldLen >= 0) {
        if (indexAccess) writes.push({ type: 'del', key: accessKey(oldSeq, op.key) });
        if (oldExpiry !== 0 && oldExpiry !== op.expiresAt) writes.push({ type: 'del', key: expiryKey(oldExpiry, op.key) });
        bytes += value.length - oldLen;
      } else {
        items++;
        bytes += recordBytes(op.key.length, value.length);
      }
    };

    try {
      for (let i = 0; i < ops.length; i++) {
        // Let the shard serve requests between slices of a large batch rather than stall for all of
        // it (no other batch can commit meanwhile; an op snapshots its key when its turn comes).
        if (i > 0 && i % BUILD_SLICE === 0) await yieldToLoop();
        const op = ops[i];
        const dkey = dkeys[i];
        let raw: Buffer | undefined;
        if (op.prior === PRIOR_UNKNOWN) {
          const r = olds[i];
          raw = r && checkRecord(r) ? r : undefined;
          oldLen = raw ? raw.length - HEADER_SIZE : -1;
          oldExpiry = raw ? recordExpiresAt(raw) : 0;
          oldSeq = raw ? recordSeq(raw) : -1;
        } else {
          oldLen = op.prior === PRIOR_NONE ? -1 : op.prior;
          oldExpiry = op.prior === PRIOR_NONE ? 0 : op.priorExpiry;
          oldSeq = -1;
        }
        const old = oldLen >= 0;
        switch (op.kind) {
          case OP_DIRTY: {
            const ref = e.peek(op.key);
            if (ref < 0) {
              // Gone from memory since: deleted or expired (the disk copy must go), or evicted (a newer
              // OP_PUT is queued and rewrites it). Removing the disk copy is right in every case.
              if (old) removeOld(op, dkey);
              break;
            }
            // Snapshot now; the op becomes a plain put so reads during the write can serve it.
            op.kind = OP_PUT;
            op.value = e.valueOf(ref);
            op.flags = e.flagsOf(ref);
            op.expiresAt = e.expiresAtOf(ref);
            op.cas = e.casOf(ref);
            put(op, dkey, op.value);
            written.push(op);
            break;
          }
          case OP_PUT:
            put(op, dkey, op.value!);
            break;
          case OP_DEL:
            if (old) removeOld(op, dkey);
            break;
          case OP_EXPIRE_DUE: {
            if (old && oldExpiry !== 0 && oldExpiry <= now) {
              removeOld(op, dkey);
              expired++;
              events?.push({ code: KeyEvent.EXPIRE, key: op.key });
            } else if (!old || oldExpiry !== op.expiresAt) {
              writes.push({ type: 'del', key: expiryKey(op.expiresAt, op.key) }); // stale index entry
            }
            break;
          }
          case OP_DROP: {
            if (!raw || recordSeq(raw) !== op.seq) break; // rewritten since the limit scan saw it
            if (!this.overColdLimits(items, bytes)) break;
            if (e.peek(op.key) >= 0) {
              // In memory, so recently used: move it to the young end instead of dropping it (a clean
              // hot entry relies on its disk copy).
              op.value = Buffer.from(recordValue(raw));
              op.flags = recordFlags(raw);
              op.expiresAt = recordExpiresAt(raw);
              op.cas = recordCas(raw);
              put(op, dkey, op.value);
            } else {
              removeOld(op, dkey);
              dropped++;
              events?.push({ code: KeyEvent.DROP, key: op.key });
            }
            break;
          }
        }
      }
    } catch (err) {
      await batch.close();
      throw err;
    }
    if (nops === 0) {
      await batch.close();
      return;
    }
    this.reserveCas();
    writes.push({ type: 'put', key: META_KEY, value: this.metaRecord(false, items, bytes) });
    const sync = this.durability === 'sync';
    if (this.diskFault !== null) {
      // where LevelDB refuses a batch: after it was read for and built, as a full disk does
      await batch.close();
      throw new Error(this.diskFault);
    }
    await batch.write({ sync });
    this.coldItems = items;
    this.coldBytes = bytes;
    this.counters.expirations += expired;
    this.io.coldDropped += dropped;
    if (events !== null && this.keyEvent !== null) for (const ev of events) this.keyEvent(ev.code, ev.key);
    this.io.batches++;
    this.io.batchOps += nops;
    if (sync) this.io.syncs++;
    // Mark clean what is unchanged since its snapshot; a key rewritten meanwhile stays dirty and
    // has a newer op queued.
    for (const op of written) {
      const ref = e.peek(op.key);
      if (ref >= 0 && e.casOf(ref) === op.cas && e.expiresAtOf(ref) === op.expiresAt && e.flagsOf(ref) === op.flags) e.setClean(ref);
    }
  }

  private overColdLimits(items: number, bytes: number): boolean {
    return (this.coldMaxItems > 0 && items > this.coldMaxItems) || (this.coldMaxBytes > 0 && bytes > this.coldMaxBytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Background maintenance.

  private tick(): void {
    if (this.closed) return;
    try {
      this.engine.expireTick(this.sweepBatch);
      if (this.idleMs > 0) this.engine.evictIdle(this.idleMs, this.sweepBatch);
      if (this.reserveCas()) void this.exclusive(() => this.db.put(META_KEY, this.metaRecord(false))).catch(() => {});
    } catch (err) {
      this.onError(err as Error);
    }
    if (this.sweeping === null && this.coldItems > 0 && this.dirPresent()) {
      this.sweeping = this.sweepCold()
        .catch((err: unknown) => {
          if (!this.closed) this.onError(err as Error);
        })
        .finally(() => {
          this.sweeping = null;
        });
    }
  }

  /** Queues removal of due entries of the expiry index and, over the cold limits, the oldest ones. */
  private async sweepCold(): Promise<void> {
    const due = await this.db.keys({ gte: EXPIRY_START, lt: expiryBound(this.now()), limit: this.sweepBatch }).all();
    for (const k of due) {
      if (this.closed) return;
      const { n, key } = parseOrderedKey(k);
      const kstr = key.toString('latin1');
      if (this.pending.has(kstr) || this.inflight?.has(kstr)) continue; // a newer op decides
      this.queue(kstr, { kind: OP_EXPIRE_DUE, key: Buffer.from(key), value: null, flags: 0, expiresAt: n, cas: 0, seq: 0, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 });
    }
    if (!this.overColdLimits(this.coldItems, this.coldBytes)) return;
    const excess = this.coldMaxItems > 0 ? Math.max(1, this.coldItems - this.coldMaxItems) : this.sweepBatch;
    const oldest = await this.db.keys({ gte: ACCESS_START, lt: ACCESS_END, limit: Math.min(this.sweepBatch, excess + 64) }).all();
    for (const k of oldest) {
      if (this.closed) return;
      const { n, key } = parseOrderedKey(k);
      const kstr = key.toString('latin1');
      if (this.pending.has(kstr) || this.inflight?.has(kstr)) continue;
      this.queue(kstr, { kind: OP_DROP, key: Buffer.from(key), value: null, flags: 0, expiresAt: 0, cas: 0, seq: n, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lookup.

  private checkOpen(): void {
    if (this.closed) throw new CairnError(ErrorCode.CLOSED, `shard ${this.shard} store is closed`);
  }

  private checkKey(key: Uint8Array): Buffer {
    this.checkOpen();
    if (key.length === 0) throw badArgument('key must not be empty');
    if (key.length > this.maxKeySize) throw new CairnError(ErrorCode.KEY_TOO_LARGE, `key of ${key.length} bytes exceeds the limit of ${this.maxKeySize}`);
    return asBuffer(key);
  }

  private checkValue(value: Uint8Array): void {
    if (value.length > this.maxValueSize)
      throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `value of ${value.length} bytes exceeds the limit of ${this.maxValueSize}`);
  }

  /**
   * Is the LevelDB directory still there? LevelDB keeps writing to the files it has open after their
   * directory is removed (the writes go nowhere), so the store looks for itself: once CURRENT is gone
   * the disk tier is treated as failed (CAIRN_ERR_DISK on every read that needs it and every batch),
   * and the shard keeps serving what memory holds. One stat per maintenance tick and per batch.
   */
  private dirPresent(): boolean {
    if (this.lostDir !== null) return false;
    if (existsSync(this.currentFile)) return true;
    this.lostDir = new CairnError(
      ErrorCode.DISK,
      `LevelDB directory ${this.dir} was removed while cairn ran: the keys it held are gone ` +
        `and new writes stay in memory only. Stop cairn; it will refuse to start until the directory is restored ` +
        `from a backup or \`cairn repair\` accepts the loss`,
    );
    this.onError(this.lostDir);
    return false;
  }

  /** Throws CAIRN_ERR_DISK when the disk tier cannot be read (directory gone, database closed after a failed reopen). */
  private diskUsable(): void {
    if (this.lostDir !== null) throw this.lostDir;
    if (this.db.status !== 'open')
      throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: the disk tier is unavailable (LevelDB could not be reopened after a failed write; retried every second)`);
  }

  /** One data record read on the read path; LevelDB failures come back as CAIRN_ERR_DISK. */
  private readRecord(dkey: Buffer): Buffer | undefined {
    this.diskUsable();
    try {
      return this.db.getSync(dkey);
    } catch (err) {
      throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: disk read failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Finds the live entry of a key: a hot ref (>= 0), DISK_ONLY (see `diskEntry`) or ABSENT. A key
   * found on disk (or in the write queue) is promoted into memory when `promote` and it fits.
   */
  private locate(key: Buffer, promote: boolean): number {
    const ref = this.engine.find(key);
    if (ref >= 0) {
      this.lastFrom = FROM_HOT;
      return ref;
    }
    this.lastFrom = FROM_COLD;
    const kstr = key.toString('latin1');
    const op = this.pending.get(kstr) ?? this.inflight?.get(kstr);
    let value: Buffer;
    let flags: number;
    let expiresAt: number;
    let cas: number;
    if (op !== undefined && op.kind === OP_DEL) return ABSENT;
    if (op !== undefined && op.kind === OP_PUT) {
      value = op.value!;
      flags = op.flags;
      expiresAt = op.expiresAt;
      cas = op.cas;
    } else {
      if (this.coldItems === 0 || this.clearOwed) return ABSENT; // nothing on disk, or all of it going
      this.io.diskReads++;
      const rec = this.readRecord(dataKey(key));
      if (rec === undefined || !checkRecord(rec)) return ABSENT;
      value = recordValue(rec);
      flags = recordFlags(rec);
      expiresAt = recordExpiresAt(rec);
      cas = recordCas(rec);
    }
    if (expiresAt !== 0 && expiresAt <= this.now()) {
      if (op === undefined) this.queue(kstr, { kind: OP_EXPIRE_DUE, key: Buffer.from(key), value: null, flags: 0, expiresAt, cas: 0, seq: 0, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 });
      return ABSENT;
    }
    if (promote && value.length <= this.maxItemSize) {
      const r = this.engine.insertClean(key, value, expiresAt, flags, cas);
      if (r >= 0) {
        this.counters.restores++;
        if (this.keyEvent !== null) this.keyEvent(KeyEvent.RESTORE, key);
        return r;
      }
    }
    this.diskEntry = { value: Buffer.from(value), flags, expiresAt, cas };
    return DISK_ONLY;
  }

  private entryOf(ref: number): Entry {
    const e = this.engine;
    return { value: e.valueOf(ref), flags: e.flagsOf(ref), expiresAt: e.expiresAtOf(ref), cas: e.casOf(ref) };
  }

  /** The live entry at a locate() result. */
  private entryAt(where: number): Entry | null {
    if (where >= 0) return this.entryOf(where);
    if (where === DISK_ONLY) return this.diskEntry;
    return null;
  }

  private countRead(where: number): void {
    if (where === ABSENT) this.counters.misses++;
    else if (this.lastFrom === FROM_HOT) this.counters.hitsHot++;
    else this.counters.hitsCold++;
  }

  private isPast(expiresAt: number): boolean {
    return expiresAt !== 0 && expiresAt <= this.now();
  }

  /** After a write: queue it for the disk (its acknowledgement waits for `settled()`). */
  private afterWrite(key: Buffer, event: number = KeyEvent.SET): void {
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(event, key);
    this.queueDirty(key);
  }

  /** After a delete or any other change that must reach disk as a removal. */
  private afterDelete(key: Buffer): void {
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.DELETE, key);
    this.queueDelete(key);
  }

  /** engine.set that reports "does not fit in memory" as false instead of throwing. */
  private hotSet(k: Buffer, value: Uint8Array, expiresAt: number, flags: number): boolean {
    try {
      return this.engine.set(k, value, expiresAt, flags, SET_ALWAYS, 0, false) === STORED;
    } catch (err) {
      if (err instanceof CairnError && err.code === ErrorCode.OUT_OF_MEMORY) return false;
      throw err;
    }
  }

  /** Stores a value too large for memory: disk only, removing any hot copy. */
  private storeOnDisk(key: Buffer, value: Uint8Array, flags: number, expiresAt: number): number {
    this.engine.delete(key);
    const cas = ++this.engine.casCounter;
    this.queuePut(key, Buffer.from(value), flags, expiresAt, cas);
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.SET, key);
    return cas;
  }

  // ---------------------------------------------------------------------------------------------
  // ShardStore.

  /** A cold hit is a synchronous disk read here, so a read never waits. */
  get(key: Uint8Array): Entry | null {
    const k = this.checkKey(key);
    const where = this.locate(k, true);
    this.countRead(where);
    return this.entryAt(where);
  }

  set(key: Uint8Array, value: Uint8Array, options?: SetOptions): SetResult {
    const k = this.checkKey(key);
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
    const big = value.length > this.maxItemSize;

    if (plain && !big && !this.isPast(expiresAt)) {
      // No condition depends on the current entry: a newer hot copy supersedes any disk copy.
      if (this.hotSet(k, value, expiresAt, flags)) {
        const cas = this.engine.lastCas;
        this.afterWrite(k);
        return { status: 'stored', cas };
      }
      // The engine could not place it (no room): keep it on disk only.
      const cas = this.storeOnDisk(k, value, flags, expiresAt);
      return { status: 'stored', cas };
    }

    const where = this.locate(k, true);
    const cur = this.entryAt(where);
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
      if (cur) this.removeKey(k, where);
      return result;
    }
    if (!big && where !== DISK_ONLY) {
      if (this.hotSet(k, value, exp, flags)) {
        result.cas = this.engine.lastCas;
        this.afterWrite(k);
        return result;
      }
    }
    result.cas = this.storeOnDisk(k, value, flags, exp);
    return result;
  }

  get changes(): number {
    return this.counters.writes;
  }

  settled(): Promise<void> | null {
    if (this.durability === 'sync') return this.pending.size > 0 || this.inflight !== null ? this.durable() : null;
    return this.overdue() ? this.backpressure() : null;
  }

  /** Deletes a located key from both tiers. */
  private removeKey(k: Buffer, where: number): void {
    if (where >= 0) this.engine.delete(k);
    this.counters.writes++;
    this.queueDelete(k);
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.DELETE, k);
  }

  delete(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    const where = this.locate(k, false);
    if (where === ABSENT) return false;
    if (where >= 0) this.engine.delete(k);
    this.afterDelete(k);
    return true;
  }

  getdel(key: Uint8Array): Entry | null {
    const k = this.checkKey(key);
    const where = this.locate(k, false);
    this.countRead(where);
    const entry = this.entryAt(where);
    if (!entry) return null;
    if (where >= 0) this.engine.delete(k);
    this.afterDelete(k);
    return entry;
  }

  exists(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    return this.locate(k, false) !== ABSENT;
  }

  expire(key: Uint8Array, expiresAt: number): boolean {
    const k = this.checkKey(key);
    checkTime(expiresAt, 'expiresAt');
    const where = this.locate(k, true);
    if (where === ABSENT) return false;
    if (expiresAt === 0 || this.isPast(expiresAt)) {
      // Like Redis EXPIRE with a time at or before now (0 is the epoch): the key is deleted.
      this.removeKey(k, where);
      return true;
    }
    this.setExpiry(k, where, expiresAt);
    return true;
  }

  private setExpiry(k: Buffer, where: number, expiresAt: number): void {
    if (where >= 0) {
      this.engine.expire(k, expiresAt);
      this.afterWrite(k, KeyEvent.TTL);
    } else {
      const d = this.diskEntry!;
      this.queuePut(k, d.value, d.flags, expiresAt, d.cas);
      this.counters.writes++;
      if (this.keyEvent !== null) this.keyEvent(KeyEvent.TTL, k);
    }
  }

  persist(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    const where = this.locate(k, true);
    if (where === ABSENT) return false;
    const cur = where >= 0 ? this.engine.expiresAtOf(where) : this.diskEntry!.expiresAt;
    if (cur === 0) return false;
    if (where >= 0) {
      this.engine.persist(k);
      this.afterWrite(k, KeyEvent.TTL);
    } else {
      const d = this.diskEntry!;
      this.queuePut(k, d.value, d.flags, 0, d.cas);
      this.counters.writes++;
      if (this.keyEvent !== null) this.keyEvent(KeyEvent.TTL, k);
    }
    return true;
  }

  expireTime(key: Uint8Array): number {
    const k = this.checkKey(key);
    const where = this.locate(k, true);
    if (where === ABSENT) return -2;
    const exp = where >= 0 ? this.engine.expiresAtOf(where) : this.diskEntry!.expiresAt;
    return exp === 0 ? -1 : exp;
  }

  touch(key: Uint8Array, expiresAt: number): Entry | null {
    const k = this.checkKey(key);
    checkTime(expiresAt, 'expiresAt');
    const where = this.locate(k, true);
    this.countRead(where);
    if (where === ABSENT) return null;
    if (this.isPast(expiresAt)) {
      const entry = this.entryAt(where);
      this.removeKey(k, where);
      return entry;
    }
    if (where >= 0) {
      if (expiresAt === 0) this.engine.persist(k);
      else this.engine.expire(k, expiresAt);
      const entry = this.entryOf(this.engine.peek(k));
      this.afterWrite(k, KeyEvent.TTL);
      return entry;
    }
    const d = this.diskEntry!;
    this.setExpiry(k, where, expiresAt);
    return { ...d, expiresAt };
  }

  incr(key: Uint8Array, delta: bigint, unsigned: boolean, create: boolean): IncrResult {
    const k = this.checkKey(key);
    if (typeof delta !== 'bigint') throw badArgument('delta must be a bigint');
    const where = this.locate(k, true);
    if (where === DISK_ONLY) return { status: 'not_integer' }; // longer than any integer
    const st = this.engine.incr(k, delta, unsigned, create);
    switch (st) {
      case INCR_OK: {
        const value = this.engine.lastInt;
        this.afterWrite(k);
        return { status: 'ok', value };
      }
      case INCR_NOT_FOUND:
        return { status: 'not_found' };
      case INCR_NOT_INTEGER:
        return { status: 'not_integer' };
      case INCR_OVERFLOW:
        return { status: 'overflow' };
      default:
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `incr failed with engine status ${st}`);
    }
  }

  append(key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number {
    const k = this.checkKey(key);
    const where = this.locate(k, true);
    if (where === ABSENT && !create) return -1;
    const curLen = where >= 0 ? this.engine.valueOf(where).length : where === DISK_ONLY ? this.diskEntry!.value.length : 0;
    const newLen = curLen + bytes.length;
    if (newLen > this.maxValueSize) throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `value of ${newLen} bytes exceeds the limit of ${this.maxValueSize}`);
    if (newLen <= this.maxItemSize && where !== DISK_ONLY) {
      let n = -1;
      try {
        n = this.engine.append(k, bytes, prepend, create);
      } catch (err) {
        if (!(err instanceof CairnError && err.code === ErrorCode.OUT_OF_MEMORY)) throw err;
      }
      if (n >= 0) {
        this.afterWrite(k);
        return n;
      }
    }
    // Grows past what memory holds (or already disk-only): rewrite the whole value on disk.
    const cur = this.entryAt(where);
    const value = cur ? (prepend ? Buffer.concat([bytes, cur.value]) : Buffer.concat([cur.value, bytes])) : Buffer.from(bytes);
    this.storeOnDisk(k, value, cur?.flags ?? 0, cur?.expiresAt ?? 0);
    return value.length;
  }

  update(key: Uint8Array, fn: (current: Entry | null) => UpdateAction): Entry | null {
    const k = this.checkKey(key);
    const where = this.locate(k, true);
    const cur = this.entryAt(where);
    const action = fn(cur);
    if (action.op === 'keep') return cur;
    if (action.op === 'delete') {
      if (cur) {
        this.removeKey(k, where);
      }
      return cur;
    }
    if (action.op !== 'set') throw badArgument(`update: unknown op ${(action as { op: unknown }).op}`);
    this.checkValue(action.value);
    const flags = action.flags ?? cur?.flags ?? 0;
    const exp = action.expiresAt ?? cur?.expiresAt ?? 0;
    checkTime(exp, 'expiresAt');
    if (this.isPast(exp)) {
      if (cur) this.removeKey(k, where);
      return cur;
    }
    if (action.value.length <= this.maxItemSize && where !== DISK_ONLY) {
      if (this.hotSet(k, action.value, exp, flags)) {
        this.afterWrite(k);
        return cur;
      }
    }
    this.storeOnDisk(k, action.value, flags, exp);
    return cur;
  }

  restore(key: Uint8Array): boolean {
    const k = this.checkKey(key);
    return this.locate(k, true) !== ABSENT;
  }

  /**
   * Cursor: '0' starts; 'h<n>' walks the hot tier's table; 'c<hex>' walks the data records after the
   * given key. Before the first cold page the write queue is drained, so a key evicted while the
   * hot walk ran is on disk when the cold walk passes it. Each key is returned by one walk: the hot
   * walk skips the entries the cold walk will find on disk (see `onDiskByColdWalk`), so a key comes
   * twice only when it leaves memory for the disk between the two walks.
   */
  async scan(cursor: string, count: number): Promise<ScanPage> {
    this.checkOpen();
    if (typeof cursor !== 'string') throw badArgument('scan cursor must be a string');
    if (!Number.isInteger(count) || count <= 0) throw badArgument(`scan count must be a positive integer, got ${count}`);
    const keys: Buffer[] = [];
    if (cursor === '0' || cursor.startsWith('h')) {
      let c = cursor === '0' ? 0 : Number(cursor.slice(1));
      if (!Number.isSafeInteger(c) || c < 0) throw badArgument(`bad scan cursor ${cursor}`);
      const now = this.now();
      const e = this.engine;
      do {
        c = e.scan(c, count - keys.length, (ref) => {
          const exp = e.expiresAtOf(ref);
          if ((exp === 0 || exp > now) && !this.onDiskByColdWalk(ref, now)) keys.push(e.keyOf(ref));
        });
      } while (c !== 0 && keys.length < count);
      if (c !== 0) return { cursor: `h${c}`, keys };
      if (this.coldItems === 0 && this.pending.size === 0 && this.inflight === null) return { cursor: '0', keys };
      await this.drain();
      return { cursor: 'c', keys };
    }
    if (!cursor.startsWith('c') || !/^c([0-9a-f]{2})*$/.test(cursor)) throw badArgument(`bad scan cursor ${cursor}`);
    this.diskUsable();
    const after = cursor.length > 1 ? dataKey(Buffer.from(cursor.slice(1), 'hex')) : null;
    const now = this.now();
    const it = this.db.iterator(after ? { gt: after, lt: DATA_END, limit: count } : { gte: DATA_START, lt: DATA_END, limit: count });
    const rows = await it.all();
    for (const [dk, rec] of rows) {
      const key = dk.subarray(1);
      const op = this.pending.get(key.toString('latin1'));
      if (op?.kind === OP_DEL) continue;
      const exp = recordExpiresAt(rec);
      if (exp !== 0 && exp <= now) continue;
      keys.push(Buffer.from(key));
    }
    if (rows.length < count) return { cursor: '0', keys };
    return { cursor: `c${rows[rows.length - 1][0].subarray(1).toString('hex')}`, keys };
  }

  /**
   * Will the cold walk of a scan find this live hot entry on disk? Yes when it is clean (its record
   * is on disk, or in a queued or in-flight put, which the drain before the cold walk commits), or
   * when a put of it is queued or in flight, or when a record of the key is on disk already: none of
   * these goes away while the key lives. A dirty entry with none of them (spill mode, or a write the
   * writer has not taken yet) exists only in memory and is returned by the hot walk.
   */
  private onDiskByColdWalk(ref: number, now: number): boolean {
    const e = this.engine;
    if (!e.isDirty(ref)) return true;
    if (this.pending.size === 0 && this.inflight === null && this.coldItems === 0) return false;
    const key = e.keyOf(ref);
    const kstr = key.toString('latin1');
    const op = this.pending.get(kstr) ?? this.inflight?.get(kstr);
    if (op !== undefined) return op.kind === OP_DIRTY || op.kind === OP_PUT;
    if (this.coldItems === 0 || this.clearOwed) return false;
    const rec = this.readRecord(dataKey(key));
    return rec !== undefined && checkRecord(rec) && !(recordExpiresAt(rec) !== 0 && recordExpiresAt(rec) <= now);
  }

  /**
   * Live keys per tier, exact. cold: disk records (committed counts) minus those whose expiry has
   * passed but the sweep has not removed yet (read from the due prefix of the expiry index). total
   * adds the hot entries without a live disk record: a clean hot entry is always on disk, so only
   * dirty ones are looked up (bloom-filtered getSync). Walks the hot tier: O(hot items).
   */
  async count(): Promise<{ hot: number; cold: number; total: number }> {
    this.checkOpen();
    await this.drain();
    const now = this.now();
    let cold = this.coldItems;
    if (cold > 0) {
      this.diskUsable();
      cold -= (await this.db.keys({ gte: EXPIRY_START, lt: expiryBound(now) }).all()).length;
    }
    const e = this.engine;
    let hot = 0;
    let onlyHot = 0;
    let c = 0;
    do {
      c = e.scan(c, 1024, (ref) => {
        hot++;
        if (this.coldItems === 0) onlyHot++;
        else if (e.isDirty(ref)) {
          const rec = this.readRecord(dataKey(e.keyOf(ref)));
          if (rec === undefined || this.isPast(recordExpiresAt(rec))) onlyHot++;
        }
      });
    } while (c !== 0);
    return { hot, cold, total: cold + onlyHot };
  }

  async randomKey(): Promise<Buffer | null> {
    this.checkOpen();
    const now = this.now();
    for (let attempt = 0; attempt < 8; attempt++) {
      const ref = this.engine.randomRef();
      if (ref < 0) break;
      const exp = this.engine.expiresAtOf(ref);
      if (exp === 0 || exp > now) return this.engine.keyOf(ref);
    }
    if (this.coldItems === 0) return null;
    this.diskUsable();
    for (let attempt = 0; attempt < 8; attempt++) {
      // A random point in the key space; LevelDB finds the next data record from there.
      const probe = Buffer.concat([DATA_START, Buffer.from([Math.floor(Math.random() * 256), Math.floor(Math.random() * 256)])]);
      let rows = await this.db.iterator({ gte: probe, lt: DATA_END, limit: 1 }).all();
      if (rows.length === 0) rows = await this.db.iterator({ gte: DATA_START, lt: DATA_END, limit: 1 }).all();
      if (rows.length === 0) return null;
      const [dk, rec] = rows[0];
      const exp = recordExpiresAt(rec);
      const key = Buffer.from(dk.subarray(1));
      if ((exp === 0 || exp > now) && this.pending.get(key.toString('latin1'))?.kind !== OP_DEL) return key;
    }
    return null;
  }

  /** Removes every key from both tiers (FLUSHALL). The CAS counter keeps rising. */
  async flush(): Promise<void> {
    this.checkOpen();
    this.engine.clear();
    this.pending = new Map();
    this.pendingBytes = 0;
    this.counters.writes++;
    if (this.keyEvent !== null) this.keyEvent(KeyEvent.FLUSH, EMPTY_KEY);
    // Until the disk is cleared, reads must not find what it still holds.
    this.clearOwed = true;
    try {
      await this.exclusive(() => this.clearDisk());
    } catch (err) {
      throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: flush failed to clear the disk: ${(err as Error).message}`, { cause: err });
    }
    this.pendingDone?.resolve();
    this.pendingDone = null;
  }

  /**
   * Deletes every record but the meta record, in the writer's turn (no batch commits meanwhile, so
   * what it leaves is nothing). LevelDB clears a range in many batches; the meta record says a clear
   * is under way (fsynced before it starts), so a crash part-way is finished at the next open instead
   * of leaving the counts of the full tier over a half-cleared one. A clear that fails stays owed:
   * the next disk batch finishes it before writing anything.
   */
  private async clearDisk(): Promise<void> {
    if (!this.clearOwed) return;
    if (!this.dirPresent()) throw this.lostDir!;
    await this.db.put(META_KEY, this.metaRecord(false), { sync: true });
    await this.db.clear({ gte: AFTER_META });
    this.coldItems = 0;
    this.coldBytes = 0;
    this.clearOwed = false;
    this.reserveCas();
    await this.db.put(META_KEY, this.metaRecord(false), { sync: this.durability === 'sync' });
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
      cold: { items: this.coldItems, bytes: this.coldBytes },
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
    if (this.locate(k, false) === ABSENT) return null;
    return this.engine.eviction === 'lfu' ? 0 : -1;
  }

  /** Reads served from the cold tier so far (a cheap counter for per-request accounting). */
  get coldHitCount(): number {
    return this.counters.hitsCold;
  }

  ioStats(): StoreIoStats {
    return { ...this.io, pending: this.pending.size };
  }

  /** The changes acknowledged but not yet on disk: what a crash would lose now. */
  writebackLag(): WritebackLag {
    const oldest = this.oldestUnwritten();
    return {
      lagMs: oldest < 0 ? 0 : Math.max(0, Math.round(performance.now() - oldest)),
      ops: this.pending.size + (this.inflight?.size ?? 0),
      bytes: this.pendingBytes + this.inflightBytes,
    };
  }

  /** Writes every queued op now (all modes). Resolves when committed. */
  /**
   * Checks the disk tier against its bookkeeping after writing everything queued: the cold counts,
   * one expiry-index entry per record with an expiry and none else, and (when kept) one access-index
   * entry per record at its position. Throws on the first difference. For tests; it reads the whole
   * disk tier.
   */
  async verifyDisk(): Promise<void> {
    this.checkOpen();
    await this.accessCleared;
    await this.drain();
    // Inside the writer's turn: no batch (the sweep's, say) commits while the records are counted.
    await this.exclusive(() => this.checkDisk());
  }

  private async checkDisk(): Promise<void> {
    const fail = (what: string): never => {
      throw new Error(`shard ${this.shard} disk check: ${what}`);
    };
    let items = 0;
    let bytes = 0;
    const expiries = new Set<string>();
    const positions = new Set<string>();
    for await (const [k, rec] of this.db.iterator({ gte: DATA_START, lt: DATA_END })) {
      if (!checkRecord(rec)) fail(`unreadable record for ${k.subarray(1).toString('latin1')}`);
      const key = k.subarray(1);
      items++;
      bytes += recordBytes(key.length, rec.length - HEADER_SIZE);
      const exp = recordExpiresAt(rec);
      if (exp !== 0) expiries.add(expiryKey(exp, key).toString('latin1'));
      positions.add(accessKey(recordSeq(rec), key).toString('latin1'));
    }
    if (items !== this.coldItems || bytes !== this.coldBytes)
      fail(`${items} records of ${bytes} bytes on disk, bookkeeping says ${this.coldItems} of ${this.coldBytes}`);
    const indexed = async (gte: Buffer, lt: Buffer, want: Set<string>, name: string): Promise<void> => {
      let n = 0;
      for await (const k of this.db.keys({ gte, lt })) {
        if (!want.has(k.toString('latin1'))) fail(`${name} entry without its record: ${k.toString('latin1')}`);
        n++;
      }
      if (n !== want.size) fail(`${want.size} records need a ${name} entry, ${n} found`);
    };
    await indexed(EXPIRY_START, Buffer.from([EXPIRY_START[0] + 1]), expiries, 'expiry index');
    // Not kept: it must be gone (an old one was cleared at open).
    await indexed(ACCESS_START, ACCESS_END, this.indexAccess ? positions : new Set(), 'access index');
  }

  async sync(): Promise<void> {
    this.checkOpen();
    await this.drain();
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
    clearInterval(this.maintenance);
    const e = this.engine;
    // Expired dirty entries are invisible to scan; removing them now queues the deletes of any
    // older disk copies they hide. One pass over the table's slots is enough.
    e.expireTick(Math.max(4096, e.tableBytes >>> 2));
    let c = 0;
    do {
      c = e.scan(c, 1024, (ref) => {
        if (!e.isDirty(ref)) return;
        const key = e.keyOf(ref);
        const kstr = key.toString('latin1');
        // Snapshot now; it is written even if it is evicted later. queue() keeps a queued op's place,
        // queue time and disk record, and counts the bytes.
        this.queue(kstr, { kind: OP_PUT, key, value: e.valueOf(ref), flags: e.flagsOf(ref), expiresAt: e.expiresAtOf(ref), cas: e.casOf(ref), seq: 0, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 });
      });
    } while (c !== 0);
    await this.sweeping;
    for (;;) {
      try {
        await this.drain();
        if (!this.dirPresent()) throw this.lostDir!;
        break;
      } catch (err) {
        const left = giveUpAt - Date.now();
        if (left > 0 && this.dirPresent()) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MS, left)));
          continue;
        }
        // the disk refuses the last writes: release the database (its lock) and say what is lost
        this.closed = true;
        if (!this.dirPresent()) {
          // the directory went away: what memory held has nowhere to go, and the close says so
          await this.db.close().catch(() => undefined);
          if (this.flushTimer) clearTimeout(this.flushTimer);
          throw this.lostDir!;
        }
        const lost = this.pending.size;
        await this.db.close().catch(() => undefined);
        if (this.flushTimer) clearTimeout(this.flushTimer);
        const why = err instanceof CairnError && err.cause !== undefined ? err.cause : err;
        throw new CairnError(ErrorCode.DISK, `shard ${this.shard}: ${lost} keys not written to disk (lost): ${causes(why)}`, { cause: err });
      }
    }
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.reserveCas();
    await this.exclusive(() => this.db.put(META_KEY, this.metaRecord(true), { sync: true }));
    await this.db.close();
  }
}
