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
 * REPLSYNC registers the connection as a replica; the reply is `{mode: 'partial' | 'full', runId,
 * offset}`, followed (in the same write order) by one PUSH `['repl', offset, code, key]` per event
 * after `offset`, backlog first, then live ones. REPLACK `{offset}` reports what the replica has
 * applied (for lag in INFO / ROLE / metrics).
 */
import { randomBytes } from 'node:crypto';
import { encodeReply, errorReply, Status } from '../native/frame.js';
import { ErrorCode } from '../errors.js';
import { Opcode } from '../native/opcodes.js';
import { KeyEvent } from '../events/codes.js';

/** bytes counted per backlog entry besides its key (about what its PUSH frame costs) */
export const ENTRY_OVERHEAD = 32;

/** The PUSH kind of a replicated event. */
export const PUSH_REPL = 'repl';

/** A connection that can be a replica (the native router). */
export interface ReplicaPeer {
  pushEvent(frame: Uint8Array): void;
  /** the peer's address, for ROLE / INFO */
  readonly peer: string;
  /** end the connection (test hook REPL-CUT) */
  cut(): void;
}

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
  /** ring of events: parallel arrays, `head` is the oldest, `count` entries */
  private codes: Uint8Array;
  private keys: (Uint8Array | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;
  private readonly replicas = new Map<ReplicaPeer, AttachedReplica>();
  private fullSyncs = 0;
  private partialOk = 0;
  private partialErr = 0;

  /** `listen(on)` turns the shards' event flow on or off for replication's sake. */
  constructor(
    private readonly limit: number,
    private readonly listen: (on: boolean) => void,
  ) {
    this.codes = new Uint8Array(1024);
    this.keys = new Array<Uint8Array | undefined>(1024);
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
  record(code: number, key: Uint8Array): void {
    if (code === KeyEvent.EVICT || code === KeyEvent.RESTORE || code < 1 || code > 15) return;
    const offset = ++this.offset;
    if (this.limit > 0) {
      // the payload may be a view of a ring buffer: keep a copy
      const copy = code === KeyEvent.FLUSH ? EMPTY : Uint8Array.prototype.slice.call(key);
      this.push(code, copy);
      key = copy;
    }
    if (this.replicas.size === 0) return;
    const frame = encodeReply(Status.PUSH, 0, [PUSH_REPL, offset, code, key]);
    for (const [peer, r] of this.replicas) {
      r.sentOffset = offset;
      peer.pushEvent(frame);
    }
  }

  private push(code: number, key: Uint8Array): void {
    if (this.count === this.codes.length) this.grow();
    const i = (this.head + this.count) % this.codes.length;
    this.codes[i] = code;
    this.keys[i] = key;
    this.count++;
    this.bytes += key.length + ENTRY_OVERHEAD;
    while (this.bytes > this.limit && this.count > 0) {
      this.bytes -= this.keys[this.head]!.length + ENTRY_OVERHEAD;
      this.keys[this.head] = undefined;
      this.head = (this.head + 1) % this.codes.length;
      this.count--;
    }
  }

  private grow(): void {
    const n = this.codes.length * 2;
    const codes = new Uint8Array(n);
    const keys = new Array<Uint8Array | undefined>(n);
    for (let j = 0; j < this.count; j++) {
      const i = (this.head + j) % this.codes.length;
      codes[j] = this.codes[i];
      keys[j] = this.keys[i];
    }
    this.codes = codes;
    this.keys = keys;
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
    for (let j = skip; j < this.count; j++) {
      const i = (this.head + j) % this.codes.length;
      out.push(encodeReply(Status.PUSH, 0, [PUSH_REPL, this.first() + j, this.codes[i], this.keys[i]!]));
    }
    return out;
  }

  /** The connection closed. */
  drop(peer: ReplicaPeer): void {
    if (!this.replicas.delete(peer)) return;
    if (!this.wanted()) this.listen(false);
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
