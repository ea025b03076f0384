/**
 * Differential test of the list commands: random sequences (fast-check) of list, keyspace and a few
 * string commands on the same keys, sent to redis-server and to cairn, replies compared byte for
 * byte (test/compat/lib/differential.ts), with a hot budget so small that lists spill to LevelDB and
 * come back mid-sequence. Blocking pops are in them where their reply does not depend on timing
 * (test/compat/lib/diff-list.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { BIG_VALUES, KEYSPACE_COMMANDS, fuzzRow } from './lib/diff-commands.js';
import { LIST_COMMANDS, TAGGED } from './lib/diff-list.js';
import { checkDifferential, Command, type DiffPair, runSequence, startPair, tierCounters } from './lib/differential.js';

let pair: DiffPair;

/**
 * Sequences checked on every run: edges of argument parsing and the order of checks, each a place
 * where a reply is easy to get wrong. A command starting with '|' is pipelined behind the one before.
 */
const FOUND: [what: string, commands: string[][]][] = [
  [
    'BRPOP then LMOVE of a list below memory: the pop is kept, the emptied source goes',
    [
      ['RPUSH', '{L}2', BIG_VALUES[0], 'a'],
      ['BRPOP', '{L}2', '0.01'],
      ['LMOVE', '{L}2', '{L}1', 'RIGHT', 'RIGHT'],
      ['EXISTS', '{L}2'],
      ['LLEN', '{L}2'],
      ['LLEN', '{L}1'],
    ],
  ],
  [
    'LMOVE whose destination, read back from disk, evicts the source: the pop is kept',
    [
      ['RPUSH', '{L}a', BIG_VALUES[0], 'x'],
      ['RPUSH', '{L}b', BIG_VALUES[1], 'y'],
      ['LMOVE', '{L}a', '{L}b', 'RIGHT', 'LEFT'],
      ['LLEN', '{L}a'],
      ['LLEN', '{L}b'],
      ['LINDEX', '{L}b', '0'],
      ['LMOVE', '{L}b', '{L}a', 'LEFT', 'RIGHT'],
      ['LRANGE', '{L}a', '1', '-1'],
      ['LLEN', '{L}b'],
    ],
  ],
  [
    'a list larger than memory moved onto itself is one list (LMOVE, RPOPLPUSH)',
    [
      ['RPUSH', 'a', BIG_VALUES[0], 'x', BIG_VALUES[1], 'y'],
      ['LMOVE', 'a', 'a', 'LEFT', 'RIGHT'],
      ['RPOPLPUSH', 'a', 'a'],
      ['LMOVE', 'a', 'a', 'RIGHT', 'RIGHT'],
      ['LLEN', 'a'],
      ['LINDEX', 'a', '0'],
      ['LINDEX', 'a', '1'],
      ['LINDEX', 'a', '3'],
    ],
  ],
  [
    'counts and indexes are parsed before the key is looked up, except LINDEX and LSET',
    [
      ['SET', 'a', 'v'],
      ['LPOP', 'a', 'abc'],
      ['LPOP', 'nokey', '-1'],
      ['LRANGE', 'a', 'x', '1'],
      ['LINDEX', 'nokey', 'abc'],
      ['LINDEX', 'a', 'abc'],
      ['LSET', 'nokey', 'abc', 'x'],
      ['LSET', 'a', 'abc', 'x'],
      ['LTRIM', 'a', '0', 'abc'],
      ['LREM', 'a', 'abc', 'x'],
    ],
  ],
  [
    'pops with counts, and the empty list is deleted',
    [
      ['RPUSH', 'b', '1', '2', '3'],
      ['LPOP', 'b', '0'],
      ['RPOP', 'b', '2'],
      ['LPOP', 'b', '9223372036854775807'],
      ['EXISTS', 'b'],
      ['LPOP', 'b', '1'],
      ['LPOP', 'b'],
    ],
  ],
  [
    'LPOS with RANK, COUNT and MAXLEN, and its errors',
    [
      ['RPUSH', 'c', 'a', 'b', 'a', 'c', 'a'],
      ['LPOS', 'c', 'a', 'RANK', '-1', 'COUNT', '0'],
      ['LPOS', 'c', 'a', 'RANK', '2', 'COUNT', '2', 'MAXLEN', '4'],
      ['LPOS', 'c', 'a', 'RANK', '0'],
      ['LPOS', 'c', 'a', 'COUNT', '-1'],
      ['LPOS', 'c', 'a', 'MAXLEN', 'abc'],
      ['LPOS', 'nokey', 'a', 'COUNT', '1'],
      ['LPOS', 'c', 'z'],
    ],
  ],
  [
    'LMPOP and BLMPOP check numkeys, side, COUNT, then the timeout',
    [
      ['RPUSH', '{L}2', 'x', 'y', 'z'],
      ['LMPOP', '0', '{L}1', 'LEFT'],
      ['LMPOP', '2', '{L}1', 'LEFT'],
      ['LMPOP', '1', '{L}1', 'UP'],
      ['LMPOP', '2', '{L}1', '{L}2', 'RIGHT', 'COUNT', '0'],
      ['LMPOP', '2', '{L}1', '{L}2', 'RIGHT', 'COUNT', '2', 'COUNT', '1'],
      ['LMPOP', '2', '{L}1', '{L}2', 'RIGHT', 'COUNT', '2'],
      ['BLMPOP', 'abc', '1', '{L}1', 'LEFT'],
      ['BLMPOP', 'abc', '1', '{L}1', 'UP'],
      ['BLMPOP', '0.01', '2', '{L}1', '{L}2', 'LEFT', 'COUNT', '5'],
      ['BLMPOP', '0.01', '2', '{L}1', '{L}2', 'LEFT'],
    ],
  ],
  [
    'blocking pops answer at once from a list, time out on none, and refuse bad timeouts',
    [
      ['RPUSH', '{L}3', 'e1', 'e2'],
      ['BLPOP', '{L}1', '{L}3', '0.01'],
      ['BRPOP', '{L}3', '-1'],
      ['BRPOP', '{L}3', 'inf'],
      ['BRPOP', '{L}3', '1e20'],
      ['BRPOP', '{L}3', 'nan'],
      ['BRPOPLPUSH', '{L}3', '{L}1', '0.01'],
      ['BLMOVE', '{L}1', '{L}1', 'RIGHT', 'LEFT', '0.01'],
      ['BLMOVE', '{L}2', '{L}1', 'LEFT', 'UP', 'abc'],
      ['BLMOVE', '{L}2', '{L}1', 'LEFT', 'LEFT', 'abc'],
      ['BLPOP', '{L}2', '0.01'],
      ['LRANGE', '{L}1', '0', '-1'],
    ],
  ],
  [
    'LMOVE onto a key of another type moves nothing; inside MULTI a blocking pop does not block',
    [
      ['RPUSH', '{L}1', 'a'],
      ['SET', '{L}2', 'v'],
      ['LMOVE', '{L}1', '{L}2', 'LEFT', 'RIGHT'],
      ['LMOVE', '{L}3', '{L}2', 'LEFT', 'RIGHT'],
      ['LLEN', '{L}1'],
      ['MULTI'],
      ['BLPOP', '{L}3', '0'],
      ['BRPOPLPUSH', '{L}3', '{L}1', '0'],
      ['BLMPOP', '0', '1', '{L}3', 'LEFT'],
      ['EXEC'],
    ],
  ],
  [
    'EXPIRE with NX, XX, GT or LT keeps a list a list',
    [
      ['RPUSH', 'a', 'x'],
      ['EXPIREAT', 'a', '4102444800', 'LT'],
      ['LLEN', 'a'],
      ['EXPIRE', 'a', '100', 'XX'],
      ['PEXPIREAT', 'a', '4102444800123', 'GT'],
      ['RPUSH', 'b', 'y'],
      ['EXPIRE', 'b', '0', 'NX'],
      ['EXISTS', 'b'],
      ['LRANGE', 'a', '0', '-1'],
      ['TYPE', 'a'],
    ],
  ],
  [
    'a large list spills and comes back whole',
    [
      ['RPUSH', 'd', BIG_VALUES[0], 'small', BIG_VALUES[1]],
      ['SET', 'e', BIG_VALUES[2]],
      ['SET', 'f', BIG_VALUES[3]],
      ['LINDEX', 'd', '1'],
      ['LINSERT', 'd', 'AFTER', 'small', 'next'],
      ['LRANGE', 'd', '1', '2'],
      ['LREM', 'd', '0', BIG_VALUES[0]],
      ['LLEN', 'd'],
    ],
  ],
];

beforeAll(async () => {
  pair = await startPair();
});

afterAll(async () => {
  await pair?.stop();
});

describe('cairn against redis-server: lists', () => {
  it('the tagged keys share one shard', () => {
    const shards = new Set(TAGGED.map((k) => shardOf(Buffer.from(k, 'latin1'), 2)));
    expect(shards.size).toBe(1);
  });

  it.each(FOUND)('%s', async (_what, commands) => {
    await runSequence(pair, [new Command(['FLUSHDB']), ...commands.map((argv) => (argv[0] === '|' ? new Command(argv.slice(1), true) : new Command(argv)))]);
  });

  it('answers random command sequences byte for byte as Redis, lists spilling and restoring', async () => {
    const before = await tierCounters(pair);
    const commands = [...LIST_COMMANDS, ...KEYSPACE_COMMANDS];
    // fuzzed tokens may hold a timeout of 0 (forever), and keys on two shards (CROSSSLOT in cairn):
    // the blocking commands and those with several keys are left out of them
    const multiKey = new Set(['LMOVE', 'RPOPLPUSH', 'LMPOP']);
    const fuzzed = fuzzRow(LIST_COMMANDS.filter((c) => !c.name.startsWith('B') && !multiKey.has(c.name)));
    await checkDifferential(pair, { commands: [...commands, fuzzed], numRuns: 300, maxCommands: 40, seed: 1408 });
    const after = await tierCounters(pair);
    expect(after.spills - before.spills, 'spills').toBeGreaterThan(0);
    expect(after.restores - before.restores, 'restores').toBeGreaterThan(0);
  }, 240_000);
});
