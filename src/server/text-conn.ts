import type { Socket } from 'node:net';
import { MessageKind } from '../hop/kinds.js';
import type { Plan } from '../resp/plan.js';
import type { Connection, ConnectionContext } from './connection.js';
import { OrderedReplies } from './ordered.js';

/** A framed command of a text protocol, or a framing error after which the connection closes. */
export type TextFrame =
  | { type: 'command'; raw: Buffer }
  | { type: 'error'; reply: Buffer; close: true; reason?: string };

export interface TextFramer {
  push(chunk: Buffer): void;
  next(): TextFrame | null;
  /** bytes received and not yet framed (an incomplete command) */
  readonly buffered: number;
}

/** What differs between RESP and memcached for the acceptor: framing, planning, and a failure reply. */
export interface TextProtocol<State, Frame extends TextFrame> {
  readonly kind: number;
  newState(connId: number): State;
  newFramer(state: State): TextFramer & { next(): Frame | null };
  plan(frame: Extract<Frame, { type: 'command' }>, state: State): Plan;
  /** the reply for a command whose shard failed before it could answer */
  failure(message: string): Buffer;
  /** a new connection: `push` writes unasked bytes (pub/sub messages) to it */
  attach?(state: State, push: (bytes: Buffer) => void): void;
  /** the connection closed */
  detach?(state: State): void;
}

/** Most commands, and most command bytes, framed for one connection before others get a turn. */
const TURN_COMMANDS = 1024;
const TURN_BYTES = 1024 * 1024;

/**
 * A RESP or memcached connection: frames commands, routes them by plan, and writes the replies in
 * command order however the shards answer.
 */
export class TextConnection<State, Frame extends TextFrame> implements Connection {
  private readonly framer: TextFramer & { next(): Frame | null };
  private readonly state: State;
  private readonly replies = new OrderedReplies();
  private closeAfterFlush = false;
  private readonly write = (bytes: Buffer): void => this.ctx.write(this, bytes);
  held = 0;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    private readonly protocol: TextProtocol<State, Frame>,
  ) {
    this.state = protocol.newState(id);
    this.framer = protocol.newFramer(this.state);
    protocol.attach?.(this.state, (bytes) => this.push(bytes));
  }

  /**
   * Unasked bytes (a pub/sub message): straight to the socket when no reply is owed, else queued
   * behind the replies still owed, so a SUBSCRIBE's confirmation always comes before its messages.
   */
  push(bytes: Buffer): void {
    if (this.closeAfterFlush || this.socket.destroyed || this.ctx.dropIfBehind(this)) return;
    if (this.replies.inFlight === 0) this.write(bytes);
    else {
      this.replies.ready(bytes);
      this.flush();
    }
  }

  onClose(): void {
    this.protocol.detach?.(this.state);
  }

  get inFlight(): number {
    return this.replies.inFlight;
  }

  /** bytes of an incomplete command held (client timeouts) */
  get buffered(): number {
    return this.framer.buffered;
  }

  onData(chunk: Buffer): void {
    if (this.closeAfterFlush) return;
    this.framer.push(chunk);
    if (!this.yielded) this.run();
    else if (!this.socket.isPaused()) {
      // the acceptor resumed reading meanwhile (admission eased); hold it until our turn comes
      this.socket.pause();
      this.pausedForTurn = true;
    }
  }

  /** The acceptor admits requests again (replies left, memory freed): route what is framed. */
  resume(): void {
    if (!this.closeAfterFlush && !this.socket.destroyed && !this.yielded) this.run();
  }

  /** framing waits for the next turn (a setImmediate); bytes received meanwhile are only buffered. */
  private yielded = false;
  /** the socket was paused for the turn (not by the acceptor's admission, which resumes it itself). */
  private pausedForTurn = false;
  private readonly resumeTurn = (): void => {
    this.yielded = false;
    if (this.socket.destroyed || this.closeAfterFlush) return;
    if (this.pausedForTurn) {
      this.pausedForTurn = false;
      this.socket.resume();
    }
    this.run();
  };

  /**
   * Frames and routes buffered commands while the acceptor admits them, at most TURN_COMMANDS of
   * them or TURN_BYTES of command bytes, then yields to the event loop (pausing the socket
   * meanwhile) so that one connection's pipeline or huge command cannot keep every other
   * connection waiting.
   */
  private run(): void {
    const { backend } = this.ctx;
    const kind = this.protocol.kind;
    const replies = this.replies;
    let commands = 0;
    let bytes = 0;
    let more = false;
    for (;;) {
      // replies answered here (PING, errors) are written before admission counts them
      replies.flush(this.write);
      if (commands >= TURN_COMMANDS || bytes >= TURN_BYTES) {
        more = this.framer.buffered > 0;
        break;
      }
      if (!this.ctx.admit(this)) break;
      const frame = this.framer.next();
      if (frame === null) break;
      if (frame.type === 'error') {
        replies.ready(frame.reply);
        this.closeAfterFlush = true;
        break;
      }
      commands++;
      bytes += frame.raw.length;
      this.ctx.commands++;
      const plan = this.protocol.plan(frame as Extract<Frame, { type: 'command' }>, this.state);
      switch (plan.kind) {
        case 'shard':
          backend.send(plan.shard, kind, this.id, replies.expect(null, plan), plan.raw);
          break;
        case 'split': {
          const group = { count: plan.parts.length, join: plan.join };
          plan.parts.forEach((part, i) => backend.send(part.shard, kind, this.id, replies.expect(group, i === 0 ? plan : null), part.raw));
          break;
        }
        case 'all': {
          const group = { count: backend.shards, join: plan.join };
          for (let s = 0; s < backend.shards; s++) backend.send(s, kind, this.id, replies.expect(group, s === 0 ? plan : null), plan.raw);
          break;
        }
        case 'one': {
          const join = plan.join;
          const seq = replies.expect(join ? { count: 1, join: (r: Buffer[]) => join(r[0]) } : null, plan);
          backend.send(plan.shard, kind, this.id, seq, plan.raw);
          break;
        }
        case 'local':
          replies.ready(plan.reply, plan);
          if (plan.close) this.closeAfterFlush = true;
          break;
        case 'chain': {
          const seq = replies.expect(null, plan);
          this.runInternal(plan, (reply) => {
            if (this.replies.fill(seq, reply)) this.flush();
          });
          break;
        }
      }
      if (this.closeAfterFlush) break;
    }
    this.flush();
    if (more && !this.closeAfterFlush) {
      this.yielded = true;
      if (!this.socket.isPaused()) {
        this.socket.pause();
        this.pausedForTurn = true;
      }
      setImmediate(this.resumeTurn);
    }
  }

  onReply(kind: number, seq: number, payload: Buffer): void {
    const reply = kind === MessageKind.FAILURE ? this.protocol.failure(payload.toString()) : payload;
    if (this.internal.size > 0) {
      const waiter = this.internal.get(seq);
      if (waiter) {
        this.internal.delete(seq);
        waiter(reply);
        return;
      }
    }
    if (this.replies.fill(seq, reply)) this.flush();
  }

  /** Requests of multi-step commands, answered outside the ordered queue; their own sequence space. */
  private readonly internal = new Map<number, (reply: Buffer) => void>();
  private nextInternal = 0;

  /** Run a plan off the ordered queue and hand its final reply to done (for chained plans). */
  private runInternal(plan: Plan, done: (reply: Buffer) => void): void {
    const backend = this.ctx.backend;
    const gather = (targets: { shard: number; raw: Buffer }[], finish: (replies: Buffer[]) => void): void => {
      const out: Buffer[] = new Array(targets.length);
      let left = targets.length;
      targets.forEach((t, i) => {
        const seq = (0x80000000 | this.nextInternal++ % 0x80000000) >>> 0;
        this.internal.set(seq, (reply) => {
          out[i] = reply;
          if (--left === 0) finish(out);
        });
        backend.send(t.shard, this.protocol.kind, this.id, seq, t.raw);
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
        gather(Array.from({ length: backend.shards }, (_, shard) => ({ shard, raw: plan.raw })), (r) => done(plan.join(r)));
        return;
      case 'chain':
        gather(plan.parts, (r) => this.runInternal(plan.next(r), done));
        return;
    }
  }

  private flush(): void {
    this.replies.flush(this.write);
    if (this.closeAfterFlush && this.replies.inFlight === 0 && !this.closing) {
      this.closing = true;
      // As Redis and memcached: once the last reply is written the socket is closed outright, not
      // half-closed, so bytes the client sends afterwards are refused rather than read and dropped.
      this.socket.end(() => this.socket.destroy());
    }
  }

  private closing = false;
}
