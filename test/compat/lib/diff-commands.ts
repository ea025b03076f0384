/**
 * Command generators for the differential tests (test/compat/differential-*.test.ts): fast-check
 * arbitraries for the commands cairn and redis-server are both sent, as argv byte strings.
 *
 * Extension point. A command family is a `CommandGen[]`: one row per command, its name (sent in a
 * random letter case), a weight and an arbitrary for its arguments. STRING_COMMANDS and
 * KEYSPACE_COMMANDS are today's; a data type (hash, list, set, sorted set) adds its own table next to
 * them (HASH_COMMANDS, ...) built from the same pools (`key`, `keyList`, `value`, `INTEGERS`, ...), and
 * its test file runs `checkDifferential(pair, { commands: [...KEYSPACE_COMMANDS, ...HASH_COMMANDS] })`
 * (test/compat/lib/differential.ts), so the keyspace commands (TYPE, DEL, EXPIRE, ...) meet the new
 * type on the same keys. Bad-argument variants are rows too (`fuzzRow` mixes any command name with
 * random tokens). A pool must not hold a value whose reply depends on the clock or on a documented
 * difference (docs/commands.md, "Known differences from Redis 7"): each exclusion below names its
 * entry.
 *
 * Replies that depend on the clock: relative expiry (EX, PX, SETEX, EXPIRE, ...) makes TTL, PTTL,
 * EXPIRETIME and PEXPIRETIME differ by the moments the two servers ran the command; the harness
 * allows that (see `sameReply` in differential.ts) and nothing else. EXPIRE GT/LT with a relative
 * time compares two clock readings, so GT/LT are generated only with absolute times or relative ones
 * already past (0, negative), where the result does not depend on the clock.
 */
import fc from 'fast-check';

export interface CommandGen {
  /** the command name (upper case; sent in a random case) */
  name: string;
  /** relative frequency among the rows of a run */
  weight: number;
  /** the arguments after the name */
  args: fc.Arbitrary<string[]>;
}

/**
 * A generated command: argv as byte strings (one char per byte); prints shortened in reports.
 * `pipelined`: sent right after the command before it, without waiting for its reply (a report
 * marks it `|`).
 */
export class Command {
  constructor(
    readonly argv: string[],
    readonly pipelined = false,
  ) {}
  toString(): string {
    return (this.pipelined ? '| ' : '') + this.argv.map(showArg).join(' ');
  }
  [fc.toStringMethod](): string {
    return this.toString();
  }
}

/** an argument as a report shows it: JSON-quoted, long ones as their length and first bytes */
export function showArg(a: string): string {
  return a.length > 48 ? `<${a.length} bytes ${JSON.stringify(a.slice(0, 16))}...>` : JSON.stringify(a);
}

// ---- pools ------------------------------------------------------------------------------------

/**
 * Keys: few, so commands meet on them, on both shards of a 2-shard cairn (the test checks that), one
 * of them binary and one empty (a key like any other, as in Redis).
 */
export const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'k\x00\xff', ''];

export const key = fc.constantFrom(...KEYS);
export const keyList = (min: number, max = 5): fc.Arbitrary<string[]> => fc.array(key, { minLength: min, maxLength: max });

/**
 * Large values (with the tiny hot budget, a few of them overflow a shard's memory, so keys spill to
 * disk and come back mid-sequence). Each differs from the others in its first and last bytes.
 */
const BIG_SIZE = 700_000;
export const BIG_VALUES = [
  'A'.repeat(BIG_SIZE),
  `\x00\xff${'b'.repeat(BIG_SIZE - 4)}\r\n`,
  `1${'0'.repeat(BIG_SIZE - 1)}`,
  Buffer.from(Array.from({ length: BIG_SIZE }, (_, i) => (i * 7) & 0xff)).toString('latin1'),
];

/**
 * integers as strings: 64-bit edges, one past them, and text that is not quite an integer. No
 * hexadecimal ("0x10"): INCRBYFLOAT reads it in Redis, not in cairn (Known differences: "INCRBYFLOAT").
 */
export const INTEGERS = [
  '0',
  '1',
  '-1',
  '42',
  '-17',
  '9223372036854775807',
  '9223372036854775806',
  '-9223372036854775808',
  '-9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '18446744073709551616',
  '007',
  '-0',
  '+1',
  ' 1',
  '1 ',
  '1.0',
  '1e3',
  '',
  'abc',
];

/**
 * float operands: exact in binary and short, so that sums stay within the digits where Redis' long
 * double and cairn's exact decimal agree (Known differences: "INCRBYFLOAT"), plus ones Redis refuses
 */
export const FLOATS = ['0.5', '-0.25', '1.5', '3', '-2', '1e2', '2.5e-1', '.5', '5.', '-0', '0.1', 'inf', '-inf', 'nan', 'abc', '', '1.5x', ' 1.5'];

/** small values: empty, text, numbers, binary bytes */
const smallValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('', 'v', 'hello', 'x y', '\r\n', '\x00', '\xff\xfe\x00\x01') },
  { weight: 3, arbitrary: fc.constantFrom(...INTEGERS) },
  { weight: 1, arbitrary: fc.constantFrom(...FLOATS) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('latin1')) },
);

export const value = fc.oneof({ weight: 5, arbitrary: smallValue }, { weight: 2, arbitrary: fc.constantFrom(...BIG_VALUES) });

/** not integers, or integers no expiry takes: Redis' "invalid expire time" / "not an integer" */
const BAD_TIMES = ['0', '-1', 'abc', '1.5', '', '9223372036854775808', '-9223372036854775808'];

/**
 * Relative seconds (EX, SETEX, EXPIRE): far enough that nothing expires during a run. The
 * overflows: 9223372036854775807 (x1000 overflows) and 9223372036854775 (now + x1000 overflows).
 * None between 2^53 ms and the overflow (Known differences: "Expiry times", clamped to 2^53 ms).
 */
export const REL_SECONDS = ['100', '86400'];
const relSeconds = fc.constantFrom(...REL_SECONDS, ...REL_SECONDS, ...BAD_TIMES, '9223372036854775807', '9223372036854775');
/** relative milliseconds (PX, PSETEX, PEXPIRE); 9223372036854775807: now + it overflows */
export const REL_MILLIS = ['100000', '86400000', '123456789'];
const relMillis = fc.constantFrom(...REL_MILLIS, ...REL_MILLIS, ...BAD_TIMES, '9223372036854775807');
/**
 * Unix seconds (EXAT, EXPIREAT): far future (2100) or past. 9223372036854776 overflows x1000; none
 * from 2^53 ms up to it (Known differences: "Expiry times").
 */
export const ABS_SECONDS = ['4102444800', '4102444801', '4133980800', '1', '1000000000'];
const absSeconds = fc.constantFrom(...ABS_SECONDS, ...ABS_SECONDS, ...BAD_TIMES, '9223372036854776');
/** Unix milliseconds (PXAT, PEXPIREAT); nothing past 2^53 (Known differences: "Expiry times") */
export const ABS_MILLIS = ['4102444800123', '4102444800999', '4102444801000', '1', '1000000000000'];
const absMillis = fc.constantFrom(...ABS_MILLIS, ...ABS_MILLIS, ...BAD_TIMES);

/** a word in upper, lower or mixed case, as clients send them */
export const word = (w: string): fc.Arbitrary<string> =>
  fc.constantFrom(w.toUpperCase(), w.toLowerCase(), w.charAt(0).toUpperCase() + w.slice(1).toLowerCase());

const opt = (w: string, arg?: fc.Arbitrary<string>): fc.Arbitrary<string[]> => (arg ? fc.tuple(word(w), arg).map(([a, b]) => [a, b]) : word(w).map((a) => [a]));
const none: fc.Arbitrary<string[]> = fc.constant([]);

/** option groups in any order (Redis parses SET / GETEX options in any order) */
function options(...groups: fc.Arbitrary<string[]>[]): fc.Arbitrary<string[]> {
  return fc
    .tuple(...groups)
    .chain((gs) => fc.shuffledSubarray(gs, { minLength: gs.length, maxLength: gs.length }))
    .map((gs) => gs.flat());
}

/** an expiry option of SET / GETEX: mostly absolute (clock-free), some relative */
const expiryOption = fc.oneof(
  { weight: 3, arbitrary: opt('EXAT', absSeconds) },
  { weight: 3, arbitrary: opt('PXAT', absMillis) },
  { weight: 2, arbitrary: opt('EX', relSeconds) },
  { weight: 2, arbitrary: opt('PX', relMillis) },
);

/** an option that is wrong: unknown, missing its argument, or doubled */
const badOption = fc.oneof(opt('FOO'), opt('EX'), opt('PXAT'), opt('NX'), opt('GET'), opt('KEEPTTL'), opt('PERSIST'), opt('EX', fc.constantFrom('10')));

/** GETRANGE / SETRANGE positions: small, around the big values' size, negative, past i64 */
const RANGE_INTS = [
  '0',
  '1',
  '2',
  '-1',
  '-2',
  '5',
  '100',
  '-100',
  '519999',
  '600000',
  '9223372036854775807',
  '-9223372036854775808',
  '9223372036854775808',
  'abc',
];
/**
 * SETRANGE offsets: 536870912 with a value is past Redis' 512 MB proto-max-bulk-len (the error);
 * nothing just under it (Redis would allocate 512 MB).
 */
const SETRANGE_OFFSETS = ['0', '1', '3', '10', '-1', '699999', '800000', '536870912', '9223372036854775807', 'abc'];

/**
 * tokens for `fuzzRow`: any command name with any of these in any order. No '1': as a relative time
 * in ms (PSETEX k 1 v) it races the pipelined command after it, which Redis answers within the
 * millisecond and cairn, one hop further, may not.
 */
const TOKENS = [
  ...KEYS,
  ...INTEGERS.slice(0, 12).filter((t) => t !== '1'),
  ...FLOATS.slice(0, 4),
  ...REL_SECONDS,
  ...ABS_SECONDS,
  ...ABS_MILLIS,
  'NX',
  'XX',
  'GT',
  'LT',
  'GET',
  'EX',
  'PX',
  'EXAT',
  'PXAT',
  'KEEPTTL',
  'PERSIST',
  'CH',
  'FOO',
  'v',
  // names of Object.prototype's members: no lookup may find them as an option
  'constructor',
  '__proto__',
];
const tokens = (max: number): fc.Arbitrary<string[]> => fc.array(fc.constantFrom(...TOKENS), { maxLength: max });

const kv = fc.tuple(key, value).map(([k, v]) => [k, v]);
const pairs = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(kv, { minLength: min, maxLength: max }).map((ps) => ps.flat());

const row = (name: string, weight: number, args: fc.Arbitrary<string[]>): CommandGen => ({ name, weight, args });
const k1 = key.map((k) => [k]);

/** the string commands (docs/commands.md, "Strings") */
export const STRING_COMMANDS: CommandGen[] = [
  row('GET', 6, k1),
  row(
    'SET',
    8,
    fc
      .tuple(
        key,
        value,
        fc.oneof(
          {
            weight: 8,
            arbitrary: options(
              fc.oneof(none, none, opt('NX'), opt('XX')),
              fc.oneof(none, none, opt('GET')),
              fc.oneof(none, none, expiryOption, opt('KEEPTTL')),
            ),
          },
          // conflicting or malformed options
          { weight: 1, arbitrary: options(fc.oneof(opt('NX'), opt('XX'), expiryOption, opt('KEEPTTL')), badOption) },
        ),
      )
      .map(([k, v, o]) => [k, v, ...o]),
  ),
  row('SETNX', 2, kv),
  row(
    'SETEX',
    2,
    fc.tuple(key, relSeconds, value).map((a) => [...a]),
  ),
  row(
    'PSETEX',
    2,
    fc.tuple(key, relMillis, value).map((a) => [...a]),
  ),
  row('GETSET', 2, kv),
  row('GETDEL', 2, k1),
  row(
    'GETEX',
    3,
    fc
      .tuple(
        key,
        fc.oneof(
          { weight: 2, arbitrary: none },
          { weight: 4, arbitrary: expiryOption },
          { weight: 2, arbitrary: opt('PERSIST') },
          { weight: 1, arbitrary: options(fc.oneof(expiryOption, opt('PERSIST')), badOption) },
        ),
      )
      .map(([k, o]) => [k, ...o]),
  ),
  row('MGET', 3, keyList(1)),
  row('MSET', 3, pairs(1, 4)),
  row('MSETNX', 3, pairs(1, 4)),
  row('INCR', 3, k1),
  row('DECR', 2, k1),
  row(
    'INCRBY',
    3,
    fc.tuple(key, fc.constantFrom(...INTEGERS)).map((a) => [...a]),
  ),
  row(
    'DECRBY',
    2,
    fc.tuple(key, fc.constantFrom(...INTEGERS)).map((a) => [...a]),
  ),
  row(
    'INCRBYFLOAT',
    3,
    fc.tuple(key, fc.constantFrom(...FLOATS)).map((a) => [...a]),
  ),
  row('APPEND', 3, kv),
  row('STRLEN', 2, k1),
  row(
    'GETRANGE',
    3,
    fc.tuple(key, fc.constantFrom(...RANGE_INTS), fc.constantFrom(...RANGE_INTS)).map((a) => [...a]),
  ),
  row(
    'SETRANGE',
    3,
    fc.tuple(key, fc.constantFrom(...SETRANGE_OFFSETS), fc.oneof(smallValue, fc.constantFrom(...BIG_VALUES))).map((a) => [...a]),
  ),
];

/** EXPIRE-family flags: NX XX GT LT, rarely two of them (Redis' "not compatible" error) or a bad one */
const expireFlags = (withOrder: boolean): fc.Arbitrary<string[]> =>
  fc.oneof(
    { weight: 3, arbitrary: none },
    { weight: 3, arbitrary: fc.oneof(opt('NX'), opt('XX'), ...(withOrder ? [opt('GT'), opt('LT')] : [])) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('NX', 'XX', 'GT', 'LT', 'FOO'), fc.constantFrom('NX', 'XX', 'GT', 'LT')).map((a) => [...a]) },
  );

/** relative EXPIRE / PEXPIRE: GT/LT only with a time already past (see the header) */
const relExpire = (times: fc.Arbitrary<string>): fc.Arbitrary<string[]> =>
  fc.oneof(
    fc.tuple(key, times, expireFlags(false)).map(([k, t, f]) => [k, t, ...f]),
    fc.tuple(key, fc.constantFrom('0', '-5'), expireFlags(true)).map(([k, t, f]) => [k, t, ...f]),
  );
const absExpire = (times: fc.Arbitrary<string>): fc.Arbitrary<string[]> => fc.tuple(key, times, expireFlags(true)).map(([k, t, f]) => [k, t, ...f]);

/** the keyspace commands (docs/commands.md, "Keys and expiry"), bad arguments and arity */
export const KEYSPACE_COMMANDS: CommandGen[] = [
  row('DEL', 3, keyList(1)),
  row('UNLINK', 1, keyList(1)),
  row('EXISTS', 3, keyList(1)),
  row('TYPE', 2, k1),
  row('EXPIRE', 2, relExpire(relSeconds)),
  row('PEXPIRE', 2, relExpire(relMillis)),
  row('EXPIREAT', 2, absExpire(absSeconds)),
  row('PEXPIREAT', 2, absExpire(absMillis)),
  row('TTL', 2, k1),
  row('PTTL', 2, k1),
  row('EXPIRETIME', 2, k1),
  row('PEXPIRETIME', 2, k1),
  row('PERSIST', 2, k1),
  row('DBSIZE', 2, none),
  row('FLUSHDB', 1, none),
];

/**
 * Any of `gens`' command names (and one that does not exist) with random tokens: wrong arity,
 * options out of place, bad numbers. A type adds its names by passing its rows.
 */
export function fuzzRow(gens: CommandGen[], weight = 4): CommandGen {
  const names = gens.map((g) => g.name).concat(['NOSUCHCMD', 'constructor', '__proto__', 'toString']);
  return row(
    '*',
    weight,
    fc.tuple(fc.constantFrom(...names), tokens(6)).map(([n, t]) => [n, ...t]),
  );
}

/**
 * One command drawn from `gens` by weight, its name in a random case; one in four is pipelined
 * behind the one before it, so replies of several shards are put back in order.
 */
export function commandOf(gens: CommandGen[]): fc.Arbitrary<Command> {
  const argv = fc.oneof(
    ...gens.map((g) => ({
      weight: g.weight,
      arbitrary: g.name === '*' ? g.args.chain(([n, ...rest]) => word(n).map((w) => [w, ...rest])) : fc.tuple(word(g.name), g.args).map(([w, a]) => [w, ...a]),
    })),
  );
  return fc.tuple(argv, fc.nat(3)).map(([a, p]) => new Command(a, p === 0));
}
