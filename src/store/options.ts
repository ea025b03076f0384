/**
 * The options of a tiered shard store, checked and with their defaults filled in once, for the parts
 * of the store (src/store/shard-store.ts and the files it is split into) to share.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { CHUNK_MEMBERS } from '../engine/collections/chunks.js';
import type { EvictionName } from '../engine/index.js';
import type { BatchRules } from './batch.js';

export type Durability = 'spill' | 'writeback' | 'sync';

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
  /**
   * members per disk chunk of a large hash, set, sorted set or list; one of at least four times this many
   * members is stored in chunks (src/engine/collections/chunks.ts). Default 64.
   */
  chunkMembers?: number;
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
  /** records read from LevelDB on the read path (getSync calls: data records and collections' chunks). */
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

/** TieredShardStoreOptions with every default filled in. */
export interface StoreSettings extends BatchRules {
  shard: number;
  dir: string;
  maxMemory: number;
  durability: Durability;
  writebackDelayMs: number;
  maxLagMs: number;
  maxUnwrittenBytes: number;
  maxItemSize: number;
  maxValueSize: number;
  maxKeySize: number;
  chunkMembers: number;
  idleMs: number;
  eviction: EvictionName | undefined;
  now: () => number;
  sweepIntervalMs: number;
  sweepBatch: number;
  cacheSize: number | undefined;
  blockSize: number;
  onError: (err: Error) => void;
}

const DEFAULT_BLOCK_SIZE = 1024;

export function badArgument(message: string): CairnError {
  return new CairnError(ErrorCode.BAD_ARGUMENT, message);
}

/** Checks the options a store cannot open without, and fills in the defaults. */
export function storeSettings(opts: TieredShardStoreOptions): StoreSettings {
  if (!Number.isInteger(opts.shard) || opts.shard < 0) throw badArgument(`shard must be a non-negative integer, got ${opts.shard}`);
  if (!(opts.maxMemory > 0)) throw badArgument(`maxMemory must be positive, got ${opts.maxMemory}`);
  const durability = opts.durability ?? 'writeback';
  if (durability !== 'spill' && durability !== 'writeback' && durability !== 'sync')
    throw badArgument(`durability must be spill, writeback or sync, got ${String(durability)}`);
  const shard = opts.shard;
  const writebackDelayMs = opts.writebackDelayMs ?? 100;
  const maxItemSize = opts.maxItemSize ?? 1 << 20;
  const coldMaxItems = opts.coldMaxItems ?? 0;
  const coldMaxBytes = opts.coldMaxBytes ?? 0;
  if (opts.chunkMembers !== undefined && !(Number.isInteger(opts.chunkMembers) && opts.chunkMembers >= 1))
    throw badArgument(`chunkMembers must be a positive integer, got ${opts.chunkMembers}`);
  return {
    shard,
    dir: opts.dir,
    maxMemory: opts.maxMemory,
    durability,
    writebackDelayMs,
    // a batch cannot start before its delay, so a bound below it would hold every write
    maxLagMs: Math.max(opts.writebackMaxLagMs ?? 1000, writebackDelayMs),
    maxUnwrittenBytes: opts.writebackMaxBytes ?? 64 << 20,
    maxItemSize,
    maxValueSize: Math.max(opts.maxValueSize ?? 64 << 20, maxItemSize),
    maxKeySize: opts.maxKeySize ?? 65535,
    chunkMembers: opts.chunkMembers ?? CHUNK_MEMBERS,
    idleMs: opts.idleMs ?? 0,
    eviction: opts.eviction,
    coldMaxItems,
    coldMaxBytes,
    // The access index (the disk tier's LRU order) is kept only with a cold limit, the one thing that
    // reads it. Without it a write of a key whose disk record is known from memory needs no read.
    indexAccess: coldMaxItems > 0 || coldMaxBytes > 0,
    now: opts.clock ?? Date.now,
    sweepIntervalMs: opts.sweepIntervalMs ?? 200,
    sweepBatch: opts.sweepBatch ?? 2000,
    cacheSize: opts.cacheSize,
    blockSize: opts.blockSize ?? DEFAULT_BLOCK_SIZE,
    onError: opts.onError ?? ((err) => console.error(`cairn shard ${shard}: ${err.message}`)),
  };
}
