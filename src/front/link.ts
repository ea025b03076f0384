/**
 * A front thread's way to the shards: its ring set to every shard (LinkMemory), the reply loop, its
 * switch for key events, failover when a shard dies, and internal requests (conn 0) such as the
 * metrics probe behind /metrics, /ready and the dashboard. The acceptor (through ThreadBackend,
 * src/front/backend.ts), the gateway thread and the embedded cache each use one.
 *
 * Failover: every request sent is logged per shard (InflightLog). When the shard dies (`shardDown`),
 * the front first drains what the dead worker had already written to its reply ring (those replies
 * are complete: a ring message becomes visible only after it is fully written; the parts of a reply
 * it had not finished are dropped), drops the messages that were waiting for room in the request
 * ring, and then answers every request still in the log with a FAILURE message coded
 * CAIRN_ERR_SHARD_DOWN (src/hop/failure.ts), which each protocol turns into its own error. Last, it
 * drops what the dead worker left unread in the request ring and acknowledges the restarted worker's
 * generation (Ring.acknowledge): that worker reads nothing of this front before, so a request this
 * front failed is never run afterwards and no late reply answers a request twice, however late this
 * front learns of the exit (the gateway thread learns of it by message). Until `shardUp`, requests
 * to that shard fail at once: a client never waits on a shard that is not there.
 */
import { Doorbell, Ring, type RingMessageVisitor } from '../hop/ring.js';
import { Endpoint, EventGate, type LinkMemory } from '../hop/link.js';
import { MessageKind } from '../hop/kinds.js';
import { Outbox } from '../hop/outbox.js';
import { encodeFailure, failureError } from '../hop/failure.js';
import { createUnpackr } from '../msgpack.js';
import type { ShardMetricsReport } from '../shards/metrics.js';
import type { ShardStats } from '../store/types.js';
import { CairnError, ErrorCode } from '../errors.js';
import { InflightLog } from './inflight.js';
import type { ReplyHandler } from './shard-backend.js';

/** Connection id of requests the front makes for itself; client connections count from 1. */
export const INTERNAL_CONN = 0;

/** What every "shard is down" failure's message starts with (its code is CAIRN_ERR_SHARD_DOWN). */
export const SHARD_DOWN_MESSAGE = 'shard unavailable';

/**
 * After sending a request that is the only one owed, the reply loop polls through turns of the event
 * loop for AWAKE_MS instead of sleeping (Endpoint.keepAwake): a shard answers a GET in memory within
 * tens of microseconds, and a client waiting for it sends its next request soon after. With two or
 * more owed, other replies wake the loop soon anyway, and on a machine with few cores the turns took
 * CPU from the shards and the clients (4 clients at pipeline 1 ran slower with the loop kept awake at
 * up to 2 owed, faster at up to 1; profiles/README.md). A message of a hold (HOLD, HELD, RELEASE)
 * keeps it awake however many are owed: the holder's next step waits on its reply, while the owed
 * requests are mostly other connections' HOLDs waiting behind it (held scripts across shards +57 %
 * and transactions +25 % with 20 clients, `npm run bench:held`).
 */
const AWAKE_MS = 0.3;
const AWAKE_MAX_OWED = 1;

const EMPTY = new Uint8Array(0);
const unpackr = createUnpackr(false);

interface Pending {
  resolve: (payload: Buffer) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class FrontLink {
  readonly shards: number;
  readonly endpoint: Endpoint;
  private readonly outboxes: Outbox[];
  private readonly replyRings: Ring[];
  private readonly visitors: RingMessageVisitor[];
  private readonly logs: InflightLog[];
  /** the failure text of each shard that is down, null while it serves */
  private readonly down: (string | null)[];
  /** per shard: the worker generation this front has acknowledged (see shardDown) */
  private readonly acked: number[];
  private readonly gate: EventGate;
  private handler: ReplyHandler = () => undefined;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;

  constructor(memory: LinkMemory) {
    const shards = (this.shards = memory.requests.length);
    this.outboxes = memory.requests.map((sab, i) => new Outbox(new Ring(sab), new Doorbell(memory.shardBells[i])));
    this.replyRings = memory.replies.map((sab) => new Ring(sab));
    this.logs = Array.from({ length: shards }, () => new InflightLog());
    this.down = new Array<string | null>(shards).fill(null);
    // A front that starts after a restart has sent nothing to an earlier worker: it catches up at once
    // (and leaves a ring alone whose worker already reads it).
    this.acked = this.outboxes.map((o) => {
      const epoch = o.ring.epoch;
      if (!o.ring.readableBy(epoch)) o.ring.acknowledge(epoch);
      return epoch;
    });
    this.gate = new EventGate(memory);
    this.visitors = this.logs.map((log) => (kind: number, conn: number, seq: number, payload: Buffer) => {
      if (kind !== MessageKind.EVENT) {
        log.settle(conn, seq);
        if (conn === INTERNAL_CONN) {
          this.settle(kind, seq, payload);
          return;
        }
      }
      this.handler(kind, conn, seq, payload);
    });
    this.endpoint = new Endpoint(this.outboxes, this.replyRings, new Doorbell(memory.bell), this.visitors);
    this.endpoint.start();
  }

  /** Hand one message to a shard; its reply (or a FAILURE) comes to the reply handler with the same conn and seq. */
  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    const reason = this.down[shard];
    if (reason !== null) {
      // Replies are always asynchronous, so a caller never sees one inside its own send().
      const failure = encodeFailure(ErrorCode.SHARD_DOWN, reason);
      queueMicrotask(() => this.deliver(MessageKind.FAILURE, conn, seq, failure));
      return;
    }
    this.logs[shard].push(kind, conn, seq);
    this.outboxes[shard].send(kind, conn, seq, payload);
    if (kind === MessageKind.HOLD || kind === MessageKind.HELD || kind === MessageKind.RELEASE || this.owed() <= AWAKE_MAX_OWED)
      this.endpoint.keepAwake(AWAKE_MS);
  }

  /** Requests sent and not answered yet, over every shard. */
  private owed(): number {
    let n = 0;
    for (let i = 0; i < this.logs.length; i++) n += this.logs[i].size;
    return n;
  }

  onReply(handler: ReplyHandler): void {
    this.handler = handler;
  }

  /** Ask the shards for key events (EVENT messages, conn 0, seq = event code, payload = key) while `on`. */
  listenForEvents(on: boolean): void {
    this.gate.set(on);
  }

  /** Is the shard serving? */
  isUp(shard: number): boolean {
    return this.down[shard] === null;
  }

  /**
   * The shard's worker has exited and its next generation is `epoch` (ShardPool's 'shard-down').
   * Deliver what the dead worker answered, fail what it did not, let the next worker read this
   * front's requests, and fail new requests until shardUp.
   */
  shardDown(shard: number, why: string, epoch: number): void {
    this.down[shard] = `${SHARD_DOWN_MESSAGE}: shard ${shard} ${why}`;
    // this front started after that exit: what it has in flight belongs to the worker of `epoch`
    if (epoch <= this.acked[shard]) return;
    this.replyRings[shard].drain(this.visitors[shard]);
    // a reply the dead worker had begun to send in parts never completes; its request fails below
    this.replyRings[shard].discardPartial();
    this.outboxes[shard].discard();
    const failure = encodeFailure(ErrorCode.SHARD_DOWN, `${SHARD_DOWN_MESSAGE}: shard ${shard} ${why}; the request may or may not have been applied`);
    for (const r of this.logs[shard].takeAll()) this.deliver(MessageKind.FAILURE, r.conn, r.seq, failure);
    this.acked[shard] = epoch;
    this.outboxes[shard].ring.acknowledge(epoch);
  }

  /** A reply that is not in any shard's log (a failure made here): to its internal request or the handler. */
  private deliver(kind: number, conn: number, seq: number, payload: Buffer): void {
    if (conn === INTERNAL_CONN) this.settle(kind, seq, payload);
    else this.handler(kind, conn, seq, payload);
  }

  shardUp(shard: number): void {
    this.down[shard] = null;
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
    if (kind === MessageKind.FAILURE) p.reject(failureError(payload));
    else p.resolve(Buffer.from(payload));
  }

  /** Every shard's metrics report, in shard order; rejects when any shard does not answer in time. */
  async metrics(timeoutMs = 2000): Promise<ShardMetricsReport[]> {
    const replies = await Promise.all(Array.from({ length: this.shards }, (_, s) => this.request(s, MessageKind.METRICS, EMPTY, timeoutMs)));
    return replies.map((r) => unpackr.unpack(r) as ShardMetricsReport);
  }

  async stats(): Promise<ShardStats[]> {
    return (await this.metrics()).map((r) => r.stats);
  }

  /** Stop listening for events, fail internal requests still waiting, and stop the reply loop. */
  async close(why = 'the front is closing'): Promise<void> {
    this.gate.set(false);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CairnError(ErrorCode.CLOSED, why));
    }
    this.pending.clear();
    await this.endpoint.stop();
  }
}
