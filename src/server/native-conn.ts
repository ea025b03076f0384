import type { Socket } from 'node:net';
import { MessageKind } from '../hop/kinds.js';
import { ErrorCode } from '../errors.js';
import { errorReply, FrameError, FrameReader } from '../native/frame.js';
import { mergeBroadcastReplies } from '../native/merge.js';
import { NativeSession, ROUTE_BROADCAST, ROUTE_CLOSE, ROUTE_EVENTS, type ServerInfo } from '../native/session.js';
import type { EventSubscriber, SubscriptionHub } from '../events/hub.js';
import type { ShardBackend } from '../shards/backend.js';
import type { Connection, ConnectionContext } from './connection.js';

interface Broadcast {
  opcode: number;
  requestId: number;
  replies: Uint8Array[];
  remaining: number;
}

/** Where a native router's replies go: a socket, or an in-process client. */
export interface NativeSink {
  write(bytes: Uint8Array): void;
  /** the peer broke the protocol: end the conversation after what was written */
  end(): void;
}

/**
 * The native protocol's routing for one conversation. Routed frames go to their shard whole, with
 * the request id as the message's sequence number; replies carry their own request id, so they are
 * written as they come. Broadcasts are merged here. The TCP acceptor and the embedded cache share it.
 */
export class NativeRouter implements EventSubscriber {
  inFlight = 0;
  eventStamp = 0;
  /** frames routed to shards so far */
  commands = 0;
  private readonly reader: FrameReader;
  /** bytes of an incomplete frame held */
  get buffered(): number {
    return this.reader.buffered;
  }
  private readonly session: NativeSession;
  private readonly broadcasts = new Map<number, Broadcast>();
  private nextBroadcast = 1;
  private closing = false;

  constructor(
    readonly id: number,
    private readonly backend: ShardBackend,
    info: ServerInfo,
    private readonly sink: NativeSink,
    /** this thread's subscriptions; without one, SUBSCRIBE is an unknown command */
    private readonly events: SubscriptionHub | null = null,
  ) {
    this.reader = new FrameReader({ maxFrame: info.limits?.maxFrame, maxKey: info.limits?.maxKey });
    this.session = new NativeSession(info);
  }

  onData(chunk: Uint8Array): void {
    if (this.closing) return;
    this.reader.feed(chunk);
    const backend = this.backend;
    for (;;) {
      let route: number;
      let frame;
      try {
        frame = this.reader.next();
        if (frame === null) break;
        route = this.session.route(frame);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        route = this.session.frameError(err);
        frame = null;
      }
      if (route >= 0) {
        this.inFlight++;
        this.commands++;
        backend.send(route, MessageKind.NATIVE, this.id, frame!.requestId, frame!.bytes);
      } else if (route === ROUTE_BROADCAST) {
        const seq = this.nextBroadcast++ >>> 0;
        this.broadcasts.set(seq, { opcode: frame!.opcode, requestId: frame!.requestId, replies: [], remaining: backend.shards });
        this.inFlight++;
        this.commands++;
        for (let s = 0; s < backend.shards; s++) backend.send(s, MessageKind.NATIVE_BROADCAST, this.id, seq, frame!.bytes);
      } else if (route === ROUTE_EVENTS) {
        this.sink.write(
          this.events
            ? this.events.handle(this, frame!.opcode, frame!.requestId, this.session.args)
            : errorReply(frame!.requestId, ErrorCode.UNKNOWN_COMMAND, 'subscriptions are not available on this connection'),
        );
      } else {
        this.sink.write(this.session.reply!);
        if (route === ROUTE_CLOSE) {
          this.closing = true;
          this.sink.end();
          return;
        }
      }
    }
  }

  onReply(kind: number, seq: number, payload: Buffer): void {
    if (kind === MessageKind.NATIVE) {
      this.inFlight--;
      this.sink.write(payload);
    } else if (kind === MessageKind.NATIVE_BROADCAST) {
      const b = this.broadcasts.get(seq);
      if (!b) return;
      b.replies.push(payload);
      if (--b.remaining === 0) {
        this.broadcasts.delete(seq);
        this.inFlight--;
        this.sink.write(mergeBroadcastReplies(b.opcode, b.requestId, b.replies));
      }
    } else if (kind === MessageKind.FAILURE) {
      const b = this.broadcasts.get(seq);
      const requestId = b ? b.requestId : seq;
      if (b) this.broadcasts.delete(seq);
      this.inFlight--;
      this.sink.write(errorReply(requestId, ErrorCode.SHARD_DOWN, `shard failed: ${payload.toString()}`));
    }
  }

  pushEvent(frame: Uint8Array): void {
    if (!this.closing) this.sink.write(frame);
  }

  /** The conversation is over: forget its subscriptions. */
  close(): void {
    this.closing = true;
    this.events?.drop(this);
  }

}

/** A native protocol client on a TCP socket. */
export class NativeConnection implements Connection {
  private readonly router: NativeRouter;
  private commandsSeen = 0;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    info: ServerInfo,
  ) {
    this.router = new NativeRouter(
      id,
      ctx.backend,
      info,
      {
        write: (bytes) => ctx.write(this, bytes),
        end: () => socket.end(),
      },
      ctx.events,
    );
  }

  onClose(): void {
    this.router.close();
  }

  get inFlight(): number {
    return this.router.inFlight;
  }

  get buffered(): number {
    return this.router.buffered;
  }

  onData(chunk: Buffer): void {
    this.router.onData(chunk);
    this.ctx.commands += this.router.commands - this.commandsSeen;
    this.commandsSeen = this.router.commands;
    this.ctx.afterRead(this);
  }

  onReply(kind: number, seq: number, payload: Buffer): void {
    this.router.onReply(kind, seq, payload);
  }
}
