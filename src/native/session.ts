/**
 * The acceptor's per-connection protocol state: the handshake, auth, the commands it answers itself
 * (hello, ping, auth), and the routing decision for every other frame. One call per frame, no
 * allocation on the routed path:
 *
 *   const target = session.route(frame);
 *   if (target >= 0)                      → move frame.bytes to shard `target`
 *   else if (target === ROUTE_BROADCAST)  → send to every shard, then mergeBroadcastReplies()
 *   else if (target === ROUTE_REPLY)      → write session.reply; go on
 *   else if (target === ROUTE_EVENTS)     → the event hub runs (UN)SUBSCRIBE with session.args
 *   else (ROUTE_CLOSE)                    → write session.reply, then close the connection
 */
import { ErrorCode } from '../errors.js';
import { passwordMatches } from '../front/auth.js';
import { shardOf } from '../hash.js';
import { createUnpackr, utf8Encode } from '../msgpack.js';
import { encodeReply, errorReply, type FrameError, frameErrorReply, type RequestFrame, Status } from './frame.js';
import { scanCursorShard } from './merge.js';
import { DEFAULT_LIMITS, Opcode, OPCODE_CLASS, OpClassCode, OPCODE_NAME, PROTOCOL_VERSION, type Limits } from './opcodes.js';

export const ROUTE_BROADCAST = -1;
export const ROUTE_REPLY = -2;
export const ROUTE_CLOSE = -3;
/** SUBSCRIBE / UNSUBSCRIBE / PUBLISH: the connection's event hub or channel bus answers, with `session.args` */
export const ROUTE_EVENTS = -4;

export interface ServerInfo {
  /** cairn's package version, e.g. '0.1.0'. */
  serverVersion: string;
  shards: number;
  /** when set, HELLO (or AUTH) must present it before any other command. */
  password?: string | null;
  limits?: Partial<Limits>;
}

export interface HelloReply {
  version: number;
  server: 'cairn';
  serverVersion: string;
  shards: number;
  /**
   * How the server routes a key to its shard: 'tags' (a key's hash tag alone, src/hash.ts's
   * shardOf). Servers before hash tags leave it out: they hash every key whole.
   */
  keyHash: 'tags';
  limits: Limits;
}

/** The HELLO reply body for this server. */
export function helloReply(info: ServerInfo): HelloReply {
  return {
    version: PROTOCOL_VERSION,
    server: 'cairn',
    serverVersion: info.serverVersion,
    shards: info.shards,
    keyHash: 'tags',
    limits: { ...DEFAULT_LIMITS, ...info.limits },
  };
}

const unpackr = createUnpackr(false);

export class NativeSession {
  /** the reply to write when route() returned ROUTE_REPLY or ROUTE_CLOSE. */
  reply: Uint8Array | null = null;
  /** the client's name from HELLO, for logs. */
  name: string | null = null;
  handshaken = false;
  authenticated: boolean;
  /** the decoded arguments when route() returned ROUTE_EVENTS */
  args: unknown[] = [];
  private readonly shards: number;
  private readonly secret: Uint8Array | null;
  private readonly hello: Uint8Array;

  constructor(info: ServerInfo) {
    this.shards = info.shards;
    this.secret = info.password ? utf8Encode(info.password) : null;
    this.authenticated = this.secret === null;
    this.hello = encodeReply(Status.OK, 0, helloReply(info)).subarray(9);
  }

  route(frame: RequestFrame): number {
    const opcode = frame.opcode;
    const cls = OPCODE_CLASS[opcode];
    if (!this.handshaken && opcode !== Opcode.HELLO) {
      return this.fail(ROUTE_CLOSE, frame.requestId, ErrorCode.PROTOCOL_VERSION, 'the first frame must be HELLO');
    }
    if (cls === OpClassCode.LOCAL) return this.local(frame);
    if (!this.authenticated) {
      return this.fail(ROUTE_REPLY, frame.requestId, ErrorCode.AUTH, 'authentication required: send AUTH with the password');
    }
    switch (cls) {
      case OpClassCode.ROUTED:
      case OpClassCode.MULTI:
        return shardOf(frame.bytes, this.shards, frame.keyStart, frame.keyEnd);
      case OpClassCode.BROADCAST:
        return ROUTE_BROADCAST;
      case OpClassCode.CURSOR: {
        const shard = scanCursorShard(frame.bytes, frame.keyStart, frame.keyEnd, this.shards);
        if (shard >= 0) return shard;
        return this.fail(ROUTE_REPLY, frame.requestId, ErrorCode.BAD_ARGUMENT, 'malformed scan cursor: use "0" or a cursor a scan returned');
      }
      default:
        return this.fail(ROUTE_REPLY, frame.requestId, ErrorCode.UNKNOWN_COMMAND, `unknown opcode 0x${opcode.toString(16).padStart(2, '0')}`);
    }
  }

  /** The reply for a FrameError from the FrameReader: ROUTE_CLOSE when framing is lost, else ROUTE_REPLY. */
  frameError(err: FrameError): number {
    this.reply = frameErrorReply(err);
    return err.fatal ? ROUTE_CLOSE : ROUTE_REPLY;
  }

  private fail(route: number, requestId: number, code: string, message: string): number {
    this.reply = errorReply(requestId, code, message);
    return route;
  }

  private local(frame: RequestFrame): number {
    const id = frame.requestId;
    let args: unknown;
    try {
      args = frame.bodyOffset === frame.bytes.length ? [] : unpackr.unpack(frame.bytes, { start: frame.bodyOffset, end: frame.bytes.length });
    } catch (err) {
      const route = this.handshaken ? ROUTE_REPLY : ROUTE_CLOSE;
      return this.fail(route, id, ErrorCode.BAD_FRAME, `undecodable ${OPCODE_NAME[frame.opcode]} arguments: ${(err as Error).message}`);
    }
    if (!Array.isArray(args)) {
      return this.fail(this.handshaken ? ROUTE_REPLY : ROUTE_CLOSE, id, ErrorCode.BAD_FRAME, 'the arguments must be a msgpack array');
    }
    switch (frame.opcode) {
      case Opcode.HELLO: {
        const opts = args[0] as { version?: unknown; password?: unknown; name?: unknown } | undefined;
        if (!opts || typeof opts !== 'object') {
          return this.fail(ROUTE_CLOSE, id, ErrorCode.PROTOCOL_VERSION, 'HELLO takes [{version, password?, name?}]');
        }
        if (opts.version !== PROTOCOL_VERSION) {
          return this.fail(
            ROUTE_CLOSE,
            id,
            ErrorCode.PROTOCOL_VERSION,
            `this server speaks native protocol version ${PROTOCOL_VERSION}, the client asked for ${String(opts.version)}`,
          );
        }
        this.handshaken = true;
        if (typeof opts.name === 'string') this.name = opts.name.slice(0, 128);
        if (this.secret) {
          if (opts.password === undefined || opts.password === null) {
            this.authenticated = false;
            return this.fail(ROUTE_REPLY, id, ErrorCode.AUTH, 'this server requires a password');
          }
          if (!this.checkPassword(opts.password)) {
            this.authenticated = false;
            return this.fail(ROUTE_REPLY, id, ErrorCode.AUTH, 'wrong password');
          }
          this.authenticated = true;
        }
        this.reply = this.helloFrame(id);
        return ROUTE_REPLY;
      }
      case Opcode.AUTH: {
        if (!this.secret) {
          this.reply = encodeReply(Status.OK, id, true);
          return ROUTE_REPLY;
        }
        if (!this.checkPassword(args[0])) {
          this.authenticated = false;
          return this.fail(ROUTE_REPLY, id, ErrorCode.AUTH, 'wrong password');
        }
        this.authenticated = true;
        this.reply = encodeReply(Status.OK, id, true);
        return ROUTE_REPLY;
      }
      case Opcode.SUBSCRIBE:
      case Opcode.UNSUBSCRIBE:
      case Opcode.PUBLISH:
      case Opcode.REPLSYNC:
      case Opcode.REPLACK: {
        if (!this.authenticated) {
          return this.fail(ROUTE_REPLY, id, ErrorCode.AUTH, 'authentication required: send AUTH with the password');
        }
        this.args = args;
        return ROUTE_EVENTS;
      }
      case Opcode.PING: {
        if (!this.authenticated) {
          return this.fail(ROUTE_REPLY, id, ErrorCode.AUTH, 'authentication required: send AUTH with the password');
        }
        this.reply = encodeReply(Status.OK, id, args.length > 0 ? args[0] : 'PONG');
        return ROUTE_REPLY;
      }
      default:
        return this.fail(ROUTE_REPLY, id, ErrorCode.UNKNOWN_COMMAND, `unknown local opcode ${frame.opcode}`);
    }
  }

  private checkPassword(presented: unknown): boolean {
    if (!this.secret) return true;
    let bytes: Uint8Array;
    if (typeof presented === 'string') bytes = utf8Encode(presented);
    else if (presented instanceof Uint8Array) bytes = presented;
    else return false;
    return passwordMatches(bytes, this.secret);
  }

  private helloFrame(requestId: number): Uint8Array {
    const frame = new Uint8Array(9 + this.hello.length);
    const length = frame.length - 4;
    frame[0] = length >>> 24;
    frame[1] = length >>> 16;
    frame[2] = length >>> 8;
    frame[3] = length;
    frame[4] = Status.OK;
    frame[5] = requestId >>> 24;
    frame[6] = requestId >>> 16;
    frame[7] = requestId >>> 8;
    frame[8] = requestId;
    frame.set(this.hello, 9);
    return frame;
  }
}
