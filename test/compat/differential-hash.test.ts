/**
 * Differential test of the hash commands: random sequences (fast-check) of hash and keyspace
 * commands sent to redis-server and to cairn, replies compared byte for byte except where Redis
 * leaves them open (test/compat/lib/diff-hash.ts says how those compare), with a hot budget so
 * small that hashes spill to LevelDB and come back mid-sequence.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIG_VALUES, type CommandGen, KEYSPACE_COMMANDS, fuzzRow } from './lib/diff-commands.js';
import { HASH_COMMANDS, HASH_FUZZ, normaliseHash } from './lib/diff-hash.js';
import { checkDifferential, Command, type DiffPair, runSequence, startPair, tierCounters } from './lib/differential.js';

let pair: DiffPair;

/**
 * big strings on two keys of the alphabet: with the 2 MB budget they push hashes
 * to disk (a hashe holding a big value is past the whole budget and lives on disk without pushing
 * anything out).
 */
const PRESSURE: CommandGen = {
  name: 'SET',
  weight: 3,
  args: fc.tuple(fc.constantFrom('e', 'f'), fc.constantFrom(...BIG_VALUES)).map((a) => [...a]),
};

/** sequences replayed on every run: the corners the generators reach only rarely */
const FOUND: [what: string, commands: string[][]][] = [
  [
    'HINCRBY and HINCRBYFLOAT on fields that are not numbers, at the i64 edge, and refused increments',
    [
      ['HSET', 'a', 'i', '9223372036854775806', 't', '1.5', 'z', '007', 's', ' 1'],
      ['HINCRBY', 'a', 'i', '1'],
      ['HINCRBY', 'a', 'i', '1'],
      ['HINCRBY', 'a', 't', '1'],
      ['HINCRBY', 'a', 'z', '1'],
      ['HINCRBYFLOAT', 'a', 't', '2.25'],
      ['HINCRBYFLOAT', 'a', 's', '1'],
      ['HINCRBYFLOAT', 'a', 'n', '-0'],
      ['HINCRBYFLOAT', 'a', 'n', '1e3'],
      ['HINCRBYFLOAT', 'b', 'n', 'inf'],
      ['EXISTS', 'b'],
      ['HINCRBY', 'b', 'n', '-9223372036854775808'],
      ['HINCRBY', 'b', 'n', '-1'],
      ['HGETALL', 'a'],
    ],
  ],
  [
    'a big hash spills and comes back with its fields and TTL',
    [
      ['HSET', 'a', 'big', BIG_VALUES[0], 'x', '1'],
      ['EXPIREAT', 'a', '4102444800'],
      ['SET', 'b', BIG_VALUES[1]],
      ['SET', 'c', BIG_VALUES[2]],
      ['SET', 'd', BIG_VALUES[3]],
      ['HSTRLEN', 'a', 'big'],
      ['HINCRBY', 'a', 'x', '41'],
      ['EXPIRETIME', 'a'],
      ['HDEL', 'a', 'big', 'x'],
      ['EXISTS', 'a'],
    ],
  ],
  [
    'HRANDFIELD and HSCAN argument checks, on a missing key and a hash',
    [
      ['HRANDFIELD', 'a', '1', 'WITHVALUES', 'x'],
      ['HRANDFIELD', 'a', '-9223372036854775807', 'WITHVALUES'],
      ['HRANDFIELD', 'a', '5', 'WITHVALUES'],
      ['HSCAN', 'a', '0', 'COUNT', '0'],
      ['HSET', 'a', 'f', 'v'],
      ['HRANDFIELD', 'a', '-3', 'WITHVALUES'],
      ['HSCAN', 'a', '0', 'COUNT', '0'],
      ['HSCAN', 'a', '0', 'MATCH', 'g*'],
      ['HSCAN', 'a', 'x'],
    ],
  ],
];

beforeAll(async () => {
  pair = await startPair();
});

afterAll(async () => {
  await pair?.stop();
});

describe('cairn against redis-server: hashes', () => {
  it.each(FOUND)('%s', async (_what, commands) => {
    await runSequence(
      pair,
      commands.map((argv) => (argv[0] === '|' ? new Command(argv.slice(1), true) : new Command(argv))),
      normaliseHash,
    );
  });

  it('answers random hash command sequences as Redis, hashes spilling and restoring', async () => {
    const before = await tierCounters(pair);
    await checkDifferential(pair, {
      commands: [...HASH_COMMANDS, ...KEYSPACE_COMMANDS, fuzzRow([...HASH_FUZZ, ...KEYSPACE_COMMANDS]), PRESSURE],
      numRuns: 400,
      maxCommands: 40,
      seed: 1415,
      normalise: normaliseHash,
    });
    const after = await tierCounters(pair);
    expect(after.spills - before.spills, 'spills').toBeGreaterThan(0);
    expect(after.restores - before.restores, 'restores').toBeGreaterThan(0);
  }, 180_000);
});
