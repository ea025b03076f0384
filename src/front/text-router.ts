/**
 * Routing of a text-protocol connection's (RESP, memcached) planned commands to their shards, with
 * the replies leaving in command order (OrderedReplies). The protocol's planner (src/resp/planner.ts,
 * src/memcache/) decides where a command goes; this sends it there and puts the replies back
 * together. Failures come back coded (src/hop/failure.ts) and the protocol words them.
 */
import { MessageKind } from '../hop/kinds.js';
import { failureCode, failureMessage } from '../hop/failure.js';
import type { ErrorCode } from '../errors.js';
import { OrderedReplies, type RouteStat } from './ordered.js';
import type { ShardSender } from './shard-backend.js';

export interface RoutePart {
  shard: number;
  raw: Buffer;
}

/**
 * Where a planned command goes (the shapes of src/resp/plan.ts's Plan): one shard, one part per
 * shard joined, every shard joined, one given shard, no shard (answered at once), or two steps.
 */
export type Route = (
  | { kind: 'shard'; shard: number; raw: Buffer }
  | { kind: 'split'; parts: RoutePart[]; join(replies: Buffer[]): Buffer }
  | { kind: 'all'; raw: Buffer; join(replies: Buffer[]): Buffer }
  | { kind: 'one'; shard: number; raw: Buffer; join?(reply: Buffer): Buffer }
  | { kind: 'local'; reply: Buffer; close?: boolean }
  | { kind: 'chain'; parts: RoutePart[]; next(replies: Buffer[]): Route }
) &
  RouteStat;

/** The reply for a command whose shard failed before it could answer (a protocol's error wording). */
export type FailureReply = (message: string, code: ErrorCode) => Buffer;

export class TextRouter {
  readonly replies = new OrderedReplies();
  /** Requests of multi-step commands, answered outside the ordered queue; their own sequence space. */
  private readonly internal = new Map<number, (reply: Buffer) => void>();
  private nextInternal = 0;

  constructor(
    private readonly conn: number,
    private readonly backend: ShardSender,
    /** the message kind of this protocol (MessageKind.RESP or MEMCACHE) */
    private readonly kind: number,
    private readonly failure: FailureReply,
    /** replies may be ready to leave after an asynchronous step (a chain's second plan) */
    private readonly ready: () => void,
  ) {}

  /**
   * While a chain runs (its second step not yet sent), the sends of the commands routed after it,
   * in order: a client's commands run in the order it sent them, as in Redis, so none may reach a
   * shard before the chain's last step. Null when no chain runs (then commands go out at once).
   */
  private held: (() => void)[] | null = null;

  /** Send a planned command on its way; true when the connection closes after its reply. */
  route(plan: Route): boolean {
    const backend = this.backend;
    const replies = this.replies;
    const kind = this.kind;
    switch (plan.kind) {
      case 'shard': {
        const seq = replies.expect(null, plan);
        if (this.held === null) backend.send(plan.shard, kind, this.conn, seq, plan.raw);
        else this.held.push(() => backend.send(plan.shard, kind, this.conn, seq, plan.raw));
        return false;
      }
      case 'split': {
        const group = { count: plan.parts.length, join: plan.join };
        const first = replies.expect(group, plan);
        for (let i = 1; i < plan.parts.length; i++) replies.expect(group, null);
        if (this.held === null) this.sendParts(plan.parts, first);
        else this.held.push(() => this.sendParts(plan.parts, first));
        return false;
      }
      case 'all': {
        const group = { count: backend.shards, join: plan.join };
        const first = replies.expect(group, plan);
        for (let s = 1; s < backend.shards; s++) replies.expect(group, null);
        if (this.held === null) this.sendAll(plan.raw, first);
        else this.held.push(() => this.sendAll(plan.raw, first));
        return false;
      }
      case 'one': {
        const join = plan.join;
        const seq = replies.expect(join ? { count: 1, join: (r: Buffer[]) => join(r[0]) } : null, plan);
        if (this.held === null) backend.send(plan.shard, kind, this.conn, seq, plan.raw);
        else this.held.push(() => backend.send(plan.shard, kind, this.conn, seq, plan.raw));
        return false;
      }
      case 'local':
        replies.ready(plan.reply, plan);
        return plan.close === true;
      case 'chain': {
        const seq = replies.expect(null, plan);
        if (this.held === null) this.startChain(plan, seq);
        else this.held.push(() => this.startChain(plan, seq));
        return false;
      }
    }
  }

  private sendParts(parts: RoutePart[], first: number): void {
    for (let i = 0; i < parts.length; i++) this.backend.send(parts[i].shard, this.kind, this.conn, (first + i) >>> 0, parts[i].raw);
  }

  private sendAll(raw: Buffer, first: number): void {
    for (let s = 0; s < this.backend.shards; s++) this.backend.send(s, this.kind, this.conn, (first + s) >>> 0, raw);
  }

  /** Runs a chain; the commands routed meanwhile are held until its reply is in. */
  private startChain(plan: Route, seq: number): void {
    this.held = [];
    this.runInternal(plan, (reply) => {
      const ready = this.replies.fill(seq, reply);
      this.release();
      if (ready) this.ready();
    });
  }

  /** Sends the held commands in order, stopping again at a chain among them. */
  private release(): void {
    const held = this.held;
    this.held = null;
    if (held === null) return;
    for (let i = 0; i < held.length; i++) {
      held[i]();
      if (this.held !== null) {
        // a held chain started: the rest waits for it in turn
        (this.held as (() => void)[]).push(...held.slice(i + 1));
        return;
      }
    }
  }

  /** A shard's reply (or failure); true when it may let replies leave (then flush the queue). */
  onReply(kind: number, seq: number, payload: Buffer): boolean {
    const reply = kind === MessageKind.FAILURE ? this.failure(failureMessage(payload), failureCode(payload)) : payload;
    if (this.internal.size > 0) {
      const waiter = this.internal.get(seq);
      if (waiter) {
        this.internal.delete(seq);
        waiter(reply);
        return false;
      }
    }
    return this.replies.fill(seq, reply);
  }

  /** Run a plan off the ordered queue and hand its final reply to done (for chained plans). */
  private runInternal(plan: Route, done: (reply: Buffer) => void): void {
    const backend = this.backend;
    const gather = (targets: RoutePart[], finish: (replies: Buffer[]) => void): void => {
      const out: Buffer[] = new Array(targets.length);
      let left = targets.length;
      targets.forEach((t, i) => {
        const seq = (0x80000000 | (this.nextInternal++ % 0x80000000)) >>> 0;
        this.internal.set(seq, (reply) => {
          out[i] = reply;
          if (--left === 0) finish(out);
        });
        backend.send(t.shard, this.kind, this.conn, seq, t.raw);
      });
    };
    switch (plan.kind) {
      case 'local':
        done(plan.reply);
        return;
      case 'shard':
        gather([plan], (r) => done(r[0]));
        return;
      case 'one':
        gather([plan], (r) => done(plan.join ? plan.join(r[0]) : r[0]));
        return;
      case 'split':
        gather(plan.parts, (r) => done(plan.join(r)));
        return;
      case 'all':
        gather(
          Array.from({ length: backend.shards }, (_, shard) => ({ shard, raw: plan.raw })),
          (r) => done(plan.join(r)),
        );
        return;
      case 'chain':
        gather(plan.parts, (r) => this.runInternal(plan.next(r), done));
        return;
    }
  }
}
