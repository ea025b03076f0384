/**
 * Which requests a front thread still owes an answer for, per shard (see FrontLink, src/front/link.ts).
 *
 * Every request a front sends is logged per shard (kind, conn, seq) in a FIFO of typed arrays (no
 * object per request). A shard answers in arrival order unless a command waits for the disk, so a
 * reply almost always matches the head of its shard's FIFO and is popped in O(1); a reply that
 * overtook an earlier one is remembered in a small map until the head catches up with it.
 */

import { MessageKind } from '../hop/kinds.js';

/** A number while it is exact (connection ids below 2^21), else a string. */
function earlyKey(conn: number, seq: number): number | string {
  return conn < 0x200000 ? conn * 0x100000000 + seq : `${conn}:${seq}`;
}

/**
 * Requests sent to one shard and not answered yet, oldest first. Every message logged must be
 * answered exactly once (its reply or a FAILURE): a message kind that is never answered must not go
 * through FrontLink.send, or it would sit at the head and turn every later reply into an
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
  /**
   * BLOCKING messages (BLPOP, ...), kept out of the FIFO: one may be answered long after every later
   * request, and at the head it would turn each of their replies into an early one meanwhile
   */
  private parked = new Map<number | string, { kind: number; conn: number; seq: number }>();

  get size(): number {
    return this.tail - this.head + this.parked.size;
  }

  push(kind: number, conn: number, seq: number): void {
    if (kind === MessageKind.BLOCKING) {
      this.parked.set(earlyKey(conn >>> 0, seq >>> 0), { kind, conn: conn >>> 0, seq: seq >>> 0 });
      return;
    }
    if (this.tail === this.kinds.length) this.grow();
    const t = this.tail++;
    this.kinds[t] = kind;
    this.conns[t] = conn;
    this.seqs[t] = seq;
  }

  /** A reply (or failure) for (conn, seq) arrived. */
  settle(conn: number, seq: number): void {
    if (this.parked.size > 0 && this.parked.delete(earlyKey(conn >>> 0, seq >>> 0))) return;
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
    for (const r of this.parked.values()) out.push(r);
    this.parked.clear();
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
