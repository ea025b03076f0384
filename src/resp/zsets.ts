/**
 * RESP handlers of the sorted set commands: arguments → a command core call → Redis' reply. Each
 * handler checks its arguments in the order Redis 7.0's t_zset.c does, so the first error Redis
 * would give is the one given, worded as Redis words it.
 */
import * as C from '../commands/index.js';
import { globMatch, matchesAll } from '../commands/glob.js';
import {
  type Aggregate,
  combinedEntries,
  formatScore,
  listpackScore,
  parseLexBound,
  parseScore,
  parseScoreBound,
  type ZEntries,
  type ZPopResult,
  type ZRange,
  zadd,
  zcard,
  zcombine,
  zcount,
  zlexcount,
  zmscore,
  zpop,
  zrandmember,
  zrandmembers,
  zrange,
  zrangestore,
  zrank,
  zrem,
  zremrange,
  zscan,
  zscore,
  zsources,
  zstoreCombined,
} from '../commands/zsets.js';
import { member, ValueType } from '../engine/collections/types.js';
import { EMPTY_ARRAY, NIL, NIL_ARRAY, bulk, err, integer } from './encode.js';
import { served, timeoutOf } from './blocking.js';
import { NOT_FLOAT, NOT_INTEGER, SYNTAX } from './errors.js';
import { type Ctx, type Handler, failure, lower } from './handler.js';

const NOT_RANGE_FLOAT = err('min or max is not a float');
const NOT_LEX = err('min or max not valid string range item');
const MUST_BE_POSITIVE = err('value is out of range, must be positive');
const EMPTY_SCAN = Buffer.from('*2\r\n$1\r\n0\r\n*0\r\n');

/** a long as Redis' getLongFromObject reads it, clamped into the safe integers (ranks and counts) */
function long(arg: Buffer): number | null {
  const v = C.parseI64(arg);
  if (v === null) return null;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v < -max ? -max : v);
}

// ---- replies -----------------------------------------------------------------------------------

function scoreBulk(score: number): Buffer {
  return bulk(Buffer.from(formatScore(score), 'latin1'));
}

/** `$len\r\n` + bytes + CRLF of a latin1 string, written at `at`; returns the new offset */
function putBulk(out: Buffer, at: number, s: string): number {
  at += out.write(`$${s.length}\r\n`, at, 'latin1');
  at += out.write(s, at, 'latin1');
  out[at++] = 13;
  out[at++] = 10;
  return at;
}

function bulkSize(s: string): number {
  return String(s.length).length + s.length + 5;
}

/** members (and their scores after each, flat, as RESP2 answers WITHSCORES), in one buffer */
function entriesReply(e: ZEntries, withScores: boolean, head = '', scoreText: (d: number) => string = formatScore): Buffer {
  const n = e.members.length;
  const texts = withScores ? e.scores.map(scoreText) : [];
  const top = `${head}*${withScores ? n * 2 : n}\r\n`;
  let size = top.length;
  for (let i = 0; i < n; i++) size += bulkSize(e.members[i]) + (withScores ? bulkSize(texts[i]) : 0);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(top, 0, 'latin1');
  for (let i = 0; i < n; i++) {
    at = putBulk(out, at, e.members[i]);
    if (withScores) at = putBulk(out, at, texts[i]);
  }
  return out;
}

function members(args: Buffer[], from: number): string[] {
  const out: string[] = [];
  for (let i = from; i < args.length; i++) out.push(member(args[i]));
  return out;
}

// ---- ZADD, ZINCRBY and single-member commands --------------------------------------------------

function zaddGeneric(ctx: Ctx, args: Buffer[], incrCommand: boolean): Buffer {
  const o: C.ZAddOptions = { incr: incrCommand };
  let ch = false;
  let i = 2;
  for (; i < args.length; i++) {
    const opt = lower(args[i]);
    if (opt === 'nx') o.nx = true;
    else if (opt === 'xx') o.xx = true;
    else if (opt === 'ch') ch = true;
    else if (opt === 'incr') o.incr = true;
    else if (opt === 'gt') o.gt = true;
    else if (opt === 'lt') o.lt = true;
    else break;
  }
  const elements = args.length - i;
  if (elements % 2 !== 0 || elements === 0) return SYNTAX;
  if (o.nx && o.xx) return err('XX and NX options at the same time are not compatible');
  if ((o.gt && o.nx) || (o.lt && o.nx) || (o.gt && o.lt)) return err('GT, LT, and/or NX options at the same time are not compatible');
  if (o.incr && elements > 2) return err('INCR option supports a single increment-element pair');
  const scores: number[] = [];
  const names: string[] = [];
  for (let j = i; j < args.length; j += 2) {
    const s = parseScore(args[j]);
    if (s === null) return NOT_FLOAT;
    scores.push(s);
    names.push(member(args[j + 1]));
  }
  const r = zadd(ctx, args[1], o, scores, names);
  if (C.isFailure(r)) return failure(r, incrCommand ? 'zincrby' : 'zadd');
  if (o.incr) return r.processed > 0 ? scoreBulk(r.score) : NIL;
  return integer(ch ? r.added + r.updated : r.added);
}

const zaddCmd: Handler = (ctx, args) => zaddGeneric(ctx, args, false);
const zincrby: Handler = (ctx, args) => zaddGeneric(ctx, args, true);

const zremCmd: Handler = (ctx, args) => {
  const r = zrem(ctx, args[1], members(args, 2));
  return C.isFailure(r) ? failure(r, 'zrem') : integer(r);
};

const zscoreCmd: Handler = (ctx, args) => {
  const r = zscore(ctx, args[1], member(args[2]));
  if (C.isFailure(r)) return failure(r, 'zscore');
  return r === null ? NIL : scoreBulk(r);
};

const zmscoreCmd: Handler = (ctx, args) => {
  const r = zmscore(ctx, args[1], members(args, 2));
  if (C.isFailure(r)) return failure(r, 'zmscore');
  return Buffer.concat([Buffer.from(`*${r.length}\r\n`), ...r.map((s) => (s === null ? NIL : scoreBulk(s)))]);
};

const zcardCmd: Handler = (ctx, args) => {
  const r = zcard(ctx, args[1]);
  return C.isFailure(r) ? failure(r, 'zcard') : integer(r);
};

const zcountCmd: Handler = (ctx, args) => {
  const min = parseScoreBound(args[2]);
  const max = parseScoreBound(args[3]);
  if (min === null || max === null) return NOT_RANGE_FLOAT;
  const r = zcount(ctx, args[1], min, max);
  return C.isFailure(r) ? failure(r, 'zcount') : integer(r);
};

const zlexcountCmd: Handler = (ctx, args) => {
  const min = parseLexBound(args[2]);
  const max = parseLexBound(args[3]);
  if (min === null || max === null) return NOT_LEX;
  const r = zlexcount(ctx, args[1], min, max);
  return C.isFailure(r) ? failure(r, 'zlexcount') : integer(r);
};

function zrankGeneric(ctx: Ctx, args: Buffer[], rev: boolean): Buffer {
  const r = zrank(ctx, args[1], member(args[2]), rev);
  if (C.isFailure(r)) return failure(r, rev ? 'zrevrank' : 'zrank');
  return r === null ? NIL : integer(r);
}

// ---- ranges ------------------------------------------------------------------------------------

type RangeType = 'auto' | 'rank' | 'score' | 'lex';
type Direction = 'auto' | 'forward' | 'reverse';

/**
 * Redis' zrangeGenericCommand: options after `<src> <min> <max>`, conflicts, then the range, then
 * the key. `at` is the source key's index; `store` the destination for ZRANGESTORE.
 */
function zrangeGeneric(ctx: Ctx, args: Buffer[], at: number, store: Buffer | null, type: RangeType, direction: Direction, cmd: string): Buffer {
  let minIdx = at + 1;
  let maxIdx = at + 2;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = at + 3; j < args.length; j++) {
    const left = args.length - j - 1;
    const opt = lower(args[j]);
    if (store === null && opt === 'withscores') withScores = true;
    else if (opt === 'limit' && left >= 2) {
      const o = long(args[j + 1]);
      const l = o === null ? null : long(args[j + 2]);
      if (o === null || l === null) return NOT_INTEGER;
      offset = o;
      limit = l;
      j += 2;
    } else if (direction === 'auto' && opt === 'rev') direction = 'reverse';
    else if (type === 'auto' && opt === 'bylex') type = 'lex';
    else if (type === 'auto' && opt === 'byscore') type = 'score';
    else return SYNTAX;
  }
  if (direction === 'auto') direction = 'forward';
  if (type === 'auto') type = 'rank';
  if (limit !== -1 && type === 'rank') return err('syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && type === 'lex') return err('syntax error, WITHSCORES not supported in combination with BYLEX');
  const rev = direction === 'reverse';
  if (rev && type !== 'rank') [minIdx, maxIdx] = [maxIdx, minIdx];
  let range: ZRange;
  if (type === 'rank') {
    const start = long(args[minIdx]);
    const stop = start === null ? null : long(args[maxIdx]);
    if (start === null || stop === null) return NOT_INTEGER;
    range = { by: 'rank', start, stop };
  } else if (type === 'score') {
    const min = parseScoreBound(args[minIdx]);
    const max = parseScoreBound(args[maxIdx]);
    if (min === null || max === null) return NOT_RANGE_FLOAT;
    range = { by: 'score', min, max, offset, count: limit };
  } else {
    const min = parseLexBound(args[minIdx]);
    const max = parseLexBound(args[maxIdx]);
    if (min === null || max === null) return NOT_LEX;
    range = { by: 'lex', min, max, offset, count: limit };
  }
  if (store !== null) {
    const n = zrangestore(ctx, store, args[at], range, rev);
    return C.isFailure(n) ? failure(n, cmd) : integer(n);
  }
  const r = zrange(ctx, args[at], range, rev);
  if (r === null) return EMPTY_ARRAY;
  if (C.isFailure(r)) return failure(r, cmd);
  return entriesReply(r, withScores);
}

const ranges: [string, Handler][] = [
  ['zrange', (ctx, args) => zrangeGeneric(ctx, args, 1, null, 'auto', 'auto', 'zrange')],
  ['zrangestore', (ctx, args) => zrangeGeneric(ctx, args, 2, args[1], 'auto', 'auto', 'zrangestore')],
  ['zrevrange', (ctx, args) => zrangeGeneric(ctx, args, 1, null, 'rank', 'reverse', 'zrevrange')],
  ['zrangebyscore', (ctx, args) => zrangeGeneric(ctx, args, 1, null, 'score', 'forward', 'zrangebyscore')],
  ['zrevrangebyscore', (ctx, args) => zrangeGeneric(ctx, args, 1, null, 'score', 'reverse', 'zrevrangebyscore')],
  ['zrangebylex', (ctx, args) => zrangeGeneric(ctx, args, 1, null, 'lex', 'forward', 'zrangebylex')],
  ['zrevrangebylex', (ctx, args) => zrangeGeneric(ctx, args, 1, null, 'lex', 'reverse', 'zrevrangebylex')],
];

function zremrangeGeneric(ctx: Ctx, args: Buffer[], type: 'rank' | 'score' | 'lex', cmd: string): Buffer {
  let range: ZRange;
  if (type === 'rank') {
    const start = long(args[2]);
    const stop = start === null ? null : long(args[3]);
    if (start === null || stop === null) return NOT_INTEGER;
    range = { by: 'rank', start, stop };
  } else if (type === 'score') {
    const min = parseScoreBound(args[2]);
    const max = parseScoreBound(args[3]);
    if (min === null || max === null) return NOT_RANGE_FLOAT;
    range = { by: 'score', min, max, offset: 0, count: -1 };
  } else {
    const min = parseLexBound(args[2]);
    const max = parseLexBound(args[3]);
    if (min === null || max === null) return NOT_LEX;
    range = { by: 'lex', min, max, offset: 0, count: -1 };
  }
  const r = zremrange(ctx, args[1], range);
  return C.isFailure(r) ? failure(r, cmd) : integer(r);
}

// ---- pops --------------------------------------------------------------------------------------

function zpopGeneric(ctx: Ctx, args: Buffer[], max: boolean): Buffer {
  if (args.length > 3) return SYNTAX;
  let count = 1;
  if (args.length === 3) {
    const c = long(args[2]);
    if (c === null || c < 0) return MUST_BE_POSITIVE;
    count = c;
  }
  const r = zpop(ctx, [args[1]], max, count);
  if (r === null) return EMPTY_ARRAY;
  if (C.isFailure(r)) return failure(r, max ? 'zpopmax' : 'zpopmin');
  return entriesReply(r.entries, true);
}

interface ZmpopArgs {
  keys: Buffer[];
  max: boolean;
  count: number;
}

/** `numkeys key [key ...] MIN|MAX [COUNT count]` from args[at] on, checked in Redis' order */
function zmpopArgs(args: Buffer[], at: number): ZmpopArgs | Buffer {
  const numkeys = long(args[at]);
  if (numkeys === null || numkeys < 1) return err('numkeys should be greater than 0');
  const whereIdx = at + numkeys + 1;
  if (whereIdx >= args.length) return SYNTAX;
  const where = lower(args[whereIdx]);
  if (where !== 'min' && where !== 'max') return SYNTAX;
  let count = -1;
  for (let j = whereIdx + 1; j < args.length; j++) {
    if (count === -1 && lower(args[j]) === 'count' && j < args.length - 1) {
      j++;
      const c = long(args[j]);
      if (c === null || c < 1) return err('count should be greater than 0');
      count = c;
    } else return SYNTAX;
  }
  return { keys: args.slice(at + 1, whereIdx), max: where === 'max', count: count === -1 ? 1 : count };
}

/** ZMPOP's reply: *2, the key, then each member and score as a pair; the null array when none */
function zmpopReply(r: ZPopResult | null): Buffer {
  if (r === null) return NIL_ARRAY;
  const { members: ms, scores } = r.entries;
  const parts: Buffer[] = [Buffer.from('*2\r\n'), bulk(r.key), Buffer.from(`*${ms.length}\r\n`)];
  for (let i = 0; i < ms.length; i++) parts.push(Buffer.from('*2\r\n'), bulk(Buffer.from(ms[i], 'latin1')), scoreBulk(scores[i]));
  return Buffer.concat(parts);
}

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
const zmpop: Handler = (ctx, args) => {
  const a = zmpopArgs(args, 1);
  if (Buffer.isBuffer(a)) return a;
  const r = zpop(ctx, a.keys, a.max, a.count);
  return C.isFailure(r) ? failure(r, 'zmpop') : zmpopReply(r);
};

// ---- blocking pops -----------------------------------------------------------------------------
// They answer at once when a key has members, or when the message may not block (MULTI, a script,
// native CALL: the null array, as Redis at a timeout); else they wait on the shard's waiters
// (src/commands/blocking.ts), served first blocked first by the command that filled a key.

/** BZPOPMIN / BZPOPMAX's reply: `*3 key member score` */
function bzpopReply(r: ZPopResult): Buffer {
  return Buffer.concat([Buffer.from('*3\r\n'), bulk(r.key), bulk(Buffer.from(r.entries.members[0], 'latin1')), scoreBulk(r.entries.scores[0])]);
}

/** a waiter's verdict on a ready key before it pops: DRAINED when absent, PASS when not a sorted set */
function zsetThere(ctx: Ctx, key: Buffer): typeof C.PASS | typeof C.DRAINED | null {
  const t = ctx.store.typeOf(key);
  return t === null ? C.DRAINED : t !== ValueType.ZSET ? C.PASS : null;
}

/** pops count (1 for BZPOPMIN) from the first key with members, or blocks on every key */
function blockingPop(
  ctx: Ctx,
  keys: Buffer[],
  max: boolean,
  count: number,
  timeout: number,
  render: (r: ZPopResult) => Buffer,
  cmd: string,
): Buffer | Promise<Buffer> {
  const r = zpop(ctx, keys, max, count);
  if (C.isFailure(r)) return failure(r, cmd);
  if (r !== null) return render(r);
  const waiters = C.waitersOf(ctx.store);
  if (waiters.blocker === null) return NIL_ARRAY;
  return waiters.wait<Buffer | Promise<Buffer>>(
    keys,
    (key) =>
      zsetThere(ctx, key) ??
      served(ctx, () => {
        const got = zpop(ctx, [key], max, count);
        return got === null ? NIL_ARRAY : C.isFailure(got) ? failure(got, cmd) : render(got);
      }),
    timeout,
    () => NIL_ARRAY,
  ) as Promise<Buffer>;
}

/** BZPOPMIN / BZPOPMAX key [key ...] timeout: the timeout is read first, as Redis */
function bzpop(max: boolean, cmd: string): Handler {
  return (ctx, args) => {
    const timeout = timeoutOf(args[args.length - 1]);
    if (typeof timeout !== 'number') return timeout;
    return blockingPop(ctx, args.slice(1, -1), max, 1, timeout, bzpopReply, cmd);
  };
}

/** BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP's checks, then the timeout */
const bzmpop: Handler = (ctx, args) => {
  const a = zmpopArgs(args, 2);
  if (Buffer.isBuffer(a)) return a;
  const timeout = timeoutOf(args[1]);
  if (typeof timeout !== 'number') return timeout;
  return blockingPop(ctx, a.keys, a.max, a.count, timeout, zmpopReply, 'bzmpop');
};

// ---- set operations ----------------------------------------------------------------------------

/**
 * Redis' zunionInterDiffGenericCommand: numkeys, the keys (their types checked before any option),
 * then WEIGHTS / AGGREGATE / WITHSCORES / LIMIT as the command allows.
 */
function zsetop(ctx: Ctx, args: Buffer[], op: 'union' | 'inter' | 'diff', dest: boolean, card: boolean, cmd: string): Buffer {
  const numIdx = dest ? 2 : 1;
  const setnum = long(args[numIdx]);
  if (setnum === null) return NOT_INTEGER;
  if (setnum < 1) return err(`at least 1 input key is needed for '${cmd}' command`);
  if (setnum > args.length - (numIdx + 1)) return SYNTAX;
  const keys = args.slice(numIdx + 1, numIdx + 1 + setnum);
  const sources = zsources(ctx, keys);
  if (C.isFailure(sources)) return failure(sources, cmd);
  const weights: number[] = new Array<number>(setnum).fill(1);
  let how: Aggregate = 'sum';
  let withScores = false;
  let limit = 0;
  let j = numIdx + 1 + setnum;
  while (j < args.length) {
    const remaining = args.length - j;
    const opt = lower(args[j]);
    if (op !== 'diff' && !card && remaining >= setnum + 1 && opt === 'weights') {
      j++;
      for (let i = 0; i < setnum; i++, j++) {
        const w = parseScore(args[j]);
        if (w === null) return err('weight value is not a float');
        weights[i] = w;
      }
    } else if (op !== 'diff' && !card && remaining >= 2 && opt === 'aggregate') {
      const a = lower(args[j + 1]);
      if (a !== 'sum' && a !== 'min' && a !== 'max') return SYNTAX;
      how = a;
      j += 2;
    } else if (!dest && !card && opt === 'withscores') {
      withScores = true;
      j++;
    } else if (card && remaining >= 2 && opt === 'limit') {
      const l = long(args[j + 1]);
      if (l === null || l < 0) return err("LIMIT can't be negative");
      limit = l;
      j += 2;
    } else return SYNTAX;
  }
  const result = zcombine(op, sources, weights, how, card ? limit : 0);
  if (card) return integer(result.size);
  if (dest) return integer(zstoreCombined(ctx, args[1], result, op));
  return entriesReply(combinedEntries(result), withScores);
}

// ---- random members and scans ------------------------------------------------------------------

const I64_MIN = -(2n ** 63n);
const HALF = 2n ** 62n; // LONG_MAX / 2, rounded as C does (4611686018427387903 is the largest allowed)

const zrandmemberCmd: Handler = (ctx, args) => {
  if (args.length >= 3) {
    const v = C.parseI64(args[2]);
    if (v === null) return NOT_INTEGER;
    if (v === I64_MIN) return err('value is out of range, value must between -9223372036854775807 and 9223372036854775807');
    let withScores = false;
    if (args.length > 4 || (args.length === 4 && lower(args[3]) !== 'withscores')) return SYNTAX;
    if (args.length === 4) {
      withScores = true;
      if (v < -(HALF - 1n) || v > HALF - 1n) return err('value is out of range');
    }
    // a reply of that many members could not be built: refused where Redis would run out of memory
    if (v < -BigInt(C.ZRANDMEMBER_MAX_REPEATS)) return err(`value is out of range, a negative count must be at least -${C.ZRANDMEMBER_MAX_REPEATS}`);
    const r = zrandmembers(ctx, args[1], Number(v));
    if (r === null) return EMPTY_ARRAY;
    if (C.isFailure(r)) return failure(r, 'zrandmember');
    return entriesReply(r, withScores);
  }
  const r = zrandmember(ctx, args[1]);
  if (C.isFailure(r)) return failure(r, 'zrandmember');
  return r === null ? NIL : bulk(Buffer.from(r, 'latin1'));
};

const U64_MAX = 2n ** 64n - 1n;

/** Redis' parseScanCursorOrReply: strtoul of the whole argument (a sign wraps, "" is 0) */
function scanCursor(arg: Buffer): bigint | null {
  const text = arg.toString('latin1');
  const m = /^([+-]?)(\d*)$/.exec(text);
  if (m === null || (m[2] === '' && m[1] !== '')) return null;
  const v = m[2] === '' ? 0n : BigInt(m[2]);
  if (v > U64_MAX) return null;
  return m[1] === '-' ? (U64_MAX + 1n - v) & U64_MAX : v;
}

const zscanCmd: Handler = (ctx, args) => {
  const cursor = scanCursor(args[2]);
  if (cursor === null) return err('invalid cursor');
  // Redis answers a missing key, or one of another type, before it reads the options
  const z = C.readable(ctx, args[1], ValueType.ZSET);
  if (z === null) return EMPTY_SCAN;
  if (C.isFailure(z)) return failure(z, 'zscan');
  let count = 10;
  let pattern: Buffer | null = null;
  for (let i = 3; i < args.length; ) {
    const opt = lower(args[i]);
    const left = args.length - i;
    if (opt === 'count' && left >= 2) {
      const c = long(args[i + 1]);
      if (c === null) return NOT_INTEGER;
      if (c < 1) return SYNTAX;
      count = c;
      i += 2;
    } else if (opt === 'match' && left >= 2) {
      pattern = matchesAll(args[i + 1]) ? null : args[i + 1];
      i += 2;
    } else return SYNTAX;
  }
  const p = pattern;
  const page = zscan(ctx, args[1], cursor, count, p === null ? null : (m) => globMatch(p, Buffer.from(m, 'latin1')));
  if (C.isFailure(page)) return failure(page, 'zscan');
  const c = page.cursor.toString();
  return entriesReply(page.entries, true, `*2\r\n$${c.length}\r\n${c}\r\n`, page.listpack ? listpackScore : formatScore);
};

export const ZSET_HANDLERS: ReadonlyArray<[string, Handler]> = [
  ['zadd', zaddCmd],
  ['zincrby', zincrby],
  ['zrem', zremCmd],
  ['zscore', zscoreCmd],
  ['zmscore', zmscoreCmd],
  ['zcard', zcardCmd],
  ['zcount', zcountCmd],
  ['zlexcount', zlexcountCmd],
  ['zrank', (ctx, args) => zrankGeneric(ctx, args, false)],
  ['zrevrank', (ctx, args) => zrankGeneric(ctx, args, true)],
  ...ranges,
  ['zpopmin', (ctx, args) => zpopGeneric(ctx, args, false)],
  ['zpopmax', (ctx, args) => zpopGeneric(ctx, args, true)],
  ['zmpop', zmpop],
  ['bzpopmin', bzpop(false, 'bzpopmin')],
  ['bzpopmax', bzpop(true, 'bzpopmax')],
  ['bzmpop', bzmpop],
  ['zremrangebyrank', (ctx, args) => zremrangeGeneric(ctx, args, 'rank', 'zremrangebyrank')],
  ['zremrangebyscore', (ctx, args) => zremrangeGeneric(ctx, args, 'score', 'zremrangebyscore')],
  ['zremrangebylex', (ctx, args) => zremrangeGeneric(ctx, args, 'lex', 'zremrangebylex')],
  ['zunionstore', (ctx, args) => zsetop(ctx, args, 'union', true, false, 'zunionstore')],
  ['zinterstore', (ctx, args) => zsetop(ctx, args, 'inter', true, false, 'zinterstore')],
  ['zdiffstore', (ctx, args) => zsetop(ctx, args, 'diff', true, false, 'zdiffstore')],
  ['zunion', (ctx, args) => zsetop(ctx, args, 'union', false, false, 'zunion')],
  ['zinter', (ctx, args) => zsetop(ctx, args, 'inter', false, false, 'zinter')],
  ['zdiff', (ctx, args) => zsetop(ctx, args, 'diff', false, false, 'zdiff')],
  ['zintercard', (ctx, args) => zsetop(ctx, args, 'inter', false, true, 'zintercard')],
  ['zrandmember', zrandmemberCmd],
  ['zscan', zscanCmd],
];
