/** The contract between a front thread and the shards, whichever way they run (src/front/backend.ts). */
import type { LinkMemory } from '../hop/link.js';
import type { StoreSettings } from '../shards/messages.js';
import type { ShardMetrics } from '../shards/metrics.js';
import type { ShardStats, ShardStore } from '../store/types.js';

export type ReplyHandler = (kind: number, conn: number, seq: number, payload: Buffer) => void;

/** A shard's executor: a ring message in, the reply bytes out (workers/executors.ts); `conn` identifies the connection (BLOCKING, CANCEL). */
export type Executor = (kind: number, payload: Buffer, conn?: number) => Uint8Array | Promise<Uint8Array>;
export type ExecutorFactory = (
  store: ShardStore,
  shard: number,
  shards: number,
  options: { maxValueSize?: number; scriptTimeLimitMs?: number; metrics?: ShardMetrics },
) => Executor;

/** What routing needs of a backend: how many shards, and a way to send one message to one of them. */
export interface ShardSender {
  readonly shards: number;
  /** hand one message to a shard; its reply comes to the reply handler with the same conn and seq */
  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void;
}

export interface ShardBackend extends ShardSender {
  onReply(handler: ReplyHandler): void;
  /**
   * shard workers going down and coming back (threads mode only), for other front threads to follow;
   * `epoch`, when down: the next worker's generation, which the front acknowledges (FrontLink.shardDown)
   */
  onShardState?(listener: (shard: number, up: boolean, why: string, epoch: number) => void): void;
  /**
   * Ask the shards for key events (MessageKind.EVENT messages to the reply handler, conn 0, seq =
   * event code, payload = key) while `on`; off, they cost the shards nothing.
   */
  listenForEvents(on: boolean): void;
  /** The ring set of extra front thread `front` (1 = the first gateway thread); threads mode only. */
  frontLink(front: number): LinkMemory | null;
  stats(): Promise<ShardStats[]>;
  /** Flush and close every shard; `giveUpAt` bounds retries of writes the disk refuses (ShardPool.close). */
  close(giveUpAt?: number): Promise<void>;
  /** test hooks (threads mode): 'terminate' | 'crash' | 'disk-fault' (arg 'on'/'off'); see ShardPool.debug */
  debug?(shard: number, action: string, arg?: string): Promise<unknown>;
}

export interface BackendOptions {
  shards: number;
  dataDir: string;
  store: StoreSettings;
  mode: 'threads' | 'inline';
  /**
   * inline mode: each shard's executor (workers/executors.ts's createExecutors), given by the
   * caller so that this layer does not import the protocol codecs the executors run
   */
  executors?: ExecutorFactory;
  /** extra front threads (gateway) that get their own ring set; threads mode only */
  extraFronts?: number;
  ringBytes?: number;
  /** where shard restarts are reported (threads mode) */
  log?: (line: string) => void;
}
