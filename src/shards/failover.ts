/**
 * A front thread's side of shard restarts: which requests each shard still owes an answer, and what
 * to do when a shard worker dies.
 *
 * Every request a front sends is logged per shard (kind, conn, seq) in a FIFO of typed arrays (no
 * object per request). A shard answers in arrival order unless a command waits for the disk, so a
 * reply almost always matches the head of its shard's FIFO and is popped in O(1); a reply that
 * overtook an earlier one is remembered in a small map until the head catches up with it.
 *
 * When the shard dies (`shardDown`), the front first drains what the dead worker had already written
 * to its reply ring (those replies are complete: a ring message becomes visible only after it is
 * fully written; the parts of a reply it had not finished are dropped), drops the messages that
 * were waiting for room in the request ring, and then answers every request still in the log with a
 * FAILURE message ("shard unavailable"), which each protocol turns into its own coded error. Until
 * `shardUp`, requests to that shard fail at once: a client never waits on a shard that is not there.
 */
import { Doorbell, Ring, type RingMessageVisitor } from '../hop/ring.js';
import { Endpoint, type LinkMemory } from '../hop/link.js';
import { MessageKind } from '../hop/kinds.js';
import { Outbox } from '../hop/outbox.js';

/** The text every "shard is down" failure starts with; protocols map it to their own error. */
export const SHARD_DOWN_MESSAGE = 'shard unavailable';

/** A number while it is exact (connection ids below 2^21), else a string. */
function earlyKey(conn: number, seq: number): number | string {
  return conn < 0x200000 ? conn * 0x100000000 + seq : `${conn}:${seq}`;
}

/**
 * Requests sent to one shard and not answered yet, oldest first. Every message logged must be
 * answered exactly once (its reply or a FAILURE): a message kind that is never answered must not go
 * through FrontFailover.send, or it would sit at the head and turn every later reply into an
 * out-of-order one.
 */
export class InflightLog {
  private kinds = new Uint8Array(1024);
  private conns = new Uint32Array(1024);
  private seqs = new Uint32Array(1024);
  private head = 0;
  private tail = 0;
  /** replies that overtook the head: (conn, seq) → how many */
  private early = new Map<number | string, number>();

  get size(): number {
    return this.tail - this.head;
  }

  push(kind: number, conn: number, seq: number): void {
    if (this.tail === this.kinds.length) this.grow();
    const t = this.tail++;
    this.kinds[t] = kind;
    this.conns[t] = conn;
    this.seqs[t] = seq;
  }

  /** A reply (or failure) for (conn, seq) arrived. */
  settle(conn: number, seq: number): void {
    if (this.head === this.tail) return; // not ours (e.g. an internal request of another layer)
    if (this.conns[this.head] === conn >>> 0 && this.seqs[this.head] === seq >>> 0) {
      this.head++;
      if (this.early.size > 0) this.popEarly();
      if (this.head === this.tail) this.head = this.tail = 0;
      return;
    }
    const key = earlyKey(conn >>> 0, seq >>> 0);
    this.early.set(key, (this.early.get(key) ?? 0) + 1);
  }

  private popEarly(): void {
    while (this.head < this.tail) {
      const key = earlyKey(this.conns[this.head], this.seqs[this.head]);
      const n = this.early.get(key);
      if (n === undefined) return;
      if (n === 1) this.early.delete(key);
      else this.early.set(key, n - 1);
      this.head++;
    }
  }

  /** Every request still owed an answer, oldest first; the log is empty afterwards. */
  takeAll(): { kind: number; conn: number; seq: number }[] {
    const out: { kind: number; conn: number; seq: number }[] = [];
    for (let i = this.head; i < this.tail; i++) {
      const key = earlyKey(this.conns[i], this.seqs[i]);
      const n = this.early.get(key);
      if (n !== undefined) {
        if (n === 1) this.early.delete(key);
        else this.early.set(key, n - 1);
        continue;
      }
      out.push({ kind: this.kinds[i], conn: this.conns[i], seq: this.seqs[i] });
    }
    this.head = this.tail = 0;
    this.early.clear();
    return out;
  }

  private grow(): void {
    const live = this.tail - this.head;
    let cap = this.kinds.length;
    if (live * 2 > cap) cap *= 2;
    const kinds = new Uint8Array(cap);
    const conns = new Uint32Array(cap);
    const seqs = new Uint32Array(cap);
    kinds.set(this.kinds.subarray(this.head, this.tail));
    conns.set(this.conns.subarray(this.head, this.tail));
    seqs.set(this.seqs.subarray(this.head, this.tail));
    this.kinds = kinds;
    this.conns = conns;
    this.seqs = seqs;
    this.head = 0;
    this.tail = live;
  }
}

/**
 * A front thread's link to every shard with failover: the endpoint (outboxes, reply rings, doorbell),
 * the per-shard in-flight logs, and the down/up switch. `visit` gets every reply, failures included.
 */
export class FrontFailover {
  readonly endpoint: Endpoint;
  readonly outboxes: Outbox[];
  private readonly replyRings: Ring[];
  private readonly visitors: RingMessageVisitor[];
  private readonly logs: InflightLog[];
  private readonly down: (string | null)[];

  constructor(
    memory: LinkMemory,
    private readonly visit: RingMessageVisitor,
  ) {
    const shards = memory.requests.length;
    this.outboxes = memory.requests.map((sab, i) => new Outbox(new Ring(sab), new Doorbell(memory.shardBells[i])));
    this.replyRings = memory.replies.map((sab) => new Ring(sab));
    this.logs = Array.from({ length: shards }, () => new InflightLog());
    this.down = new Array<string | null>(shards).fill(null);
    this.visitors = this.logs.map((log) => (kind: number, conn: number, seq: number, payload: Buffer) => {
      if (kind !== MessageKind.EVENT) log.settle(conn, seq);
      visit(kind, conn, seq, payload);
    });
    this.endpoint = new Endpoint(this.outboxes, this.replyRings, new Doorbell(memory.bell), this.visitors);
  }

  send(shard: number, kind: number, conn: number, seq: number, payload: Uint8Array): void {
    const reason = this.down[shard];
    if (reason !== null) {
      // Replies are always asynchronous, so a caller never sees one inside its own send().
      const msg = Buffer.from(reason);
      queueMicrotask(() => this.visit(MessageKind.FAILURE, conn, seq, msg));
      return;
    }
    this.logs[shard].push(kind, conn, seq);
    this.outboxes[shard].send(kind, conn, seq, payload);
  }

  /** Is the shard serving? */
  isUp(shard: number): boolean {
    return this.down[shard] === null;
  }

  /**
   * The shard's worker has exited (its request ring was reset by the pool). Deliver what it answered,
   * fail what it did not, and fail new requests until shardUp.
   */
  shardDown(shard: number, why: string): void {
    this.down[shard] = `${SHARD_DOWN_MESSAGE}: shard ${shard} ${why}`;
    this.replyRings[shard].drain(this.visitors[shard]);
    // a reply the dead worker had begun to send in parts never completes; its request fails below
    this.replyRings[shard].discardPartial();
    this.outboxes[shard].discard();
    const msg = Buffer.from(`${SHARD_DOWN_MESSAGE}: shard ${shard} ${why}; the request may or may not have been applied`);
    for (const r of this.logs[shard].takeAll()) this.visit(MessageKind.FAILURE, r.conn, r.seq, msg);
  }

  shardUp(shard: number): void {
    this.down[shard] = null;
  }
}
