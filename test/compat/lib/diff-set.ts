/**
 * Set command generators for the differential test (test/compat/differential-set.test.ts), built
 * from the pools of diff-commands.ts, and how their replies are compared where Redis leaves them
 * open: SMEMBERS, SINTER, SUNION, SDIFF, SSCAN list members in no promised order (compared sorted);
 * SRANDMEMBER picks at random (compared by shape: nil or a member, the count of an array), unless
 * its count takes the whole set (sorted). SPOP is generated only where it is not random: a count of
 * 0, or one past any set's size (the whole set, sorted); its random picks are checked by
 * differential-set.test.ts on their own.
 *
 * The commands over several sets use keys sharing the {s} tag (TAGGED), so that they run on one
 * shard of cairn; the one-set commands use those and the KEYS of diff-commands.ts, so sets meet
 * strings and the keyspace commands on the same keys.
 */
import fc from 'fast-check';
import { BIG_VALUES, type CommandGen, INTEGERS, KEYS, word } from './diff-commands.js';
import { replyLength } from './resp-reply.js';

/** keys of one hash tag: the keys of SINTER, SMOVE, SUNIONSTORE, ... */
export const TAGGED = ['{s}a', '{s}b', '{s}c', '{s}'];
export const anyKey = fc.constantFrom(...KEYS, ...TAGGED, ...TAGGED);
const tagged = fc.constantFrom(...TAGGED);
const taggedList = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(tagged, { minLength: min, maxLength: max });

/** members: few, so commands meet on them; binary, empty, integers (Redis' intset), long (past its listpack) */
const smallMember = fc.constantFrom('a', 'b', 'c', 'd', '', '\x00\xff', 'x y', '1', '2', '-5', ...INTEGERS.slice(5, 8), 'm'.repeat(70));
/** mostly small; a big one now and then, so that sets outgrow the tiny hot budget and spill */
export const setMember = fc.oneof({ weight: 30, arbitrary: smallMember }, { weight: 1, arbitrary: fc.constantFrom(...BIG_VALUES) });
export const memberList = (min: number, max: number): fc.Arbitrary<string[]> => fc.array(setMember, { minLength: min, maxLength: max });

/** a count past any collection a run builds: the whole collection */
export const WHOLE = '100000';

export const row = (name: string, weight: number, args: fc.Arbitrary<string[]>): CommandGen => ({ name, weight, args });
const cat = (...parts: fc.Arbitrary<string[]>[]): fc.Arbitrary<string[]> => fc.tuple(...parts).map((p) => p.flat());
const one = (a: fc.Arbitrary<string>): fc.Arbitrary<string[]> => a.map((x) => [x]);
const some = (...xs: string[]): fc.Arbitrary<string[]> => fc.constantFrom(...xs).map((x) => [x]);
const none: fc.Arbitrary<string[]> = fc.constant([]);

/** HSCAN/SSCAN arguments after the key: a whole scan (COUNT past the size), MATCH, or bad ones */
export const scanArgs = fc.oneof(
  {
    weight: 4,
    arbitrary: cat(
      some('0'),
      fc.oneof(
        none,
        cat(
          word('MATCH').map((w) => [w]),
          some('*', 'a*', '?', '[a-c]', '*1*', ''),
        ),
      ),
      cat(
        word('COUNT').map((w) => [w]),
        some(WHOLE),
      ),
    ),
  },
  // cursors and options Redis refuses, or reads oddly (the key is looked up before the options); no
  // other cursor than 0 that Redis takes: its cursors are its hash table's, cairn's its own positions
  {
    weight: 1,
    arbitrary: cat(
      some('0', 'x', '', '-0', ' 1', '18446744073709551616'),
      fc.oneof(none, some('COUNT'), cat(some('COUNT'), some('0', '-1', 'abc')), cat(some('TYPE'), some('set')), some('FOO')),
    ),
  },
);

const srandCount = fc.oneof(none, some(WHOLE, '0', '2', '-3', 'x', '-9223372036854775808', '9223372036854775807', '1', '-1'));

/** the set commands (docs/commands.md, "Sets") */
export const SET_COMMANDS: CommandGen[] = [
  row('SADD', 10, cat(one(anyKey), memberList(1, 5))),
  row('SREM', 4, cat(one(anyKey), memberList(1, 4))),
  row('SMEMBERS', 4, one(anyKey)),
  row('SISMEMBER', 3, cat(one(anyKey), one(setMember))),
  row('SMISMEMBER', 2, cat(one(anyKey), memberList(1, 4))),
  row('SCARD', 3, one(anyKey)),
  row('SPOP', 1, cat(one(anyKey), some('0', WHOLE, '-1', 'x'))),
  row('SRANDMEMBER', 3, cat(one(anyKey), srandCount)),
  row('SMOVE', 3, cat(one(tagged), one(tagged), one(setMember))),
  row('SINTER', 3, taggedList(1, 4)),
  row('SUNION', 3, taggedList(1, 4)),
  row('SDIFF', 3, taggedList(1, 4)),
  row('SINTERSTORE', 2, taggedList(2, 4)),
  row('SUNIONSTORE', 2, taggedList(2, 4)),
  row('SDIFFSTORE', 2, taggedList(2, 4)),
  row(
    'SINTERCARD',
    3,
    fc.oneof(
      {
        weight: 4,
        arbitrary: taggedList(1, 4).chain((ks) =>
          cat(
            some(String(ks.length)),
            fc.constant(ks),
            fc.oneof(
              none,
              cat(
                word('LIMIT').map((w) => [w]),
                some('0', '1', '2', WHOLE),
              ),
            ),
          ),
        ),
      },
      // (a count past the keys given takes the words after them as keys: untagged, on another shard)
      { weight: 1, arbitrary: cat(some('0', '-1', 'x', '9223372036854775808'), taggedList(1, 2), fc.oneof(none, some('LIMIT'), some('FOO'))) },
      { weight: 1, arbitrary: cat(some('1'), taggedList(1, 1), fc.oneof(some('LIMIT'), cat(some('LIMIT'), some('-1', 'x')), some('FOO'))) },
      { weight: 1, arbitrary: cat(some('3'), taggedList(1, 1)) },
    ),
  ),
  row('SSCAN', 3, cat(one(anyKey), scanArgs)),
];

/** the set commands `fuzzRow` may mix with random tokens: one key each (random keys would span shards), no SPOP (random) */
export const SET_FUZZ = SET_COMMANDS.filter(
  (g) => !['SPOP', 'SMOVE', 'SINTER', 'SUNION', 'SDIFF', 'SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE', 'SINTERCARD'].includes(g.name),
);

/** the element replies of the array reply at the front of buf, and where the array ends */
export function arrayItems(buf: Buffer, pos = 0): { items: Buffer[]; end: number } | null {
  if (buf[pos] !== 0x2a) return null;
  const eol = buf.indexOf('\r\n', pos, 'latin1');
  const n = Number(buf.toString('latin1', pos + 1, eol));
  const items: Buffer[] = [];
  let at = eol + 2;
  for (let i = 0; i < n; i++) {
    const len = replyLength(buf, at);
    items.push(buf.subarray(at, at + len));
    at += len;
  }
  return { items, end: at };
}

/** an array reply (at `from`) with its elements sorted in groups of `group` (2: HGETALL's field, value) */
export function sortedArray(reply: Buffer, group = 1, from = 0): Buffer {
  const arr = arrayItems(reply, from);
  if (arr === null || arr.items.length < group * 2) return reply;
  const groups: Buffer[] = [];
  for (let i = 0; i < arr.items.length; i += group) groups.push(Buffer.concat(arr.items.slice(i, i + group)));
  groups.sort(Buffer.compare);
  const head = reply.subarray(0, reply.indexOf('\r\n', from, 'latin1') + 2);
  return Buffer.concat([head, ...groups, reply.subarray(arr.end)]);
}

/** a scan page with its members sorted (groups of `group`), the cursor as it is */
export function sortedScan(reply: Buffer, group: number): Buffer {
  const outer = arrayItems(reply);
  if (outer === null || outer.items.length !== 2) return reply;
  const at = reply.length - outer.items[1].length;
  return sortedArray(reply, group, at);
}

/** a random pick's shape: nil stays, a member becomes `$?`, an array its length */
export function shapeOf(reply: Buffer): Buffer {
  if (reply[0] === 0x24 && reply.toString('latin1', 0, 3) !== '$-1') return Buffer.from('$?\r\n');
  const arr = arrayItems(reply);
  return arr === null ? reply : Buffer.from(`*${arr.items.length} (random picks)\r\n`);
}

/** a count that takes the whole collection, so the pick is not random */
export const wholeCount = (count: string | undefined): boolean => count !== undefined && /^\d{6,19}$/.test(count);

export const upper = (argv: readonly string[]): string => argv[0].toUpperCase();

/** the set commands' replies as compared (see the header) */
export function normaliseSet(argv: readonly string[], reply: Buffer): Buffer {
  switch (upper(argv)) {
    case 'SMEMBERS':
    case 'SINTER':
    case 'SUNION':
    case 'SDIFF':
    case 'SPOP':
      return sortedArray(reply);
    case 'SSCAN':
      return sortedScan(reply, 1);
    case 'SRANDMEMBER':
      return wholeCount(argv[2]) ? sortedArray(reply) : shapeOf(reply);
    default:
      return reply;
  }
}
