/**
 * The contract of one shard's two-tier store (hot engine + LevelDB cold tier). Protocol executors
 * (native, RESP, memcached) run inside a shard worker and talk only to this interface.
 *
 * The single-key methods are synchronous: a cold read is a synchronous LevelDB read, and a change
 * takes effect in memory before the method returns, so no other command on the shard interleaves.
 * Durability is a separate wait: a command that made changes (`changes` moved) is acknowledged only
 * after `settled()` resolves, which is where `sync` mode and the writeback lag bound make it wait.
 * Times are absolute milliseconds since the Unix epoch; 0 means "no expiry".
 */
import type { ListReach } from '../engine/collections/list-chunks.js';
import type { Collection } from '../engine/collections/types.js';

export interface Entry {
  /** a string's bytes; a collection's `encode()` bytes (see `type`) */
  value: Buffer;
  /** the value's type (ValueType, src/engine/collections): absent or 0 for a string */
  type?: number;
  /** memcached-style client flags, u32. */
  flags: number;
  /** absolute expiry in ms since the epoch, 0 for none. */
  expiresAt: number;
  /** CAS version, unique and increasing per shard (safe integer). */
  cas: number;
}

export type SetMode = 'always' | 'nx' | 'xx';

export interface SetOptions {
  /** the value is a collection's encoded bytes of this type (ValueType); absent or 0: a string */
  type?: number;
  /** absolute expiry in ms; 0 or absent: no expiry (unless keepTtl). A time in the past deletes the key. */
  expiresAt?: number;
  /** keep the existing expiry of the key (Redis KEEPTTL). */
  keepTtl?: boolean;
  flags?: number;
  /** nx: only if absent; xx: only if present. */
  mode?: SetMode;
  /** compare-and-swap: store only if the current CAS equals this. */
  cas?: number;
  /** return the previous entry (Redis SET ... GET, GETSET). */
  returnOld?: boolean;
}

export type SetStatus = 'stored' | 'not_stored' | 'exists' | 'not_found' | 'wrong_type';

export interface SetResult {
  /** stored; not_stored (nx/xx condition failed); exists (cas mismatch); not_found (cas on a missing key); wrong_type (returnOld of a collection: command layer). */
  status: SetStatus;
  /** CAS of the stored entry (0 when not stored). */
  cas: number;
  /** the previous entry when returnOld was asked (null when there was none). */
  old?: Entry | null;
}

export type IncrResult =
  | { status: 'ok'; value: bigint }
  | { status: 'not_found' }
  | { status: 'not_integer' }
  | { status: 'overflow' }
  | { status: 'wrong_type' };

/** What an update callback decides: keep the key as it is, write a new entry, or delete it. */
export type UpdateAction =
  | { op: 'keep' }
  | { op: 'delete' }
  | { op: 'set'; value: Uint8Array; flags?: number; expiresAt?: number }
  /** a new expiry (0: none; at or before now deletes) for the value as it is, of any type */
  | { op: 'expire'; expiresAt: number };

/** readCollection/writeCollection: the key holds a value of another type (Redis WRONGTYPE). */
export const WRONG_TYPE: unique symbol = Symbol('WRONGTYPE');
export type WrongType = typeof WRONG_TYPE;

/**
 * What of a collection a command reaches, so that a large one below memory is read in part: for a
 * hash, set or sorted set the members it names (it reads only those and the size); for a list a
 * ListReach (an end, one index or the length). Without one the whole collection is read.
 */
export type Reach = readonly string[] | ListReach;

/** does the command name members (a hash's, set's or sorted set's), not a part of a list? */
export function namesMembers(reach: Reach): reach is readonly string[] {
  return Array.isArray(reach);
}

export interface ScanPage {
  /** '0' when the scan is complete. */
  cursor: string;
  keys: Buffer[];
}

export type RemoveReason = 'evicted' | 'expired' | 'idle' | 'deleted' | 'overwritten' | 'flushed';

export interface TierStats {
  items: number;
  bytes: number;
}

export interface ShardStats {
  shard: number;
  hot: TierStats & { maxBytes: number };
  cold: TierStats;
  hits: { hot: number; cold: number };
  misses: number;
  /** evictions from memory, by reason (evicted for space, idle limit reached). */
  evictions: Record<string, number>;
  /** entries written to LevelDB because they left memory dirty. */
  spills: number;
  /** entries read back from LevelDB into memory. */
  restores: number;
  /** keys removed because their TTL passed, from either tier. */
  expirations: number;
  writes: number;
  /** the memory tier's eviction policy (--eviction). */
  eviction?: string;
  /**
   * The shard's hottest keys, hottest first (at most 10): estimated recent accesses (reads and
   * writes of keys in memory), from a sample of one access in `hotKeyRate`.
   */
  hotKeys?: HotKeyStat[];
  /** one access in this many is sampled for hotKeys; 0: tracking is off. */
  hotKeyRate?: number;
  /** entries in memory per value size: [0] empty values, [i] values of 2^(i-1) to 2^i - 1 bytes. */
  valueSizes?: number[];
  /** changes acknowledged but not yet on disk: what a crash would lose now (stores with a disk tier) */
  writeback?: WritebackLag;
}

export interface WritebackLag {
  /** age of the oldest change not yet on disk, ms; 0 when everything is on disk */
  lagMs: number;
  /** keys with a change not yet on disk (queued or in the batch being written) */
  ops: number;
  /** their estimated size: keys, values and a fixed cost per key */
  bytes: number;
}

export interface HotKeyStat {
  /** the key as UTF-8 text, or base64 when `binary` (its bytes are not valid UTF-8) */
  key: string;
  binary?: true;
  /** estimated recent accesses */
  count: number;
}

export interface ShardStore {
  readonly shard: number;
  /** how many changes the store has taken (a counter); a command that moved it waits for `settled()` */
  readonly changes: number;
  /**
   * What the acknowledgement of the changes made so far waits for: their commit in `sync` mode, or the
   * unwritten changes back under the writeback lag bound; null when nothing needs waiting. Rejects with
   * CAIRN_ERR_DISK when the disk refuses the writes.
   */
  settled(): Promise<void> | null;
  /** the live entry: a collection's as its encoded bytes with its `type` (moves, replication, export) */
  get(key: Uint8Array): Entry | null;
  /** writes a string; with `type`, a collection from its encoded bytes (a move, a replica, an import) */
  set(key: Uint8Array, value: Uint8Array, options?: SetOptions): SetResult;
  /** the type of the live value at key (ValueType), null when the key is on neither tier */
  typeOf(key: Uint8Array): number | null;
  /**
   * The collection of `type` at key, to read (a cold one comes back into memory): null when the key
   * is absent, WRONG_TYPE when it holds another type. Do not change it: see writeCollection.
   * `reach`: what the command reads (Reach); a large collection below memory is then read in part
   * (the chunks holding it) instead of whole, and `size` still counts all.
   */
  readCollection<T extends Collection>(key: Uint8Array, type: number, reach?: Reach): T | null | WrongType;
  /**
   * The collection of `type` at key, to change in place: as readCollection, but an absent key gets
   * `create()` when given. After changing it call `collectionChanged(key, notify)`, once per command, even
   * when it was created and left empty: that recounts its memory, gives it a new CAS, queues it for
   * the disk, and deletes the key when the collection is empty (as Redis does). `reach`: the
   * command changes only what it reaches (as for readCollection; only those chunks are rewritten).
   */
  writeCollection<T extends Collection>(key: Uint8Array, type: number, create?: () => T, reach?: Reach): T | null | WrongType;
  /**
   * `notify`: the Notify name (src/events/codes.ts) keyspace notifications publish for the change,
   * followed by `del` when the collection is empty; 0 publishes `set`.
   */
  collectionChanged(key: Uint8Array, notify?: number): void;
  /** a keyspace notification with no key event (XADD's xtrim after its xadd, LMOVE's push, an LTRIM that kept all) */
  notifyKey(key: Uint8Array, notify: number): void;
  /** `notify`: Notify.NONE for a delete that publishes no `del` (a destination a store command replaces) */
  delete(key: Uint8Array, notify?: number): boolean;
  getdel(key: Uint8Array): Entry | null;
  exists(key: Uint8Array): boolean;
  /** set an absolute expiry; a time at or before now deletes the key. false when the key is missing. */
  expire(key: Uint8Array, expiresAt: number): boolean;
  /** remove the expiry; false when the key is missing or had none. */
  persist(key: Uint8Array): boolean;
  /** absolute expiry in ms, -1 for none, -2 for a missing key. */
  expireTime(key: Uint8Array): number;
  /** set a new expiry and return the entry (memcached touch / gat), null when missing. */
  touch(key: Uint8Array, expiresAt: number): Entry | null;
  /**
   * Add delta. `unsigned` serves memcached (u64: incr wraps at 2^64, decr stops at 0, a missing key is
   * not_found); signed serves Redis (i64: overflow is an error, a missing key starts at 0 when create).
   */
  incr(key: Uint8Array, delta: bigint, unsigned: boolean, create: boolean): IncrResult;
  /** append (or prepend) bytes; returns the new length, -1 when the key is missing and !create, -2 when it holds a collection. */
  append(key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number;
  /** atomic read-modify-write: fn sees the current live entry (or null) and decides. Returns what fn saw. */
  update(key: Uint8Array, fn: (current: Entry | null) => UpdateAction): Entry | null;
  /** load a key from disk into memory now; false when it is on neither tier. */
  restore(key: Uint8Array): boolean;
  /** keys of both tiers; every key present for the whole scan is returned at least once. */
  scan(cursor: string, count: number): Promise<ScanPage>;
  /** live keys per tier (a key may be in both; `total` counts it once). */
  count(): Promise<{ hot: number; cold: number; total: number }>;
  randomKey(): Promise<Buffer | null>;
  flush(): Promise<void>;
  stats(): ShardStats;
  /**
   * The eviction policy's access-frequency counter of a key in memory (Redis OBJECT FREQ), without
   * counting as an access: null when the key is on neither tier, -1 when the policy keeps no
   * counter. A key only on disk answers 0.
   */
  frequency?(key: Uint8Array): number | null;
  close(): Promise<void>;
}
