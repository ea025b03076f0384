import { join } from 'node:path';
import { EventGate, type Endpoint, type LinkMemory } from '../hop/link.js';
import { MessageKind } from '../hop/kinds.js';
import { createPackr } from '../native/codec.js';
import { ShardMetrics } from './metrics.js';
import type { ShardStats } from '../store/types.js';
import { TieredShardStore } from '../store/shard-store.js';
import { createExecutors } from '../../workers/executors.js';
import { FrontFailover } from './failover.js';
import type { StoreSettings } from './messages.js';
import { ShardPool } from './pool.js';
import { CairnError, ErrorCode } from '../errors.js';

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
  /** shard workers going down and coming back (threads mode only), for other front threads to follow */
  onShardState?(listener: (shard: number, up: boolean, why: string) => void): void;
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
  /** extra front threads (gateway) that get their own ring set; threads mode only */
  extraFronts?: number;
  ringBytes?: number;
  /** where shard restarts are reported (threads mode) */
  log?: (line: string) => void;
}

export async function startBackend(options: BackendOptions): Promise<ShardBackend> {
  return options.mode === 'inline' ? InlineBackend.start(options) : ThreadBackend.start(options);
}

class ThreadBackend implements ShardBackend {
  private handler: ReplyHandler = () => undefined;
  private readonly endpoint: Endpoint;
  private readonly gate: EventGate;
  /** this front's in-flight log per shard: requests of a shard that dies fail instead of hanging */
  private readonly failover: FrontFailover;

  private constructor(
    readonly pool: ShardPool,
    log: (line: string) => void = (line) => console.error(line),
  ) {
    this.failover = new FrontFailover(pool.links[0], (kind, conn, seq, payload) => this.handler(kind, conn, seq, payload));
    this.endpoint = this.failover.endpoint;
    this.gate = new EventGate(pool.links[0]);
    pool.on('shard-down', (shard: number, why: string) => {
      this.failover.shardDown(shard, why);
      if (!this.closing) log(`cairn: shard ${shard} ${why}; its in-flight requests failed with CAIRN_ERR_SHARD_DOWN`);
    });
    pool.on('shard-up', (shard: number, attempt: number) => {
      this.failover.shardUp(shard);
      log(`cairn: shard ${shard} restarted${attempt > 1 ? ` (attempt ${attempt})` : ''} and serves again`);
    });
    pool.on('shard-restart-failed', (shard: number, err: Error, attempt: number) =>
      log(`cairn: shard ${shard} failed to restart (attempt ${attempt}): ${err.message}`),
    );
    pool.on('shard-error', (shard: number, err: Error) => log(`cairn: shard ${shard} crashed: ${err.stack ?? err.message}`));
    this.endpoint.start();
  }

  private closing = false;

  debug(shard: number, action: string, arg?: string): Promise<unknown> {
    return this.pool.debug(shard, action, arg);
  }

  /** Does the shard serve (false from its worker's exit until it was restarted)? */
  isUp(shard: number): boolean {
    return this.failover.isUp(shard);
  }

  /** Test hooks: was the shard's current worker asked to die (see ShardPool.debug)? */
  killPending(shard: number): boolean {
    return this.pool.killPending(shard);
  }

  listenForEvents(on: boolean): void {
    this.gate.set(on);
  }

  frontLink(front: number): LinkMemory | null {
    return front > 0 ? (this.pool.links[front] ?? null) : null;
  }

  static async start(o: BackendOptions): Promise<ThreadBackend> {
    const pool = await ShardPool.start({
      shards: o.shards,
      dataDir: o.dataDir,
      store: o.store,
      fronts: 1 + (o.extraFronts ?? 0),
      ringBytes: o.ringBytes,
    });
    return new ThreadBackend(pool, o.log);
  }

  get shards(): number {
    return this.pool.shards;
  }

  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    this.failover.send(shard, kind, conn, seq, payload);
  }

  onShardState(listener: (shard: number, up: boolean, why: string) => void): void {
    this.pool.on('shard-down', (shard: number, why: string) => listener(shard, false, why));
    this.pool.on('shard-up', (shard: number) => listener(shard, true, ''));
  }

  onReply(handler: ReplyHandler): void {
    this.handler = handler;
  }

  stats(): Promise<ShardStats[]> {
    return this.pool.stats();
  }

  async close(giveUpAt?: number): Promise<void> {
    this.closing = true;
    try {
      await this.pool.close(giveUpAt);
    } finally {
      await this.endpoint.stop();
    }
  }
}

class InlineBackend implements ShardBackend {
  private handler: ReplyHandler = () => undefined;
  private readonly packr = createPackr();

  private constructor(
    private readonly stores: TieredShardStore[],
    private readonly executors: ((kind: number, payload: Buffer) => Uint8Array | Promise<Uint8Array>)[],
    private readonly metrics: ShardMetrics[],
  ) {}

  listenForEvents(on: boolean): void {
    for (const store of this.stores) {
      // events reach the handler asynchronously, like replies, so nobody sees re-entrant calls
      store.onKeyEvent(on ? (code, key) => {
        const copy = Buffer.from(key);
        queueMicrotask(() => this.handler(MessageKind.EVENT, 0, code, copy));
      } : null);
    }
  }

  frontLink(): LinkMemory | null {
    return null;
  }

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
    const metrics = stores.map(() => new ShardMetrics());
    return new InlineBackend(
      stores,
      stores.map((s, i) => createExecutors(s, i, o.shards, { maxValueSize: o.store.maxValueSize, metrics: metrics[i] })),
      metrics,
    );
  }

  get shards(): number {
    return this.stores.length;
  }

  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    // The caller may reuse its buffer once send returns; executors may keep views until they finish.
    const bytes = Buffer.from(payload);
    if (kind === MessageKind.METRICS) {
      const report = this.metrics[shard].report(shard, this.stores[shard].isOpen, this.stores[shard].stats());
      const reply = this.packr.pack(report) as Buffer;
      queueMicrotask(() => this.handler(kind, conn, seq, reply));
      return;
    }
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

  async close(giveUpAt?: number): Promise<void> {
    const results = await Promise.allSettled(this.stores.map((s) => s.close(giveUpAt)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failures.length > 0) throw new CairnError(ErrorCode.DISK, failures.join('; '));
  }
}
