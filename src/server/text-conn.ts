import type { Socket } from 'node:net';
import type { OrderedReplies } from '../front/ordered.js';
import { TextRouter, type FailureReply, type Route } from '../front/text-router.js';
import type { Connection, ConnectionContext } from './connection.js';

/** A framed command of a text protocol, or a framing error after which the connection closes. */
export type TextFrame = { type: 'command'; raw: Buffer } | { type: 'error'; reply: Buffer; close: true; reason?: string };

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
  plan(frame: Extract<Frame, { type: 'command' }>, state: State): Route;
  /** the reply for a command whose shard failed before it could answer (the failure's message and code) */
  failure: FailureReply;
  /** a new connection: `push` writes unasked bytes (pub/sub messages) to it */
  attach?(state: State, push: (bytes: Buffer) => void): void;
  /** the connection closed */
  detach?(state: State): void;
}

/**
 * Input a connection may hold unframed while a blocking command (BLPOP, ...) of it waits: its socket
 * is read meanwhile so that a disconnect is seen and the wait cancelled (a push after it must not be
 * taken for a client that is gone); past this the socket is paused as for any command that waits.
 */
export const BLOCKED_INPUT_LIMIT = 64 * 1024;

/** Most commands, and most command bytes, framed for one connection before others get a turn. */
const TURN_COMMANDS = 1024;
const TURN_BYTES = 1024 * 1024;

/**
 * A RESP or memcached connection on a TCP socket: frames commands, takes turns with other
 * connections, and hands each planned command to its TextRouter (src/front/text-router.ts), which
 * sends it to its shards and keeps the replies in command order.
 */
export class TextConnection<State, Frame extends TextFrame> implements Connection {
  private readonly framer: TextFramer & { next(): Frame | null };
  /** the protocol's connection state (RESP: src/front/plan.ts's ConnState) */
  readonly state: State;
  private readonly router: TextRouter;
  private readonly replies: OrderedReplies;
  private closeAfterFlush = false;
  private readonly write = (bytes: Buffer): void => this.ctx.write(this, bytes);
  held = 0;
  readonly createdAt = Date.now();
  /** when bytes last came in (CLIENT LIST idle=) */
  lastActive = this.createdAt;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    private readonly protocol: TextProtocol<State, Frame>,
  ) {
    this.router = new TextRouter(id, ctx.backend, protocol.kind, protocol.failure, () => this.afterChain());
    this.replies = this.router.replies;
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
    this.router.close();
    this.protocol.detach?.(this.state);
  }

  get inFlight(): number {
    return this.replies.inFlight;
  }

  get blocked(): boolean {
    return this.router.blocked;
  }

  /** bytes of an incomplete command held (client timeouts) */
  get buffered(): number {
    return this.framer.buffered;
  }

  onData(chunk: Buffer): void {
    if (this.closeAfterFlush) return;
    this.lastActive = Date.now();
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
    const replies = this.replies;
    let commands = 0;
    let bytes = 0;
    let more = false;
    for (;;) {
      // replies answered here (PING, errors) are written before admission counts them
      replies.flush(this.write);
      if (this.router.chaining) {
        // later commands wait, framed or not, until the two-step command is done (afterChain)
        if (!this.socket.isPaused() && !(this.router.blocked && this.framer.buffered < BLOCKED_INPUT_LIMIT)) {
          this.socket.pause();
          this.pausedForChain = true;
        }
        break;
      }
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
      if (this.router.route(this.protocol.plan(frame as Extract<Frame, { type: 'command' }>, this.state))) {
        this.closeAfterFlush = true;
        break;
      }
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

  /** the socket was paused while a two-step command ran */
  private pausedForChain = false;

  private afterChain(): void {
    this.flush();
    if (this.router.chaining || this.socket.destroyed) return;
    if (this.pausedForChain) {
      this.pausedForChain = false;
      this.socket.resume();
    }
    if (!this.closeAfterFlush && !this.yielded) this.run();
  }

  /** CLIENT KILL: read nothing more, and close once the replies owed are written. */
  kill(): void {
    if (this.closeAfterFlush) return;
    this.closeAfterFlush = true;
    if (!this.socket.isPaused()) this.socket.pause();
    this.flush();
  }

  onReply(kind: number, seq: number, payload: Buffer): void {
    if (this.router.onReply(kind, seq, payload)) this.flush();
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
