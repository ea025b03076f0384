/**
 * A front thread's way to the shards when it is not the acceptor (the gateway thread): its own ring
 * set to every shard (LinkMemory), the reply loop, its event switch, and internal requests (conn 0)
 * such as the metrics probe behind /metrics, /ready and the dashboard.
 */
import { EventGate, type Endpoint, type LinkMemory } from '../hop/link.js';
import { FrontFailover } from '../shards/failover.js';
import { MessageKind } from '../hop/kinds.js';
import { createUnpackr } from '../native/codec.js';
import type { ReplyHandler, ShardBackend } from '../shards/backend.js';
import type { ShardMetricsReport } from '../shards/metrics.js';
import type { ShardStats } from '../store/types.js';
import { CairnError, ErrorCode } from '../errors.js';

/** Connection id of requests the front makes for itself; client connections count from 1. */
export const INTERNAL_CONN = 0;

const EMPTY = new Uint8Array(0);
const unpackr = createUnpackr(false);

interface Pending {
  resolve: (payload: Buffer) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class FrontLinkBackend implements ShardBackend {
  readonly shards: number;
  private handler: ReplyHandler = () => undefined;
  private readonly endpoint: Endpoint;
  private readonly gate: EventGate;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;

  /** the in-flight log per shard: requests to a shard that dies fail at once instead of hanging */
  private readonly failover: FrontFailover;

  constructor(link: LinkMemory) {
    this.shards = link.requests.length;
    this.gate = new EventGate(link);
    this.failover = new FrontFailover(link, (kind, conn, seq, payload) => {
      if (conn === INTERNAL_CONN && kind !== MessageKind.EVENT) this.settle(kind, seq, payload);
      else this.handler(kind, conn, seq, payload);
    });
    this.endpoint = this.failover.endpoint;
    this.endpoint.start();
  }

  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    this.failover.send(shard, kind, conn, seq, payload);
  }

  /** The pool (on the main thread) saw the shard's worker exit: fail what it owes, and new requests. */
  shardDown(shard: number, why: string): void {
    this.failover.shardDown(shard, why);
  }

  shardUp(shard: number): void {
    this.failover.shardUp(shard);
  }

  onReply(handler: ReplyHandler): void {
    this.handler = handler;
  }

  listenForEvents(on: boolean): void {
    this.gate.set(on);
  }

  frontLink(): LinkMemory | null {
    return null;
  }

  /** One internal request to one shard; rejects after timeoutMs (a stuck or dead shard). */
  request(shard: number, kind: number, payload: Uint8Array, timeoutMs: number): Promise<Buffer> {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new CairnError(ErrorCode.TIMEOUT, `shard ${shard} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
      this.send(shard, kind, INTERNAL_CONN, seq, payload);
    });
  }

  private settle(kind: number, seq: number, payload: Buffer): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (kind === MessageKind.FAILURE) p.reject(new CairnError(ErrorCode.SHARD_DOWN, payload.toString()));
    else p.resolve(Buffer.from(payload));
  }

  /** Every shard's metrics report, in shard order; rejects when any shard does not answer in time. */
  async metrics(timeoutMs = 2000): Promise<ShardMetricsReport[]> {
    const replies = await Promise.all(
      Array.from({ length: this.shards }, (_, s) => this.request(s, MessageKind.METRICS, EMPTY, timeoutMs)),
    );
    return replies.map((r) => unpackr.unpack(r) as ShardMetricsReport);
  }

  async stats(): Promise<ShardStats[]> {
    return (await this.metrics()).map((r) => r.stats);
  }

  async close(): Promise<void> {
    this.gate.set(false);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CairnError(ErrorCode.CLOSED, 'the gateway is closing'));
    }
    this.pending.clear();
    await this.endpoint.stop();
  }
}
