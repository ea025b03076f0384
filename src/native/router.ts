/**
 * The native protocol's routing for one conversation, shared by the acceptor's TCP connections, the
 * gateway's WebSockets, the embedded cache and the server's internal conversations (replication).
 */
import { NATIVE_WRITES } from '../commands/table.js';
import { MessageKind } from '../hop/kinds.js';
import { failureCode, failureMessage } from '../hop/failure.js';
import { CairnError, ErrorCode } from '../errors.js';
import { encodeReply, errorReply, FrameError, FrameReader, REPLY_HEADER_SIZE, type RequestFrame, Status } from './frame.js';
import { Opcode } from './opcodes.js';
import { callIsWrite } from './call-spec.js';
import { createUnpackr, utf8Encode } from '../msgpack.js';
import type { ChannelBus, ChannelSubscriber } from '../pubsub/bus.js';
import { PUSH_MESSAGE, PUSH_PMESSAGE } from '../events/codes.js';
import { mergeBroadcastReplies } from './merge.js';
import { NativeSession, ROUTE_BROADCAST, ROUTE_CLOSE, ROUTE_EVENTS, type ServerInfo } from './session.js';
import type { EventSubscriber, SubscriptionHub } from '../events/hub.js';
import type { ShardSender } from '../front/shard-backend.js';

/** A connection that can be a replica of this primary (src/replication/backlog.ts). */
export interface ReplicaPeer {
  pushEvent(frame: Uint8Array): void;
  /** the peer's address, for ROLE / INFO */
  readonly peer: string;
  /** end the connection (test hook REPL-CUT) */
  cut(): void;
}

/** The primary side of replication (REPLSYNC / REPLACK), src/replication/backlog.ts's ReplSource. */
export interface ReplHandler {
  handle(peer: ReplicaPeer, opcode: number, requestId: number, args: unknown[]): Uint8Array[];
  drop(peer: ReplicaPeer): void;
}

interface Broadcast {
  opcode: number;
  requestId: number;
  replies: Uint8Array[];
  /** shards yet to answer */
  remaining: number;
  /** the first FAILURE a shard answered, which the broadcast's reply carries */
  failure: Uint8Array | null;
}

/** Where a native router's replies go: a socket, or an in-process client. */
export interface NativeSink {
  write(bytes: Uint8Array): void;
  /** unasked bytes (key events, channel messages, replication records); write() when absent */
  push?(bytes: Uint8Array): void;
  /** the peer broke the protocol: end the conversation after what was written */
  end(): void;
  /** drop the conversation at once (test hook REPL-CUT); end() when absent */
  destroy?(): void;
}

/**
 * The native protocol's routing for one conversation. Routed frames go to their shard whole, with
 * the request id as the message's sequence number; replies carry their own request id, so they are
 * written as they come. Broadcasts are merged here.
 */
export class NativeRouter implements EventSubscriber, ChannelSubscriber, ReplicaPeer {
  inFlight = 0;
  /** the peer's address (ROLE / INFO replication on a primary) */
  peer = '';
  /** this thread's replication source (REPLSYNC / REPLACK); set by the acceptor */
  repl: ReplHandler | null = null;
  /** replication status for the STATS reply; set by the acceptor */
  replicationStats: (() => unknown) | null = null;
  eventStamp = 0;
  /** frames routed to shards so far */
  commands = 0;
  /**
   * Asked before each frame is taken: may one more request go to a shard now? When it says no, the
   * frames already received wait in the reader until `resume()`. Null: always (the embedded cache).
   */
  admit: (() => boolean) | null = null;
  private readonly reader: FrameReader;
  /** bytes of an incomplete frame held */
  get buffered(): number {
    return this.reader.buffered;
  }
  private readonly session: NativeSession;
  private readonly broadcasts = new Map<number, Broadcast>();
  private closing = false;

  constructor(
    readonly id: number,
    private readonly backend: ShardSender,
    info: ServerInfo,
    private readonly sink: NativeSink,
    /** this thread's subscriptions; without one, SUBSCRIBE is an unknown command */
    private readonly events: SubscriptionHub | null = null,
    /** this thread's channel bus; without one, PUBLISH and channel subscriptions are refused */
    private readonly bus: ChannelBus | null = null,
    /** a read-only replica: write opcodes are refused with CAIRN_ERR_READONLY while this answers true */
    private readonly readOnly: (() => boolean) | null = null,
  ) {
    this.reader = new FrameReader({ maxFrame: info.limits?.maxFrame, maxKey: info.limits?.maxKey });
    this.session = new NativeSession(info);
  }

  onData(chunk: Uint8Array): void {
    if (this.closing) return;
    this.reader.feed(chunk);
    this.run();
  }

  /** Go on with the frames held back while `admit` said no. */
  resume(): void {
    if (!this.closing) this.run();
  }

  private run(): void {
    const backend = this.backend;
    const admit = this.admit;
    for (;;) {
      if (admit !== null && !admit()) break;
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
      if ((route >= 0 || route === ROUTE_BROADCAST) && this.readOnly !== null && mayWrite(frame!.opcode) && this.readOnly() && isWrite(frame!)) {
        this.sink.write(errorReply(frame!.requestId, ErrorCode.READONLY, "You can't write against a read only replica."));
        continue;
      }
      if (route >= 0) {
        this.inFlight++;
        this.commands++;
        backend.send(route, MessageKind.NATIVE, this.id, frame!.requestId, frame!.bytes);
      } else if (route === ROUTE_BROADCAST) {
        // the ring's seq of a broadcast is its request id, as a routed request's is: a FAILURE then
        // names one request whichever kind it was sent as (ids are unique while outstanding)
        const seq = frame!.requestId;
        this.broadcasts.set(seq, { opcode: frame!.opcode, requestId: seq, replies: [], remaining: backend.shards, failure: null });
        this.inFlight++;
        this.commands++;
        for (let s = 0; s < backend.shards; s++) backend.send(s, MessageKind.NATIVE_BROADCAST, this.id, seq, frame!.bytes);
      } else if (route === ROUTE_EVENTS) {
        const args = this.session.args;
        if (frame!.opcode === Opcode.REPLSYNC || frame!.opcode === Opcode.REPLACK) {
          if (!this.repl) this.sink.write(errorReply(frame!.requestId, ErrorCode.UNKNOWN_COMMAND, 'replication is not available on this connection'));
          else for (const out of this.repl.handle(this, frame!.opcode, frame!.requestId, args)) this.sink.write(out);
          continue;
        }
        const unsubscribeAll = frame!.opcode === Opcode.UNSUBSCRIBE && (args.length === 0 || args[0] === null || args[0] === undefined);
        if (unsubscribeAll) this.bus?.drop(this);
        if (frame!.opcode === Opcode.PUBLISH || isChannelFilter(args[0]) || (unsubscribeAll && !this.events)) {
          this.sink.write(this.channelCommand(frame!.opcode, frame!.requestId, args));
          continue;
        }
        this.sink.write(
          this.events
            ? this.events.handle(this, frame!.opcode, frame!.requestId, args)
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
      if (--b.remaining === 0) this.broadcastDone(b);
    } else if (kind === MessageKind.FAILURE) {
      const b = this.broadcasts.get(seq);
      if (b !== undefined) {
        // one shard's failure fails the broadcast, answered once every shard has answered
        b.failure ??= payload;
        if (--b.remaining === 0) this.broadcastDone(b);
        return;
      }
      this.inFlight--;
      this.sink.write(errorReply(seq, failureCode(payload), `shard failed: ${failureMessage(payload)}`));
    }
  }

  private broadcastDone(b: Broadcast): void {
    this.broadcasts.delete(b.requestId);
    this.inFlight--;
    if (b.failure !== null) {
      this.sink.write(errorReply(b.requestId, failureCode(b.failure), `shard failed: ${failureMessage(b.failure)}`));
      return;
    }
    const merged = mergeBroadcastReplies(b.opcode, b.requestId, b.replies);
    this.sink.write(b.opcode === Opcode.STATS && this.replicationStats ? withReplication(merged, this.replicationStats()) : merged);
  }

  pushEvent(frame: Uint8Array): void {
    if (!this.closing) this.unasked(frame);
  }

  private unasked(bytes: Uint8Array): void {
    if (this.sink.push) this.sink.push(bytes);
    else this.sink.write(bytes);
  }

  pushMessage(pattern: Buffer | null, channel: Buffer, message: Buffer): void {
    if (this.closing) return;
    this.unasked(encodeReply(Status.PUSH, 0, pattern === null ? [PUSH_MESSAGE, channel, message] : [PUSH_PMESSAGE, pattern, channel, message]));
  }

  /**
   * PUBLISH, and SUBSCRIBE / UNSUBSCRIBE of `{channel}` or `{pattern}`: the reply frame. An
   * UNSUBSCRIBE with no arguments ends channel subscriptions too, and its reply (written by the
   * caller, from the key-event hub when there is one) counts the key subscriptions left.
   */
  private channelCommand(opcode: number, requestId: number, args: unknown[]): Uint8Array {
    const bus = this.bus;
    if (!bus) return errorReply(requestId, ErrorCode.UNKNOWN_COMMAND, 'channels are not available on this connection');
    if (opcode === Opcode.PUBLISH) {
      const channel = asBytes(args[0]);
      const message = asBytes(args[1]);
      if (!channel || !message || args.length !== 2) {
        return errorReply(requestId, ErrorCode.BAD_ARGUMENT, 'PUBLISH takes [channel, message] (bytes or str)');
      }
      return encodeReply(Status.OK, requestId, bus.publish(channel, message));
    }
    if (args.length === 0) {
      bus.drop(this);
      return encodeReply(Status.OK, requestId, 0);
    }
    const o = args[0] as Record<string, unknown>;
    for (const field of Object.keys(o)) {
      if (field !== 'channel' && field !== 'pattern') return errorReply(requestId, ErrorCode.BAD_ARGUMENT, `unknown option ${field} with a channel or pattern`);
    }
    const pattern = o.pattern !== undefined && o.pattern !== null;
    const name = asBytes(pattern ? o.pattern : o.channel);
    if (!name || (o.channel !== undefined && o.channel !== null && pattern)) {
      return errorReply(requestId, ErrorCode.BAD_ARGUMENT, 'exactly one of channel or pattern (bytes or str)');
    }
    const count = opcode === Opcode.SUBSCRIBE ? bus.subscribe(this, name, pattern) : bus.unsubscribe(this, name, pattern);
    return encodeReply(Status.OK, requestId, count);
  }

  /** End the conversation (test hook REPL-CUT on a primary). */
  cut(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.sink.destroy) this.sink.destroy();
    else this.sink.end();
  }

  /** The conversation is over: forget its subscriptions. */
  close(): void {
    this.closing = true;
    this.repl?.drop(this);
    this.events?.drop(this);
    this.bus?.drop(this);
  }
}

function mayWrite(opcode: number): boolean {
  return NATIVE_WRITES[opcode] === 1 || opcode === Opcode.CALL;
}

/** a write opcode, or CALL naming a write command (the command table's flag; its body read only on a read-only replica) */
function isWrite(frame: RequestFrame): boolean {
  return NATIVE_WRITES[frame.opcode] === 1 || (frame.opcode === Opcode.CALL && callIsWrite(frame.bytes, frame.bodyOffset));
}

function asBytes(value: unknown): Buffer | null {
  if (typeof value === 'string') return Buffer.from(utf8Encode(value));
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

/** `{channel}` or `{pattern}`: a channel subscription rather than a key-event one */
function isChannelFilter(arg: unknown): boolean {
  if (!arg || typeof arg !== 'object' || arg instanceof Uint8Array || Array.isArray(arg)) return false;
  const o = arg as Record<string, unknown>;
  return (o.channel !== undefined && o.channel !== null) || (o.pattern !== undefined && o.pattern !== null);
}

const statsUnpackr = createUnpackr(false);

/** A STATS reply with the acceptor's replication status added beside the shards' figures. */
function withReplication(reply: Uint8Array, replication: unknown): Uint8Array {
  if (reply[4] !== Status.OK) return reply;
  const body = statsUnpackr.unpack(reply, { start: REPLY_HEADER_SIZE, end: reply.length }) as Record<string, unknown>;
  return encodeReply(Status.OK, ((reply[5] << 24) | (reply[6] << 16) | (reply[7] << 8) | reply[8]) >>> 0, { ...body, replication });
}

/**
 * The far end of an in-process conversation, shaped as the SDK's Transport (src/client/transport.ts)
 * so that a CairnClient can use it; declared here so that the front does not import the SDK.
 */
export interface RouterPipe {
  connect(): Promise<void>;
  write(bytes: Uint8Array): void;
  onData(listener: (chunk: Uint8Array) => void): void;
  onClose(listener: (error?: Error) => void): void;
  close(): void;
}

/**
 * A client transport whose far end is a NativeRouter in this process instead of a socket (the
 * embedded cache, and the server's own internal conversations). `make` builds the router around the
 * sink given; `release` runs once when the conversation ends, by either side.
 */
export function routerTransport(
  make: (sink: NativeSink) => NativeRouter,
  brokeMessage: string,
  release: (router: NativeRouter, byClient: boolean) => void = () => undefined,
): RouterPipe {
  let dataListener: (chunk: Uint8Array) => void = () => undefined;
  let closeListener: (error?: Error) => void = () => undefined;
  let open = true;
  const router: NativeRouter = make({
    write: (bytes) => {
      if (open) dataListener(bytes);
    },
    end: () => {
      if (!open) return;
      open = false;
      release(router, false);
      closeListener(new CairnError(ErrorCode.BAD_FRAME, brokeMessage));
    },
  });
  return {
    connect: async () => undefined,
    write: (bytes) => router.onData(bytes),
    onData: (listener) => {
      dataListener = listener;
    },
    onClose: (listener) => {
      closeListener = listener;
    },
    close: () => {
      if (!open) return;
      open = false;
      release(router, true);
      closeListener();
    },
  };
}
