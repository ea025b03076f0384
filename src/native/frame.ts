/**
 * Native protocol framing (docs/protocol.md, "Framing").
 *
 * Request: u32 BE length of the rest | u8 opcode | u32 BE request id | u32 BE route-key length K |
 *          K bytes route key | msgpack array of the remaining arguments.
 * Reply:   u32 BE length of the rest | u8 status | u32 BE request id | msgpack body.
 *
 * The readers split a byte stream into frames without decoding bodies and without allocating
 * per frame beyond the views they hand out: a frame lying whole inside one chunk is viewed in
 * place; only a frame split across chunks is gathered into the reader's own buffer.
 */
import { ErrorCode, type ErrorCode as ErrorCodeType } from '../errors.js';
import { createPackr, EMPTY_ARRAY_BODY } from '../msgpack.js';
import { DEFAULT_LIMITS } from './opcodes.js';

/** length prefix + opcode + request id + route-key length */
export const REQUEST_HEADER_SIZE = 13;
/** length prefix + status + request id */
export const REPLY_HEADER_SIZE = 9;
/** smallest legal value of a request's length field (opcode, id, key length; empty key, empty body). */
export const MIN_REQUEST_LENGTH = REQUEST_HEADER_SIZE - 4;
export const MIN_REPLY_LENGTH = REPLY_HEADER_SIZE - 4;

export const Status = {
  OK: 0,
  ERROR: 1,
  PUSH: 2,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/**
 * A malformed frame. `fatal`: framing is lost (the length field cannot be trusted), so the
 * connection must close after an error reply with request id 0; otherwise only this request is
 * bad: reply with an error to `requestId` and go on reading.
 */
export class FrameError extends Error {
  readonly code: ErrorCodeType;
  readonly fatal: boolean;
  readonly requestId: number;
  readonly opcode: number;
  constructor(code: ErrorCodeType, message: string, fatal: boolean, requestId = 0, opcode = 0) {
    super(message);
    this.name = 'FrameError';
    this.code = code;
    this.fatal = fatal;
    this.requestId = requestId;
    this.opcode = opcode;
  }
}

const EMPTY = new Uint8Array(0);
/** above this, the gathering buffer is dropped once empty rather than kept for the next frame. */
const KEEP_BUFFER_BYTES = 256 * 1024;

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/**
 * Splits a stream into length-prefixed frames. Subclasses parse the header. Views handed out stay
 * valid until the next call to feed() or next().
 */
abstract class Splitter {
  readonly maxFrame: number;
  protected src: Uint8Array = EMPTY;
  protected pos = 0;
  protected end = 0;
  private own: Uint8Array = EMPTY;
  private broken: FrameError | null = null;

  constructor(maxFrame: number) {
    this.maxFrame = maxFrame;
  }

  /** bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.end - this.pos;
  }

  feed(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.pos === this.end) {
      this.src = chunk;
      this.pos = 0;
      this.end = chunk.length;
      return;
    }
    const left = this.end - this.pos;
    const need = left + chunk.length;
    if (this.src !== this.own || this.pos !== 0 || this.own.length < need) {
      let target = this.own;
      if (target.length < need) {
        target = new Uint8Array(Math.max(need, Math.min(this.own.length * 2, this.maxFrame + 4), 4096));
      }
      if (this.src === target) target.copyWithin(0, this.pos, this.end);
      else target.set(this.src.subarray(this.pos, this.end), 0);
      this.own = target;
      this.src = target;
      this.pos = 0;
      this.end = left;
    }
    this.own.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The total size (prefix included) of the complete frame at pos, or -1 when more bytes are needed. */
  protected frameSize(minLength: number, kind: string): number {
    if (this.broken) throw this.broken;
    const avail = this.end - this.pos;
    if (avail < 4) return this.stash();
    const length = readU32(this.src, this.pos);
    if (length > this.maxFrame) {
      throw (this.broken = new FrameError(ErrorCode.FRAME_TOO_LARGE, `${kind} frame of ${length} bytes exceeds the limit of ${this.maxFrame}`, true));
    }
    if (length < minLength) {
      throw (this.broken = new FrameError(ErrorCode.BAD_FRAME, `${kind} frame length ${length} is shorter than its ${minLength}-byte header`, true));
    }
    if (avail < length + 4) return this.stash();
    return length + 4;
  }

  /** Keep the unread tail in our own buffer, since the chunk it lies in may be reused by the caller. */
  private stash(): number {
    const left = this.end - this.pos;
    if (left === 0) {
      this.src = EMPTY;
      this.pos = this.end = 0;
      if (this.own.length > KEEP_BUFFER_BYTES) this.own = EMPTY;
      return -1;
    }
    if (this.src === this.own) {
      if (this.pos !== 0) this.own.copyWithin(0, this.pos, this.end);
    } else {
      if (this.own.length < left) this.own = new Uint8Array(Math.max(left * 2, 4096));
      this.own.set(this.src.subarray(this.pos, this.end), 0);
      this.src = this.own;
    }
    this.pos = 0;
    this.end = left;
    return -1;
  }
}

/** One request frame, as the acceptor sees it. The object is reused for every frame of a reader. */
export interface RequestFrame {
  /** the whole frame, length prefix included (a view). */
  bytes: Uint8Array;
  opcode: number;
  requestId: number;
  /** route key bounds within `bytes`. */
  keyStart: number;
  keyEnd: number;
  /** offset of the msgpack argument array within `bytes` (== bytes.length when the body is empty). */
  bodyOffset: number;
  /** a view of the route key (allocates a view; route with shardOf(bytes, n, keyStart, keyEnd) instead). */
  readonly routeKey: Uint8Array;
}

class RequestFrameView implements RequestFrame {
  bytes: Uint8Array = EMPTY;
  opcode = 0;
  requestId = 0;
  keyStart = REQUEST_HEADER_SIZE;
  keyEnd = REQUEST_HEADER_SIZE;
  bodyOffset = REQUEST_HEADER_SIZE;
  get routeKey(): Uint8Array {
    return this.bytes.subarray(this.keyStart, this.keyEnd);
  }
}

/**
 * Incremental reader of request frames (the acceptor's and the shard's side).
 * Usage: feed(chunk), then call next() until it returns null. next() throws FrameError: when
 * `fatal`, close the connection; otherwise reply with an error to err.requestId and call next() again.
 */
export class FrameReader extends Splitter {
  private readonly frame = new RequestFrameView();
  private readonly maxKey: number;

  constructor(options: { maxFrame?: number; maxKey?: number } = {}) {
    super(options.maxFrame ?? DEFAULT_LIMITS.maxFrame);
    this.maxKey = options.maxKey ?? DEFAULT_LIMITS.maxKey;
  }

  next(): RequestFrame | null {
    const size = this.frameSize(MIN_REQUEST_LENGTH, 'request');
    if (size < 0) return null;
    const src = this.src;
    const start = this.pos;
    this.pos += size;
    const opcode = src[start + 4];
    const requestId = readU32(src, start + 5);
    const keyLength = readU32(src, start + 9);
    if (keyLength > size - REQUEST_HEADER_SIZE) {
      throw new FrameError(ErrorCode.BAD_FRAME, `route key length ${keyLength} runs past the end of a ${size}-byte frame`, false, requestId, opcode);
    }
    checkRouteKey(keyLength, this.maxKey, requestId, opcode);
    const f = this.frame;
    f.bytes = src.subarray(start, start + size);
    f.opcode = opcode;
    f.requestId = requestId;
    f.keyStart = REQUEST_HEADER_SIZE;
    f.keyEnd = REQUEST_HEADER_SIZE + keyLength;
    f.bodyOffset = f.keyEnd;
    return f;
  }
}

/** One reply frame, as the client sees it. Reused per reader. */
export interface ReplyFrame {
  bytes: Uint8Array;
  status: number;
  requestId: number;
  /** offset of the msgpack body within `bytes`. */
  bodyOffset: number;
}

/** Incremental reader of reply frames (the client's side). Every FrameError it throws is fatal. */
export class ReplyReader extends Splitter {
  private readonly frame: ReplyFrame = { bytes: EMPTY, status: 0, requestId: 0, bodyOffset: REPLY_HEADER_SIZE };

  constructor(options: { maxFrame?: number } = {}) {
    // replies carry whole values (mget of many), so the client accepts more than the server's request limit
    super(options.maxFrame ?? 256 * 1024 * 1024);
  }

  next(): ReplyFrame | null {
    const size = this.frameSize(MIN_REPLY_LENGTH, 'reply');
    if (size < 0) return null;
    const start = this.pos;
    this.pos += size;
    const f = this.frame;
    f.bytes = this.src.subarray(start, start + size);
    f.status = this.src[start + 4];
    f.requestId = readU32(this.src, start + 5);
    f.bodyOffset = REPLY_HEADER_SIZE;
    return f;
  }
}

/**
 * The route-key rule of every request reader, the acceptor's (FrameReader) and a shard's
 * (parseRequestFrame, which must answer whatever reaches it): at most `maxKey` bytes, else a
 * non-fatal KEY_TOO_LARGE for this request.
 */
export function checkRouteKey(keyLength: number, maxKey: number, requestId: number, opcode: number): void {
  if (keyLength > maxKey) {
    throw new FrameError(ErrorCode.KEY_TOO_LARGE, `key of ${keyLength} bytes exceeds the limit of ${maxKey}`, false, requestId, opcode);
  }
}

/** Parse the header of one complete request frame (as handed to a shard). Throws a non-fatal FrameError. */
export function parseRequestFrame(bytes: Uint8Array, maxKey: number = DEFAULT_LIMITS.maxKey): RequestFrame {
  if (bytes.length < REQUEST_HEADER_SIZE) {
    throw new FrameError(ErrorCode.BAD_FRAME, `request frame of ${bytes.length} bytes is shorter than its header`, true);
  }
  const length = readU32(bytes, 0);
  const opcode = bytes[4];
  const requestId = readU32(bytes, 5);
  if (length + 4 !== bytes.length) {
    throw new FrameError(ErrorCode.BAD_FRAME, `frame length field ${length} does not match ${bytes.length - 4} bytes`, false, requestId, opcode);
  }
  const keyLength = readU32(bytes, 9);
  if (keyLength > bytes.length - REQUEST_HEADER_SIZE) {
    throw new FrameError(ErrorCode.BAD_FRAME, `route key length ${keyLength} runs past the end of the frame`, false, requestId, opcode);
  }
  checkRouteKey(keyLength, maxKey, requestId, opcode);
  const f = new RequestFrameView();
  f.bytes = bytes;
  f.opcode = opcode;
  f.requestId = requestId;
  f.keyEnd = REQUEST_HEADER_SIZE + keyLength;
  f.bodyOffset = f.keyEnd;
  return f;
}

// ---- encoding ----------------------------------------------------------------------------------

const packr = createPackr();
// msgpackr's RESERVE_START_SPACE flag (2048) plus the byte count: room for the reply header in the
// buffer the body is packed into, so a reply needs no second copy.
const RESERVE_REPLY_HEADER = 2048 | REPLY_HEADER_SIZE;

/** A complete reply frame carrying `value` msgpack-encoded. The returned bytes are not reused. */
export function encodeReply(status: number, requestId: number, value: unknown): Uint8Array {
  const frame = packr.pack(value, RESERVE_REPLY_HEADER) as Uint8Array;
  writeU32(frame, 0, frame.length - 4);
  frame[4] = status;
  writeU32(frame, 5, requestId);
  return frame;
}

/** A complete reply frame around an already-encoded body. */
export function encodeReplyRaw(status: number, requestId: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(REPLY_HEADER_SIZE + body.length);
  writeU32(frame, 0, frame.length - 4);
  frame[4] = status;
  writeU32(frame, 5, requestId);
  frame.set(body, REPLY_HEADER_SIZE);
  return frame;
}

export function errorReply(requestId: number, code: string, message: string): Uint8Array {
  return encodeReply(Status.ERROR, requestId, [code, message]);
}

/** Reply frame for a FrameError (request id 0 when framing was lost). */
export function frameErrorReply(err: FrameError): Uint8Array {
  return errorReply(err.fatal ? 0 : err.requestId, err.code, err.message);
}

/** Encode the msgpack body of a request (its argument array). */
export function encodeArgs(args: readonly unknown[] | null | undefined): Uint8Array {
  if (!args || args.length === 0) return EMPTY_ARRAY_BODY;
  return packr.pack(args) as Uint8Array;
}

/** A complete request frame (for tests, tools and the shard's unit tests; the SDK batches its own). */
export function encodeRequest(opcode: number, requestId: number, routeKey: Uint8Array, args?: readonly unknown[] | null): Uint8Array {
  const body = encodeArgs(args);
  const frame = new Uint8Array(REQUEST_HEADER_SIZE + routeKey.length + body.length);
  writeU32(frame, 0, frame.length - 4);
  frame[4] = opcode;
  writeU32(frame, 5, requestId);
  writeU32(frame, 9, routeKey.length);
  frame.set(routeKey, REQUEST_HEADER_SIZE);
  frame.set(body, REQUEST_HEADER_SIZE + routeKey.length);
  return frame;
}

/**
 * Appends request frames into one growing buffer: the SDK's auto-pipelining batch. take() hands
 * the batch out and starts a new one.
 */
export class RequestWriter {
  private buf: Uint8Array;
  private len = 0;
  private readonly encoder = new TextEncoder();

  constructor(initialSize = 16 * 1024) {
    this.buf = new Uint8Array(initialSize);
  }

  get length(): number {
    return this.len;
  }

  private reserve(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Append one request; `body` is an encoded argument array (see encodeArgs). Returns the frame's size. */
  write(opcode: number, requestId: number, routeKey: string | Uint8Array, body: Uint8Array): number {
    const start = this.len;
    let keyLength: number;
    if (typeof routeKey === 'string') {
      // a UTF-8 encoding takes at most 3 bytes per UTF-16 unit
      this.reserve(REQUEST_HEADER_SIZE + routeKey.length * 3 + body.length);
      keyLength = this.encoder.encodeInto(routeKey, this.buf.subarray(start + REQUEST_HEADER_SIZE)).written;
    } else {
      keyLength = routeKey.length;
      this.reserve(REQUEST_HEADER_SIZE + keyLength + body.length);
      this.buf.set(routeKey, start + REQUEST_HEADER_SIZE);
    }
    const b = this.buf;
    const size = REQUEST_HEADER_SIZE + keyLength + body.length;
    writeU32(b, start, size - 4);
    b[start + 4] = opcode;
    writeU32(b, start + 5, requestId);
    writeU32(b, start + 9, keyLength);
    b.set(body, start + REQUEST_HEADER_SIZE + keyLength);
    this.len = start + size;
    return size;
  }

  /** Drop everything written after `length` (a request that turned out too large to send). */
  truncate(length: number): void {
    if (length < this.len) this.len = length;
  }

  /** The batch so far, as a copy the caller owns (a socket may hold it until written); the writer starts over. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    if (this.buf.length > 4 * 1024 * 1024) this.buf = new Uint8Array(16 * 1024);
    return out;
  }
}
