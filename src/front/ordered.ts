/**
 * Replies of a text-protocol connection (RESP, memcached) leave in the order their commands came, though
 * the shards answer in any order. Each message sent to a shard is one unit with its own sequence number;
 * a command that fans out to several shards is a run of units with a join. The queue is an array with a
 * moving head, so finding a unit by sequence number is an index, not a search.
 */

/** A command's counters (RESP INFO commandstats, src/resp/cmdstats.ts), told its reply when it leaves. */
export interface ReplyCounter {
  replied(reply: Buffer, rejected: boolean): void;
}

/** What a routed request may carry for its counters: the counter, and whether it was refused before it ran. */
export interface RouteStat {
  stat?: ReplyCounter;
  rejected?: boolean;
}

export interface Group {
  count: number;
  join: (replies: Buffer[]) => Buffer;
}

interface Unit {
  reply: Buffer | null;
  group: Group | null;
  /**
   * the command's counters (RESP commandstats), told its reply when it leaves; only the counter is
   * kept, not the plan, whose request bytes would otherwise live until the reply leaves
   */
  counter: ReplyCounter | null;
  rejected: boolean;
}

export class OrderedReplies {
  private units: Unit[] = [];
  private head = 0;
  /** sequence number of units[head] */
  private headSeq = 0;
  private nextSeq = 0;

  /** Units still waiting for a reply or for an earlier unit. */
  get inFlight(): number {
    return this.units.length - this.head;
  }

  /** A unit to be answered by a shard; returns its sequence number. */
  expect(group: Group | null = null, stat: RouteStat | null = null): number {
    this.units.push({ reply: null, group, counter: stat?.stat ?? null, rejected: stat?.rejected === true });
    return this.nextSeq++ >>> 0;
  }

  /** No unit was added after this one (the connection routed nothing after it yet). */
  isLast(seq: number): boolean {
    return (this.nextSeq - 1) >>> 0 === seq;
  }

  /** A unit answered at once (by the acceptor itself). */
  ready(reply: Buffer, stat: RouteStat | null = null): void {
    this.units.push({ reply, group: null, counter: stat?.stat ?? null, rejected: stat?.rejected === true });
    this.nextSeq++;
  }

  /** Record a shard's reply. Returns false if the sequence number is not pending (a stale reply). */
  fill(seq: number, reply: Buffer): boolean {
    const index = this.head + ((seq - this.headSeq) >>> 0);
    const unit = this.units[index];
    if (index >= this.units.length || !unit || unit.reply !== null) return false;
    unit.reply = reply;
    return true;
  }

  /** Hand every reply that is next in order to `write`, joining fan-outs. */
  flush(write: (bytes: Buffer) => void): void {
    const units = this.units;
    while (this.head < units.length) {
      const u = units[this.head];
      if (u.group) {
        const n = u.group.count;
        if (this.head + n > units.length) break;
        const parts: Buffer[] = new Array(n);
        let complete = true;
        for (let i = 0; i < n; i++) {
          const r = units[this.head + i].reply;
          if (r === null) {
            complete = false;
            break;
          }
          parts[i] = r;
        }
        if (!complete) break;
        const joined = u.group.join(parts);
        if (u.counter !== null) u.counter.replied(joined, u.rejected);
        if (joined.length > 0) write(joined);
        this.advance(n);
      } else {
        if (u.reply === null) break;
        if (u.counter !== null) u.counter.replied(u.reply, u.rejected);
        if (u.reply.length > 0) write(u.reply);
        this.advance(1);
      }
    }
    if (this.head > 1024 && this.head * 2 > units.length) {
      this.units = units.slice(this.head);
      this.head = 0;
    }
  }

  private advance(n: number): void {
    for (let i = 0; i < n; i++) this.units[this.head + i] = EMPTY;
    this.head += n;
    this.headSeq = (this.headSeq + n) >>> 0;
  }
}

const EMPTY: Unit = { reply: null, group: null, counter: null, rejected: false };
