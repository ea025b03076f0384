/**
 * The primary side of replication (docs/replication.md): the replication offset, the bounded
 * backlog of key events, and the replicas attached to this server's native port.
 *
 * Every key event the shards send to the acceptor (except `evict` / `restore`, which are tier moves,
 * not changes) gets the next offset. While `--repl-backlog` is > 0 the last events are kept in a
 * ring bounded by bytes (key length + ENTRY_OVERHEAD per event), so a replica that reconnects with
 * `REPLSYNC {runId, offset}` gets the events after its offset instead of a full copy. The run id is
 * drawn per process start: a restarted primary's offsets mean nothing to a replica.
 *
 * The ring is one byte buffer, each event stored as [code u8][key length u32 LE][key], never one
 * object per event: a copied key as its own Uint8Array costs ~300 bytes of heap and malloc besides
 * its bytes, which made a 16 MB backlog of 16-byte keys hold ~240 MB. An event takes key + 5 bytes
 * here and counts key + ENTRY_OVERHEAD against the limit, so the buffer never needs more than the
 * limit; it grows by doubling up to it, so a primary that writes little holds little. Events are
 * numbered from the start but kept only from the first REPLSYNC on: the run id is drawn per process
 * and learnt only from a REPLSYNC reply, so before one no replica could resume from a kept event.
 *
 * REPLSYNC registers the connection as a replica; the reply is `{mode: 'partial' | 'full', runId,
 * offset}`, followed (in the same write order) by one PUSH `['repl', offset, code, key]` per event
 * after `offset`, backlog first, then live ones. REPLACK `{offset}` reports what the replica has
 * applied (for lag in INFO / ROLE / metrics).
 */
import { randomBytes } from 'node:crypto';
import { encodeReply, errorReply, Status } from '../native/frame.js';
import { ErrorCode } from '../errors.js';
import { Opcode } from '../native/opcodes.js';
import { KeyEvent, keyEventOf } from '../events/codes.js';
import type { ReplicaPeer } from '../native/router.js';

/** bytes counted per backlog entry besides its key (about what its PUSH frame costs) */
export const ENTRY_OVERHEAD = 32;
/** bytes an entry takes in the ring besides its key: code u8, key length u32 */
const HEADER = 5;
/** the ring's first size; it doubles up to the limit */
const FIRST_RING = 64 * 1024;

/** The PUSH kind of a replicated event. */
export const PUSH_REPL = 'repl';

/** A connection that can be a replica: the native router (src/native/router.ts). */
export type { ReplicaPeer };

export interface AttachedReplica {
  ip: string;
  port: number;
  /** the offset the replica reported applied (REPLACK) */
  ackOffset: number;
  /** the offset of the last event sent to it */
  sentOffset: number;
  attachedAt: number;
  lastAck: number;
}

/** a WAIT in progress: its answer, and how to let go of it when its connection closes */
export interface Waiting {
  promise: Promise<number>;
  cancel(): void;
}

export interface ReplSourceStats {
  runId: string;
  offset: number;
  backlogBytes: number;
  backlogLimit: number;
  /** offset of the first event in the backlog (offset + 1 when it is empty) */
  backlogFirst: number;
  backlogEvents: number;
  fullSyncs: number;
  partialOk: number;
  partialErr: number;
  replicas: AttachedReplica[];
}

export class ReplSource {
  readonly runId = randomBytes(20).toString('hex');
  private offset = 0;
  /** ring of events: `ring[head..]` is the oldest, `count` entries in `used` bytes (wrapping) */
  private ring: Uint8Array = EMPTY;
  private head = 0;
  private used = 0;
  private count = 0;
  /** key + ENTRY_OVERHEAD summed over the entries: what the limit bounds */
  private bytes = 0;
  private readonly replicas = new Map<ReplicaPeer, AttachedReplica>();
  private fullSyncs = 0;
  private partialOk = 0;
  private partialErr = 0;
  /** a replica has synced with this run id: from now on events are kept */
  private keeping = false;
  /** WAITs in progress: re-counted on every acknowledgement and detach */
  private readonly waiters = new Set<() => void>();

  /** `listen(on)` turns the shards' event flow on or off for replication's sake. */
  constructor(
    private readonly limit: number,
    private readonly listen: (on: boolean) => void,
  ) {
    this.listen(this.wanted());
  }

  private wanted(): boolean {
    return this.limit > 0 || this.replicas.size > 0;
  }

  /** the first offset the backlog holds (offset + 1 when empty) */
  private first(): number {
    return this.offset - this.count + 1;
  }

  /** An event from a shard: give it an offset, keep it, send it to the replicas. */
  record(eventCode: number, key: Uint8Array): void {
    const code = keyEventOf(eventCode);
    if (code === KeyEvent.EVICT || code === KeyEvent.RESTORE || code < 1 || code > 15) return;
    const offset = ++this.offset;
    if (code === KeyEvent.FLUSH) key = EMPTY;
    if (this.keeping) this.push(code, key);
    if (this.replicas.size === 0) return;
    const frame = encodeReply(Status.PUSH, 0, [PUSH_REPL, offset, code, key]);
    for (const [peer, r] of this.replicas) {
      r.sentOffset = offset;
      peer.pushEvent(frame);
    }
  }

  /** Keep an event (the key is copied: it may be a view of a hop ring), dropping the oldest past the limit. */
  private push(code: number, key: Uint8Array): void {
    const counted = key.length + ENTRY_OVERHEAD;
    while (this.count > 0 && this.bytes + counted > this.limit) this.dropOldest();
    if (counted > this.limit) return; // an event larger than the whole backlog: the backlog is now empty
    const size = HEADER + key.length;
    if (this.used + size > this.ring.length) this.grow(this.used + size);
    const cap = this.ring.length;
    let at = (this.head + this.used) % cap;
    this.ring[at] = code;
    at = (at + 1) % cap;
    const n = key.length;
    for (let b = 0; b < 4; b++, at = (at + 1) % cap) this.ring[at] = (n >>> (8 * b)) & 0xff;
    const direct = Math.min(n, cap - at);
    this.ring.set(direct === n ? key : key.subarray(0, direct), at);
    if (direct < n) this.ring.set(key.subarray(direct), 0);
    this.used += size;
    this.count++;
    this.bytes += counted;
  }

  private keyLength(at: number): number {
    const cap = this.ring.length;
    let n = 0;
    for (let b = 0; b < 4; b++) n |= this.ring[(at + 1 + b) % cap] << (8 * b);
    return n >>> 0;
  }

  private dropOldest(): void {
    const n = this.keyLength(this.head);
    this.head = (this.head + HEADER + n) % this.ring.length;
    this.used -= HEADER + n;
    this.bytes -= n + ENTRY_OVERHEAD;
    this.count--;
  }

  /** a copy of the entry's key at `at` */
  private keyAt(at: number, n: number): Uint8Array {
    const cap = this.ring.length;
    const from = (at + HEADER) % cap;
    if (from + n <= cap) return this.ring.slice(from, from + n);
    const out = new Uint8Array(n);
    out.set(this.ring.subarray(from));
    out.set(this.ring.subarray(0, n - (cap - from)), cap - from);
    return out;
  }

  /** A ring of at least `need` bytes (doubling, at most the limit), the entries moved to its start. */
  private grow(need: number): void {
    let cap = Math.max(FIRST_RING, this.ring.length);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(Math.min(cap, Math.max(need, this.limit)));
    const tail = Math.min(this.used, this.ring.length - this.head);
    next.set(this.ring.subarray(this.head, this.head + tail));
    next.set(this.ring.subarray(0, this.used - tail), tail);
    this.ring = next;
    this.head = 0;
  }

  /** REPLSYNC / REPLACK from a connection: the frames to write, in order. */
  handle(peer: ReplicaPeer, opcode: number, requestId: number, args: unknown[]): Uint8Array[] {
    const o = (args[0] && typeof args[0] === 'object' ? args[0] : {}) as { runId?: unknown; offset?: unknown; port?: unknown };
    const offset = typeof o.offset === 'number' && Number.isSafeInteger(o.offset) ? o.offset : -1;
    if (opcode === Opcode.REPLACK) {
      const r = this.replicas.get(peer);
      if (!r) return [errorReply(requestId, ErrorCode.BAD_ARGUMENT, 'REPLACK without REPLSYNC')];
      if (offset >= 0) r.ackOffset = offset;
      r.lastAck = Date.now();
      this.wakeWaiters();
      return [encodeReply(Status.OK, requestId, this.offset)];
    }
    const wasEmpty = this.replicas.size === 0;
    const r: AttachedReplica = {
      ip: peer.peer,
      port: typeof o.port === 'number' ? o.port : 0,
      ackOffset: 0,
      sentOffset: this.offset,
      attachedAt: Date.now(),
      lastAck: Date.now(),
    };
    this.replicas.set(peer, r);
    this.keeping = this.limit > 0;
    if (wasEmpty) this.listen(true);
    const partial = o.runId === this.runId && offset >= 0 && offset <= this.offset && offset + 1 >= this.first() && this.limit > 0;
    if (!partial) {
      if (o.runId !== undefined && o.runId !== null) this.partialErr++;
      this.fullSyncs++;
      r.ackOffset = this.offset;
      return [encodeReply(Status.OK, requestId, { mode: 'full', runId: this.runId, offset: this.offset })];
    }
    this.partialOk++;
    r.ackOffset = offset;
    const out: Uint8Array[] = [encodeReply(Status.OK, requestId, { mode: 'partial', runId: this.runId, offset })];
    const skip = offset + 1 - this.first();
    let at = this.head;
    for (let j = 0; j < this.count; j++) {
      const n = this.keyLength(at);
      if (j >= skip) out.push(encodeReply(Status.PUSH, 0, [PUSH_REPL, this.first() + j, this.ring[at], this.keyAt(at, n)]));
      at = (at + HEADER + n) % this.ring.length;
    }
    return out;
  }

  /** The connection closed. */
  drop(peer: ReplicaPeer): void {
    if (!this.replicas.delete(peer)) return;
    if (!this.wanted()) this.listen(false);
    this.wakeWaiters();
  }

  /** attached replicas whose acknowledged offset reached `offset` */
  acked(offset: number): number {
    let n = 0;
    for (const r of this.replicas.values()) if (r.ackOffset >= offset) n++;
    return n;
  }

  /**
   * WAIT: how many replicas acknowledged the offset of now (every event recorded so far), as soon as
   * `want` have, or what it is after `timeoutMs` (0: no limit). Replicas acknowledge once a second
   * (src/replication/replica.ts), so a WAIT for a write lasts up to about a second.
   */
  waitAcks(want: number, timeoutMs: number): number | Waiting {
    const target = this.offset;
    const now = this.acked(target);
    if (now >= want) return now;
    let finish: (n: number) => void = () => undefined;
    const promise = new Promise<number>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const check = (): void => {
        const n = this.acked(target);
        if (n >= want) finish(n);
      };
      finish = (n: number): void => {
        this.waiters.delete(check);
        if (timer !== null) clearTimeout(timer);
        resolve(n);
      };
      this.waiters.add(check);
      if (timeoutMs > 0) timer = setTimeout(() => finish(this.acked(target)), timeoutMs);
    });
    // the waiting connection closed: its waiter goes (a WAIT with no timeout would stay for good)
    return { promise, cancel: () => finish(this.acked(target)) };
  }

  private wakeWaiters(): void {
    for (const w of [...this.waiters]) w();
  }

  /** End every replica's connection (test hook); how many. */
  cutAll(): number {
    const peers = [...this.replicas.keys()];
    for (const p of peers) p.cut();
    return peers.length;
  }

  stats(): ReplSourceStats {
    return {
      runId: this.runId,
      offset: this.offset,
      backlogBytes: this.bytes,
      backlogLimit: this.limit,
      backlogFirst: this.first(),
      backlogEvents: this.count,
      fullSyncs: this.fullSyncs,
      partialOk: this.partialOk,
      partialErr: this.partialErr,
      replicas: [...this.replicas.values()].map((r) => ({ ...r })),
    };
  }
}

const EMPTY = new Uint8Array(0);
