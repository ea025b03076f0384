/**
 * Differential test of the sorted-set commands: random sequences (fast-check) sent to redis-server
 * and to cairn, replies compared byte for byte (test/compat/lib/differential.ts; ZRANDMEMBER by
 * shape), with a hot budget so small that sorted sets spill to LevelDB and come back mid-sequence
 * (large strings written beside them push them out).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { BIG_VALUES, type CommandGen, KEYSPACE_COMMANDS } from './lib/diff-commands.js';
import { checkDifferential, Command, type DiffPair, runSequence, startPair, tierCounters } from './lib/differential.js';
import { normaliseZset, ZKEYS, ZSET_COMMANDS, ZSET_FUZZ } from './lib/diff-zset.js';

let pair: DiffPair;

/**
 * big strings on two keys of the alphabet and one of the {z} shard: with the 2 MB budget they push
 * sorted sets to disk. Often, since a sorted set of the generators' few short members is held packed
 * in a few dozen bytes and leaves memory only when two big values meet on its shard.
 */
const PRESSURE: CommandGen = {
  name: 'SET',
  weight: 12,
  args: fc.tuple(fc.constantFrom('e', 'f', '{z}big'), fc.constantFrom(...BIG_VALUES)).map((a) => [...a]),
};

/** sequences found where cairn answered differently, shrunk, replayed on every run ('|' = pipelined) */
const FOUND: [what: string, commands: string[][]][] = [
  [
    'a sorted set spilled by big strings comes back with its order, scores (-0 kept as 0) and TTL',
    [
      ['ZADD', 'a', '1', 'x', '0.1', 'y', '-0', 'z', 'inf', 'w'],
      ['EXPIREAT', 'a', '4102444800'],
      ['SET', 'e', BIG_VALUES[0]],
      ['SET', 'f', BIG_VALUES[1]],
      ['SET', '{z}big', BIG_VALUES[2]],
      ['ZRANGE', 'a', '0', '-1', 'WITHSCORES'],
      ['ZSCAN', 'a', '0'],
      ['TTL', 'a'],
      ['ZINCRBY', 'a', '0.2', 'y'],
      ['SET', 'e', BIG_VALUES[3]],
      ['ZSCORE', 'a', 'y'],
      ['TYPE', 'a'],
    ],
  ],
];

beforeAll(async () => {
  pair = await startPair();
});

afterAll(async () => {
  await pair?.stop();
});

describe('cairn against redis-server: sorted sets', () => {
  it('the {z} keys are on one shard', () => {
    const shards = new Set(ZKEYS.map((k) => shardOf(Buffer.from(k, 'latin1'), 2)));
    expect(shards.size).toBe(1);
  });

  it.each(FOUND)('%s', async (_what, commands) => {
    await runSequence(
      pair,
      commands.map((argv) => (argv[0] === '|' ? new Command(argv.slice(1), true) : new Command(argv))),
      normaliseZset,
    );
  });

  it('answers random command sequences byte for byte as Redis, sorted sets spilling and restoring', async () => {
    const before = await tierCounters(pair);
    await checkDifferential(pair, {
      commands: [...KEYSPACE_COMMANDS, ...ZSET_COMMANDS, ZSET_FUZZ, PRESSURE],
      numRuns: 300,
      maxCommands: 40,
      seed: 1414,
      normalise: normaliseZset,
    });
    const after = await tierCounters(pair);
    expect(after.spills - before.spills, 'spills').toBeGreaterThan(0);
    expect(after.restores - before.restores, 'restores').toBeGreaterThan(0);
  }, 180_000);
});
