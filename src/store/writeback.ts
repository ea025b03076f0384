/**
 * The writeback queue of one shard: the pending disk ops (one per key, latest wins), the batch being
 * written, the lag they add up to and its bound (backpressure), retries after a failed batch, drains,
 * and the writer chain (`exclusive`) every disk-mutating task of the shard runs on, one at a time.
 *
 * It knows nothing of LevelDB: a batch is handed to `WritebackHost.writeBatch`, which builds and
 * commits it (src/store/disk.ts, src/store/batch.ts).
 */
import { CairnError, ErrorCode } from '../errors.js';
import { carryChunks, type Op, OP_DIRTY, OP_PUT } from './ops.js';
import type { WritebackLag } from './types.js';

export interface WritebackHost {
  /** Writes one batch; rejects with CAIRN_ERR_DISK when the disk refuses it (nothing is then written). */
  writeBatch(batch: Map<string, Op>): Promise<void>;
  isClosed(): boolean;
  onError(err: Error): void;
}

export interface WritebackOptions {
  /** sync durability: each batch holds every op queued so far and is started at once (group commit) */
  sync: boolean;
  /** how soon after a change is queued the writer starts a batch with it */
  delayMs: number;
  /** the lag bound: age of the oldest unwritten change (ms) and bytes of unwritten changes */
  maxLagMs: number;
  maxBytes: number;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failed batch with nobody waiting must not become an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** bytes charged per queued key beyond its key and value: the op, its Map entry and key string */
const OP_OVERHEAD = 160;
/** queued ops that start a batch at once instead of after the delay (outside sync mode) */
export const FULL_BATCH_OPS = 4096;
/**
 * the most ops in one batch (outside sync mode). Larger than FULL_BATCH_OPS so that a batch started
 * because the queue filled takes the whole queue (the Map itself, no copying) unless the writer is
 * far behind; the build yields to requests every 512 ops either way.
 */
export const MAX_BATCH_OPS = 4 * FULL_BATCH_OPS;
/** how long after a failed disk batch the next one is tried */
export const RETRY_MS = 1000;

export class WritebackQueue {
  private pending = new Map<string, Op>();
  private inflight: Map<string, Op> | null = null;
  /** the batch being written was queued before a flush: it no longer stands for any key, and is not retried */
  private inflightDiscarded = false;
  /** sync mode: settles when the batch holding every op queued so far has committed. */
  private pendingDone: Deferred | null = null;
  private inflightDone: Promise<void> | null = null;
  private flushScheduled = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private writerTail: Promise<void> = Promise.resolve();
  private dueFlush: Promise<void> | null = null;
  /**
   * When the oldest pending op was first queued (performance.now()). The queue is in that order: a
   * Map keeps a rewritten key in its place, batches take its head, a failed batch goes back to it.
   */
  private pendingSince = 0;
  /** estimated bytes of the pending ops and of the batch being written (the lag's byte bound) */
  private pendingBytes = 0;
  private inflightBytes = 0;
  /** pendingSince of the batch being written */
  private inflightSince = 0;
  /** the error of the last batch while batches fail (null once one commits) */
  private writeError: CairnError | null = null;
  /** while batches fail: when the next one may run (performance.now()) */
  private retryAt = 0;

  constructor(
    private readonly opts: WritebackOptions,
    private readonly host: WritebackHost,
  ) {}

  /** pending ops not yet taken by a batch */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** nothing queued and nothing being written */
  get idle(): boolean {
    return this.pending.size === 0 && this.inflight === null;
  }

  /** The key's newest op: queued, else in the batch being written. */
  find(kstr: string): Op | undefined {
    return this.pending.get(kstr) ?? this.writingOp(kstr);
  }

  /** The key's queued op (not the one being written). */
  queued(kstr: string): Op | undefined {
    return this.pending.get(kstr);
  }

  /** The key's op in the batch being written (a newer one may be queued). */
  writingOp(kstr: string): Op | undefined {
    return this.inflightDiscarded ? undefined : this.inflight?.get(kstr);
  }

  /** Is the key's op in the batch being written? */
  writing(kstr: string): boolean {
    return !this.inflightDiscarded && this.inflight?.has(kstr) === true;
  }

  /**
   * Queues an op, replacing the key's queued op if any: rewrites of a key while it waits are one put.
   * `valueBytes`: the size of the value it will write, for the byte bound (default: a put's value's).
   */
  queue(kstr: string, op: Op, valueBytes = op.kind === OP_PUT ? op.value.length : 0): void {
    this.replace(kstr, op, valueBytes, this.pending.get(kstr));
  }

  /**
   * A write of a key just changed in memory, in one lookup of the queue: when the key's dirty op is
   * still queued it stays as it is (it snapshots the newest value when its batch is built: its disk
   * record, queue time and place are kept) and only its size changes, and true is returned. Otherwise
   * `dirty(queued)` makes the op to queue, from the key's queued op of another kind if any; false.
   */
  queueDirty(key: Buffer, kstr: string, valueBytes: number, dirty: (key: Buffer, kstr: string, queued: Op | undefined) => Op): boolean {
    const queued = this.pending.get(kstr);
    if (queued !== undefined && queued.kind === OP_DIRTY) {
      const bytes = key.length + valueBytes + OP_OVERHEAD;
      this.pendingBytes += bytes - queued.bytes;
      queued.bytes = bytes;
      return true;
    }
    this.replace(kstr, dirty(key, kstr, queued), valueBytes, queued);
    return false;
  }

  private replace(kstr: string, op: Op, valueBytes: number, replaced: Op | undefined): void {
    op.bytes = op.key.length + valueBytes + OP_OVERHEAD;
    if (replaced !== undefined) {
      // The replaced op never commits: the disk record the new one replaces is the one it would have,
      // and the oldest change not on disk is still the replaced one's (the Map keeps its place too).
      op.prior = replaced.prior;
      op.priorExpiry = replaced.priorExpiry;
      op.since = replaced.since;
      carryChunks(replaced, op);
      this.pendingBytes -= replaced.bytes;
    } else {
      op.since = performance.now();
      if (this.pending.size === 0) this.pendingSince = op.since;
    }
    this.pendingBytes += op.bytes;
    this.pending.set(kstr, op);
    this.scheduleFlush();
  }

  /**
   * Forgets every queued op (a flush empties both tiers). The batch being written is left to finish,
   * but reads no longer find its ops and a failed one is not queued again: the flush clears the disk
   * after it.
   */
  discard(): void {
    this.pending = new Map();
    this.pendingBytes = 0;
    if (this.inflight !== null) this.inflightDiscarded = true;
  }

  /** Acknowledges the sync writers waiting for the ops `discard` dropped. */
  releaseWaiters(): void {
    this.pendingDone?.resolve();
    this.pendingDone = null;
  }

  /** Stops the writer's timer (close). */
  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const run = (): void => {
      this.flushTimer = null;
      void this.exclusive(() => this.flushOnce()).catch(() => {});
    };
    if (this.opts.sync || (this.pending.size >= FULL_BATCH_OPS && this.writeError === null)) setImmediate(run);
    else {
      // after a failed batch the next one waits for the retry time
      const wait = this.writeError === null ? this.opts.delayMs : Math.max(this.opts.delayMs, this.retryAt - performance.now());
      this.flushTimer = setTimeout(run, wait);
      this.flushTimer.unref();
    }
  }

  /** Runs disk-mutating work one task at a time, so each batch sees the previous batch committed. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writerTail.then(task);
    this.writerTail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * What the acknowledgement of the changes queued so far waits for: in sync mode their commit, else
   * the unwritten changes back under the lag bound; null when nothing needs waiting.
   */
  settled(): Promise<void> | null {
    if (this.opts.sync) return this.pending.size > 0 || this.inflight !== null ? this.durable() : null;
    return this.overdue() ? this.backpressure() : null;
  }

  /** Promise of the commit of every op queued so far (sync mode acknowledgements). */
  private durable(): Promise<void> {
    if (this.pending.size === 0) return this.inflightDone ?? Promise.resolve();
    this.pendingDone ??= deferred();
    return this.pendingDone.promise;
  }

  /** Writes pending ops until none is left (graceful close, flush, scan), failing on the first failed batch. */
  async drain(): Promise<void> {
    while (this.pending.size > 0 || this.inflight !== null) await this.exclusive(() => this.flushOnce(true));
  }

  /** performance.now() of the oldest change not on disk (in the batch being written or queued); -1: none. */
  private oldestUnwritten(): number {
    if (this.inflight !== null) return this.inflightSince;
    return this.pending.size > 0 ? this.pendingSince : -1;
  }

  /** The changes acknowledged but not yet on disk: what a crash would lose now. */
  lag(): WritebackLag {
    const oldest = this.oldestUnwritten();
    return {
      lagMs: oldest < 0 ? 0 : Math.max(0, Math.round(performance.now() - oldest)),
      ops: this.pending.size + (this.inflight?.size ?? 0),
      bytes: this.pendingBytes + this.inflightBytes,
    };
  }

  /**
   * The lag bound: a write is acknowledged from memory while the oldest change not on disk is younger
   * than maxLagMs and the unwritten changes hold at most maxBytes. The writer works in the background
   * meanwhile, so a healthy disk slows writes only when it falls that far behind.
   *
   * Checked on every write, not only by the writer's timer (which cannot fire while a caller keeps the
   * event loop busy with writes that never block). A failed batch's ops are queued again with their
   * first queue time, and the batch being written counts too, so a write is never acknowledged while
   * a change older than the bound waits for a disk that refuses it.
   */
  private overdue(): boolean {
    const oldest = this.oldestUnwritten();
    if (oldest < 0) return false;
    return this.pendingBytes + this.inflightBytes > this.opts.maxBytes || performance.now() - oldest > this.opts.maxLagMs;
  }

  /**
   * A write over the bound waits for batches until the unwritten changes are under it again; while the
   * disk refuses batches it fails at once with the last batch's error (CAIRN_ERR_DISK) rather than
   * start a batch of its own: batches are retried once a second, and the write cannot be acknowledged
   * before one commits.
   */
  private async backpressure(): Promise<void> {
    do {
      if (this.writeError !== null) throw this.writeError;
      this.dueFlush ??= this.exclusive(() => this.flushOnce()).finally(() => {
        this.dueFlush = null;
      });
      await this.dueFlush;
    } while (this.overdue());
  }

  /** One batch. `force` (drain) writes even before the retry time of a failed batch. */
  private async flushOnce(force = false): Promise<void> {
    this.flushScheduled = false;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pending.size === 0) return;
    // Writes waiting for a batch behind one that failed fail with it instead of retrying it at once
    // (sync writers keep their own batches: each group commit is its own attempt).
    if (!force && this.writeError !== null && !this.opts.sync && performance.now() < this.retryAt) {
      // This call took the scheduled batch's place (and a timer may fire a little before retryAt):
      // schedule the retry again, or nothing would ever write the queue once writes stop coming.
      this.scheduleFlush();
      throw this.writeError;
    }
    let batch: Map<string, Op>;
    this.inflightSince = this.pendingSince;
    if (this.opts.sync || this.pending.size <= MAX_BATCH_OPS) {
      batch = this.pending;
      this.pending = new Map();
      this.inflightBytes = this.pendingBytes;
      this.pendingBytes = 0;
    } else {
      batch = new Map();
      let bytes = 0;
      for (const [k, op] of this.pending) {
        batch.set(k, op);
        bytes += op.bytes;
        this.pending.delete(k);
        if (batch.size >= MAX_BATCH_OPS) break;
      }
      this.inflightBytes = bytes;
      this.pendingBytes -= bytes;
      this.pendingSince = this.pending.values().next().value!.since;
      this.scheduleFlush();
    }
    const done = this.pending.size === 0 ? this.pendingDone : null;
    if (done) this.pendingDone = null;
    this.inflight = batch;
    this.inflightDone = done?.promise ?? null;
    try {
      await this.host.writeBatch(batch);
      this.inflight = null;
      this.inflightDiscarded = false;
      this.inflightBytes = 0;
      this.inflightDone = null;
      this.writeError = null;
      done?.resolve();
    } catch (err) {
      this.inflight = null;
      this.inflightDone = null;
      const error = err instanceof CairnError ? err : new CairnError(ErrorCode.DISK, `disk batch failed: ${String(err)}`, { cause: err });
      if (this.inflightDiscarded) {
        this.inflightDiscarded = false;
        this.inflightBytes = 0;
      } else this.requeue(batch);
      this.writeError = error;
      this.retryAt = performance.now() + RETRY_MS;
      done?.reject(error);
      if (!this.host.isClosed()) {
        this.host.onError(error);
        setTimeout(() => this.scheduleFlush(), RETRY_MS).unref();
      }
      throw error;
    }
  }

  /**
   * Puts the ops of a failed batch back at the head of the queue, with their queue times: they are
   * the oldest writes not on disk. A key with a newer op queued meanwhile keeps the newer op, in the
   * failed op's place and with its queue time.
   */
  private requeue(batch: Map<string, Op>): void {
    const queue = new Map<string, Op>();
    for (const [k, op] of batch) {
      const newer = this.pending.get(k);
      if (newer === undefined) {
        queue.set(k, op);
        this.pendingBytes += op.bytes;
      } else {
        newer.since = op.since;
        carryChunks(op, newer);
        queue.set(k, newer);
      }
    }
    for (const [k, op] of this.pending) if (!queue.has(k)) queue.set(k, op);
    this.pending = queue;
    this.inflightBytes = 0;
    this.pendingSince = this.inflightSince;
  }
}
