import { join } from 'node:path';
import { frontEndpoint, type Endpoint } from '../hop/link.js';
import { MessageKind } from '../hop/kinds.js';
import type { ShardStats } from '../store/types.js';
import { TieredShardStore } from '../store/shard-store.js';
import { createExecutors } from './executors.js';
import type { StoreSettings } from './messages.js';
import { ShardPool } from './pool.js';

export type ReplyHandler = (kind: number, conn: number, seq: number, payload: Buffer) => void;

/**
 * Where a front thread's requests go. `threads` runs each shard on its own worker thread behind SAB
 * rings (the server's normal shape); `inline` runs every shard's store on the calling thread, which is
 * what profilers that cannot see worker threads (clinic) need, and what a small embedded cache may want.
 */
export interface ShardBackend {
  readonly shards: number;
  /** hand one message to a shard; its reply comes to the reply handler with the same conn and seq */
  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void;
  onReply(handler: ReplyHandler): void;
  stats(): Promise<ShardStats[]>;
  close(): Promise<void>;
}

export interface BackendOptions {
  shards: number;
  dataDir: string;
  store: StoreSettings;
  mode: 'threads' | 'inline';
  /** extra front threads (gateway) that get their own ring set; threads mode only */
  extraFronts?: number;
  ringBytes?: number;
}

export async function startBackend(options: BackendOptions): Promise<ShardBackend> {
  return options.mode === 'inline' ? InlineBackend.start(options) : ThreadBackend.start(options);
}

class ThreadBackend implements ShardBackend {
  private handler: ReplyHandler = () => undefined;
  private readonly endpoint: Endpoint;

  private constructor(readonly pool: ShardPool) {
    this.endpoint = frontEndpoint(pool.links[0], (kind, conn, seq, payload) => this.handler(kind, conn, seq, payload));
    this.endpoint.start();
  }

  static async start(o: BackendOptions): Promise<ThreadBackend> {
    const pool = await ShardPool.start({
      shards: o.shards,
      dataDir: o.dataDir,
      store: o.store,
      fronts: 1 + (o.extraFronts ?? 0),
      ringBytes: o.ringBytes,
    });
    return new ThreadBackend(pool);
  }

  get shards(): number {
    return this.pool.shards;
  }

  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    this.endpoint.outboxes[shard].send(kind, conn, seq, payload);
  }

  onReply(handler: ReplyHandler): void {
    this.handler = handler;
  }

  stats(): Promise<ShardStats[]> {
    return this.pool.stats();
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.endpoint.stop();
  }
}

class InlineBackend implements ShardBackend {
  private handler: ReplyHandler = () => undefined;

  private constructor(
    private readonly stores: TieredShardStore[],
    private readonly executors: ((kind: number, payload: Buffer) => Uint8Array | Promise<Uint8Array>)[],
  ) {}

  static async start(o: BackendOptions): Promise<InlineBackend> {
    const stores: TieredShardStore[] = [];
    try {
      for (let i = 0; i < o.shards; i++) {
        stores.push(await TieredShardStore.open({ shard: i, dir: join(o.dataDir, `shard-${i}`), ...o.store }));
      }
    } catch (err) {
      await Promise.all(stores.map((s) => s.close()));
      throw err;
    }
    return new InlineBackend(
      stores,
      stores.map((s, i) => createExecutors(s, i, o.shards, { maxValueSize: o.store.maxValueSize })),
    );
  }

  get shards(): number {
    return this.stores.length;
  }

  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    // The caller may reuse its buffer once send returns; executors may keep views until they finish.
    const bytes = Buffer.from(payload);
    const fail = (err: unknown): void =>
      this.handler(MessageKind.FAILURE, conn, seq, Buffer.from(err instanceof Error ? err.message : String(err)));
    let result: Uint8Array | Promise<Uint8Array>;
    try {
      result = this.executors[shard](kind, bytes);
    } catch (err) {
      queueMicrotask(() => fail(err));
      return;
    }
    // Replies are delivered asynchronously in both modes, so callers never see re-entrant replies.
    Promise.resolve(result).then(
      (reply) => this.handler(kind, conn, seq, Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength)),
      fail,
    );
  }

  onReply(handler: ReplyHandler): void {
    this.handler = handler;
  }

  async stats(): Promise<ShardStats[]> {
    return this.stores.map((s) => s.stats());
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.close()));
  }
}
