/**
 * Sorted-set command generators for the differential tests (see diff-commands.ts for the pools and
 * the extension point). Single-key commands use diff-commands' KEYS (so TYPE, DEL, EXPIRE ... meet
 * the sorted sets) and the tagged keys; multi-key commands use only keys of one {tag}, which are on
 * one shard. Members stay within Redis' listpack limits (64 bytes, a few dozen members), where
 * Redis' ZSCAN answers a set whole and in order, so every reply but ZRANDMEMBER's is compared byte
 * for byte; ZRANDMEMBER is compared by shape (normaliseZset).
 */
import fc from 'fast-check';
import { type CommandGen, fuzzRow, KEYS, word } from './diff-commands.js';

/** keys sharing the {z} tag: one shard, so ZUNIONSTORE and friends can run */
export const ZKEYS = ['{z}a', '{z}b', '{z}c', '{z}'];

const tagged = fc.constantFrom(...ZKEYS);
/** a single-key command's key: the common alphabet or a tagged key */
const zkey = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...KEYS) }, { weight: 3, arbitrary: tagged });

const MEMBERS = ['a', 'b', 'c', 'd', 'e', 'ab', '', '\x00\xff', 'm1', 'm2', 'x'.repeat(64)];
const zmember = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...MEMBERS) }, { weight: 1, arbitrary: fc.constantFrom('A', 'B', 'zz') });

/**
 * Scores: integers, fractions whose %.17g shows their binary rounding, -0, huge and subnormal
 * values, infinities, hex floats, and text Redis refuses. Sums of these (ZINCRBY, ZUNIONSTORE)
 * round the same way in both servers: both add IEEE doubles.
 */
const SCORES = [
  '0',
  '1',
  '-1',
  '2',
  '3.0',
  '0.1',
  '0.2',
  '0.3',
  '-0',
  '1.5',
  '-2.5',
  '1e20',
  '123456789012345678',
  '1e-310',
  '1125899906842624.25',
  'inf',
  '-inf',
  '+inf',
  '0x10',
  '5.',
  '.5',
  'nan',
  'abc',
  '',
  ' 1',
  '1e400',
  '1e-400',
  '1.5x',
];
const zscore = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...SCORES.slice(0, 18)) }, { weight: 1, arbitrary: fc.constantFrom(...SCORES) });

/** score range ends: open, closed, infinite, empty, blank-led, past the double range, bad */
const SCORE_BOUNDS = ['-inf', '+inf', 'inf', '0', '1', '(1', '2', '(0.1', '0.3', '1.5', '(-1', '-0', '', '(', ' 1', '1e400', 'abc', '(abc', 'nan', '1\x00x'];
const scoreBound = fc.constantFrom(...SCORE_BOUNDS);
const LEX_BOUNDS = ['-', '+', '[a', '(a', '[b', '(c', '[ab', '[', '(', '[\x00', 'a', '', '+x', '-\x00', '[m1', '(zz'];
const lexBound = fc.constantFrom(...LEX_BOUNDS);
/** ranks and counts: small, negative, past the set, i64 edges, not integers */
const RANKS = ['0', '1', '2', '-1', '-2', '3', '10', '-100', 'abc', '1.5', '9223372036854775807', '-9223372036854775808', '9223372036854775808'];
const rank = fc.constantFrom(...RANKS);
const counts = fc.constantFrom('0', '1', '2', '3', '-1', '-2', '10', 'abc', '-9223372036854775808');

const row = (name: string, weight: number, args: fc.Arbitrary<string[]>): CommandGen => ({ name, weight, args });
const none = fc.constant<string[]>([]);
const opt = (w: string): fc.Arbitrary<string[]> => word(w).map((a) => [a]);
const maybe = (a: fc.Arbitrary<string[]>): fc.Arbitrary<string[]> => fc.oneof(none, a);

const pairs = fc.array(fc.tuple(zscore, zmember), { minLength: 1, maxLength: 5 }).map((ps) => ps.flat());
const memberList = fc.array(zmember, { minLength: 1, maxLength: 4 });

const zaddFlags = fc.subarray(['NX', 'XX', 'GT', 'LT', 'CH', 'INCR']).chain((fs) => fc.shuffledSubarray(fs, { minLength: fs.length, maxLength: fs.length }));

/** LIMIT offset count, sometimes cut short */
const limit = fc.oneof(
  fc.tuple(word('LIMIT'), counts, counts).map(([l, o, c]) => [l, o, c]),
  fc.tuple(word('LIMIT'), counts).map(([l, o]) => [l, o]),
);
/** ZRANGE's options in any order, sometimes doubled or wrong */
const zrangeOptions = fc
  .tuple(
    maybe(opt('BYSCORE')),
    maybe(opt('BYLEX')),
    maybe(opt('REV')),
    maybe(limit),
    maybe(opt('WITHSCORES')),
    fc.oneof({ weight: 6, arbitrary: none }, { weight: 1, arbitrary: opt('FOO') }),
  )
  .chain((gs) => fc.shuffledSubarray(gs, { minLength: gs.length, maxLength: gs.length }))
  .map((gs) => gs.flat());
/** bounds of any kind: the options decide which kind is read */
const anyBound = fc.oneof(rank, scoreBound, lexBound);

/**
 * numkeys: right, or refused by Redis (0, negative, not a number). Never more than the keys given:
 * the options after them would count as keys, which cairn refuses as keys on other shards
 * (docs/commands.md, "Keys on one shard").
 */
const numkeys = (keys: string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 8, arbitrary: fc.constant(String(keys.length)) }, { weight: 1, arbitrary: fc.constantFrom('0', '-1', 'abc') });
const sourceKeys = fc.array(tagged, { minLength: 1, maxLength: 3 });
const WEIGHTS = ['1', '2', '-1', '0', '0.5', 'inf', 'abc'];
/** WEIGHTS (n of them, sometimes too few) / AGGREGATE / WITHSCORES in any order */
const setopOptions = (n: number, withScores: boolean): fc.Arbitrary<string[]> =>
  fc
    .tuple(
      maybe(fc.tuple(word('WEIGHTS'), fc.array(fc.constantFrom(...WEIGHTS), { minLength: Math.max(0, n - 1), maxLength: n })).map(([w, ws]) => [w, ...ws])),
      maybe(fc.tuple(word('AGGREGATE'), fc.constantFrom('SUM', 'min', 'Max', 'avg')).map(([a, b]) => [a, b])),
      withScores ? maybe(opt('WITHSCORES')) : none,
    )
    .chain((gs) => fc.shuffledSubarray(gs, { minLength: gs.length, maxLength: gs.length }))
    .map((gs) => gs.flat());

const setop = (dest: boolean, withScores: boolean, options: boolean): fc.Arbitrary<string[]> =>
  sourceKeys.chain((keys) =>
    fc
      .tuple(
        dest ? tagged.map((k) => [k]) : none,
        numkeys(keys),
        options ? setopOptions(keys.length, withScores) : withScores ? maybe(opt('WITHSCORES')) : none,
      )
      .map(([d, n, o]) => [...d, n, ...keys, ...o]),
  );

/** the sorted-set commands (docs/commands.md, "Sorted sets"), bad arguments included */
export const ZSET_COMMANDS: CommandGen[] = [
  row(
    'ZADD',
    12,
    fc.tuple(zkey, zaddFlags, pairs).map(([k, f, p]) => [k, ...f, ...p]),
  ),
  row(
    'ZINCRBY',
    4,
    fc.tuple(zkey, zscore, zmember).map((a) => [...a]),
  ),
  row(
    'ZREM',
    3,
    fc.tuple(zkey, memberList).map(([k, ms]) => [k, ...ms]),
  ),
  row(
    'ZSCORE',
    3,
    fc.tuple(zkey, zmember).map((a) => [...a]),
  ),
  row(
    'ZMSCORE',
    2,
    fc.tuple(zkey, memberList).map(([k, ms]) => [k, ...ms]),
  ),
  row(
    'ZCARD',
    2,
    zkey.map((k) => [k]),
  ),
  row(
    'ZCOUNT',
    2,
    fc.tuple(zkey, scoreBound, scoreBound).map((a) => [...a]),
  ),
  row(
    'ZLEXCOUNT',
    2,
    fc.tuple(zkey, lexBound, lexBound).map((a) => [...a]),
  ),
  row(
    'ZRANK',
    2,
    fc.tuple(zkey, zmember).map((a) => [...a]),
  ),
  row(
    'ZREVRANK',
    2,
    fc.tuple(zkey, zmember).map((a) => [...a]),
  ),
  row(
    'ZRANGE',
    8,
    fc.tuple(zkey, anyBound, anyBound, zrangeOptions).map(([k, a, b, o]) => [k, a, b, ...o]),
  ),
  row(
    'ZRANGESTORE',
    3,
    fc.tuple(tagged, tagged, anyBound, anyBound, zrangeOptions).map(([d, k, a, b, o]) => [d, k, a, b, ...o]),
  ),
  row(
    'ZREVRANGE',
    2,
    fc.tuple(zkey, rank, rank, maybe(opt('WITHSCORES'))).map(([k, a, b, o]) => [k, a, b, ...o]),
  ),
  row(
    'ZRANGEBYSCORE',
    3,
    fc.tuple(zkey, scoreBound, scoreBound, maybe(opt('WITHSCORES')), maybe(limit)).map(([k, a, b, w, l]) => [k, a, b, ...w, ...l]),
  ),
  row(
    'ZREVRANGEBYSCORE',
    2,
    fc.tuple(zkey, scoreBound, scoreBound, maybe(opt('WITHSCORES')), maybe(limit)).map(([k, a, b, w, l]) => [k, a, b, ...w, ...l]),
  ),
  row(
    'ZRANGEBYLEX',
    2,
    fc.tuple(zkey, lexBound, lexBound, maybe(limit)).map(([k, a, b, l]) => [k, a, b, ...l]),
  ),
  row(
    'ZREVRANGEBYLEX',
    2,
    fc.tuple(zkey, lexBound, lexBound, maybe(limit)).map(([k, a, b, l]) => [k, a, b, ...l]),
  ),
  row(
    'ZPOPMIN',
    2,
    fc.tuple(zkey, maybe(counts.map((c) => [c]))).map(([k, c]) => [k, ...c]),
  ),
  row(
    'ZPOPMAX',
    2,
    fc.tuple(zkey, maybe(counts.map((c) => [c]))).map(([k, c]) => [k, ...c]),
  ),
  row(
    'ZMPOP',
    2,
    sourceKeys.chain((keys) =>
      fc
        .tuple(numkeys(keys), fc.constantFrom('MIN', 'max', 'FOO'), maybe(fc.tuple(word('COUNT'), counts).map(([w, c]) => [w, c])))
        .map(([n, w, c]) => [n, ...keys, w, ...c]),
    ),
  ),
  row(
    'ZREMRANGEBYRANK',
    2,
    fc.tuple(zkey, rank, rank).map((a) => [...a]),
  ),
  row(
    'ZREMRANGEBYSCORE',
    2,
    fc.tuple(zkey, scoreBound, scoreBound).map((a) => [...a]),
  ),
  row(
    'ZREMRANGEBYLEX',
    2,
    fc.tuple(zkey, lexBound, lexBound).map((a) => [...a]),
  ),
  row('ZUNIONSTORE', 3, setop(true, false, true)),
  row('ZINTERSTORE', 3, setop(true, false, true)),
  row('ZDIFFSTORE', 2, setop(true, false, false)),
  row('ZUNION', 3, setop(false, true, true)),
  row('ZINTER', 3, setop(false, true, true)),
  row('ZDIFF', 2, setop(false, true, false)),
  row(
    'ZINTERCARD',
    2,
    sourceKeys.chain((keys) => fc.tuple(numkeys(keys), maybe(fc.tuple(word('LIMIT'), counts).map(([w, c]) => [w, c]))).map(([n, l]) => [n, ...keys, ...l])),
  ),
  row(
    'ZRANDMEMBER',
    2,
    fc.tuple(zkey, maybe(counts.map((c) => [c])), maybe(opt('WITHSCORES'))).map(([k, c, w]) => [k, ...c, ...(c.length > 0 ? w : [])]),
  ),
  row(
    'ZSCAN',
    2,
    fc
      .tuple(
        zkey,
        fc.constantFrom('0', '0', '1', 'abc', '-1', ''),
        maybe(fc.tuple(word('MATCH'), fc.constantFrom('*', 'a*', '?', '[a-c]')).map(([a, b]) => [a, b])),
        maybe(fc.tuple(word('COUNT'), counts).map(([a, b]) => [a, b])),
      )
      .map(([k, c, m, n]) => [k, c, ...m, ...n]),
  ),
  // another type on a tagged key: WRONGTYPE from every command that meets it
  row(
    'SET',
    1,
    fc.tuple(tagged, fc.constantFrom('v', '1')).map((a) => [...a]),
  ),
];

/** commands whose keys must be on one shard: random tokens as their keys would be refused as such */
const MULTI_KEY = new Set(['ZRANGESTORE', 'ZMPOP', 'ZUNIONSTORE', 'ZINTERSTORE', 'ZDIFFSTORE', 'ZUNION', 'ZINTER', 'ZDIFF', 'ZINTERCARD']);

/** the one-key sorted-set commands with random tokens: wrong arity, options out of place, bad numbers */
export const ZSET_FUZZ = fuzzRow(
  ZSET_COMMANDS.filter((g) => !MULTI_KEY.has(g.name) && g.name !== 'SET'),
  3,
);

/**
 * A reply Redis leaves open, in the form both are compared in: ZRANDMEMBER's members are random,
 * so only its shape counts (nil, one bulk, or an array of n); anything else as it is.
 */
export function normaliseZset(argv: readonly string[], reply: Buffer): Buffer {
  if (argv[0].toUpperCase() !== 'ZRANDMEMBER' || reply.length === 0) return reply;
  if (reply[0] === 0x24) return reply.toString('latin1', 0, 3) === '$-1' ? reply : Buffer.from('$bulk');
  if (reply[0] === 0x2a) return reply.subarray(0, reply.indexOf('\r\n') + 2);
  return reply;
}
