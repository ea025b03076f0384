/**
 * Command generators of the list commands for the differential test (test/compat/differential-
 * list.test.ts), built from the pools of diff-commands.ts. Single-key commands use the KEYS pool
 * and a few keys sharing the {L} tag; commands with several keys use only the tagged ones, which
 * are on one shard (across shards cairn refuses them: docs/commands.md).
 *
 * Blocking commands are generated so that their replies do not depend on timing: a list that has
 * elements answers at once, an empty one times out after 10 ms on both servers, and bad timeouts
 * are refused before anything waits. Timeout 0 (forever) is never sent.
 */
import fc from 'fast-check';
import { BIG_VALUES, type CommandGen, KEYS, word } from './diff-commands.js';

export const TAGGED = ['{L}1', '{L}2', '{L}3'];

const tagged = fc.constantFrom(...TAGGED);
const anyKey = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KEYS) }, { weight: 2, arbitrary: tagged });
const taggedList = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(tagged, { minLength: min, maxLength: max });

/** a few small elements, so that LREM, LPOS and LINSERT find matches; rarely a large one (spills) */
const element = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('a', 'b', 'c', '', 'x y', '\x00\xff', '1', '-1') },
  { weight: 1, arbitrary: fc.constantFrom(...BIG_VALUES) },
);
const elements = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(element, { minLength: min, maxLength: max });

/** list indexes: both ends, past them, the i64 edges and beyond, and text that is not an integer */
const INDEXES = [
  '0',
  '1',
  '-1',
  '2',
  '-2',
  '3',
  '5',
  '-100',
  '100',
  '9223372036854775807',
  '-9223372036854775808',
  '9223372036854775808',
  '1.5',
  '',
  'abc',
  '+1',
];
const idx = fc.constantFrom(...INDEXES);
/** counts of LPOP, LMPOP, LPOS: zero, some, huge, negative, not a number */
const COUNTS = ['0', '1', '2', '3', '10', '9223372036854775807', '-1', 'abc', ''];
const count = fc.constantFrom(...COUNTS);
const side = fc.oneof({ weight: 6, arbitrary: fc.oneof(word('left'), word('right')) }, { weight: 1, arbitrary: fc.constantFrom('up', '') });
/** timeouts that never wait long: 10 ms, or ones Redis refuses (negative, not a float, overflowing) */
const timeout = fc.constantFrom('0.01', '0.01', '0.01', '.01', '-1', 'abc', '', 'inf', '1e20', 'nan');

const row = (name: string, weight: number, args: fc.Arbitrary<string[]>): CommandGen => ({ name, weight, args });
const k1 = anyKey.map((k) => [k]);

const lposOptions: fc.Arbitrary<string[]> = fc
  .array(
    fc.oneof(
      fc.tuple(word('rank'), fc.constantFrom('1', '2', '-1', '-2', '0', 'abc')),
      fc.tuple(word('count'), count),
      fc.tuple(word('maxlen'), fc.constantFrom('0', '1', '2', '-1', 'abc')),
      fc.constant(['bogus'] as [string]),
    ),
    { maxLength: 3 },
  )
  .map((opts) => opts.flat());

/**
 * `numkeys key... side [COUNT n]`, numkeys mostly right. Never one too many while words follow the
 * keys: they would count as keys, on another shard, and cairn answers CROSSSLOT where Redis reads
 * on and finds a syntax error (docs/commands.md, "Lists")
 */
const mpopTail: fc.Arbitrary<string[]> = fc
  .tuple(
    taggedList(1, 3),
    fc.constantFrom(0, 0, 0, 0, -1),
    side,
    fc.oneof(
      fc.constant([] as string[]),
      fc.tuple(word('count'), count).map((c) => [...c]),
    ),
  )
  .map(([keys, off, s, c]) => [String(keys.length + off), ...keys, s, ...c]);

export const LIST_COMMANDS: CommandGen[] = [
  row(
    'LPUSH',
    6,
    fc.tuple(anyKey, elements(1, 4)).map(([k, e]) => [k, ...e]),
  ),
  row(
    'RPUSH',
    6,
    fc.tuple(anyKey, elements(1, 4)).map(([k, e]) => [k, ...e]),
  ),
  row(
    'LPUSHX',
    2,
    fc.tuple(anyKey, elements(1, 2)).map(([k, e]) => [k, ...e]),
  ),
  row(
    'RPUSHX',
    2,
    fc.tuple(anyKey, elements(1, 2)).map(([k, e]) => [k, ...e]),
  ),
  row(
    'LPOP',
    3,
    fc.tuple(anyKey, fc.option(count)).map(([k, c]) => (c === null ? [k] : [k, c])),
  ),
  row(
    'RPOP',
    3,
    fc.tuple(anyKey, fc.option(count)).map(([k, c]) => (c === null ? [k] : [k, c])),
  ),
  row('LLEN', 2, k1),
  row('LRANGE', 4, fc.tuple(anyKey, idx, idx)),
  row('LINDEX', 2, fc.tuple(anyKey, idx)),
  row('LSET', 2, fc.tuple(anyKey, idx, element)),
  row('LINSERT', 2, fc.tuple(anyKey, fc.oneof(word('before'), word('after'), fc.constant('middle')), element, element)),
  row('LREM', 2, fc.tuple(anyKey, fc.constantFrom('0', '1', '-1', '2', '-2', 'abc'), element)),
  row('LTRIM', 2, fc.tuple(anyKey, idx, idx)),
  row(
    'LPOS',
    2,
    fc.tuple(anyKey, element, lposOptions).map(([k, e, o]) => [k, e, ...o]),
  ),
  row('LMOVE', 3, fc.tuple(tagged, tagged, side, side)),
  row('RPOPLPUSH', 2, fc.tuple(tagged, tagged)),
  row('LMPOP', 2, mpopTail),
  row(
    'BLPOP',
    2,
    fc.tuple(taggedList(1, 3), timeout).map(([k, t]) => [...k, t]),
  ),
  row(
    'BRPOP',
    2,
    fc.tuple(taggedList(1, 3), timeout).map(([k, t]) => [...k, t]),
  ),
  row('BLMOVE', 1, fc.tuple(tagged, tagged, side, side, timeout)),
  row('BRPOPLPUSH', 1, fc.tuple(tagged, tagged, timeout)),
  row(
    'BLMPOP',
    1,
    fc.tuple(timeout, mpopTail).map(([t, rest]) => [t, ...rest]),
  ),
  // another type on the same keys: WRONGTYPE both ways
  row('SET', 1, fc.tuple(anyKey, fc.constantFrom('v', '1'))),
];
