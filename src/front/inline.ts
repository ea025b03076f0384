/**
 * Every shard's store on the calling thread, behind the same ShardBackend contract as the worker
 * threads (src/front/backend.ts): for profilers that cannot see worker threads, and small embedded
 * caches. Replies (and failures, coded as on the rings: src/hop/failure.ts) arrive asynchronously,
 * as they do from threads, so callers never see re-entrant replies.
 */
import { join } from 'node:path';
import type { LinkMemory } from '../hop/link.js';
import { MessageKind } from '../hop/kinds.js';
import { failureOf } from '../hop/failure.js';
import { createPackr } from '../msgpack.js';
import { ShardMetrics } from '../shards/metrics.js';
import { ConnectionOrder } from '../shards/order.js';
import { BlockingMessages } from '../shards/blocked.js';
import { type DeferredMessage, ShardHold, notHeldFailure } from '../shards/hold.js';
import type { ShardStats } from '../store/types.js';
import { TieredShardStore } from '../store/shard-store.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { BackendOptions, Executor, ExecutorFactory, ReplyHandler, ShardBackend } from './shard-backend.js';

export class InlineBackend implements ShardBackend {
  private handler: ReplyHandler = () => undefined;
  private readonly metrics: ShardMetrics[];
  private readonly packr = createPackr();

  private readonly executors: Executor[];
  /** per shard: a connection's commands in order while one of them awaits the disk */
  private readonly orders: ConnectionOrder[];
  /** per shard: held by a transaction across shards (src/shards/hold.ts) */
  private readonly holds: ShardHold[];
  /** per shard: BLOCKING messages unanswered, and those whose connection closed (src/shards/blocked.ts) */
  private readonly blocking: BlockingMessages[];

  private constructor(
    private readonly stores: TieredShardStore[],
    factory: ExecutorFactory,
    maxValueSize: number | undefined,
    scriptTimeLimitMs: number | undefined,
  ) {
    this.metrics = stores.map(() => new ShardMetrics());
    this.orders = stores.map(() => new ConnectionOrder());
    this.holds = stores.map((_, shard) => new ShardHold((waiting) => this.runDeferred(shard, waiting)));
    this.blocking = stores.map(() => new BlockingMessages());
    this.executors = stores.map((s, i) => factory(s, i, stores.length, { maxValueSize, scriptTimeLimitMs, metrics: this.metrics[i] }));
  }

  static async start(o: BackendOptions): Promise<InlineBackend> {
    const factory = o.executors;
    if (!factory) throw new CairnError(ErrorCode.BAD_ARGUMENT, "inline mode needs the shards' executors");
    const stores: TieredShardStore[] = [];
    try {
      for (let i = 0; i < o.shards; i++) {
        stores.push(await TieredShardStore.open({ shard: i, dir: join(o.dataDir, `shard-${i}`), ...o.store }));
      }
    } catch (err) {
      await Promise.all(stores.map((s) => s.close()));
      throw err;
    }
    return new InlineBackend(stores, factory, o.store.maxValueSize, o.store.scriptTimeLimitMs);
  }

  get shards(): number {
    return this.stores.length;
  }

  listenForEvents(on: boolean): void {
    for (const store of this.stores) {
      // events reach the handler asynchronously, like replies, so nobody sees re-entrant calls
      store.onKeyEvent(
        on
          ? (code, key) => {
              const copy = Buffer.from(key);
              queueMicrotask(() => this.handler(MessageKind.EVENT, 0, code, copy));
            }
          : null,
      );
    }
  }

  frontLink(): LinkMemory | null {
    return null;
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
    if (kind === MessageKind.BLOCKING) this.blocking[shard].arrived(conn);
    this.dispatch(shard, kind, conn, seq, bytes);
  }

  /** as a shard thread takes a CANCEL (workers/shard.ts): past the connection's queue, not past a hold */
  private cancel(shard: number, conn: number, seq: number, bytes: Buffer): void {
    if (this.holds[shard].defer(conn, 0, MessageKind.CANCEL, conn, seq, bytes)) return;
    if (this.blocking[shard].cancel(conn)) this.executors[shard](MessageKind.CANCEL, bytes, conn);
    queueMicrotask(() => this.handler(MessageKind.CANCEL, conn, seq, Buffer.alloc(0)));
  }

  private dispatch(shard: number, kind: number, conn: number, seq: number, bytes: Buffer): void {
    if (kind === MessageKind.CANCEL) {
      this.cancel(shard, conn, seq, bytes);
      return;
    }
    if (this.holds[shard].defer(conn, 0, kind, conn, seq, bytes)) return;
    if (this.orders[shard].hold(conn, kind, conn, seq, bytes)) return;
    this.run(shard, kind, conn, seq, bytes);
  }

  private runDeferred(shard: number, waiting: DeferredMessage[]): void {
    for (const m of waiting) this.dispatch(shard, m.kind, m.conn, m.seq, m.payload);
  }

  /** As a shard thread runs a message (workers/shard.ts), one connection's commands in order. */
  private run(shard: number, kind: number, conn: number, seq: number, bytes: Buffer): void {
    const blocking = kind === MessageKind.BLOCKING ? this.blocking[shard] : null;
    const deliver = (k: number, payload: Buffer): void => {
      blocking?.answered(conn);
      this.handler(k, conn, seq, payload);
    };
    if (blocking !== null && !blocking.runs(conn)) {
      // its connection closed before it ran: it must not take anything
      queueMicrotask(() => deliver(kind, Buffer.alloc(0)));
      return;
    }
    const fail = (err: unknown): void => deliver(MessageKind.FAILURE, failureOf(err));
    const hold = this.holds[shard];
    let runKind = kind;
    if (kind === MessageKind.HOLD || kind === MessageKind.RELEASE || kind === MessageKind.HELD) {
      runKind = MessageKind.RESP;
      if (kind === MessageKind.HOLD) hold.take(conn);
      else if (!hold.heldBy(conn)) {
        const failure = notHeldFailure(shard);
        queueMicrotask(() => this.handler(MessageKind.FAILURE, conn, seq, failure));
        return;
      }
    }
    const letGo = (): void => {
      if (kind === MessageKind.RELEASE) this.runDeferred(shard, hold.release());
    };
    let result: Uint8Array | Promise<Uint8Array>;
    try {
      result = this.executors[shard](runKind, bytes, conn);
    } catch (err) {
      queueMicrotask(() => fail(err));
      letGo();
      return;
    }
    // Replies are delivered asynchronously in both modes, so callers never see re-entrant replies.
    if (result instanceof Uint8Array) {
      Promise.resolve(result).then((reply) => deliver(kind, Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength)), fail);
      letGo();
      return;
    }
    const order = this.orders[shard];
    order.begin(conn);
    const release = (): void => {
      letGo();
      for (const m of order.end(conn)) {
        if (hold.defer(conn, 0, m.kind, m.conn, m.seq, m.payload)) continue;
        if (!order.hold(conn, m.kind, m.conn, m.seq, m.payload)) this.run(shard, m.kind, m.conn, m.seq, m.payload);
      }
    };
    result.then(
      (reply) => {
        deliver(kind, Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength));
        release();
      },
      (err) => {
        fail(err);
        release();
      },
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
