/**
 * The native protocol on the shard: turns one request frame (its msgpack arguments and option maps,
 * validated here with coded errors) into a typed call of the command core (src/commands), and the
 * result or coded failure into a reply frame. It never throws: bad input and store failures come
 * back as ERROR replies carrying a CAIRN_ERR_* code, and the connection goes on.
 */
import * as C from '../commands/index.js';
import { keyCount, tierStats } from '../commands/stats.js';
import { CairnError, ErrorCode, isCairnError } from '../errors.js';
import { shardOf } from '../hash.js';
import type { Entry, SetOptions, ShardStore } from '../store/types.js';
import { createPackr, createUnpackr, utf8Encode } from '../msgpack.js';
import { decodeCollection, TYPE_NAMES } from '../engine/collections/index.js';
import { type CommandRunner, runCall } from './call.js';
import { checkRouteKey, encodeReply, FrameError, parseRequestFrame, REQUEST_HEADER_SIZE, Status } from './frame.js';
import { formatScanCursor, parseScanCursor } from './merge.js';
import { DEFAULT_LIMITS, Opcode, OPCODE_CLASS, OpClassCode, OPCODE_NAME } from './opcodes.js';

export interface ExecuteOptions {
  maxKey?: number;
  maxValue?: number;
  /** the clock for relative TTLs (tests). */
  now?: () => number;
  /** runs a data command for CALL (src/native/call.ts); without it CALL is an unknown command */
  runCommand?: CommandRunner;
}

export interface NativeReply {
  /** Status.OK or Status.ERROR */
  status: number;
  /** the msgpack-encoded reply body */
  body: Uint8Array;
}

// The codes of a key sent to a shard that does not own it, and of an unexpected failure inside the store.
const WRONG_SHARD = ErrorCode.WRONG_SHARD;
const INTERNAL = ErrorCode.INTERNAL;

const MAX_SCAN_COUNT = 100_000;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const unpackr = createUnpackr(true);
const packr = createPackr();
const NO_ARGS: readonly unknown[] = Object.freeze([]);
const utf8 = new TextDecoder();

type Args = readonly unknown[];

function bad(message: string): CairnError {
  return new CairnError(ErrorCode.BAD_ARGUMENT, message);
}

/** One store's context: what every handler needs, made once and reused across frames. */
interface Ctx {
  /** the command core's context; its clock is set per frame */
  cmd: C.CommandContext;
  shard: number;
  shards: number;
  maxKey: number;
  maxValue: number;
  now: () => number;
  runCommand: CommandRunner | null;
}

function bytesArg(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return utf8Encode(value);
  throw bad(`${what} must be bin (or str), got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** a key inside the arguments (MGET, MSET, MDEL): no reader has seen it, so its size is checked here */
function keyArg(ctx: Ctx, value: unknown, what: string): Uint8Array {
  const key = bytesArg(value, what);
  if (key.length > ctx.maxKey) {
    throw new CairnError(ErrorCode.KEY_TOO_LARGE, `key of ${key.length} bytes exceeds the limit of ${ctx.maxKey}`);
  }
  return key;
}

function valueArg(ctx: Ctx, value: unknown, what = 'value'): Uint8Array {
  const bytes = bytesArg(value, what);
  if (bytes.length > ctx.maxValue) {
    throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `${what} of ${bytes.length} bytes exceeds the limit of ${ctx.maxValue}`);
  }
  return bytes;
}

function ownKey(ctx: Ctx, key: Uint8Array): void {
  if (ctx.shards > 1) {
    const owner = shardOf(key, ctx.shards);
    if (owner !== ctx.shard) {
      throw new CairnError(WRONG_SHARD, `key belongs to shard ${owner}, not shard ${ctx.shard} (group multi-key commands by shardOf)`);
    }
  }
}

function intArg(value: unknown, what: string, min: number, max: number): number {
  if (typeof value === 'bigint' && value >= BigInt(min) && value <= BigInt(max)) return Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value)) throw bad(`${what} must be an integer, got ${describe(value)}`);
  if (value < min || value > max) throw bad(`${what} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function optionsArg(value: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw bad(`${what} must be a map, got ${describe(value)}`);
  }
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) throw bad(`unknown ${what} field '${name}' (known: ${allowed.join(', ')})`);
  }
  return value as Record<string, unknown>;
}

/**
 * An expiry spec {ttl} (ms from now) or {expiresAt} (absolute ms, 0 = none); undefined when neither.
 * `positiveTtl`: SET refuses a ttl ≤ 0 (a mistake more often than a delete); EXPIRE allows it.
 */
function expiryOf(ctx: Ctx, opts: Record<string, unknown>, positiveTtl: boolean): number | undefined {
  const hasTtl = opts.ttl !== undefined && opts.ttl !== null;
  const hasAt = opts.expiresAt !== undefined && opts.expiresAt !== null;
  if (hasTtl && hasAt) throw bad('give ttl or expiresAt, not both');
  if (hasTtl) return C.ttlExpiry(intArg(opts.ttl, 'ttl', positiveTtl ? 1 : Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), ctx.cmd.now);
  if (hasAt) return intArg(opts.expiresAt, 'expiresAt', 0, Number.MAX_SAFE_INTEGER);
  return undefined;
}

function meta(entry: Entry | null | undefined): unknown {
  if (!entry) return null;
  if (entry.type) return { value: entry.value, flags: entry.flags, expiresAt: entry.expiresAt, cas: entry.cas, type: entry.type };
  return { value: entry.value, flags: entry.flags, expiresAt: entry.expiresAt, cas: entry.cas };
}

/** a string command's entry, or its coded failure thrown (a key holding a collection) */
function stringOf(e: Entry | null | C.Failure): Entry | null {
  if (e instanceof C.Failure) throw failureError(e);
  return e;
}

function deltaArg(value: unknown): bigint {
  if (value === undefined || value === null) return 1n;
  if (typeof value === 'bigint') {
    if (value < I64_MIN || value > I64_MAX) throw bad('delta must fit a signed 64-bit integer');
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw bad(`delta must be an integer, got ${describe(value)}`);
}

function intReply(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

const SET_FIELDS = ['nx', 'xx', 'ttl', 'expiresAt', 'keepTtl', 'flags', 'cas', 'returnOld', 'type'] as const;
const MSET_FIELDS = ['ttl', 'expiresAt', 'flags', 'type'] as const;
const EXPIRY_FIELDS = ['ttl', 'expiresAt'] as const;
const DEL_FIELDS = ['cas'] as const;

/** the `type` option: 0 (a string, as if absent) or a collection type (1 hash, 2 list, 3 set, 4 zset) */
function typeArg(value: unknown): number {
  return intArg(value, 'type', 0, TYPE_NAMES.length - 1);
}

/**
 * A collection written whole (a replica's copy, an import, a move) must be one the store can keep:
 * its bytes decode as that type, completely (no bytes left over, no member twice: the decoded
 * structure encodes to as many bytes), and it is not empty, since Redis never keeps an empty
 * collection. Checked here, so a bad value is a BAD_ARGUMENT for its key, not a shard failure.
 */
function checkCollection(type: number, value: Uint8Array, what: string): void {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  let size: number;
  let encoded: number;
  try {
    const obj = decodeCollection(type, bytes);
    size = obj.size;
    encoded = obj.encode().length;
  } catch (err) {
    throw bad(`${what} is not a ${TYPE_NAMES[type]}'s encoding: ${(err as Error).message}`);
  }
  if (encoded !== bytes.length)
    throw bad(`${what} is not a ${TYPE_NAMES[type]}'s encoding: ${bytes.length} bytes where the ${TYPE_NAMES[type]} read from them takes ${encoded}`);
  if (size === 0) throw bad(`${what} is an empty ${TYPE_NAMES[type]} (an empty collection is no key)`);
}

function setArgs(ctx: Ctx, key: Uint8Array, value: Uint8Array, raw: unknown): C.SetArgs {
  const opts = optionsArg(raw, SET_FIELDS, 'set option');
  const out: C.SetArgs = { key, value };
  if (opts.nx === true && opts.xx === true) throw bad('nx and xx exclude each other');
  if (opts.nx === true) out.mode = 'nx';
  else if (opts.xx === true) out.mode = 'xx';
  const expiresAt = expiryOf(ctx, opts, true);
  if (opts.keepTtl === true) {
    if (expiresAt !== undefined) throw bad('keepTtl excludes ttl and expiresAt');
    out.keepTtl = true;
  }
  if (expiresAt !== undefined) out.expiresAt = expiresAt;
  if (opts.flags !== undefined && opts.flags !== null) out.flags = intArg(opts.flags, 'flags', 0, 0xffffffff);
  if (opts.cas !== undefined && opts.cas !== null) {
    if (out.mode === 'nx') throw bad('cas excludes nx');
    out.cas = intArg(opts.cas, 'cas', 1, Number.MAX_SAFE_INTEGER);
  }
  if (opts.returnOld === true) out.returnOld = true;
  if (opts.type !== undefined && opts.type !== null) {
    const type = typeArg(opts.type);
    if (type !== 0) {
      // a collection replaces whatever the key holds, whole: there is no version or old value to compare
      if (out.cas !== undefined) throw bad('type excludes cas');
      if (out.returnOld === true) throw bad('type excludes returnOld');
      checkCollection(type, value, 'the value');
      out.type = type;
    }
  }
  return out;
}

function keyList(ctx: Ctx, value: unknown): Uint8Array[] {
  if (!Array.isArray(value)) throw bad(`the key list must be an array, got ${describe(value)}`);
  const keys: Uint8Array[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const key = keyArg(ctx, value[i], `key ${i}`);
    ownKey(ctx, key);
    keys[i] = key;
  }
  return keys;
}

/** a command's coded failure as the native protocol words it */
function failureError(f: C.Failure): CairnError {
  switch (f.fault) {
    case C.Fault.NOT_INTEGER:
      return new CairnError(ErrorCode.NOT_INTEGER, 'the value is not a decimal integer in the signed 64-bit range');
    case C.Fault.OVERFLOW:
      return new CairnError(ErrorCode.OVERFLOW, 'increment or decrement would overflow a signed 64-bit integer');
    case C.Fault.DECREMENT_OVERFLOW:
      return bad('delta out of range for decr');
    default:
      return C.toCairnError(f, f.fault.toLowerCase().replace(/_/g, ' '));
  }
}

function run(ctx: Ctx, opcode: number, key: Uint8Array, args: Args): unknown {
  const cmd = ctx.cmd;
  switch (opcode) {
    case Opcode.GET:
      return stringOf(C.get(cmd, key))?.value ?? null;
    case Opcode.GETMETA:
      // any type: a replica and an export copy collections too (their encoded bytes and type)
      return meta(cmd.store.get(key));
    case Opcode.SET: {
      if (args.length < 1 || args.length > 2) throw bad('SET takes [value, options?]');
      const a = setArgs(ctx, key, valueArg(ctx, args[0]), args[1]);
      const result = C.set(cmd, a);
      if (result.status === 'wrong_type') throw failureError(C.fail(C.Fault.WRONG_TYPE));
      return a.returnOld ? [result.status, result.cas, meta(result.old)] : [result.status, result.cas];
    }
    case Opcode.DEL: {
      const opts = optionsArg(args[0], DEL_FIELDS, 'del option');
      if (opts.cas === undefined || opts.cas === null) return C.del(cmd, [key]) === 1;
      return C.delIfCas(cmd, key, intArg(opts.cas, 'cas', 1, Number.MAX_SAFE_INTEGER));
    }
    case Opcode.EXISTS:
      return C.exists(cmd, [key]) === 1;
    case Opcode.EXPIRE: {
      const expiresAt = expiryOf(ctx, optionsArg(args[0], EXPIRY_FIELDS, 'expiry'), false);
      if (expiresAt === undefined) throw bad('EXPIRE takes [{ttl} or {expiresAt}]');
      // any time at or before now deletes the key (PERSIST removes an expiry)
      return C.expire(cmd, key, expiresAt, C.ExpireIf.ALWAYS);
    }
    case Opcode.PERSIST:
      return C.persist(cmd, key);
    case Opcode.TTL: {
      const at = C.expireTime(cmd, key);
      return args[0] === true ? at : C.msLeft(at, cmd.now);
    }
    case Opcode.TOUCH:
      return meta(C.touch(cmd, key, expiryOf(ctx, optionsArg(args[0], EXPIRY_FIELDS, 'expiry'), false) ?? 0));
    case Opcode.INCR:
    case Opcode.DECR: {
      const delta = deltaArg(args[0]);
      const r = opcode === Opcode.INCR ? C.incrBy(cmd, key, delta) : C.decrBy(cmd, key, delta);
      if (r instanceof C.Failure) throw failureError(r);
      return intReply(r);
    }
    case Opcode.APPEND:
    case Opcode.PREPEND: {
      if (args.length !== 1) throw bad(`${OPCODE_NAME[opcode]} takes [bytes]`);
      const n = C.append(cmd, key, valueArg(ctx, args[0], 'bytes'), opcode === Opcode.PREPEND, true);
      if (n instanceof C.Failure) throw failureError(n);
      return n;
    }
    case Opcode.GETDEL:
      return stringOf(C.getdel(cmd, key))?.value ?? null;
    case Opcode.RESTORE:
      return C.restore(cmd, key);

    case Opcode.MGET: {
      const entries = C.mget(cmd, keyList(ctx, args[0]));
      const out = new Array<Uint8Array | null>(entries.length);
      for (let i = 0; i < entries.length; i++) out[i] = entries[i]?.value ?? null;
      return out;
    }
    case Opcode.MSET: {
      const flat = args[0];
      if (!Array.isArray(flat) || flat.length % 2 !== 0) throw bad('MSET takes [[key, value, key, value, ...], options?]');
      const opts = optionsArg(args[1], MSET_FIELDS, 'mset option');
      const options: SetOptions = {};
      const expiresAt = expiryOf(ctx, opts, true);
      if (expiresAt !== undefined) options.expiresAt = expiresAt;
      if (opts.flags !== undefined && opts.flags !== null) options.flags = intArg(opts.flags, 'flags', 0, 0xffffffff);
      const type = opts.type === undefined || opts.type === null ? 0 : typeArg(opts.type);
      if (type !== 0) options.type = type;
      // validate the whole batch before writing anything, so a bad item leaves no partial state
      const pairs = new Array<Uint8Array>(flat.length);
      for (let i = 0; i < flat.length; i += 2) {
        const k = keyArg(ctx, flat[i], `key ${i / 2}`);
        ownKey(ctx, k);
        pairs[i] = k;
        pairs[i + 1] = valueArg(ctx, flat[i + 1], `value ${i / 2}`);
        if (type !== 0) checkCollection(type, pairs[i + 1], `value ${i / 2}`);
      }
      return C.mset(cmd, pairs, options);
    }
    case Opcode.MDEL:
      return C.del(cmd, keyList(ctx, args[0]));

    case Opcode.STATS:
      return tierStats(cmd);
    case Opcode.COUNT:
      return keyCount(cmd);
    case Opcode.FLUSH:
      return C.flush(cmd).then(() => true);
    case Opcode.SCAN:
      return scan(ctx, key, args);
    case Opcode.CALL:
      return runCall(ctx, args);
    default:
      throw new CairnError(ErrorCode.UNKNOWN_COMMAND, `opcode 0x${opcode.toString(16).padStart(2, '0')} is not a shard command`);
  }
}

async function scan(ctx: Ctx, key: Uint8Array, args: Args): Promise<unknown> {
  const text = utf8.decode(key);
  const cursor = parseScanCursor(text, ctx.shards);
  if (!cursor) throw bad(`malformed scan cursor '${text.slice(0, 64)}'`);
  if (cursor.shard !== ctx.shard) throw new CairnError(WRONG_SHARD, `scan cursor names shard ${cursor.shard}, not ${ctx.shard}`);
  const count = args[0] === undefined || args[0] === null ? 100 : intArg(args[0], 'count', 1, MAX_SCAN_COUNT);
  const page = await C.scan(ctx.cmd, { cursor: cursor.local, count });
  if (page instanceof C.Failure) throw bad(`bad scan cursor ${cursor.local}`);
  return [formatScanCursor(ctx.shard, page.cursor, ctx.shards), page.keys];
}

function errorBody(err: unknown, shard: number): [string, string] {
  if (isCairnError(err)) return [err.code, err.message];
  if (err instanceof FrameError) return [err.code, err.message];
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'string' && e.code.startsWith('LEVEL_')) return [ErrorCode.DISK, `shard ${shard} disk error: ${message}`];
  return [INTERNAL, `shard ${shard} failed: ${message}`];
}

function decodeArgs(frame: Uint8Array, offset: number): Args {
  if (offset === frame.length) return NO_ARGS;
  if (offset === frame.length - 1 && frame[offset] === 0x90) return NO_ARGS;
  let args: unknown;
  try {
    args = unpackr.unpack(frame, { start: offset, end: frame.length });
  } catch (err) {
    throw new CairnError(ErrorCode.BAD_FRAME, `undecodable arguments: ${(err as Error).message}`);
  }
  if (!Array.isArray(args)) throw new CairnError(ErrorCode.BAD_FRAME, `the arguments must be a msgpack array, got ${describe(args)}`);
  return args;
}

// one context per store, reused across frames while the arguments stay the same (no per-frame object)
const contexts = new WeakMap<ShardStore, { options: ExecuteOptions | undefined; ctx: Ctx }>();

function context(store: ShardStore, shard: number, shards: number, options: ExecuteOptions | undefined): Ctx {
  const cached = contexts.get(store);
  let ctx: Ctx;
  if (cached && cached.options === options && cached.ctx.shard === shard && cached.ctx.shards === shards) {
    ctx = cached.ctx;
  } else {
    const maxValue = options?.maxValue ?? DEFAULT_LIMITS.maxValue;
    ctx = {
      cmd: C.createContext(store, maxValue),
      shard,
      shards,
      maxKey: options?.maxKey ?? DEFAULT_LIMITS.maxKey,
      maxValue,
      now: options?.now ?? Date.now,
      runCommand: options?.runCommand ?? null,
    };
    contexts.set(store, { options, ctx });
  }
  return ctx;
}

/** the plain reads take no relative time: the clock is not read for them (GET is most of a cache's traffic) */
const CLOCKLESS = new Uint8Array(256);
for (const op of [Opcode.GET, Opcode.GETMETA, Opcode.EXISTS, Opcode.MGET]) CLOCKLESS[op] = 1;

function dispatch(ctx: Ctx, opcode: number, frame: Uint8Array, keyStart: number, keyEnd: number): unknown {
  const cls = OPCODE_CLASS[opcode];
  if (cls !== OpClassCode.ROUTED && cls !== OpClassCode.MULTI && cls !== OpClassCode.BROADCAST && cls !== OpClassCode.CURSOR) {
    throw new CairnError(ErrorCode.UNKNOWN_COMMAND, `opcode 0x${opcode.toString(16).padStart(2, '0')} is not a shard command`);
  }
  // a copy: the frame lives in a reused buffer and a store may keep the key it is given. Its size was
  // checked where the frame was read; a routed opcode's route key is its key, which must be this shard's.
  const key = frame.slice(keyStart, keyEnd);
  if (cls === OpClassCode.ROUTED) ownKey(ctx, key);
  const args = decodeArgs(frame, keyEnd);
  if (CLOCKLESS[opcode] === 0) ctx.cmd.now = ctx.now();
  return run(ctx, opcode, key, args);
}

/**
 * Run one request against this shard's store. `body` is the msgpack argument array (the bytes after
 * the route key). Never rejects.
 */
export async function executeNative(
  store: ShardStore,
  shardIndex: number,
  shardCount: number,
  opcode: number,
  routeKey: Uint8Array,
  body: Uint8Array,
  options?: ExecuteOptions,
): Promise<NativeReply> {
  let status: number = Status.OK;
  let result: unknown;
  try {
    const ctx = context(store, shardIndex, shardCount, options);
    checkRouteKey(routeKey.length, ctx.maxKey, 0, opcode);
    const frame = new Uint8Array(routeKey.length + body.length);
    frame.set(routeKey, 0);
    frame.set(body, routeKey.length);
    result = await dispatch(ctx, opcode, frame, 0, routeKey.length);
  } catch (err) {
    status = Status.ERROR;
    result = errorBody(err, shardIndex);
  }
  try {
    return { status, body: packr.pack(result) as Uint8Array };
  } catch (err) {
    return { status: Status.ERROR, body: packr.pack(errorBody(err, shardIndex)) as Uint8Array };
  }
}

/**
 * Run one complete request frame (length prefix included) and return the complete reply frame,
 * with the same request id. This is what a shard worker calls per frame. Never rejects.
 */
export function handleNativeFrame(
  store: ShardStore,
  shardIndex: number,
  shardCount: number,
  frame: Uint8Array,
  options?: ExecuteOptions,
): Uint8Array | Promise<Uint8Array> {
  let requestId = 0;
  const before = store.changes;
  try {
    const ctx = context(store, shardIndex, shardCount, options);
    const header = parseRequestFrame(frame, ctx.maxKey);
    requestId = header.requestId;
    const result = dispatch(ctx, header.opcode, frame, REQUEST_HEADER_SIZE, header.keyEnd);
    const id = requestId;
    if (result instanceof Promise) {
      return result.then(
        (value) => acknowledged(store, before, okReply(id, value, shardIndex), id, shardIndex),
        (err: unknown) => acknowledged(store, before, errorReply(err, id, shardIndex), id, shardIndex),
      );
    }
    return acknowledged(store, before, okReply(id, result, shardIndex), id, shardIndex);
  } catch (err) {
    return acknowledged(store, before, errorReply(err, requestId, shardIndex), requestId, shardIndex);
  }
}

/**
 * The core's acknowledgement rule; a disk that refuses the writes turns the reply into an error. A
 * command that changed nothing skips it, so that a read makes no closure.
 */
function acknowledged(store: ShardStore, before: number, reply: Uint8Array, requestId: number, shardIndex: number): Uint8Array | Promise<Uint8Array> {
  if (store.changes === before) return reply;
  return C.acknowledged(store, before, reply, (err) => errorReply(err, requestId, shardIndex));
}

function okReply(requestId: number, result: unknown, shardIndex: number): Uint8Array {
  try {
    return encodeReply(Status.OK, requestId, result);
  } catch (err) {
    return encodeReply(Status.ERROR, requestId, errorBody(err, shardIndex));
  }
}

function errorReply(err: unknown, requestId: number, shardIndex: number): Uint8Array {
  const id = err instanceof FrameError ? err.requestId : requestId;
  return encodeReply(Status.ERROR, id, errorBody(err, shardIndex));
}
