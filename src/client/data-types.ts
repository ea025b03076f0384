/**
 * The SDK's methods for hashes, lists, sets and sorted sets: each one a CALL request (opcode 0x40,
 * docs/protocol.md) carrying the Redis command and its arguments, routed by the command's first key,
 * its reply (Redis' shape in msgpack) turned into a typed value here. CairnClient, and through it
 * the embedded cache, inherits them.
 *
 * Conventions, as the rest of the SDK: keys, fields, members and elements are given as string
 * (UTF-8) or bytes, and come back as bytes (Uint8Array; Buffer in Node); counts and scores as
 * numbers; a missing key reads as Redis reads it (empty list, 0, null). Where Redis takes a field or
 * member name as text of its own (HGETALL's object keys), it is decoded as UTF-8.
 *
 * Keys of one command must be on one shard: give them a common {tag} (`{user1}:a`, `{user1}:b`),
 * else the request fails with CAIRN_ERR_WRONG_SHARD. Blocking pops (BLPOP, BZPOPMIN, ...) are not
 * carried by the native protocol.
 */
import type { Key, RequestOptions, Value } from './client.js';

export type Member = string | Uint8Array;

/** fields and values to write: an object, a Map, or [field, value] pairs */
export type FieldValues = Record<string, Value> | ReadonlyMap<Member, Value> | Iterable<readonly [Member, Value]>;

export interface ScoredMember {
  member: Uint8Array;
  score: number;
}

/** a member to add with its score */
export interface ScoreMember {
  score: number;
  member: Member;
}

/** a score bound: a number, or Redis' text for one ('(1.5' exclusive, '-inf', '+inf') */
export type ScoreBound = number | string;
/** a lexicographic bound as Redis writes it: '[a' inclusive, '(a' exclusive, '-' and '+' the ends */
export type LexBound = string | Uint8Array;

export type ListEnd = 'left' | 'right';

export interface ScanOptions extends RequestOptions {
  /** a glob the returned fields or members match (Redis MATCH) */
  match?: string | Uint8Array;
  /** a hint for the page size (Redis COUNT) */
  count?: number;
}

export interface ZaddOptions extends RequestOptions {
  /** only add new members */
  nx?: boolean;
  /** only update members that exist */
  xx?: boolean;
  /** only update when the new score is greater */
  gt?: boolean;
  /** only update when the new score is less */
  lt?: boolean;
  /** count changed members, not only added ones */
  ch?: boolean;
}

export interface LimitOptions extends RequestOptions {
  /** skip `offset` results, then return at most `count` (a negative count: all the rest) */
  limit?: { offset: number; count: number };
}

export interface ZrangeOptions extends LimitOptions {
  /** ranks (default), scores or lexicographic bounds */
  by?: 'rank' | 'score' | 'lex';
  /** from the highest to the lowest */
  rev?: boolean;
}

export interface ZcombineOptions extends RequestOptions {
  /** one multiplier per key */
  weights?: readonly number[];
  aggregate?: 'sum' | 'min' | 'max';
}

export interface LposOptions extends RequestOptions {
  /** the match to start from (negative: from the tail) */
  rank?: number;
  /** compare at most this many elements */
  maxlen?: number;
}

export interface HashScanPage {
  /** pass back to continue; '0' when the scan is complete */
  cursor: string;
  entries: [field: Uint8Array, value: Uint8Array][];
}

export interface SetScanPage {
  cursor: string;
  members: Uint8Array[];
}

export interface ZsetScanPage {
  cursor: string;
  members: ScoredMember[];
}

export type ValueTypeName = 'none' | 'string' | 'hash' | 'list' | 'set' | 'zset';

type Decode<T> = ((value: unknown) => T) | null;

const utf8 = new TextDecoder();

function num(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

function bool(value: unknown): boolean {
  return value === 1;
}

function bools(value: unknown): boolean[] {
  return (value as unknown[]).map(bool);
}

/** Redis' text of a double ('inf', '-inf' and %.17g) */
function score(value: unknown): number {
  const text = typeof value === 'string' ? value : utf8.decode(value as Uint8Array);
  if (text === 'inf' || text === '+inf') return Infinity;
  if (text === '-inf') return -Infinity;
  return Number(text);
}

function scoreOrNull(value: unknown): number | null {
  return value === null ? null : score(value);
}

function scores(value: unknown): (number | null)[] {
  return (value as unknown[]).map(scoreOrNull);
}

/** [member, score, member, score, ...] → [{member, score}, ...] */
function scored(value: unknown): ScoredMember[] {
  const flat = value as Uint8Array[];
  const out: ScoredMember[] = new Array(flat.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = { member: flat[2 * i], score: score(flat[2 * i + 1]) };
  return out;
}

function pairs(value: unknown): [Uint8Array, Uint8Array][] {
  const flat = value as Uint8Array[];
  const out: [Uint8Array, Uint8Array][] = new Array(flat.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = [flat[2 * i], flat[2 * i + 1]];
  return out;
}

function record(value: unknown): Record<string, Uint8Array> {
  const flat = value as Uint8Array[];
  const out: Record<string, Uint8Array> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = utf8.decode(flat[i]);
    // a field named __proto__ is a field, not the object's prototype
    if (field === '__proto__') Object.defineProperty(out, field, { value: flat[i + 1], enumerable: true, writable: true, configurable: true });
    else out[field] = flat[i + 1];
  }
  return out;
}

function cursorText(value: unknown): string {
  return typeof value === 'string' ? value : utf8.decode(value as Uint8Array);
}

function listOf<T>(items: T | readonly T[]): readonly T[] {
  return Array.isArray(items) ? (items as readonly T[]) : [items as T];
}

function fieldValues(fields: FieldValues): unknown[] {
  const out: unknown[] = [];
  const entries = Symbol.iterator in fields ? (fields as Iterable<readonly [Member, Value]>) : Object.entries(fields as Record<string, Value>);
  for (const [field, value] of entries) out.push(field, value);
  return out;
}

function scanArgs(args: unknown[], options: ScanOptions | undefined): unknown[] {
  if (options?.match !== undefined) args.push('MATCH', options.match);
  if (options?.count !== undefined) args.push('COUNT', options.count);
  return args;
}

function limitArgs(args: unknown[], options: LimitOptions | undefined): unknown[] {
  if (options?.limit) args.push('LIMIT', options.limit.offset, options.limit.count);
  return args;
}

function combineArgs(args: unknown[], options: ZcombineOptions | undefined): unknown[] {
  if (options?.weights) args.push('WEIGHTS', ...options.weights);
  if (options?.aggregate) args.push('AGGREGATE', options.aggregate);
  return args;
}

function rangeArgs(key: Key, start: ScoreBound | LexBound, stop: ScoreBound | LexBound, options: ZrangeOptions | undefined): unknown[] {
  const args: unknown[] = [key, start, stop];
  if (options?.by === 'score') args.push('BYSCORE');
  else if (options?.by === 'lex') args.push('BYLEX');
  if (options?.rev) args.push('REV');
  return limitArgs(args, options);
}

/** a numkeys command's keys: the count, then the keys; the route key is the first */
function counted(keys: readonly Key[]): unknown[] {
  return [keys.length, ...keys];
}

function first(keys: readonly Key[]): Key {
  return keys.length > 0 ? keys[0] : '';
}

export abstract class DataTypeCommands {
  /** Send one CALL request: the command by name, routed by `routeKey`, its reply decoded. */
  protected abstract dataCall<T>(name: string, routeKey: Key, args: unknown[], decode: Decode<T>, options: RequestOptions | undefined): Promise<T>;

  /** The type of the value at a key: 'none' when it is missing. */
  type(key: Key, options?: RequestOptions): Promise<ValueTypeName> {
    return this.dataCall('type', key, [key], null, options);
  }

  // ---- hashes ----------------------------------------------------------------------------------

  /** Set fields of a hash (created when missing); the number of fields that were new. */
  hset(key: Key, fields: FieldValues, options?: RequestOptions): Promise<number> {
    return this.dataCall('hset', key, [key, ...fieldValues(fields)], num, options);
  }

  /** Set a field only when the hash has no such field; true when it was set. */
  hsetnx(key: Key, field: Member, value: Value, options?: RequestOptions): Promise<boolean> {
    return this.dataCall('hsetnx', key, [key, field, value], bool, options);
  }

  /** Set fields of a hash (Redis HMSET: as hset, answering nothing). */
  async hmset(key: Key, fields: FieldValues, options?: RequestOptions): Promise<void> {
    await this.dataCall('hmset', key, [key, ...fieldValues(fields)], null, options);
  }

  /** A field's value, or null when the field or the key is missing. */
  hget(key: Key, field: Member, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('hget', key, [key, field], null, options);
  }

  /** Values of fields in the order given (null for missing ones). */
  hmget(key: Key, fields: readonly Member[], options?: RequestOptions): Promise<(Uint8Array | null)[]> {
    return this.dataCall('hmget', key, [key, ...fields], null, options);
  }

  /** Every field and value: an object keyed by the fields as UTF-8 text ({} for a missing key). */
  hgetall(key: Key, options?: RequestOptions): Promise<Record<string, Uint8Array>> {
    return this.dataCall('hgetall', key, [key], record, options);
  }

  /** Every field and value as byte pairs (fields that are not UTF-8 text too). */
  hgetallPairs(key: Key, options?: RequestOptions): Promise<[field: Uint8Array, value: Uint8Array][]> {
    return this.dataCall('hgetall', key, [key], pairs, options);
  }

  /** Remove fields; the number that existed. The hash goes with its last field. */
  hdel(key: Key, fields: Member | readonly Member[], options?: RequestOptions): Promise<number> {
    return this.dataCall('hdel', key, [key, ...listOf(fields)], num, options);
  }

  hexists(key: Key, field: Member, options?: RequestOptions): Promise<boolean> {
    return this.dataCall('hexists', key, [key, field], bool, options);
  }

  /** The number of fields (0 for a missing key). */
  hlen(key: Key, options?: RequestOptions): Promise<number> {
    return this.dataCall('hlen', key, [key], num, options);
  }

  hkeys(key: Key, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('hkeys', key, [key], null, options);
  }

  hvals(key: Key, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('hvals', key, [key], null, options);
  }

  /** A field's value length in bytes (0 when missing). */
  hstrlen(key: Key, field: Member, options?: RequestOptions): Promise<number> {
    return this.dataCall('hstrlen', key, [key, field], num, options);
  }

  /** Add to a field's signed 64-bit integer (a missing field starts at 0); the new value. */
  hincrby(key: Key, field: Member, by: number | bigint, options?: RequestOptions): Promise<number> {
    return this.dataCall('hincrby', key, [key, field, by], num, options);
  }

  /** Add to a field's float (Redis' long double rules); the new value. */
  hincrbyfloat(key: Key, field: Member, by: number, options?: RequestOptions): Promise<number> {
    return this.dataCall('hincrbyfloat', key, [key, field, by], score, options);
  }

  /** A random field, or null for a missing key. */
  hrandfield(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('hrandfield', key, [key], null, options);
  }

  /** Random fields: `count` distinct ones (at most all), or with a negative count |count| that may repeat. */
  hrandfields(key: Key, count: number, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('hrandfield', key, [key, count], null, options);
  }

  /** Random fields with their values (count as in hrandfields). */
  hrandfieldsWithValues(key: Key, count: number, options?: RequestOptions): Promise<[field: Uint8Array, value: Uint8Array][]> {
    return this.dataCall('hrandfield', key, [key, count, 'WITHVALUES'], pairs, options);
  }

  /** One page of fields and values; start with '0', stop when the cursor is '0' again. */
  hscan(key: Key, cursor = '0', options?: ScanOptions): Promise<HashScanPage> {
    return this.dataCall(
      'hscan',
      key,
      scanArgs([key, cursor], options),
      (v) => {
        const [next, flat] = v as [unknown, unknown];
        return { cursor: cursorText(next), entries: pairs(flat) };
      },
      options,
    );
  }

  // ---- lists -----------------------------------------------------------------------------------

  /** Push elements at the head, in order (so the last given ends first); the new length. */
  lpush(key: Key, elements: Value | readonly Value[], options?: RequestOptions): Promise<number> {
    return this.dataCall('lpush', key, [key, ...listOf(elements)], num, options);
  }

  /** Push elements at the tail; the new length. */
  rpush(key: Key, elements: Value | readonly Value[], options?: RequestOptions): Promise<number> {
    return this.dataCall('rpush', key, [key, ...listOf(elements)], num, options);
  }

  /** lpush only onto an existing list; 0 when the key is missing. */
  lpushx(key: Key, elements: Value | readonly Value[], options?: RequestOptions): Promise<number> {
    return this.dataCall('lpushx', key, [key, ...listOf(elements)], num, options);
  }

  rpushx(key: Key, elements: Value | readonly Value[], options?: RequestOptions): Promise<number> {
    return this.dataCall('rpushx', key, [key, ...listOf(elements)], num, options);
  }

  /** Remove and return the head element, or null when the list is missing. */
  lpop(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('lpop', key, [key], null, options);
  }

  /** Remove and return up to `count` head elements; null when the list is missing. */
  lpopCount(key: Key, count: number, options?: RequestOptions): Promise<Uint8Array[] | null> {
    return this.dataCall('lpop', key, [key, count], null, options);
  }

  rpop(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('rpop', key, [key], null, options);
  }

  rpopCount(key: Key, count: number, options?: RequestOptions): Promise<Uint8Array[] | null> {
    return this.dataCall('rpop', key, [key, count], null, options);
  }

  llen(key: Key, options?: RequestOptions): Promise<number> {
    return this.dataCall('llen', key, [key], num, options);
  }

  /** Elements from `start` to `stop`, inclusive; negative indexes count from the tail (-1 the last). */
  lrange(key: Key, start: number, stop: number, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('lrange', key, [key, start, stop], null, options);
  }

  /** The element at an index (negative from the tail), or null. */
  lindex(key: Key, index: number, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('lindex', key, [key, index], null, options);
  }

  /** Replace the element at an index (an index out of range is an error). */
  async lset(key: Key, index: number, element: Value, options?: RequestOptions): Promise<void> {
    await this.dataCall('lset', key, [key, index, element], null, options);
  }

  /** Insert before or after the first `pivot`; the new length, -1 when no pivot, 0 for a missing key. */
  linsert(key: Key, where: 'before' | 'after', pivot: Value, element: Value, options?: RequestOptions): Promise<number> {
    return this.dataCall('linsert', key, [key, where, pivot, element], num, options);
  }

  /** Remove elements equal to `element`: `count` > 0 from the head, < 0 from the tail, 0 all; how many. */
  lrem(key: Key, count: number, element: Value, options?: RequestOptions): Promise<number> {
    return this.dataCall('lrem', key, [key, count, element], num, options);
  }

  /** Keep only the elements from `start` to `stop`. */
  async ltrim(key: Key, start: number, stop: number, options?: RequestOptions): Promise<void> {
    await this.dataCall('ltrim', key, [key, start, stop], null, options);
  }

  /** The index of a matching element, or null. */
  lpos(key: Key, element: Value, options?: LposOptions): Promise<number | null> {
    return this.dataCall('lpos', key, lposArgs(key, element, options), (v) => (v === null ? null : num(v)), options);
  }

  /** The indexes of up to `count` matching elements (0: all). */
  lposAll(key: Key, element: Value, count: number, options?: LposOptions): Promise<number[]> {
    const args = lposArgs(key, element, options);
    args.push('COUNT', count);
    return this.dataCall('lpos', key, args, (v) => (v as unknown[]).map(num), options);
  }

  /** Pop from one end of `source` and push onto one end of `destination` (one shard); the element, or null. */
  lmove(source: Key, destination: Key, from: ListEnd, to: ListEnd, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('lmove', source, [source, destination, from, to], null, options);
  }

  rpoplpush(source: Key, destination: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('rpoplpush', source, [source, destination], null, options);
  }

  /** Pop up to `count` (default 1) elements from the first non-empty list of `keys`; null when all are empty. */
  lmpop(keys: readonly Key[], from: ListEnd, count?: number, options?: RequestOptions): Promise<{ key: Uint8Array; elements: Uint8Array[] } | null> {
    const args = [...counted(keys), from];
    if (count !== undefined) args.push('COUNT', count);
    return this.dataCall(
      'lmpop',
      first(keys),
      args,
      (v) => (v === null ? null : { key: (v as unknown[])[0] as Uint8Array, elements: (v as unknown[])[1] as Uint8Array[] }),
      options,
    );
  }

  // ---- sets ------------------------------------------------------------------------------------

  /** Add members; the number that were new. */
  sadd(key: Key, members: Member | readonly Member[], options?: RequestOptions): Promise<number> {
    return this.dataCall('sadd', key, [key, ...listOf(members)], num, options);
  }

  /** Remove members; the number that were there. */
  srem(key: Key, members: Member | readonly Member[], options?: RequestOptions): Promise<number> {
    return this.dataCall('srem', key, [key, ...listOf(members)], num, options);
  }

  /** Every member (in no particular order). */
  smembers(key: Key, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('smembers', key, [key], null, options);
  }

  sismember(key: Key, member: Member, options?: RequestOptions): Promise<boolean> {
    return this.dataCall('sismember', key, [key, member], bool, options);
  }

  /** Membership of each member given, in order. */
  smismember(key: Key, members: readonly Member[], options?: RequestOptions): Promise<boolean[]> {
    return this.dataCall('smismember', key, [key, ...members], bools, options);
  }

  scard(key: Key, options?: RequestOptions): Promise<number> {
    return this.dataCall('scard', key, [key], num, options);
  }

  /** Remove and return a random member, or null. */
  spop(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('spop', key, [key], null, options);
  }

  /** Remove and return up to `count` random members. */
  spopCount(key: Key, count: number, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('spop', key, [key, count], null, options);
  }

  /** A random member, or null. */
  srandmember(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('srandmember', key, [key], null, options);
  }

  /** Random members: `count` distinct (at most all), or |count| that may repeat when negative. */
  srandmembers(key: Key, count: number, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('srandmember', key, [key, count], null, options);
  }

  /** Move a member from one set to another (one shard); true when it was moved. */
  smove(source: Key, destination: Key, member: Member, options?: RequestOptions): Promise<boolean> {
    return this.dataCall('smove', source, [source, destination, member], bool, options);
  }

  /** The members in every set (keys on one shard). */
  sinter(keys: readonly Key[], options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('sinter', first(keys), [...keys], null, options);
  }

  /** The size of the intersection, counting up to `limit` when given (0: no limit). */
  sintercard(keys: readonly Key[], options?: RequestOptions & { limit?: number }): Promise<number> {
    const args = counted(keys);
    if (options?.limit !== undefined) args.push('LIMIT', options.limit);
    return this.dataCall('sintercard', first(keys), args, num, options);
  }

  sunion(keys: readonly Key[], options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('sunion', first(keys), [...keys], null, options);
  }

  /** The members of the first set in none of the others. */
  sdiff(keys: readonly Key[], options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('sdiff', first(keys), [...keys], null, options);
  }

  /** Store the intersection at `destination` (replacing it); its size. */
  sinterstore(destination: Key, keys: readonly Key[], options?: RequestOptions): Promise<number> {
    return this.dataCall('sinterstore', destination, [destination, ...keys], num, options);
  }

  sunionstore(destination: Key, keys: readonly Key[], options?: RequestOptions): Promise<number> {
    return this.dataCall('sunionstore', destination, [destination, ...keys], num, options);
  }

  sdiffstore(destination: Key, keys: readonly Key[], options?: RequestOptions): Promise<number> {
    return this.dataCall('sdiffstore', destination, [destination, ...keys], num, options);
  }

  /** One page of members; start with '0', stop when the cursor is '0' again. */
  sscan(key: Key, cursor = '0', options?: ScanOptions): Promise<SetScanPage> {
    return this.dataCall(
      'sscan',
      key,
      scanArgs([key, cursor], options),
      (v) => {
        const [next, members] = v as [unknown, Uint8Array[]];
        return { cursor: cursorText(next), members };
      },
      options,
    );
  }

  // ---- sorted sets -----------------------------------------------------------------------------

  /** Add members or update their scores; the number added (changed, with `ch`). */
  zadd(key: Key, members: ScoreMember | readonly ScoreMember[], options?: ZaddOptions): Promise<number> {
    const args = zaddArgs(key, options);
    for (const m of listOf(members)) args.push(m.score, m.member);
    return this.dataCall('zadd', key, args, num, options);
  }

  /** ZADD INCR: add `by` to a member's score; the new score, or null when a condition stopped it. */
  zaddIncr(key: Key, by: number, member: Member, options?: ZaddOptions): Promise<number | null> {
    const args = zaddArgs(key, options);
    args.push('INCR', by, member);
    return this.dataCall('zadd', key, args, scoreOrNull, options);
  }

  /** Add `by` to a member's score (a new member starts at 0); the new score. */
  zincrby(key: Key, by: number, member: Member, options?: RequestOptions): Promise<number> {
    return this.dataCall('zincrby', key, [key, by, member], score, options);
  }

  zrem(key: Key, members: Member | readonly Member[], options?: RequestOptions): Promise<number> {
    return this.dataCall('zrem', key, [key, ...listOf(members)], num, options);
  }

  zscore(key: Key, member: Member, options?: RequestOptions): Promise<number | null> {
    return this.dataCall('zscore', key, [key, member], scoreOrNull, options);
  }

  zmscore(key: Key, members: readonly Member[], options?: RequestOptions): Promise<(number | null)[]> {
    return this.dataCall('zmscore', key, [key, ...members], scores, options);
  }

  zcard(key: Key, options?: RequestOptions): Promise<number> {
    return this.dataCall('zcard', key, [key], num, options);
  }

  /** Members with a score between `min` and `max`. */
  zcount(key: Key, min: ScoreBound, max: ScoreBound, options?: RequestOptions): Promise<number> {
    return this.dataCall('zcount', key, [key, min, max], num, options);
  }

  zlexcount(key: Key, min: LexBound, max: LexBound, options?: RequestOptions): Promise<number> {
    return this.dataCall('zlexcount', key, [key, min, max], num, options);
  }

  /** A member's rank from the lowest score (0 first), or null. */
  zrank(key: Key, member: Member, options?: RequestOptions): Promise<number | null> {
    return this.dataCall('zrank', key, [key, member], (v) => (v === null ? null : num(v)), options);
  }

  zrevrank(key: Key, member: Member, options?: RequestOptions): Promise<number | null> {
    return this.dataCall('zrevrank', key, [key, member], (v) => (v === null ? null : num(v)), options);
  }

  /** Members by rank (default), score or lex range (Redis 6.2's ZRANGE). */
  zrange(key: Key, start: ScoreBound | LexBound, stop: ScoreBound | LexBound, options?: ZrangeOptions): Promise<Uint8Array[]> {
    return this.dataCall('zrange', key, rangeArgs(key, start, stop, options), null, options);
  }

  zrangeWithScores(key: Key, start: ScoreBound, stop: ScoreBound, options?: ZrangeOptions): Promise<ScoredMember[]> {
    const args = rangeArgs(key, start, stop, options);
    args.push('WITHSCORES');
    return this.dataCall('zrange', key, args, scored, options);
  }

  zrangebyscore(key: Key, min: ScoreBound, max: ScoreBound, options?: LimitOptions): Promise<Uint8Array[]> {
    return this.dataCall('zrangebyscore', key, limitArgs([key, min, max], options), null, options);
  }

  zrangebyscoreWithScores(key: Key, min: ScoreBound, max: ScoreBound, options?: LimitOptions): Promise<ScoredMember[]> {
    return this.dataCall('zrangebyscore', key, limitArgs([key, min, max, 'WITHSCORES'], options), scored, options);
  }

  /** Highest scores first: note `max` comes before `min`, as in Redis. */
  zrevrangebyscore(key: Key, max: ScoreBound, min: ScoreBound, options?: LimitOptions): Promise<Uint8Array[]> {
    return this.dataCall('zrevrangebyscore', key, limitArgs([key, max, min], options), null, options);
  }

  zrangebylex(key: Key, min: LexBound, max: LexBound, options?: LimitOptions): Promise<Uint8Array[]> {
    return this.dataCall('zrangebylex', key, limitArgs([key, min, max], options), null, options);
  }

  zrevrange(key: Key, start: number, stop: number, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('zrevrange', key, [key, start, stop], null, options);
  }

  zrevrangeWithScores(key: Key, start: number, stop: number, options?: RequestOptions): Promise<ScoredMember[]> {
    return this.dataCall('zrevrange', key, [key, start, stop, 'WITHSCORES'], scored, options);
  }

  /** Store a zrange's result at `destination` (one shard); its size. */
  zrangestore(destination: Key, source: Key, start: ScoreBound | LexBound, stop: ScoreBound | LexBound, options?: ZrangeOptions): Promise<number> {
    return this.dataCall('zrangestore', destination, [destination, ...rangeArgs(source, start, stop, options)], num, options);
  }

  /** Remove and return up to `count` (default 1) members of the lowest scores. */
  zpopmin(key: Key, count?: number, options?: RequestOptions): Promise<ScoredMember[]> {
    return this.dataCall('zpopmin', key, count === undefined ? [key] : [key, count], scored, options);
  }

  zpopmax(key: Key, count?: number, options?: RequestOptions): Promise<ScoredMember[]> {
    return this.dataCall('zpopmax', key, count === undefined ? [key] : [key, count], scored, options);
  }

  /** Pop from the first non-empty sorted set of `keys`; null when all are empty. */
  zmpop(keys: readonly Key[], which: 'min' | 'max', count?: number, options?: RequestOptions): Promise<{ key: Uint8Array; members: ScoredMember[] } | null> {
    const args = [...counted(keys), which];
    if (count !== undefined) args.push('COUNT', count);
    return this.dataCall(
      'zmpop',
      first(keys),
      args,
      (v) => {
        if (v === null) return null;
        const [key, list] = v as [Uint8Array, [Uint8Array, unknown][]];
        return { key, members: list.map(([member, s]) => ({ member, score: score(s) })) };
      },
      options,
    );
  }

  zremrangebyrank(key: Key, start: number, stop: number, options?: RequestOptions): Promise<number> {
    return this.dataCall('zremrangebyrank', key, [key, start, stop], num, options);
  }

  zremrangebyscore(key: Key, min: ScoreBound, max: ScoreBound, options?: RequestOptions): Promise<number> {
    return this.dataCall('zremrangebyscore', key, [key, min, max], num, options);
  }

  zremrangebylex(key: Key, min: LexBound, max: LexBound, options?: RequestOptions): Promise<number> {
    return this.dataCall('zremrangebylex', key, [key, min, max], num, options);
  }

  /** Store the union of `keys` at `destination` (all on one shard); its size. */
  zunionstore(destination: Key, keys: readonly Key[], options?: ZcombineOptions): Promise<number> {
    return this.dataCall('zunionstore', destination, combineArgs([destination, ...counted(keys)], options), num, options);
  }

  zinterstore(destination: Key, keys: readonly Key[], options?: ZcombineOptions): Promise<number> {
    return this.dataCall('zinterstore', destination, combineArgs([destination, ...counted(keys)], options), num, options);
  }

  zdiffstore(destination: Key, keys: readonly Key[], options?: RequestOptions): Promise<number> {
    return this.dataCall('zdiffstore', destination, [destination, ...counted(keys)], num, options);
  }

  zunion(keys: readonly Key[], options?: ZcombineOptions): Promise<Uint8Array[]> {
    return this.dataCall('zunion', first(keys), combineArgs(counted(keys), options), null, options);
  }

  zunionWithScores(keys: readonly Key[], options?: ZcombineOptions): Promise<ScoredMember[]> {
    return this.dataCall('zunion', first(keys), [...combineArgs(counted(keys), options), 'WITHSCORES'], scored, options);
  }

  zinter(keys: readonly Key[], options?: ZcombineOptions): Promise<Uint8Array[]> {
    return this.dataCall('zinter', first(keys), combineArgs(counted(keys), options), null, options);
  }

  zinterWithScores(keys: readonly Key[], options?: ZcombineOptions): Promise<ScoredMember[]> {
    return this.dataCall('zinter', first(keys), [...combineArgs(counted(keys), options), 'WITHSCORES'], scored, options);
  }

  zdiff(keys: readonly Key[], options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('zdiff', first(keys), counted(keys), null, options);
  }

  zdiffWithScores(keys: readonly Key[], options?: RequestOptions): Promise<ScoredMember[]> {
    return this.dataCall('zdiff', first(keys), [...counted(keys), 'WITHSCORES'], scored, options);
  }

  zrandmember(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.dataCall('zrandmember', key, [key], null, options);
  }

  /** Random members: `count` distinct (at most all), or |count| that may repeat when negative. */
  zrandmembers(key: Key, count: number, options?: RequestOptions): Promise<Uint8Array[]> {
    return this.dataCall('zrandmember', key, [key, count], null, options);
  }

  zrandmembersWithScores(key: Key, count: number, options?: RequestOptions): Promise<ScoredMember[]> {
    return this.dataCall('zrandmember', key, [key, count, 'WITHSCORES'], scored, options);
  }

  /** One page of members with scores; start with '0', stop when the cursor is '0' again. */
  zscan(key: Key, cursor = '0', options?: ScanOptions): Promise<ZsetScanPage> {
    return this.dataCall(
      'zscan',
      key,
      scanArgs([key, cursor], options),
      (v) => {
        const [next, flat] = v as [unknown, unknown];
        return { cursor: cursorText(next), members: scored(flat) };
      },
      options,
    );
  }
}

function lposArgs(key: Key, element: Value, options: LposOptions | undefined): unknown[] {
  const args: unknown[] = [key, element];
  if (options?.rank !== undefined) args.push('RANK', options.rank);
  if (options?.maxlen !== undefined) args.push('MAXLEN', options.maxlen);
  return args;
}

function zaddArgs(key: Key, options: ZaddOptions | undefined): unknown[] {
  const args: unknown[] = [key];
  if (options?.nx) args.push('NX');
  if (options?.xx) args.push('XX');
  if (options?.gt) args.push('GT');
  if (options?.lt) args.push('LT');
  if (options?.ch) args.push('CH');
  return args;
}
