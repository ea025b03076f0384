/**
 * Where a front thread's requests go. `threads` runs each shard on its own worker thread behind SAB
 * rings (the server's normal shape): the pool (src/shards/pool.ts) runs the workers, and this
 * thread's FrontLink sends, receives and fails over. `inline` runs every shard's store on the calling
 * thread (src/front/inline.ts), which is what profilers that cannot see worker threads (clinic) need,
 * and what a small embedded cache may want.
 */
import type { LinkMemory } from '../hop/link.js';
import type { ShardStats } from '../store/types.js';
import { ShardPool } from '../shards/pool.js';
import { FrontLink } from './link.js';
import { InlineBackend } from './inline.js';
import type { BackendOptions, ReplyHandler, ShardBackend } from './shard-backend.js';

export type { BackendOptions, ReplyHandler, ShardBackend, ShardSender } from './shard-backend.js';

export async function startBackend(options: BackendOptions): Promise<ShardBackend> {
  return options.mode === 'inline' ? InlineBackend.start(options) : ThreadBackend.start(options);
}

class ThreadBackend implements ShardBackend {
  /** this thread's rings to every shard, with failover: requests of a shard that dies fail instead of hanging */
  private readonly link: FrontLink;
  private closing = false;

  private constructor(
    readonly pool: ShardPool,
    log: (line: string) => void = (line) => console.error(line),
  ) {
    this.link = new FrontLink(pool.links[0]);
    pool.on('shard-down', (shard: number, why: string, epoch: number) => {
      this.link.shardDown(shard, why, epoch);
      if (!this.closing) log(`cairn: shard ${shard} ${why}; its in-flight requests failed with CAIRN_ERR_SHARD_DOWN`);
    });
    pool.on('shard-up', (shard: number, attempt: number) => {
      this.link.shardUp(shard);
      log(`cairn: shard ${shard} restarted${attempt > 1 ? ` (attempt ${attempt})` : ''} and serves again`);
    });
    pool.on('shard-restart-failed', (shard: number, err: Error, attempt: number) =>
      log(`cairn: shard ${shard} failed to restart (attempt ${attempt}): ${err.message}`),
    );
    pool.on('shard-error', (shard: number, err: Error) => log(`cairn: shard ${shard} crashed: ${err.stack ?? err.message}`));
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
    this.link.send(shard, kind, conn, seq, payload);
  }

  onReply(handler: ReplyHandler): void {
    this.link.onReply(handler);
  }

  onShardState(listener: (shard: number, up: boolean, why: string, epoch: number) => void): void {
    this.pool.on('shard-down', (shard: number, why: string, epoch: number) => listener(shard, false, why, epoch));
    this.pool.on('shard-up', (shard: number) => listener(shard, true, '', 0));
  }

  listenForEvents(on: boolean): void {
    this.link.listenForEvents(on);
  }

  frontLink(front: number): LinkMemory | null {
    return front > 0 ? (this.pool.links[front] ?? null) : null;
  }

  debug(shard: number, action: string, arg?: string): Promise<unknown> {
    return this.pool.debug(shard, action, arg);
  }

  /** Does the shard serve (false from its worker's exit until it was restarted)? */
  isUp(shard: number): boolean {
    return this.link.isUp(shard);
  }

  /** Test hooks: was the shard's current worker asked to die (see ShardPool.debug)? */
  killPending(shard: number): boolean {
    return this.pool.killPending(shard);
  }

  stats(): Promise<ShardStats[]> {
    return this.pool.stats();
  }

  async close(giveUpAt?: number): Promise<void> {
    this.closing = true;
    try {
      await this.pool.close(giveUpAt);
    } finally {
      await this.link.close();
    }
  }
}
