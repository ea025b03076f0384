import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createRingBuffer, Doorbell, Ring } from '../hop/ring.js';
import type { LinkMemory } from '../hop/link.js';
import { workerFile } from '../paths.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { ShardStats } from '../store/types.js';
import { ringBytesFor, type ShardWorkerData, type StoreSettings, type WorkerReply, type WorkerRequest } from './messages.js';

/** how long a shard thread may take to end after its store has closed */
const WORKER_EXIT_MS = 5000;

export interface PoolOptions {
  shards: number;
  dataDir: string;
  /** how many front threads will talk to the shards (the acceptor is one; gateway threads add more) */
  fronts?: number;
  /** bytes per ring (a power of two); a message larger than a ring crosses it in parts */
  ringBytes?: number;
  store: StoreSettings;
}

interface ShardSlot {
  worker: Worker;
  /** ready and not exited */
  alive: boolean;
  /**
   * A test hook asked this worker to die. It still serves until its exit lands, which under load
   * takes tens of milliseconds (a crash flushes first), so "up" must not be read from `alive` alone.
   */
  dying: boolean;
  nextId: number;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

/**
 * A shard worker's young generation (V8's two semi-spaces and its new large-object space), MB. By
 * default V8 grows the semi-spaces up to 16 MB each under a write burst and never gives them back
 * while the thread idles (a shard's heap: 28 MB after 1M SETs, 16 MB with this limit); a shard's
 * garbage is per-command objects that die young, and 2 MB semi-spaces collect them at no measured
 * CPU cost (profiles/README.md).
 */
export const SHARD_YOUNG_GENERATION_MB = 6;

/**
 * Test hook (CAIRN_TEST_HOOKS=1 only): CAIRN_TEST_SHARD_RESTART_DELAY_MS holds every restart this
 * long, as a busy machine does when loading a worker and opening LevelDB takes seconds.
 */
const testRestartDelayMs = (): number => (process.env.CAIRN_TEST_HOOKS === '1' ? Number(process.env.CAIRN_TEST_SHARD_RESTART_DELAY_MS ?? 0) || 0 : 0);

/**
 * Starts one worker thread per shard and the rings between them and every front thread. Control
 * traffic (stats, close) goes by postMessage: it is rare. Requests go through the rings.
 *
 * A shard worker that exits while the pool is open (an uncaught error, worker.terminate(), an
 * out-of-memory abort of the thread) is restarted on the same LevelDB directory and the same rings,
 * as the shard's next generation (epoch): 'shard-down' (shard, why, epoch) tells the fronts to fail
 * what the shard still owed, and 'shard-up' (shard, attempt) says it serves again. The new worker
 * reads a front's request ring only after that front has acknowledged the epoch (FrontLink.shardDown:
 * it has failed over everything it had sent and dropped what is left unread), so no request is both
 * failed over and run, and no reply comes for a request already failed. A front that learns of the
 * exit late (the gateway thread, by message) keeps its requests from the new worker until then; the
 * acceptor acknowledges at once. Restarts back off when a shard keeps crashing (up to 30 s between
 * attempts); 'shard-restart-failed' (shard, err, attempt) reports each failed attempt.
 */
export class ShardPool extends EventEmitter {
  readonly shards: number;
  readonly links: LinkMemory[];
  private readonly slots: ShardSlot[] = [];
  private closing = false;
  /** per shard: times of recent exits, for the restart backoff */
  private readonly exits: number[][] = [];
  private readonly restarting: (Promise<void> | null)[] = [];
  /** per shard: its generation, one more after each exit of a serving worker */
  private readonly epochs: number[];
  private wakeRestarts: (() => void)[] = [];

  private constructor(readonly options: PoolOptions) {
    super();
    this.shards = options.shards;
    this.epochs = new Array<number>(this.shards).fill(0);
    const fronts = options.fronts ?? 1;
    const ringBytes = options.ringBytes ?? ringBytesFor(0);
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
      epoch: this.epochs[shard],
      events: this.links[0].events,
    };
    const worker = new Worker(workerFile('shard'), {
      workerData: data,
      name: `cairn-shard-${shard}`,
      resourceLimits: { maxYoungGenerationSizeMb: SHARD_YOUNG_GENERATION_MB },
    });
    const slot: ShardSlot = { worker, alive: false, dying: false, nextId: 1, pending: new Map() };
    this.slots[shard] = slot;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: WorkerReply) => {
        if (msg.type === 'ready') {
          ready = true;
          slot.alive = true;
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
        slot.alive = false;
        if (!ready) reject(new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} exited with code ${code} while starting`));
        else {
          if (!this.closing) this.emit('shard-exit', shard, code);
          this.onShardExit(shard, code);
        }
      });
    });
  }

  /**
   * A serving shard's worker exited: the next one is a new generation, which reads no front's
   * requests before that front has acknowledged it; tell the fronts, restart it.
   */
  private onShardExit(shard: number, code: number): void {
    const epoch = ++this.epochs[shard];
    // a front that starts from here on acknowledges this generation at once (nothing of it is in flight)
    for (const link of this.links) new Ring(link.requests[shard]).setEpoch(epoch);
    this.emit('shard-down', shard, this.closing ? 'is closing' : `exited (code ${code}) and is restarting`, epoch);
    if (this.closing || this.restarting[shard]) return;
    this.restarting[shard] = this.restartLoop(shard).finally(() => {
      this.restarting[shard] = null;
    });
  }

  private async restartLoop(shard: number): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      const now = Date.now();
      const recent = (this.exits[shard] ?? []).filter((t) => now - t < 60_000);
      recent.push(now);
      this.exits[shard] = recent;
      // the first restart is immediate; a shard that keeps dying waits 0.1 s, 0.2 s, ... up to 30 s
      const delay = Math.max(testRestartDelayMs(), recent.length <= 1 ? 0 : Math.min(30_000, 100 * 2 ** Math.min(recent.length - 2, 9)));
      if (delay > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wakeRestarts.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (this.closing) return;
      try {
        await this.startShard(shard);
        this.emit('shard-up', shard, attempt);
        return;
      } catch (err) {
        this.emit('shard-restart-failed', shard, err, attempt);
      }
    }
  }

  /** Is the shard's worker ready and running? */
  isUp(shard: number): boolean {
    return this.slots[shard]?.alive ?? false;
  }

  /** Was the shard's current worker asked to die by a test hook (it may still be serving)? */
  killPending(shard: number): boolean {
    return this.slots[shard]?.dying ?? false;
  }

  /**
   * Test hooks (the server enables them only with CAIRN_TEST_HOOKS=1): 'terminate' stops the shard's
   * thread at once (worker.terminate()), 'crash' makes it throw an uncaught error, 'disk-fault'
   * ('on' / 'off') makes its disk batches fail. Both kills return before the worker has exited;
   * killPending tells until then, and a second kill of a dying worker is refused rather than merged
   * into the first (one exit, one restart).
   */
  async debug(shard: number, action: string, arg?: string): Promise<unknown> {
    const slot = this.slots[shard];
    if (!slot?.alive) throw new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} is not running`);
    const kill = action === 'terminate' || action === 'crash';
    if (kill) {
      if (slot.dying) throw new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} is already going down`);
      slot.dying = true;
    }
    if (action === 'terminate') return slot.worker.terminate();
    try {
      return await this.call(shard, { type: 'debug', action, arg } as Omit<WorkerRequest, 'id'>);
    } catch (err) {
      // a refused crash hook (hooks off in the worker) leaves the worker serving
      if (kill && slot.alive) slot.dying = false;
      throw err;
    }
  }

  private call(shard: number, request: Omit<WorkerRequest, 'id'>): Promise<unknown> {
    const slot = this.slots[shard];
    if (!slot?.alive) return Promise.reject(new CairnError(ErrorCode.SHARD_DOWN, `shard ${shard} is not running`));
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

  /**
   * Graceful close: every shard flushes what memory holds that disk lacks, closes LevelDB and exits.
   * Writes the disk refuses are retried until `giveUpAt` (Date.now() time; default: not retried);
   * then the close fails with CAIRN_ERR_DISK naming, per shard, how many keys were not written.
   */
  async close(giveUpAt?: number): Promise<void> {
    this.closing = true;
    for (const wake of this.wakeRestarts.splice(0)) wake();
    await Promise.all(this.restarting.map((p) => p?.catch(() => undefined)));
    const failures: string[] = [];
    await Promise.all(
      this.slots.map(async (slot, i) => {
        if (!slot?.alive) return;
        const exited = new Promise((resolve) => slot.worker.once('exit', resolve));
        try {
          await this.call(i, { type: 'close', giveUpAt } as Omit<WorkerRequest, 'id'>);
        } catch (err) {
          // a worker that exited meanwhile has nothing left to flush; any other failure is data lost
          if (!(err instanceof CairnError && err.code === ErrorCode.SHARD_DOWN)) failures.push((err as Error).message);
        }
        // Its store is closed either way; a thread that does not end by itself is ended.
        const stuck = setTimeout(() => void slot.worker.terminate(), WORKER_EXIT_MS);
        await exited;
        clearTimeout(stuck);
      }),
    );
    if (failures.length > 0) throw new CairnError(ErrorCode.DISK, failures.sort().join('; '));
  }
}
