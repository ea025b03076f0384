/**
 * The sorted-set commands: typed arguments in, a typed result or a Failure out, over the store's
 * ZSetValue (src/engine/collections/zset.ts). Scores are parsed and printed here with Redis 7.0's
 * rules (strtod acceptance, `%.17g`), so every protocol shows the same numbers.
 */
import type { SetValue } from '../engine/collections/set.js';
import { member, Reader, ValueType } from '../engine/collections/types.js';
import { Notify } from '../events/codes.js';
import { LISTPACK_ENTRIES, LISTPACK_VALUE, type LexBound, type ScoreBound, type ZNode, ZSetValue } from '../engine/collections/zset.js';
import { keyReady } from './blocking.js';
import { changed, readable, writable } from './collections.js';
import { type CommandContext, Failure, Fault, fail, isFailure } from './types.js';

export type { LexBound, ScoreBound };

// ---- scores ------------------------------------------------------------------------------------

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INF = /^[+-]?(?:inf|infinity)$/i;
const NONZERO_DIGIT = /[1-9]/;

/**
 * The longest prefix strtod reads as a number and its value, as glibc's strtod (decimal, hex
 * floats, inf, infinity, nan), after leading white space; `range` when it overflowed or
 * underflowed to zero (ERANGE). null when no prefix is a number.
 */
function strtod(text: string): { value: number; end: number; range: boolean } | null {
  let at = 0;
  while (at < text.length && ' \t\n\v\f\r'.includes(text[at])) at++;
  const rest = text.slice(at);
  const inf = /^[+-]?(?:infinity|inf)/i.exec(rest);
  if (inf) return { value: inf[0][0] === '-' ? -Infinity : Infinity, end: at + inf[0].length, range: false };
  const nan = /^[+-]?nan(?:\([0-9A-Za-z_]*\))?/i.exec(rest);
  if (nan) return { value: NaN, end: at + nan[0].length, range: false };
  const hex = /^[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?/.exec(rest);
  if (hex) {
    return { ...hexValue(hex[0]), end: at + hex[0].length };
  }
  const dec = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
  const head = dec === null ? null : /^[+-]?(?:\d+\.?\d*|\.\d+)/.exec(rest);
  if (dec === null || head === null) return null;
  const value = Number(dec[0]);
  const range = (value === 0 && NONZERO_DIGIT.test(head[0])) || !Number.isFinite(value);
  return { value, end: at + dec[0].length, range };
}

/** a hex float's value: its digits rounded once to a double by Number(BigInt), then scaled by 2^exp */
function hexValue(text: string): { value: number; range: boolean } {
  const m = HEX.exec(text)!;
  const frac = m[3] ?? '';
  const digits = (m[2] + frac).replace(/^0+/, '');
  const sign = m[1] === '-' ? -1 : 1;
  if (digits.length === 0) return { value: sign * 0, range: false };
  const exp = Number(m[4] ?? '0') - 4 * frac.length;
  const half = Math.trunc(exp / 2);
  // two steps, so neither power of two overflows or underflows on its own
  const value = sign * Number(BigInt(`0x${digits}`)) * 2 ** half * 2 ** (exp - half);
  return { value, range: value === 0 || !Number.isFinite(value) };
}

/** an optional '-' and up to 15 digits (exact in a double, and a valid strtod number): most scores */
function smallInteger(arg: Uint8Array): number | null {
  const len = arg.length;
  if (len === 0 || len > 15) return null;
  let i = arg[0] === 45 ? 1 : 0;
  if (i === len) return null;
  let n = 0;
  for (; i < len; i++) {
    const c = arg[i] - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  return arg[0] === 45 ? -n : n;
}

/**
 * A score or weight as Redis 7 reads one (getDoubleFromObject): the whole argument a strtod number,
 * no leading blank, not NaN, no overflow or underflow to zero. null when Redis refuses it.
 */
export function parseScore(arg: Uint8Array): number | null {
  const fast = smallInteger(arg);
  if (fast !== null) return fast;
  const text = member(arg);
  if (text.length === 0 || ' \t\n\v\f\r'.includes(text[0])) return null;
  if (INF.test(text)) return text[0] === '-' ? -Infinity : Infinity;
  if (DECIMAL.test(text)) {
    const value = Number(text);
    if (!Number.isFinite(value)) return null;
    if (value === 0 && NONZERO_DIGIT.test(text.replace(/[eE].*$/, ''))) return null;
    return value;
  }
  const r = strtod(text);
  if (r === null || r.end !== text.length || r.range || Number.isNaN(r.value)) return null;
  return r.value;
}

/**
 * A score range end as Redis reads one (zslParseRange): `(` makes it exclusive; strtod up to a NUL
 * byte, leading blanks and an empty text (0) allowed, overflow to ±inf allowed; NaN refused.
 */
export function parseScoreBound(arg: Uint8Array): ScoreBound | null {
  let text = member(arg);
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  const ex = text.startsWith('(');
  if (ex) text = text.slice(1);
  const r = strtod(text);
  if (r === null) {
    // strtod read nothing: value 0 and the end is the start, so only an empty text passes
    return text.length === 0 ? { value: 0, ex } : null;
  }
  if (r.end !== text.length || Number.isNaN(r.value)) return null;
  return { value: r.value, ex };
}

/** a lex range end as Redis reads one: `-`, `+`, `(member` or `[member` */
export function parseLexBound(arg: Uint8Array): LexBound | null {
  if (arg.length === 0) return null;
  const c = arg[0];
  // Redis checks the byte after '-' / '+' against NUL, so "-\0..." is '-' too
  if (c === 45) return arg.length === 1 || arg[1] === 0 ? { kind: 'min' } : null;
  if (c === 43) return arg.length === 1 || arg[1] === 0 ? { kind: 'max' } : null;
  if (c === 40 || c === 91) return { kind: 'value', value: member(arg.subarray(1)), ex: c === 40 };
  return null;
}

/** round-half-even of decimal digits to 17, with the decimal exponent of the first digit */
function round17(digits: string, exp: number): [string, number] {
  if (digits.length <= 17) return [digits, exp];
  let head = digits.slice(0, 17);
  const rest = digits.slice(17);
  const half = '5'.padEnd(rest.length, '0');
  const up = rest > half || (rest === half && (Number(head[16]) & 1) === 1);
  if (up) {
    const bumped = (BigInt(head) + 1n).toString();
    if (bumped.length > 17) {
      head = bumped.slice(0, 17);
      exp++;
    } else {
      head = bumped;
    }
  }
  return [head, exp];
}

const TWO_26 = 2 ** 26;
const FIVE_26 = 5n ** 26n;

/**
 * A double as Redis 7.0 prints a score (`%.17g`; `inf`, `-inf`, `-0`). JS rounds ties away from
 * zero where printf rounds them to even, so a double whose exact decimal could end on a tie (few
 * fraction bits, or an integer past 2^53) is expanded exactly and rounded here.
 */
export function formatScore(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const negative = d < 0;
  const a = Math.abs(d);
  if (Number.isInteger(a) && a < 2 ** 53) return (negative ? '-' : '') + String(a);
  let digits: string;
  let exp: number;
  const scaled = a * TWO_26;
  if (Number.isInteger(scaled)) {
    // exact: a = scaled / 2^26 = scaled × 5^26 / 10^26
    const big = (BigInt(scaled) * FIVE_26).toString();
    const trimmed = big.replace(/0+$/, '');
    exp = big.length - 1 - 26;
    [digits, exp] = round17(trimmed, exp);
  } else {
    // more than 18 significant digits exactly: no tie, so JS' correctly rounded digits are printf's
    const [mant, e] = a.toExponential(16).split('e');
    digits = mant.replace('.', '');
    exp = Number(e);
  }
  digits = digits.replace(/0+$/, '');
  let out: string;
  if (exp < -4 || exp >= 17) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    out = `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    out = digits.padEnd(exp + 1, '0');
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return negative ? `-${out}` : out;
}

// ---- results -----------------------------------------------------------------------------------

/** members with their scores, in reply order */
export interface ZEntries {
  members: string[];
  scores: number[];
}

const NAN_SCORE = new Failure(Fault.BAD_ARGUMENT, 'resulting score is not a number (NaN)');

/** `members`: the command reads only these members and the size (see readable) */
function zsetOf(ctx: CommandContext, key: Uint8Array, members?: readonly string[]): ZSetValue | null | Failure {
  return readable<ZSetValue>(ctx, key, ValueType.ZSET, members);
}

function entriesOf(nodes: Iterable<ZNode>): ZEntries {
  const out: ZEntries = { members: [], scores: [] };
  for (const n of nodes) {
    out.members.push(n.member);
    out.scores.push(n.score);
  }
  return out;
}

// ---- ZADD and single-member commands -----------------------------------------------------------

export interface ZAddOptions {
  nx?: boolean;
  xx?: boolean;
  gt?: boolean;
  lt?: boolean;
  incr?: boolean;
}

export interface ZAddResult {
  added: number;
  updated: number;
  /** pairs not stopped by NX / XX / GT / LT */
  processed: number;
  /** the last pair's resulting score (ZADD INCR's reply) */
  score: number;
}

/** ZADD / ZINCRBY: the pairs in order, as Redis' zsetAdd; a NaN sum fails after the pairs before it */
export function zadd(ctx: CommandContext, key: Uint8Array, o: ZAddOptions, scores: readonly number[], members: readonly string[]): ZAddResult | Failure {
  const result: ZAddResult = { added: 0, updated: 0, processed: 0, score: 0 };
  const found = writable<ZSetValue>(ctx, key, ValueType.ZSET, undefined, members);
  if (isFailure(found)) return found;
  let z = found;
  let touched = false;
  if (z === null) {
    if (o.xx) return result;
    // Redis 7.0 makes a new set a listpack (a long first member converts it at once, as set() does)
    z = writable<ZSetValue>(ctx, key, ValueType.ZSET, () => new ZSetValue()) as ZSetValue;
    touched = true;
  }
  let failed: Failure | null = null;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    let score = scores[i];
    const cur = z.score(m);
    if (cur !== undefined) {
      if (o.nx) continue;
      if (o.incr) {
        score += cur;
        if (Number.isNaN(score)) {
          failed = NAN_SCORE;
          break;
        }
      }
      if ((o.lt && score >= cur) || (o.gt && score <= cur)) continue;
      result.processed++;
      result.score = score;
      if (score !== cur) {
        z.set(m, score);
        result.updated++;
      }
    } else if (!o.xx) {
      z.set(m, score);
      result.added++;
      result.processed++;
      result.score = score;
    }
  }
  if (result.added + result.updated > 0) changed(ctx, key, o.incr ? Notify.ZINCR : Notify.ZADD);
  else if (touched) changed(ctx, key, Notify.NONE);
  // clients blocked in BZPOPMIN / BZMPOP may take what was added
  if (touched || result.added > 0) keyReady(ctx.store, key);
  return failed ?? result;
}

/** ZREM: members removed */
export function zrem(ctx: CommandContext, key: Uint8Array, members: readonly string[]): number | Failure {
  const z = writable<ZSetValue>(ctx, key, ValueType.ZSET, undefined, members);
  if (z === null || isFailure(z)) return z ?? 0;
  let n = 0;
  for (const m of members) if (z.delete(m)) n++;
  if (n > 0) changed(ctx, key, Notify.ZREM);
  return n;
}

export function zscore(ctx: CommandContext, key: Uint8Array, m: string): number | null | Failure {
  const z = zsetOf(ctx, key, [m]);
  if (z === null || isFailure(z)) return z;
  return z.score(m) ?? null;
}

export function zmscore(ctx: CommandContext, key: Uint8Array, members: readonly string[]): (number | null)[] | Failure {
  const z = zsetOf(ctx, key, members);
  if (isFailure(z)) return z;
  return members.map((m) => (z === null ? null : (z.score(m) ?? null)));
}

export function zcard(ctx: CommandContext, key: Uint8Array): number | Failure {
  const z = zsetOf(ctx, key, []);
  if (z === null || isFailure(z)) return z ?? 0;
  return z.size;
}

/** ZRANK / ZREVRANK: null when the key or member is absent */
export function zrank(ctx: CommandContext, key: Uint8Array, m: string, rev: boolean): number | null | Failure {
  const z = zsetOf(ctx, key);
  if (z === null || isFailure(z)) return z;
  const r = z.rank(m);
  if (r < 0) return null;
  return rev ? z.size - 1 - r : r;
}

// ---- ranges ------------------------------------------------------------------------------------

/**
 * A range of ZRANGE and friends. rank: start/stop as given (negative from the end). score / lex:
 * bounds, LIMIT offset and count (count < 0: all), as Redis 7 reads them.
 */
export type ZRange =
  | { by: 'rank'; start: number; stop: number }
  | { by: 'score'; min: ScoreBound; max: ScoreBound; offset: number; count: number }
  | { by: 'lex'; min: LexBound; max: LexBound; offset: number; count: number };

function inScoreMin(s: number, b: ScoreBound): boolean {
  return b.ex ? s > b.value : s >= b.value;
}
function inScoreMax(s: number, b: ScoreBound): boolean {
  return b.ex ? s < b.value : s <= b.value;
}

/** Redis' zslIsInRange: not an empty range, and the set's ends do not lie outside it */
function scoreRangeMeets(z: ZSetValue, min: ScoreBound, max: ScoreBound): boolean {
  if (min.value > max.value || (min.value === max.value && (min.ex || max.ex))) return false;
  const last = z.last();
  const first = z.first();
  return last !== null && inScoreMin(last.score, min) && first !== null && inScoreMax(first.score, max);
}

function firstInScore(z: ZSetValue, min: ScoreBound, max: ScoreBound): ZNode | null {
  if (!scoreRangeMeets(z, min, max)) return null;
  const n = z.firstAbove(min);
  return n !== null && inScoreMax(n.score, max) ? n : null;
}

function lastInScore(z: ZSetValue, min: ScoreBound, max: ScoreBound): ZNode | null {
  if (!scoreRangeMeets(z, min, max)) return null;
  const n = z.lastBelow(max);
  return n !== null && inScoreMin(n.score, min) ? n : null;
}

/** the nodes of a range in reply order (rev: from the high end) */
function rangeNodes(z: ZSetValue, range: ZRange, rev: boolean): ZNode[] {
  const out: ZNode[] = [];
  if (range.by === 'rank') {
    const len = z.size;
    let start = range.start < 0 ? len + range.start : range.start;
    let end = range.stop < 0 ? len + range.stop : range.stop;
    if (start < 0) start = 0;
    if (start > end || start >= len) return out;
    if (end >= len) end = len - 1;
    let n = z.at(rev ? len - 1 - start : start);
    for (let i = start; i <= end && n !== null; i++) {
      out.push(n);
      n = rev ? n.prev : n.next;
    }
    return out;
  }
  if (range.offset > 0 && range.offset >= z.size) return out;
  let n: ZNode | null;
  let inside: (n: ZNode) => boolean;
  if (range.by === 'score') {
    const { min, max } = range;
    n = rev ? lastInScore(z, min, max) : firstInScore(z, min, max);
    inside = rev ? (x) => inScoreMin(x.score, min) : (x) => inScoreMax(x.score, max);
  } else {
    const { min, max } = range;
    n = rev ? z.lastInLex(min, max) : z.firstInLex(min, max);
    inside = rev ? (x) => lexMin(x.member, min) : (x) => lexMax(x.member, max);
  }
  // Redis steps over `offset` members without checking them; a negative offset skips everything
  let offset = range.offset;
  while (n !== null && offset-- !== 0) {
    if (offset < -1) return out;
    n = rev ? n.prev : n.next;
  }
  let count = range.count;
  while (n !== null && count-- !== 0) {
    if (!inside(n)) break;
    out.push(n);
    n = rev ? n.prev : n.next;
  }
  return out;
}

function lexMin(m: string, b: LexBound): boolean {
  return b.kind === 'min' || (b.kind === 'value' && (b.ex ? m > b.value : m >= b.value));
}
function lexMax(m: string, b: LexBound): boolean {
  return b.kind === 'max' || (b.kind === 'value' && (b.ex ? m < b.value : m <= b.value));
}

/** ZRANGE and its older forms; null when the key is absent */
export function zrange(ctx: CommandContext, key: Uint8Array, range: ZRange, rev: boolean): ZEntries | null | Failure {
  const z = zsetOf(ctx, key);
  if (z === null || isFailure(z)) return z;
  return entriesOf(rangeNodes(z, range, rev));
}

/** ZRANGESTORE: the range of src written to dst (any type there is replaced; empty deletes dst) */
export function zrangestore(ctx: CommandContext, dst: Uint8Array, src: Uint8Array, range: ZRange, rev: boolean): number | Failure {
  const z = zsetOf(ctx, src);
  if (isFailure(z)) return z;
  const nodes = z === null ? [] : rangeNodes(z, range, rev);
  // Redis starts a listpack unless a rank range already counts more members than one holds
  return store(ctx, dst, nodes, range.by !== 'rank' || nodes.length <= LISTPACK_ENTRIES, Notify.ZRANGESTORE);
}

/**
 * Replaces dst by a new sorted set of these members, added in order (deletes dst when there are
 * none). `small`: whether it starts as Redis would start it, a listpack; adding converts it as
 * Redis does.
 */
function store(ctx: CommandContext, dst: Uint8Array, nodes: readonly { member: string; score: number }[], small: boolean, notify: number): number {
  // Redis notifies a replaced destination by the command's name alone, an emptied one by `del`
  if (nodes.length === 0) {
    ctx.store.delete(dst);
    return 0;
  }
  ctx.store.delete(dst, Notify.NONE);
  const out = writable<ZSetValue>(ctx, dst, ValueType.ZSET, () => new ZSetValue(small)) as ZSetValue;
  for (const n of nodes) out.set(n.member, n.score);
  changed(ctx, dst, notify);
  keyReady(ctx.store, dst);
  return out.size;
}

export function zcount(ctx: CommandContext, key: Uint8Array, min: ScoreBound, max: ScoreBound): number | Failure {
  const z = zsetOf(ctx, key);
  if (z === null || isFailure(z)) return z ?? 0;
  const first = firstInScore(z, min, max);
  if (first === null) return 0;
  const last = z.lastBelow(max)!;
  return z.rank(last.member) - z.rank(first.member) + 1;
}

export function zlexcount(ctx: CommandContext, key: Uint8Array, min: LexBound, max: LexBound): number | Failure {
  const z = zsetOf(ctx, key);
  if (z === null || isFailure(z)) return z ?? 0;
  const first = z.firstInLex(min, max);
  if (first === null) return 0;
  if (!z.small) return z.rank(z.lastInLex(min, max)!.member) - z.rank(first.member) + 1;
  // Redis walks a listpack from the first member in range while members stay below max
  let n = 0;
  for (let x: ZNode | null = first; x !== null && lexMax(x.member, max); x = x.next) n++;
  return n;
}

const REMRANGE_NOTIFY = { rank: Notify.ZREMRANGEBYRANK, score: Notify.ZREMRANGEBYSCORE, lex: Notify.ZREMRANGEBYLEX } as const;

/** ZREMRANGEBYRANK / BYSCORE / BYLEX (no LIMIT): members removed */
export function zremrange(ctx: CommandContext, key: Uint8Array, range: ZRange): number | Failure {
  const z = writable<ZSetValue>(ctx, key, ValueType.ZSET);
  if (z === null || isFailure(z)) return z ?? 0;
  const nodes = rangeNodes(z, range, false);
  for (const n of nodes) z.delete(n.member);
  if (nodes.length > 0) changed(ctx, key, REMRANGE_NOTIFY[range.by]);
  return nodes.length;
}

// ---- pops --------------------------------------------------------------------------------------

export interface ZPopResult {
  /** the key popped from (ZMPOP answers it) */
  key: Uint8Array;
  entries: ZEntries;
}

/**
 * ZPOPMIN / ZPOPMAX / ZMPOP: from the first of keys holding a sorted set (a key of another type
 * first fails), up to count members; null when no key holds one.
 */
export function zpop(ctx: CommandContext, keys: readonly Uint8Array[], max: boolean, count: number): ZPopResult | null | Failure {
  for (const key of keys) {
    const z = writable<ZSetValue>(ctx, key, ValueType.ZSET);
    if (isFailure(z)) return z;
    if (z === null) continue;
    const entries: ZEntries = { members: [], scores: [] };
    for (let i = 0; i < count; i++) {
      const n = max ? z.last() : z.first();
      if (n === null) break;
      entries.members.push(n.member);
      entries.scores.push(n.score);
      z.delete(n.member);
    }
    if (entries.members.length > 0) changed(ctx, key, max ? Notify.ZPOPMAX : Notify.ZPOPMIN);
    return { key, entries };
  }
  return null;
}

// ---- set operations ----------------------------------------------------------------------------

/** a source of ZUNION / ZINTER / ZDIFF: a sorted set, or a set (each member scored 1) */
export type ZSource = ZSetValue | SetValue | null;

/** the sources, in order; a key of another type fails (Redis checks before reading options) */
export function zsources(ctx: CommandContext, keys: readonly Uint8Array[]): ZSource[] | Failure {
  const out: ZSource[] = [];
  for (const key of keys) {
    const type = ctx.store.typeOf(key);
    if (type === null) out.push(null);
    else if (type === ValueType.ZSET || type === ValueType.SET) {
      const c = ctx.store.readCollection<ZSetValue | SetValue>(key, type);
      out.push(typeof c === 'object' ? c : null);
    } else return fail(Fault.WRONG_TYPE);
  }
  return out;
}

function sourceSize(s: ZSource): number {
  return s === null ? 0 : s.size;
}

/** a set's members, read through its encoding (the listing every set structure keeps) */
function setMembers(s: SetValue): string[] {
  const r = new Reader(s.encode());
  const out: string[] = [];
  for (let n = r.u32(); n > 0; n--) out.push(r.str());
  return out;
}

function* sourceEntries(s: ZSource): Generator<[string, number]> {
  if (s === null) return;
  if (s instanceof ZSetValue) {
    for (const n of s.entries()) yield [n.member, n.score];
  } else {
    for (const m of setMembers(s)) yield [m, 1];
  }
}

function sourceScore(s: ZSource, m: string): number | undefined {
  if (s === null) return undefined;
  if (s instanceof ZSetValue) return s.score(m);
  return s.has(m) ? 1 : undefined;
}

export type Aggregate = 'sum' | 'min' | 'max';

function aggregate(target: number, value: number, how: Aggregate): number {
  if (how === 'sum') {
    const sum = target + value;
    // +inf + -inf: Redis' convention is 0
    return Number.isNaN(sum) ? 0 : sum;
  }
  // Redis' comparisons, not Math.min/max: a NaN value (inf × 0 weight) leaves the target as it was
  // biome-ignore lint/complexity/useMathMinMax: NaN and -0 must compare as in C
  if (how === 'min') return value < target ? value : target;
  // biome-ignore lint/complexity/useMathMinMax: NaN and -0 must compare as in C
  return value > target ? value : target;
}

/**
 * ZUNION / ZINTER / ZDIFF (and their STORE / CARD forms): member → score in the result. The sources
 * are taken smallest first for union and intersection, as Redis sorts them, so sums add in Redis'
 * order and come out with the same rounding.
 */
export function zcombine(
  op: 'union' | 'inter' | 'diff',
  sources: readonly ZSource[],
  weights: readonly number[],
  how: Aggregate,
  limit = 0,
): Map<string, number> {
  const result = new Map<string, number>();
  const src = sources.map((s, i) => ({ s, w: weights[i] ?? 1 }));
  if (op === 'diff') {
    const [first, ...rest] = src;
    for (const [m, score] of sourceEntries(first.s)) {
      if (!rest.some((o) => sourceScore(o.s, m) !== undefined)) result.set(m, score);
    }
    return result;
  }
  src.sort((a, b) => sourceSize(a.s) - sourceSize(b.s));
  if (op === 'inter') {
    if (sourceSize(src[0].s) === 0) return result;
    for (const [m, s0] of sourceEntries(src[0].s)) {
      let score = src[0].w * s0;
      if (Number.isNaN(score)) score = 0;
      let all = true;
      for (let j = 1; j < src.length; j++) {
        const v = sourceScore(src[j].s, m);
        if (v === undefined) {
          all = false;
          break;
        }
        score = aggregate(score, v * src[j].w, how);
      }
      if (all) {
        result.set(m, score);
        if (limit > 0 && result.size >= limit) break;
      }
    }
    return result;
  }
  for (const { s, w } of src) {
    for (const [m, v] of sourceEntries(s)) {
      let score = w * v;
      if (Number.isNaN(score)) score = 0;
      const cur = result.get(m);
      result.set(m, cur === undefined ? score : aggregate(cur, score, how));
    }
  }
  return result;
}

/** a combined result in score order, as a sorted set (Redis builds its reply from one) */
export function combinedEntries(result: Map<string, number>): ZEntries {
  const z = new ZSetValue(false);
  for (const [m, s] of result) z.set(m, s);
  return entriesOf(z.entries());
}

/** ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE: dst replaced by the result (deleted when empty) */
export function zstoreCombined(ctx: CommandContext, dst: Uint8Array, result: Map<string, number>, op: 'union' | 'inter' | 'diff'): number {
  const nodes: { member: string; score: number }[] = [];
  let longest = 0;
  for (const [m, s] of result) {
    nodes.push({ member: m, score: s });
    longest = Math.max(longest, m.length);
  }
  // Redis builds the result as a skiplist and converts it to a listpack when it fits one
  const notify = op === 'union' ? Notify.ZUNIONSTORE : op === 'inter' ? Notify.ZINTERSTORE : Notify.ZDIFFSTORE;
  return store(ctx, dst, nodes, nodes.length <= LISTPACK_ENTRIES && longest <= LISTPACK_VALUE, notify);
}

// ---- random members and scans ------------------------------------------------------------------

/** the most members ZRANDMEMBER with a negative count (repetitions) answers (docs/reliability.md) */
export const ZRANDMEMBER_MAX_REPEATS = 10_000_000;

/** ZRANDMEMBER without a count: one member, null when the key is absent */
export function zrandmember(ctx: CommandContext, key: Uint8Array): string | null | Failure {
  const z = zsetOf(ctx, key);
  if (z === null || isFailure(z)) return z;
  return z.at(Math.floor(Math.random() * z.size))!.member;
}

/**
 * ZRANDMEMBER with a count, Redis' rules: negative = that many with repetition; at least the size =
 * the whole set in order; else that many distinct members.
 */
export function zrandmembers(ctx: CommandContext, key: Uint8Array, count: number): ZEntries | null | Failure {
  const z = zsetOf(ctx, key);
  if (z === null || isFailure(z)) return z;
  const out: ZEntries = { members: [], scores: [] };
  const size = z.size;
  if (count === 0) return out;
  if (count < 0) {
    for (let i = 0; i < -count; i++) {
      const n = z.at(Math.floor(Math.random() * size))!;
      out.members.push(n.member);
      out.scores.push(n.score);
    }
    return out;
  }
  if (count >= size) return entriesOf(z.entries());
  // distinct ranks by a partial Fisher-Yates over a sparse map: O(count log n)
  const swapped = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(Math.random() * (size - i));
    const pick = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    const n = z.at(pick)!;
    out.members.push(n.member);
    out.scores.push(n.score);
  }
  return out;
}

export interface ZScanPage {
  cursor: bigint;
  entries: ZEntries;
  /** the set is one Redis would hold as a listpack: its scores print as listpackScore does */
  listpack: boolean;
}

const LISTPACK_INT = 2 ** 62;

/**
 * A score as a Redis listpack holds it, which ZSCAN answers as it is: an integral score within
 * ±2^62 as an integer (so -0 is 0, 1.2345678901234568e+17 is 123456789012345680), else `%.17g`.
 */
export function listpackScore(d: number): string {
  if (Number.isInteger(d) && d >= -LISTPACK_INT && d <= LISTPACK_INT) return Math.abs(d) < 2 ** 53 ? String(d + 0) : BigInt(d).toString();
  return formatScore(d);
}

const SIGN = 1n << 63n;
const MASK = (1n << 64n) - 1n;
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** a score's place in an unsigned 64-bit order (-0 as 0), so a cursor can name "scores from here" */
function scoreKey(score: number): bigint {
  f64[0] = score === 0 ? 0 : score;
  const bits = u64[0];
  return bits & SIGN ? ~bits & MASK : bits | SIGN;
}

function keyScore(key: bigint): number {
  u64[0] = key & SIGN ? key & ~SIGN : ~key & MASK;
  return f64[0];
}

/**
 * ZSCAN. A set Redis would hold as a listpack comes back whole in one page (cursor 0), as Redis
 * answers it. A larger one is scanned by score: the cursor names the score to go on from (its
 * order key + 1), and a page never splits members of one score, so a member present for the whole
 * scan is returned, whatever else changes. `count` members or a little more per page.
 */
export function zscan(ctx: CommandContext, key: Uint8Array, cursor: bigint, count: number, match: ((m: string) => boolean) | null): ZScanPage | Failure {
  const z = zsetOf(ctx, key);
  if (isFailure(z)) return z;
  const entries: ZEntries = { members: [], scores: [] };
  if (z === null) return { cursor: 0n, entries, listpack: true };
  const push = (n: ZNode): void => {
    if (match !== null && !match(n.member)) return;
    entries.members.push(n.member);
    entries.scores.push(n.score);
  };
  if (z.small) {
    for (const n of z.entries()) push(n);
    return { cursor: 0n, entries, listpack: true };
  }
  let n: ZNode | null;
  if (cursor === 0n) n = z.first();
  else {
    const from = keyScore(cursor);
    if (Number.isNaN(from)) n = cursor > scoreKey(Infinity) ? null : z.first();
    else n = z.firstAbove({ value: from, ex: false });
  }
  let seen = 0;
  while (n !== null) {
    const score = n.score;
    if (seen >= count) return { cursor: scoreKey(score), entries, listpack: false };
    for (; n !== null && n.score === score; n = n.next) {
      push(n);
      seen++;
    }
  }
  return { cursor: 0n, entries, listpack: false };
}
