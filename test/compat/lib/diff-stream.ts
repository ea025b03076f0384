/**
 * Differential generators for the stream commands (test/compat/differential-stream.test.ts).
 *
 * Ids are explicit only (no `*`): an auto id is the clock's, different on each server. Left out,
 * each for a documented difference or a clock reading in the reply (docs/commands.md, "Streams"):
 * `~` trims (Redis also closes a node at 4096 bytes, which big values reach), XINFO STREAM
 * (radix-tree-nodes), XINFO CONSUMERS and XPENDING's extended form (idle times), BLOCK.
 */
import fc from 'fast-check';
import { BIG_VALUES, type CommandGen, INTEGERS, key as anyKey, word } from './diff-commands.js';

/** mostly two keys (on both shards), so entries, groups and reads meet on them; any key now and then */
const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('a', 'b') }, { weight: 1, arbitrary: anyKey });

const row = (name: string, weight: number, args: fc.Arbitrary<string[]>): CommandGen => ({ name, weight, args });

/** explicit ids: few, so commands meet on them; the edges; and text that is no id */
const ID_POOL = ['1', '1-0', '1-1', '1-2', '2', '2-0', '2-1', '3-0', '3-5', '5-0', '7-1', '10-0'];
const EDGE_IDS = ['0-0', '0-1', '18446744073709551615-18446744073709551615', '18446744073709551615-0', '18446744073709551616', '0'];
const BAD_IDS = ['abc', '1-x', '', '-1', '1-2-3', ' 1', '+', '-', '(1', '$', '>'];

const someId = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ID_POOL) },
  { weight: 1, arbitrary: fc.constantFrom(...EDGE_IDS) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_IDS) },
);
/** an XADD id: explicit, or ms-* (its sequence comes from the stream, not the clock) */
const addId = fc.oneof({ weight: 6, arbitrary: someId }, { weight: 2, arbitrary: fc.constantFrom('1-*', '2-*', '7-*', '0-*', '18446744073709551615-*') });
/** a range bound: an id, `-` / `+`, or exclusive `(id` */
const bound = fc.oneof(
  { weight: 4, arbitrary: someId },
  { weight: 3, arbitrary: fc.constantFrom('-', '+') },
  { weight: 2, arbitrary: someId.map((i) => `(${i}`) },
);

const field = fc.constantFrom('f', 'g', 'name', '', '\x00\xff', 'a b');
/** small values mostly; a big one now and then, so the tiny hot budget spills streams to disk */
const fieldValue = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('v', '1', '', 'hello', '\r\n', '-5') },
  { weight: 2, arbitrary: fc.constantFrom(...BIG_VALUES) },
);
const fieldValues = fc.array(fc.tuple(field, fieldValue), { minLength: 1, maxLength: 3 }).map((ps) => ps.flat());

const count = fc.constantFrom('0', '1', '2', '5', '-1', 'abc', '100');
const group = fc.constantFrom('g', 'h');
const consumer = fc.constantFrom('c1', 'c2', '');

const opt = <T>(a: fc.Arbitrary<T[]>): fc.Arbitrary<T[]> => fc.oneof(fc.constant([] as T[]), a);

/** exact trims only: MAXLEN/MINID with or without `=`; LIMIT only in the error it makes without `~` */
const trim = fc.oneof(
  fc.tuple(word('MAXLEN'), fc.constantFrom([], ['=']), fc.constantFrom('0', '1', '2', '3', '10', '-1', 'x')).map(([w, eq, n]) => [w, ...eq, n]),
  fc.tuple(word('MINID'), fc.constantFrom([], ['=']), someId).map(([w, eq, i]) => [w, ...eq, i]),
);
const trimWithLimit = fc.oneof(
  { weight: 5, arbitrary: trim },
  { weight: 1, arbitrary: fc.tuple(trim, fc.constantFrom('0', '5')).map(([t, n]) => [...t, 'LIMIT', n]) },
);

const countOpt = opt(fc.tuple(word('COUNT'), count).map(([w, n]) => [w, n]));

export const STREAM_COMMANDS: CommandGen[] = [
  row(
    'XADD',
    14,
    fc.tuple(key, opt(word('NOMKSTREAM').map((w) => [w])), opt(trimWithLimit), addId, fieldValues).map(([k, nomk, t, i, fv]) => [k, ...nomk, ...t, i, ...fv]),
  ),
  row(
    'XLEN',
    3,
    key.map((k) => [k]),
  ),
  row(
    'XRANGE',
    5,
    fc.tuple(key, bound, bound, countOpt).map(([k, a, b, c]) => [k, a, b, ...c]),
  ),
  row(
    'XREVRANGE',
    3,
    fc.tuple(key, bound, bound, countOpt).map(([k, a, b, c]) => [k, a, b, ...c]),
  ),
  row(
    'XDEL',
    3,
    fc.tuple(key, fc.array(someId, { minLength: 1, maxLength: 3 })).map(([k, ids]) => [k, ...ids]),
  ),
  row(
    'XTRIM',
    3,
    fc.tuple(key, trimWithLimit).map(([k, t]) => [k, ...t]),
  ),
  // several keys of XREAD must share a shard: the same key twice does
  row(
    'XREAD',
    5,
    fc
      .tuple(countOpt, key, fc.boolean(), fc.constantFrom('0', '0-0', '1', '1-1', '2-0', '$', '>', 'abc'), fc.constantFrom('0', '1-5', '$'))
      .map(([c, k, twice, i, j]) => [...c, 'STREAMS', k, ...(twice ? [k, i, j] : [i])]),
  ),
  row(
    'XGROUP',
    6,
    fc.oneof(
      fc
        .tuple(
          key,
          group,
          fc.constantFrom('$', '0', '1-1', '2', 'abc'),
          opt(fc.constant(['MKSTREAM'])),
          opt(fc.tuple(fc.constantFrom('1', '0', '-1', '-2', 'x')).map(([n]) => ['ENTRIESREAD', n])),
        )
        .map(([k, g, i, m, e]) => ['CREATE', k, g, i, ...m, ...e]),
      fc.tuple(key, group, fc.constantFrom('$', '0', '1-1', '-', '+', 'abc')).map(([k, g, i]) => ['SETID', k, g, i]),
      fc.tuple(key, group).map(([k, g]) => ['DESTROY', k, g]),
      fc.tuple(key, group, consumer).map(([k, g, c]) => ['CREATECONSUMER', k, g, c]),
      fc.tuple(key, group, consumer).map(([k, g, c]) => ['DELCONSUMER', k, g, c]),
      fc.constantFrom(['CREATE', 'a', 'g', '0', 'MKSTREAM', 'MKSTREAM', 'MKSTREAM', 'MKSTREAM'], ['SETID', 'a', 'g', '0', 'MKSTREAM'], ['FOO', 'a', 'g']),
    ),
  ),
  row(
    'XREADGROUP',
    10,
    fc
      .tuple(group, consumer, countOpt, opt(fc.constant(['NOACK'])), key, fc.constantFrom('>', '>', '>', '0', '1-1', '$', 'abc'))
      .map(([g, c, n, noack, k, i]) => ['GROUP', g, c, ...n, ...noack, 'STREAMS', k, i]),
  ),
  row(
    'XACK',
    5,
    fc.tuple(key, group, fc.array(someId, { minLength: 1, maxLength: 3 })).map(([k, g, ids]) => [k, g, ...ids]),
  ),
  row(
    'XPENDING',
    3,
    fc.tuple(key, group).map(([k, g]) => [k, g]),
  ),
  // minimum idle 0: what is claimed and the replies do not depend on the clock
  row(
    'XCLAIM',
    3,
    fc
      .tuple(
        key,
        group,
        consumer,
        fc.array(someId, { minLength: 1, maxLength: 3 }),
        opt(fc.constantFrom(['JUSTID'], ['FORCE'], ['RETRYCOUNT', '3'], ['LASTID', '5-0'], ['BOGUS'])),
      )
      .map(([k, g, c, ids, o]) => [k, g, c, '0', ...ids, ...o]),
  ),
  row(
    'XAUTOCLAIM',
    3,
    fc
      .tuple(key, group, consumer, fc.constantFrom('0', '-', '1-1', '(1-1'), opt(fc.constantFrom(['COUNT', '1'], ['COUNT', '0'], ['JUSTID'])))
      .map(([k, g, c, start, o]) => [k, g, c, '0', start, ...o]),
  ),
  row(
    'XINFO',
    2,
    key.map((k) => ['GROUPS', k]),
  ),
  // a string on a stream's key: WRONGTYPE both ways
  row(
    'SET',
    2,
    fc.tuple(anyKey, fc.constantFrom('v', ...INTEGERS.slice(0, 2), ...BIG_VALUES)).map(([k, v]) => [k, v]),
  ),
];
