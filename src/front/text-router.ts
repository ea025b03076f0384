/**
 * Routing of a text-protocol connection's (RESP, memcached) planned commands to their shards, with
 * the replies leaving in command order (OrderedReplies). The protocol's planner (src/resp/planner.ts,
 * src/memcache/) decides where a command goes; this sends it there and puts the replies back
 * together. Failures come back coded (src/hop/failure.ts) and the protocol words them.
 */
import { MessageKind } from '../hop/kinds.js';
import { failureCode, failureMessage } from '../hop/failure.js';
import { OrderedReplies } from './ordered.js';
import type { ShardSender } from './shard-backend.js';
import { HOLD_TIMEOUT_MS } from '../shards/hold.js';
import { ErrorCode } from '../errors.js';
import type { HeldPlan, Plan, SplitPart } from './plan.js';

const EMPTY = Buffer.alloc(0);

/** Where a planned command goes: the plan shapes of src/front/plan.ts. */
export type Route = Plan;
type RoutePart = Pick<SplitPart, 'shard' | 'raw'>;

/** A transaction's holds in progress: the shards asked so far, and whether their parts are on their way (they let go by themselves). */
interface Holding {
  asked: number[];
  release: Buffer;
  parts: boolean;
  abandoned: boolean;
}

/**
 * Longest a front gathers a transaction's holds before it gives up, releasing them, rather than
 * send parts that a shard whose hold timed out meanwhile would refuse (half the shard's bound).
 */
const HOLD_BUDGET_MS = HOLD_TIMEOUT_MS / 2;

/** The reply for a command whose shard failed before it could answer (a protocol's error wording). */
export type FailureReply = (message: string, code: ErrorCode) => Buffer;

export class TextRouter {
  readonly replies = new OrderedReplies();
  /** Requests of multi-step commands, answered outside the ordered queue; their own sequence space. */
  private readonly internal = new Map<number, (reply: Buffer) => void>();
  private nextInternal = 0;
  private chains = 0;
  private holding: Holding | null = null;
  /** a WAIT in progress: let go of it when the connection closes */
  private waiting: (() => void) | null = null;
  /** the shard of a blocking command in progress (BLPOP, ...), -1 when none: told to cancel it when the connection closes */
  private blockedOn = -1;

  /**
   * A two-step command is between its steps: the connection routes nothing else until it is done, so
   * that its own later commands see what it did (a later GET of a renamed key must not pass it).
   */
  get chaining(): boolean {
    return this.chains > 0;
  }

  /** a blocking command (BLPOP, ...) waits for its reply */
  get blocked(): boolean {
    return this.blockedOn >= 0;
  }

  constructor(
    private readonly conn: number,
    private readonly backend: ShardSender,
    /** the message kind of this protocol (MessageKind.RESP or MEMCACHE) */
    private readonly kind: number,
    private readonly failure: FailureReply,
    /** a two-step command finished: its reply may leave, and the connection may route again */
    private readonly ready: () => void,
  ) {}

  /** Send a planned command on its way; true when the connection closes after its reply. */
  route(plan: Route): boolean {
    const backend = this.backend;
    const replies = this.replies;
    const kind = this.kind;
    switch (plan.kind) {
      case 'shard':
        if (plan.blocking === true && kind === MessageKind.RESP) {
          this.block(plan.shard, plan.raw, replies.expect(null, plan));
          return false;
        }
        backend.send(plan.shard, kind, this.conn, replies.expect(null, plan), plan.raw);
        return false;
      case 'split': {
        const group = { count: plan.parts.length, join: plan.join };
        plan.parts.forEach((part, i) => backend.send(part.shard, kind, this.conn, replies.expect(group, i === 0 ? plan : null), part.raw));
        return false;
      }
      case 'all': {
        const group = { count: backend.shards, join: plan.join };
        for (let s = 0; s < backend.shards; s++) backend.send(s, kind, this.conn, replies.expect(group, s === 0 ? plan : null), plan.raw);
        return false;
      }
      case 'one': {
        const join = plan.join;
        if (plan.retry !== undefined) {
          this.routeRetry(plan);
          return false;
        }
        const seq = replies.expect(join ? { count: 1, join: (r: Buffer[]) => join(r[0]) } : null, plan);
        backend.send(plan.shard, kind, this.conn, seq, plan.raw);
        return false;
      }
      case 'local':
        replies.ready(plan.reply, plan);
        return plan.close === true;
      case 'later': {
        const seq = replies.expect(null, plan);
        this.chains++;
        this.waiting = plan.cancel;
        void plan.reply.then((reply) => {
          this.waiting = null;
          this.chains--;
          this.replies.fill(seq, reply);
          this.ready();
        });
        return false;
      }
      case 'chain':
      case 'held': {
        const seq = replies.expect(null, plan);
        this.chains++;
        this.runInternal(plan, (reply) => {
          this.chains--;
          this.replies.fill(seq, reply);
          this.ready();
        });
        return false;
      }
    }
  }

  /**
   * A command whose reply may turn into another plan (plan.retry): the other plan runs in its place
   * when nothing of the connection was routed after it, the connection routing nothing meanwhile.
   */
  private routeRetry(plan: Extract<Plan, { kind: 'one' }>): void {
    const replies = this.replies;
    const seq = replies.expect(null, plan);
    this.ask(plan.shard, this.kind, plan.raw, (reply) => {
      const again = replies.isLast(seq) ? plan.retry!(reply) : null;
      if (again === null) {
        replies.fill(seq, plan.join ? plan.join(reply) : reply);
        this.ready();
        return;
      }
      this.chains++;
      this.runInternal(again, (r) => {
        this.chains--;
        replies.fill(seq, r);
        this.ready();
      });
    });
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

  /**
   * The connection closed: a transaction gathering holds lets go of every shard it asked (a shard
   * that has not granted the hold yet gets the RELEASE after the HOLD, on the same ring, in order).
   */
  close(): void {
    this.waiting?.();
    if (this.blockedOn >= 0) {
      this.ask(this.blockedOn, MessageKind.CANCEL, EMPTY, () => undefined);
      this.blockedOn = -1;
    }
    const h = this.holding;
    if (h === null || h.parts) return;
    h.abandoned = true;
    this.holding = null;
    for (const shard of h.asked) this.ask(shard, MessageKind.RELEASE, h.release, () => undefined);
  }

  /** A blocking command: nothing else of the connection is routed until its reply comes. */
  private block(shard: number, raw: Buffer, seq: number): void {
    this.chains++;
    this.blockedOn = shard;
    this.ask(shard, MessageKind.BLOCKING, raw, (reply) => {
      this.blockedOn = -1;
      this.chains--;
      this.replies.fill(seq, reply);
      this.ready();
    });
  }

  /** One internal request; its reply goes to `then`, not to the ordered queue. */
  private ask(shard: number, kind: number, raw: Buffer, then: (reply: Buffer) => void): void {
    const seq = (0x80000000 | (this.nextInternal++ % 0x80000000)) >>> 0;
    this.internal.set(seq, then);
    this.backend.send(shard, kind, this.conn, seq, raw);
  }

  /**
   * A transaction across shards: each shard held in ascending order, one at a time (a holder waits
   * only for a shard above all it holds, so holders cannot wait on each other in a circle), then
   * every part sent with its release. docs/architecture.md, "Transactions".
   */
  private runHeld(plan: HeldPlan, done: (reply: Buffer) => void): void {
    const h: Holding = { asked: [], release: plan.release, parts: false, abandoned: false };
    this.holding = h;
    const started = Date.now();
    const heldSince = performance.now();
    const finish = (reply: Buffer): void => {
      if (this.holding === h) this.holding = null;
      done(reply);
    };
    const letGo = (): void => {
      for (const shard of h.asked) this.ask(shard, MessageKind.RELEASE, plan.release, () => undefined);
    };
    const next = (i: number): void => {
      if (h.abandoned) return;
      if (i < plan.shards.length) {
        h.asked.push(plan.shards[i]);
        this.ask(plan.shards[i], MessageKind.HOLD, plan.holds[i], (reply) => {
          if (h.abandoned) return;
          const refused = plan.refusal(reply);
          if (refused === null) return next(i + 1);
          letGo();
          finish(refused);
        });
        return;
      }
      if (Date.now() - started > HOLD_BUDGET_MS) {
        letGo();
        finish(plan.expired);
        return;
      }
      h.parts = true;
      if (plan.drive !== undefined) {
        // the shards are let go when the script ends, whatever it did: not halfway, not twice
        const send = (p: Plan): Promise<Buffer> => new Promise((resolve) => this.runInternal(p, resolve, MessageKind.HELD));
        plan.drive(send, heldSince).then(
          (reply) => {
            letGo();
            finish(reply);
          },
          (e: unknown) => {
            letGo();
            finish(this.failure(e instanceof Error ? e.message : String(e), ErrorCode.INTERNAL));
          },
        );
        return;
      }
      const out: Buffer[] = new Array(plan.shards.length);
      let left = plan.shards.length;
      plan.shards.forEach((shard, p) =>
        this.ask(shard, MessageKind.RELEASE, plan.parts[p], (reply) => {
          out[p] = reply;
          if (--left === 0) finish(plan.join(out));
        }),
      );
    };
    next(0);
  }

  /**
   * Run a plan off the ordered queue and hand its final reply to done (for chained plans); `kind`:
   * the message kind its requests go as (HELD for a held script's commands).
   */
  private runInternal(plan: Route, done: (reply: Buffer) => void, kind = this.kind): void {
    const gather = (targets: RoutePart[], finish: (replies: Buffer[]) => void): void => {
      const out: Buffer[] = new Array(targets.length);
      let left = targets.length;
      targets.forEach((t, i) =>
        this.ask(t.shard, kind, t.raw, (reply) => {
          out[i] = reply;
          if (--left === 0) finish(out);
        }),
      );
    };
    switch (plan.kind) {
      case 'local':
        done(plan.reply);
        return;
      case 'later':
        this.waiting = plan.cancel;
        void plan.reply.then((reply) => {
          this.waiting = null;
          done(reply);
        });
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
          Array.from({ length: this.backend.shards }, (_, shard) => ({ shard, raw: plan.raw })),
          (r) => done(plan.join(r)),
        );
        return;
      case 'chain': {
        const first = plan.parts[0];
        if (plan.parts.length === 1 && first.blocking === true) {
          // a wait for a list across shards (BRPOPLPUSH): blocked like BLPOP, cancelled on close (then answered empty)
          this.blockedOn = first.shard;
          this.ask(first.shard, MessageKind.BLOCKING, first.raw, (r) => {
            this.blockedOn = -1;
            this.runInternal(plan.next([r]), done, kind);
          });
          return;
        }
        gather(plan.parts, (r) => this.runInternal(plan.next(r), done, kind));
        return;
      }
      case 'held':
        this.runHeld(plan, done);
        return;
    }
  }
}
