/**
 * Hash commands, shard side. Fields and values are byte strings as latin1 JS strings (member() of
 * the argument bytes); each command reads or changes the hash in place through collections.ts, a
 * one-field command in O(1).
 */
import { ErrorCode } from '../errors.js';
import { Notify } from '../events/codes.js';
import { HashValue } from '../engine/collections/hash.js';
import { distinctPositions, randomPosition, scanPage } from '../engine/collections/positions.js';
import { ValueType } from '../engine/collections/types.js';
import { changed, readable, writable } from './collections.js';
import { globMatch } from './glob.js';
import { addDecimals, decimalOverflows, formatDecimal, parseI64, parseLongDouble, type ParsedFloat } from './numbers.js';
import { Failure, Fault, fail, type CommandContext } from './types.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Redis' words for a stored field that is not a number */
export const HASH_NOT_INTEGER = new Failure(Fault.BAD_ARGUMENT, 'hash value is not an integer', ErrorCode.NOT_INTEGER);
export const HASH_NOT_FLOAT = new Failure(Fault.BAD_ARGUMENT, 'hash value is not a float', ErrorCode.BAD_ARGUMENT);
/** HINCRBYFLOAT's increment is inf: refused before the hash is looked at */
export const INCREMENT_NAN_OR_INFINITY = new Failure(Fault.BAD_ARGUMENT, 'value is NaN or Infinity', ErrorCode.BAD_ARGUMENT);

const newHash = (): HashValue => new HashValue();

/** `fields`: the command reads only these fields and the size (see readable) */
function read(ctx: CommandContext, key: Uint8Array, fields?: readonly string[]): HashValue | null | Failure {
  return readable<HashValue>(ctx, key, ValueType.HASH, fields);
}

const NO_FIELDS: readonly string[] = [];

/** the fields of HSET's alternating fields and values */
function fieldsOf(pairs: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) out.push(pairs[i]);
  return out;
}

/** after a change, or a refusal that leaves a hash created for it empty (the store drops it then) */
function settle(ctx: CommandContext, key: Uint8Array, h: HashValue, result: unknown, notify: number): void {
  if (!(result instanceof Failure)) changed(ctx, key, notify);
  else if (h.size === 0) changed(ctx, key, Notify.NONE);
}

/** HSET / HMSET: fields and values alternating (an even, non-zero count); how many fields were new */
export function hset(ctx: CommandContext, key: Uint8Array, pairs: readonly string[]): number | Failure {
  const h = writable(ctx, key, ValueType.HASH, newHash, fieldsOf(pairs));
  if (h instanceof Failure || h === null) return h ?? 0;
  let added = 0;
  for (let i = 0; i + 1 < pairs.length; i += 2) if (h.set(pairs[i], pairs[i + 1])) added++;
  changed(ctx, key, Notify.HSET);
  return added;
}

/** HSETNX: true when the field was set (it did not exist) */
export function hsetnx(ctx: CommandContext, key: Uint8Array, field: string, value: string): boolean | Failure {
  const h = writable(ctx, key, ValueType.HASH, newHash, [field]);
  if (h instanceof Failure || h === null) return h ?? false;
  if (h.has(field)) return false;
  h.set(field, value);
  changed(ctx, key, Notify.HSET);
  return true;
}

export function hget(ctx: CommandContext, key: Uint8Array, field: string): string | null | Failure {
  const h = read(ctx, key, [field]);
  if (h instanceof Failure || h === null) return h;
  return h.get(field) ?? null;
}

export function hmget(ctx: CommandContext, key: Uint8Array, fields: readonly string[]): (string | null)[] | Failure {
  const h = read(ctx, key, fields);
  if (h instanceof Failure) return h;
  return fields.map((f) => (h === null ? null : (h.get(f) ?? null)));
}

/** HGETALL (fields and values alternating), HKEYS, HVALS: what `part` asks for, in position order */
export function hgetall(ctx: CommandContext, key: Uint8Array, part: 'all' | 'fields' | 'values'): string[] | Failure {
  const h = read(ctx, key);
  if (h instanceof Failure) return h;
  if (h === null) return [];
  const n = h.size;
  const out = new Array<string>(part === 'all' ? 2 * n : n);
  for (let i = 0; i < n; i++) {
    if (part === 'all') {
      out[2 * i] = h.fieldAt(i);
      out[2 * i + 1] = h.valueAt(i);
    } else out[i] = part === 'fields' ? h.fieldAt(i) : h.valueAt(i);
  }
  return out;
}

/** HDEL: how many of the fields existed (the key goes when the last one does) */
export function hdel(ctx: CommandContext, key: Uint8Array, fields: readonly string[]): number | Failure {
  const h = writable<HashValue>(ctx, key, ValueType.HASH, undefined, fields);
  if (h instanceof Failure || h === null) return h ?? 0;
  let removed = 0;
  for (const f of fields) if (h.delete(f)) removed++;
  if (removed > 0) changed(ctx, key, Notify.HDEL);
  return removed;
}

export function hexists(ctx: CommandContext, key: Uint8Array, field: string): boolean | Failure {
  const h = read(ctx, key, [field]);
  if (h instanceof Failure || h === null) return h ?? false;
  return h.has(field);
}

export function hlen(ctx: CommandContext, key: Uint8Array): number | Failure {
  const h = read(ctx, key, NO_FIELDS);
  if (h instanceof Failure || h === null) return h ?? 0;
  return h.size;
}

/** HSTRLEN: the value's length in bytes, 0 for a missing field or key */
export function hstrlen(ctx: CommandContext, key: Uint8Array, field: string): number | Failure {
  const h = read(ctx, key, [field]);
  if (h instanceof Failure || h === null) return h ?? 0;
  return h.get(field)?.length ?? 0;
}

/** HINCRBY (signed i64; a missing field starts at 0): the new value */
export function hincrby(ctx: CommandContext, key: Uint8Array, field: string, delta: bigint): bigint | Failure {
  const h = writable(ctx, key, ValueType.HASH, newHash, [field]);
  if (h instanceof Failure || h === null) return h ?? fail(Fault.INTERNAL);
  let result: bigint | Failure;
  const old = h.get(field);
  const current = old === undefined ? 0n : parseI64(Buffer.from(old, 'latin1'));
  if (current === null) result = HASH_NOT_INTEGER;
  else {
    const sum = current + delta;
    if (sum < I64_MIN || sum > I64_MAX) result = fail(Fault.OVERFLOW);
    else {
      h.set(field, sum.toString());
      result = sum;
    }
  }
  settle(ctx, key, h, result, Notify.HINCRBY);
  return result;
}

/**
 * HINCRBYFLOAT with the long double rules of INCRBYFLOAT (numbers.ts; `incr` as parseLongDouble
 * read it, null when it is not a float): the new value's text, which is also what is stored.
 */
export function hincrbyfloat(ctx: CommandContext, key: Uint8Array, field: string, incr: ParsedFloat): string | Failure {
  if (incr === null) return fail(Fault.NOT_FLOAT);
  if (typeof incr === 'string') return INCREMENT_NAN_OR_INFINITY;
  const h = writable(ctx, key, ValueType.HASH, newHash, [field]);
  if (h instanceof Failure || h === null) return h ?? fail(Fault.INTERNAL);
  let result: string | Failure;
  const old = h.get(field);
  const current = old === undefined ? { mantissa: 0n, scale: 0 } : parseLongDouble(Buffer.from(old, 'latin1'));
  if (current === null) result = HASH_NOT_FLOAT;
  else if (typeof current === 'string') result = fail(Fault.NAN_OR_INFINITY);
  else {
    const sum = addDecimals(current, incr);
    if (decimalOverflows(sum)) result = fail(Fault.NAN_OR_INFINITY);
    else {
      result = formatDecimal(sum);
      h.set(field, result);
    }
  }
  settle(ctx, key, h, result, Notify.HINCRBYFLOAT);
  return result;
}

/**
 * HRANDFIELD with a count: distinct fields when count > 0 (the whole hash when count ≥ its size),
 * |count| fields with repeats when count < 0; with values, each field followed by its value.
 */
export function hrandfield(ctx: CommandContext, key: Uint8Array, count: number, withValues: boolean): string[] | Failure {
  const h = read(ctx, key);
  if (h instanceof Failure) return h;
  if (h === null || count === 0) return [];
  const size = h.size;
  const out: string[] = [];
  const put = (at: number): void => {
    out.push(h.fieldAt(at));
    if (withValues) out.push(h.valueAt(at));
  };
  if (count < 0) for (let i = -count; i > 0; i--) put(randomPosition(size));
  else if (count >= size) for (let i = 0; i < size; i++) put(i);
  else for (const at of distinctPositions(size, count)) put(at);
  return out;
}

/** HRANDFIELD without a count: one field, null for a missing key */
export function hrandfieldOne(ctx: CommandContext, key: Uint8Array): string | null | Failure {
  const h = read(ctx, key);
  if (h instanceof Failure || h === null) return h;
  return h.fieldAt(randomPosition(h.size));
}

export interface MemberPage {
  /** the next cursor; 0 when the scan is complete */
  cursor: number;
  /** members (HSCAN: fields and values alternating) */
  items: string[];
}

const EMPTY_PAGE: MemberPage = { cursor: 0, items: [] };

/** HSCAN: one page from `cursor` (positions.ts says what it guarantees), fields matching `match` */
export function hscan(ctx: CommandContext, key: Uint8Array, cursor: number, count: number, match: Uint8Array | null): MemberPage | Failure {
  const h = read(ctx, key);
  if (h instanceof Failure) return h;
  if (h === null) return EMPTY_PAGE;
  const { from, to, next } = scanPage(h.size, cursor, count);
  const items: string[] = [];
  for (let i = to - 1; i >= from; i--) {
    const f = h.fieldAt(i);
    if (match !== null && !globMatch(match, Buffer.from(f, 'latin1'))) continue;
    items.push(f, h.valueAt(i));
  }
  return { cursor: next, items };
}
