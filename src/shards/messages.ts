import type { EvictionName } from '../engine/index.js';
/** Settings each shard's store is opened with (per shard, already divided). */
export interface StoreSettings {
  maxMemory: number;
  eviction?: EvictionName;
  durability: 'spill' | 'writeback' | 'sync';
  writebackDelayMs?: number;
  maxValueSize?: number;
  maxItemSize?: number;
  idleMs?: number;
  coldMaxItems?: number;
  coldMaxBytes?: number;
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
  /** Int32 words: [0] fronts with event subscribers, [1 + f] front f has some (LinkMemory.events) */
  events: SharedArrayBuffer;
}

export type WorkerRequest =
  | { id: number; type: 'stats' }
  | { id: number; type: 'close' }
  /** test hooks (CAIRN_TEST_HOOKS=1 only): 'crash' throws inside the worker, 'disk-fault' on/off */
  | { id: number; type: 'debug'; action: string; arg?: string };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'reply'; id: number; value?: unknown; error?: { code: string; message: string } };
