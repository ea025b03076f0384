/**
 * String commands, shard side. Each takes typed arguments and returns its result at once (the store
 * is synchronous); a Failure when the command refuses. Store errors (a value too large, no memory,
 * the disk) are thrown by the store and mapped by the caller with failureOf.
 */
import type { Entry, SetOptions, SetResult } from '../store/types.js';
import { addDecimals, decimalOverflows, formatDecimal, parseLongDouble, type Decimal, type ParsedFloat } from './numbers.js';
import { Failure, Fault, fail, type CommandContext } from './types.js';

const I64_MIN = -(2n ** 63n);
const EMPTY = new Uint8Array(0);
const ZERO_DECIMAL: Decimal = { mantissa: 0n, scale: 0 };

const WRONG = fail(Fault.WRONG_TYPE);

/** a string's entry; null when absent; WRONG_TYPE when the key holds a collection */
export function get(ctx: CommandContext, key: Uint8Array): Entry | null | Failure {
  const e = ctx.store.get(key);
  return e?.type ? WRONG : e;
}

/**
 * SET with everything any protocol asks of it: mode nx/xx (Redis NX/XX, memcached add/replace),
 * cas (memcached cas, native {cas}), expiresAt (absolute ms; past deletes), keepTtl, flags, returnOld
 * (Redis GET option, GETSET). The store takes these options as they are, so nothing is copied.
 */
export interface SetArgs extends SetOptions {
  key: Uint8Array;
  value: Uint8Array;
}

const NOT_STORED_EXISTS: SetResult = { status: 'exists', cas: 0 };
const NOT_STORED_MISSING: SetResult = { status: 'not_found', cas: 0 };

const NOT_STORED_WRONG_TYPE: SetResult = { status: 'wrong_type', cas: 0 };

/** SET; with returnOld (Redis GET option, GETSET) a key holding a collection is status wrong_type, not written */
export function set(ctx: CommandContext, a: SetArgs): SetResult {
  if (a.returnOld === true && ctx.store.typeOf(a.key)) return NOT_STORED_WRONG_TYPE;
  const cas = a.cas;
  if (cas !== undefined && !(cas >= 1 && cas <= Number.MAX_SAFE_INTEGER)) {
    // no stored CAS is 0 or past 2^53: the compare fails without writing
    return ctx.store.exists(a.key) ? NOT_STORED_EXISTS : NOT_STORED_MISSING;
  }
  return ctx.store.set(a.key, a.value, a);
}

export function getdel(ctx: CommandContext, key: Uint8Array): Entry | null | Failure {
  if (ctx.store.typeOf(key)) return WRONG;
  return ctx.store.getdel(key);
}

/**
 * GETEX: the entry, after giving it a new expiry. `expiresAt` absolute ms (at or before now deletes
 * the key and still returns it, as Redis); 0 removes the expiry (PERSIST); undefined leaves it.
 */
export function getex(ctx: CommandContext, key: Uint8Array, expiresAt: number | undefined): Entry | null | Failure {
  const store = ctx.store;
  if (expiresAt === undefined) return get(ctx, key);
  if (store.typeOf(key)) return WRONG;
  if (expiresAt === 0) {
    return store.update(key, (cur) => (cur === null || cur.expiresAt === 0 ? { op: 'keep' } : { op: 'expire', expiresAt: 0 }));
  }
  return expiresAt <= ctx.now ? store.getdel(key) : store.touch(key, expiresAt);
}

/** memcached touch/gat and native TOUCH: set a new expiry (0: none; past: delete) and return the entry. */
export function touch(ctx: CommandContext, key: Uint8Array, expiresAt: number): Entry | null {
  return ctx.store.touch(key, expiresAt);
}

/** the strings' entries; null for an absent key and for one holding a collection (as Redis' MGET) */
export function mget(ctx: CommandContext, keys: readonly Uint8Array[]): (Entry | null)[] {
  const out = new Array<Entry | null>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const e = ctx.store.get(keys[i]);
    out[i] = e?.type ? null : e;
  }
  return out;
}

/** keys and values alternating; every pair set with the same options. Returns how many were stored. */
export function mset(ctx: CommandContext, pairs: readonly Uint8Array[], options?: SetOptions): number {
  let stored = 0;
  for (let i = 0; i + 1 < pairs.length; i += 2) if (ctx.store.set(pairs[i], pairs[i + 1], options).status === 'stored') stored++;
  return stored;
}

/** all or nothing on this shard: nothing is set when any of the keys exists. */
export function msetnx(ctx: CommandContext, pairs: readonly Uint8Array[]): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (ctx.store.exists(pairs[i])) return false;
  mset(ctx, pairs);
  return true;
}

/** Redis INCRBY (signed i64; a missing key starts at 0): the new value. */
export function incrBy(ctx: CommandContext, key: Uint8Array, delta: bigint): bigint | Failure {
  const r = ctx.store.incr(key, delta, false, true);
  switch (r.status) {
    case 'ok':
      return r.value;
    case 'overflow':
      return fail(Fault.OVERFLOW);
    case 'not_integer':
      return fail(Fault.NOT_INTEGER);
    case 'wrong_type':
      return WRONG;
    default:
      return fail(Fault.INTERNAL);
  }
}

/** Redis DECRBY: INCRBY of -delta, refusing the one delta whose negation does not fit. */
export function decrBy(ctx: CommandContext, key: Uint8Array, delta: bigint): bigint | Failure {
  if (delta === I64_MIN) return fail(Fault.DECREMENT_OVERFLOW);
  return incrBy(ctx, key, -delta);
}

/**
 * memcached incr/decr (unsigned u64: incr wraps at 2^64, decr stops at 0): the new value, null for a
 * missing key, NOT_INTEGER for a value that is not a decimal u64.
 */
export function incrUnsigned(ctx: CommandContext, key: Uint8Array, delta: bigint, decrement: boolean): bigint | null | Failure {
  const r = ctx.store.incr(key, decrement ? -delta : delta, true, false);
  if (r.status === 'ok') return r.value;
  if (r.status === 'not_found') return null;
  return r.status === 'wrong_type' ? WRONG : fail(Fault.NOT_INTEGER);
}

/**
 * INCRBYFLOAT with Redis' long double rules (`incr` as parsed by parseLongDouble: null when not a
 * float): the new value's text, which is also what is stored.
 */
export function incrByFloat(ctx: CommandContext, key: Uint8Array, incr: ParsedFloat): Buffer | Failure {
  let result: Buffer | Failure = fail(Fault.NOT_FLOAT);
  ctx.store.update(key, (cur) => {
    if (cur?.type) {
      result = WRONG;
      return { op: 'keep' };
    }
    const current = cur === null ? ZERO_DECIMAL : parseLongDouble(cur.value);
    if (current === null || incr === null) return { op: 'keep' };
    if (typeof current === 'string' || typeof incr === 'string') {
      result = fail(Fault.NAN_OR_INFINITY);
      return { op: 'keep' };
    }
    const sum = addDecimals(current, incr);
    if (decimalOverflows(sum)) {
      result = fail(Fault.NAN_OR_INFINITY);
      return { op: 'keep' };
    }
    const text = Buffer.from(formatDecimal(sum));
    result = text;
    return { op: 'set', value: text, flags: cur?.flags ?? 0, expiresAt: cur?.expiresAt ?? 0 };
  });
  return result;
}

/** APPEND (or memcached prepend): the new length, or -1 when the key is missing and !create. */
export function append(ctx: CommandContext, key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number | Failure {
  const n = ctx.store.append(key, bytes, prepend, create);
  return n === -2 ? WRONG : n;
}

export function strlen(ctx: CommandContext, key: Uint8Array): number | Failure {
  const e = get(ctx, key);
  return e === null ? 0 : e instanceof Failure ? e : e.value.length;
}

function clampBig(v: bigint): number {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v < -max ? -max : v);
}

/** GETRANGE with Redis' index rules (negative from the end, clamped): the bytes, empty when none. */
export function getrange(ctx: CommandContext, key: Uint8Array, startArg: bigint, endArg: bigint): Uint8Array | Failure {
  let start = clampBig(startArg);
  let end = clampBig(endArg);
  const entry = get(ctx, key);
  if (entry === null) return EMPTY;
  if (entry instanceof Failure) return entry;
  const len = entry.value.length;
  if (start < 0 && end < 0 && start > end) return EMPTY;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return EMPTY;
  return entry.value.subarray(start, end + 1);
}

/** SETRANGE: the new length; OUT_OF_RANGE for a negative offset, VALUE_TOO_LARGE past maxValueSize. */
export function setrange(ctx: CommandContext, key: Uint8Array, offsetArg: bigint, value: Uint8Array): number | Failure {
  if (offsetArg < 0n) return fail(Fault.OUT_OF_RANGE);
  let result: number | Failure = 0;
  ctx.store.update(key, (cur) => {
    if (cur?.type) {
      result = WRONG;
      return { op: 'keep' };
    }
    if (value.length === 0) {
      result = cur === null ? 0 : cur.value.length;
      return { op: 'keep' };
    }
    if (offsetArg + BigInt(value.length) > BigInt(ctx.maxValueSize)) {
      result = fail(Fault.VALUE_TOO_LARGE);
      return { op: 'keep' };
    }
    const offset = Number(offsetArg);
    const oldLen = cur === null ? 0 : cur.value.length;
    const out = Buffer.alloc(Math.max(oldLen, offset + value.length));
    if (cur !== null) out.set(cur.value, 0);
    out.set(value, offset);
    result = out.length;
    return { op: 'set', value: out, flags: cur?.flags ?? 0, expiresAt: cur?.expiresAt ?? 0 };
  });
  return result;
}
