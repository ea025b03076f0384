/**
 * Hash command generators for the differential test (test/compat/differential-hash.test.ts), built
 * from the pools of diff-commands.ts, and how their replies are compared where Redis leaves them
 * open: HGETALL, HKEYS, HVALS, HSCAN list fields in no promised order (compared sorted, HGETALL and
 * HSCAN by field-value pair); HRANDFIELD picks at random (compared by shape), unless its count takes
 * the whole hash (sorted).
 *
 * HINCRBYFLOAT works on fields of their own (FLOAT_FIELDS) with increments exact in binary, so that
 * Redis' long double sum and cairn's exact decimal one print the same digits (docs/commands.md,
 * Known differences: "INCRBYFLOAT"); HSET writes only text to the TEXT_FIELD it also reads (the
 * "hash value is not a float" error). HINCRBY, on the other fields, meets whatever HSET wrote.
 */
import fc from 'fast-check';
import { type CommandGen, INTEGERS, value, word } from './diff-commands.js';
import { anyKey, row, shapeOf, sortedArray, sortedScan, scanArgs, upper, wholeCount, WHOLE } from './diff-set.js';

const FIELDS = ['a', 'b', 'c', '', '\x00\xff', 'f'.repeat(70)];
const TEXT_FIELD = 'txt';
const FLOAT_FIELDS = ['fl1', 'fl2'];
const field = fc.constantFrom(...FIELDS);
const anyField = fc.constantFrom(...FIELDS, TEXT_FIELD, ...FLOAT_FIELDS);
const text = fc.constantFrom('', 'abc', 'x y', '1.5x', ' 1', 'inf');
/** increments exact in binary, so sums agree to the last digit; then the ones Redis refuses */
const HFLOATS = ['0.5', '-0.25', '1.5', '3', '-2', '1e2', '2.5e-1', '.5', '5.', '-0', 'inf', '-inf', 'nan', 'abc', '', '1.5x', ' 1.5', '1e5000'];

const fieldValue = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(field, value).map((p) => [...p]) },
  { weight: 1, arbitrary: fc.tuple(fc.constant(TEXT_FIELD), text).map((p) => [...p]) },
);
const pairs = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(fieldValue, { minLength: min, maxLength: max }).map((p) => p.flat());
const fields = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(anyField, { minLength: min, maxLength: max });

const cat = (...parts: fc.Arbitrary<string[]>[]): fc.Arbitrary<string[]> => fc.tuple(...parts).map((p) => p.flat());
const one = (a: fc.Arbitrary<string>): fc.Arbitrary<string[]> => a.map((x) => [x]);
const some = (...xs: string[]): fc.Arbitrary<string[]> => fc.constantFrom(...xs).map((x) => [x]);
const none: fc.Arbitrary<string[]> = fc.constant([]);
const key = one(anyKey);

const randCount = fc.oneof(
  { weight: 2, arbitrary: none },
  {
    weight: 4,
    arbitrary: cat(
      some(WHOLE, '0', '2', '-3', '1', '-1', '9223372036854775807'),
      fc.oneof(
        none,
        word('WITHVALUES').map((w) => [w]),
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: cat(some('x', '-9223372036854775808', '4611686018427387904', '2'), fc.oneof(none, some('WITHVALUES', 'FOO'), fc.constant(['WITHVALUES', 'x']))),
  },
  // a huge negative count only with WITHVALUES (its range error): without, Redis starts a reply it never finishes
  {
    weight: 1,
    arbitrary: cat(
      some('-9223372036854775807', '-4611686018427387904'),
      word('WITHVALUES').map((w) => [w]),
    ),
  },
);

/** the hash commands (docs/commands.md, "Hashes") */
export const HASH_COMMANDS: CommandGen[] = [
  row('HSET', 10, cat(key, pairs(1, 4))),
  row('HMSET', 2, cat(key, pairs(1, 3))),
  row('HSETNX', 3, cat(key, fieldValue)),
  row('HGET', 5, cat(key, one(anyField))),
  row('HMGET', 3, cat(key, fields(1, 4))),
  row('HGETALL', 3, key),
  row('HKEYS', 2, key),
  row('HVALS', 2, key),
  row('HDEL', 4, cat(key, fields(1, 3))),
  row('HEXISTS', 2, cat(key, one(anyField))),
  row('HLEN', 3, key),
  row('HSTRLEN', 2, cat(key, one(anyField))),
  row('HINCRBY', 4, cat(key, one(field), one(fc.constantFrom(...INTEGERS)))),
  row('HINCRBYFLOAT', 4, cat(key, one(fc.constantFrom(...FLOAT_FIELDS, ...FLOAT_FIELDS, TEXT_FIELD)), one(fc.constantFrom(...HFLOATS)))),
  row('HRANDFIELD', 3, cat(key, randCount)),
  row('HSCAN', 3, cat(key, scanArgs)),
];

/**
 * the hash commands `fuzzRow` may mix with random tokens; no HINCRBYFLOAT, whose random fields could
 * hold integers past the digits where Redis and cairn agree
 */
export const HASH_FUZZ = HASH_COMMANDS.filter((g) => g.name !== 'HINCRBYFLOAT');

/** the hash commands' replies as compared (see the header) */
export function normaliseHash(argv: readonly string[], reply: Buffer): Buffer {
  switch (upper(argv)) {
    case 'HGETALL':
      return sortedArray(reply, 2);
    case 'HKEYS':
    case 'HVALS':
      return sortedArray(reply);
    case 'HSCAN':
      return sortedScan(reply, 2);
    case 'HRANDFIELD': {
      if (argv.length < 3 || !wholeCount(argv[2])) return shapeOf(reply);
      return sortedArray(reply, argv.length === 4 ? 2 : 1);
    }
    default:
      return reply;
  }
}
