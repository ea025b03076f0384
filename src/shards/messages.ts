import type { EvictionName } from '../engine/index.js';
/** Settings each shard's store is opened with (per shard, already divided). */
export interface StoreSettings {
  maxMemory: number;
  eviction?: EvictionName;
  durability: 'spill' | 'writeback' | 'sync';
  writebackDelayMs?: number;
  writebackMaxLagMs?: number;
  /** for the whole cache in perShardSettings' argument, per shard in its result */
  writebackMaxBytes?: number;
  maxValueSize?: number;
  maxItemSize?: number;
  /** members per disk chunk of a large collection (TieredShardStoreOptions.chunkMembers) */
  chunkMembers?: number;
  /** a Lua script running longer is stopped (ms, 0: never; --busy-reply-threshold) */
  scriptTimeLimitMs?: number;
  idleMs?: number;
  coldMaxItems?: number;
  coldMaxBytes?: number;
}

/**
 * One shard's settings from the whole cache's: the hot budget and the cold limits are divided
 * evenly, since keys spread evenly over shards. Used by the server and the embedded cache alike.
 */
export function perShardSettings(whole: StoreSettings, shards: number): StoreSettings {
  return {
    ...whole,
    maxMemory: Math.floor(whole.maxMemory / shards),
    idleMs: whole.idleMs || undefined,
    coldMaxItems: whole.coldMaxItems ? Math.ceil(whole.coldMaxItems / shards) : undefined,
    coldMaxBytes: whole.coldMaxBytes ? Math.ceil(whole.coldMaxBytes / shards) : undefined,
    writebackMaxBytes: whole.writebackMaxBytes ? Math.ceil(whole.writebackMaxBytes / shards) : undefined,
  };
}

/**
 * A ring holds one of the largest values kept in memory (1 MiB at least, a power of two). Every page
 * of a ring is touched once traffic has gone round it, so its size is resident memory for good: four
 * rings of 4 MiB held 16 MB after a write burst. A pipeline of small requests needs far less (50
 * connections x 16 requests of 150 B is 120 KB), and a larger message travels in parts
 * (src/hop/outbox.ts), so nothing needs room for several large values at once.
 */
export function ringBytesFor(maxItemSize: number): number {
  let bytes = 1024 * 1024;
  while (bytes < maxItemSize) bytes *= 2;
  return bytes;
}

export interface ShardWorkerData {
  shard: number;
  shards: number;
  dataDir: string;
  store: StoreSettings;
  /** one per front thread */
  links: { request: SharedArrayBuffer; reply: SharedArrayBuffer; frontBell: SharedArrayBuffer }[];
  /** this shard's doorbell */
  bell: SharedArrayBuffer;
  /** this worker's generation: it reads front f's request ring once front f has acknowledged it (Ring.acknowledge) */
  epoch: number;
  /** Int32 words: [0] fronts with event subscribers, [1 + f] front f has some (LinkMemory.events) */
  events: SharedArrayBuffer;
}

export type WorkerRequest =
  | { id: number; type: 'stats' }
  /** giveUpAt: Date.now() time after which writes the disk refuses are no longer retried (ShardStore close) */
  | { id: number; type: 'close'; giveUpAt?: number }
  /** test hooks (CAIRN_TEST_HOOKS=1 only): 'crash' throws inside the worker, 'disk-fault' on/off */
  | { id: number; type: 'debug'; action: string; arg?: string };

export type WorkerReply = { type: 'ready' } | { type: 'reply'; id: number; value?: unknown; error?: { code: string; message: string } };
