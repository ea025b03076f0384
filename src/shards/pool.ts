import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createRingBuffer, Doorbell } from '../hop/ring.js';
import type { LinkMemory } from '../hop/link.js';
import { workerFile } from '../paths.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { ShardStats } from '../store/types.js';
import type { ShardWorkerData, StoreSettings, WorkerReply, WorkerRequest } from './messages.js';

export interface PoolOptions {
  shards: number;
  dataDir: string;
  /** how many front threads will talk to the shards (the acceptor is one; gateway threads add more) */
  fronts?: number;
  /** bytes per ring; must hold the largest frame */
  ringBytes?: number;
  store: StoreSettings;
}

interface ShardSlot {
  worker: Worker;
  nextId: number;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/**
 * Starts one worker thread per shard and the rings between them and every front thread. Control
 * traffic (stats, close) goes by postMessage: it is rare. Requests go through the rings.
 */
export class ShardPool extends EventEmitter {
  readonly shards: number;
  readonly links: LinkMemory[];
  private readonly slots: ShardSlot[] = [];
  private closing = false;

  private constructor(readonly options: PoolOptions) {
    super();
    this.shards = options.shards;
    const fronts = options.fronts ?? 1;
    const ringBytes = options.ringBytes ?? 4 * 1024 * 1024;
    const shardBells = Array.from({ length: this.shards }, () => new Doorbell().sab);
    const events = new SharedArrayBuffer(4 * (1 + fronts));
    this.links = Array.from({ length: fronts }, (_, front) => ({
      requests: Array.from({ length: this.shards }, () => createRingBuffer(ringBytes)),
      replies: Array.from({ length: this.shards }, () => createRingBuffer(ringBytes)),
      shardBells,
      bell: new Doorbell().sab,
      events,
      front,
    }));
  }

  static async start(options: PoolOptions): Promise<ShardPool> {
    const pool = new ShardPool(options);
    try {
      await Promise.all(Array.from({ length: pool.shards }, (_, i) => pool.startShard(i)));
    } catch (err) {
      await pool.close().catch(() => undefined);
      throw err;
    }
    return pool;
  }

  private startShard(shard: number): Promise<void> {
    const data: ShardWorkerData = {
      shard,
      shards: this.shards,
      dataDir: this.options.dataDir,
      store: this.options.store,
      links: this.links.map((l) => ({ request: l.requests[shard], reply: l.replies[shard], frontBell: l.bell })),
      bell: this.links[0].shardBells[shard],
      events: this.links[0].events,
    };
    const worker = new Worker(workerFile('shard'), { workerData: data, name: `cairn-shard-${shard}` });
    const slot: ShardSlot = { worker, nextId: 1, pending: new Map() };
    this.slots[shard] = slot;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: WorkerReply) => {
        if (msg.type === 'ready') {
          ready = true;
          resolve();
          return;
        }
        if (msg.type === 'reply') {
          const p = slot.pending.get(msg.id);
          if (!p) return;
          slot.pending.delete(msg.id);
          if (msg.error) p.reject(new CairnError(msg.error.code as ErrorCode, msg.error.message));
          else p.resolve(msg.value);
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(err);
        else this.emit('shard-error', shard, err);
      });
      worker.on('exit', (code) => {
        for (const p of slot.pending.values()) {
          p.reject(new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} exited with code ${code}`));
        }
        slot.pending.clear();
        if (!ready) reject(new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} exited with code ${code} while starting`));
        else if (!this.closing) this.emit('shard-exit', shard, code);
      });
    });
  }

  private call(shard: number, request: Omit<WorkerRequest, 'id'>): Promise<unknown> {
    const slot = this.slots[shard];
    if (!slot) return Promise.reject(new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} is not running`));
    const id = slot.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  /** Statistics of every shard, in shard order. */
  stats(): Promise<ShardStats[]> {
    return Promise.all(this.slots.map((_, i) => this.call(i, { type: 'stats' }) as Promise<ShardStats>));
  }

  /** Graceful close: every shard flushes what memory holds that disk lacks, closes LevelDB and exits. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(async (slot, i) => {
        if (!slot) return;
        const exited = new Promise((resolve) => slot.worker.once('exit', resolve));
        try {
          await this.call(i, { type: 'close' });
        } catch {
          // an exited worker has nothing left to flush
        }
        await exited;
      }),
    );
  }
}
