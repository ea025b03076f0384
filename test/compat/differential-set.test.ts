/**
 * Differential test of the set commands: random sequences (fast-check) of set and keyspace commands
 * sent to redis-server and to cairn, replies compared byte for byte except where Redis leaves them
 * open (test/compat/lib/diff-set.ts says how those compare), with a hot budget so small that sets
 * spill to LevelDB and come back mid-sequence. SPOP's random picks are checked on their own.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { BIG_VALUES, type CommandGen, KEYSPACE_COMMANDS, fuzzRow } from './lib/diff-commands.js';
import { arrayItems, normaliseSet, SET_COMMANDS, SET_FUZZ, TAGGED } from './lib/diff-set.js';
import { checkDifferential, Command, type DiffPair, runSequence, startPair, tierCounters } from './lib/differential.js';

let pair: DiffPair;

/**
 * big strings on two keys of the alphabet and one of the {s} shard: with the 2 MB budget they push sets
 * to disk (a set holding a big value is past the whole budget and lives on disk without pushing
 * anything out).
 */
const PRESSURE: CommandGen = {
  name: 'SET',
  weight: 3,
  args: fc.tuple(fc.constantFrom('e', 'f', '{s}big'), fc.constantFrom(...BIG_VALUES)).map((a) => [...a]),
};

/** sequences replayed on every run: the corners the generators reach only rarely */
const FOUND: [what: string, commands: string[][]][] = [
  [
    'a STORE replaces a string with a TTL, and deletes it when the result is empty',
    [
      ['SET', '{s}a', 'v', 'EX', '1000'],
      ['SADD', '{s}b', 'x', 'y'],
      ['SUNIONSTORE', '{s}a', '{s}b', '{s}c'],
      ['TTL', '{s}a'],
      ['TYPE', '{s}a'],
      ['SMEMBERS', '{s}a'],
      ['SET', '{s}c', 'str'],
      ['SINTERSTORE', '{s}c', '{s}b', '{s}'],
      ['EXISTS', '{s}c'],
      ['SDIFFSTORE', '{s}', '{s}b', '{s}b'],
      ['SDIFF', '{s}b', '{s}a'],
    ],
  ],
  [
    'WRONGTYPE from any key of a multi-set command, even after a missing one; SMOVE looks at its source first',
    [
      ['SET', '{s}a', 'v'],
      ['SADD', '{s}b', 'm'],
      ['SINTER', '{s}c', '{s}a'],
      ['SUNION', '{s}b', '{s}a'],
      ['SINTERCARD', '2', '{s}c', '{s}a'],
      ['SMOVE', '{s}c', '{s}a', 'm'],
      ['SMOVE', '{s}b', '{s}a', 'm'],
      ['SMOVE', '{s}a', '{s}b', 'm'],
      ['SMOVE', '{s}b', '{s}b', 'm'],
      ['SMOVE', '{s}b', '{s}c', 'm'],
      ['EXISTS', '{s}b'],
      ['SMEMBERS', '{s}c'],
    ],
  ],
  [
    'a big set spills and comes back with its members and TTL',
    [
      ['SADD', 'a', BIG_VALUES[0], 'x'],
      ['EXPIREAT', 'a', '4102444800'],
      ['SET', 'b', BIG_VALUES[1]],
      ['SET', 'c', BIG_VALUES[2]],
      ['SET', 'd', BIG_VALUES[3]],
      ['SISMEMBER', 'a', BIG_VALUES[0]],
      ['SCARD', 'a'],
      ['EXPIRETIME', 'a'],
      ['SPOP', 'a', '100000'],
      ['EXISTS', 'a'],
    ],
  ],
  [
    'SPOP and SRANDMEMBER on one member are not random',
    [
      ['SADD', 'a', 'only'],
      ['SRANDMEMBER', 'a'],
      ['SRANDMEMBER', 'a', '-3'],
      ['SPOP', 'a'],
      ['SPOP', 'a'],
      ['EXISTS', 'a'],
    ],
  ],
];

beforeAll(async () => {
  pair = await startPair();
});

afterAll(async () => {
  await pair?.stop();
});

describe('cairn against redis-server: sets', () => {
  it('the tagged keys share a shard', () => {
    expect(new Set(TAGGED.map((k) => shardOf(Buffer.from(k, 'latin1'), 2))).size).toBe(1);
  });

  it.each(FOUND)('%s', async (_what, commands) => {
    await runSequence(
      pair,
      commands.map((argv) => (argv[0] === '|' ? new Command(argv.slice(1), true) : new Command(argv))),
      normaliseSet,
    );
  });

  it('SPOP with a count and without: distinct members of the set, removed, as many as Redis pops', async () => {
    const members = Array.from({ length: 300 }, (_, i) => `m${i}`);
    for (const conn of [pair.redisConn, pair.cairnConn]) {
      expect((await conn.call(['FLUSHALL'])).toString()).toBe('+OK\r\n');
      expect((await conn.call(['SADD', 'a', ...members])).toString()).toBe(':300\r\n');
      const popped = new Set<string>();
      for (const count of ['5', '100', '0']) {
        const arr = arrayItems(await conn.call(['SPOP', 'a', count]));
        expect(arr?.items.length).toBe(Number(count));
        for (const b of arr!.items) popped.add(b.toString('latin1').split('\r\n')[1]);
      }
      const single = (await conn.call(['SPOP', 'a'])).toString('latin1').split('\r\n')[1];
      popped.add(single);
      expect(popped.size).toBe(106);
      for (const m of popped) expect(members).toContain(m);
      expect((await conn.call(['SCARD', 'a'])).toString()).toBe(':194\r\n');
      const left = arrayItems(await conn.call(['SMEMBERS', 'a']))!.items.map((b) => b.toString('latin1').split('\r\n')[1]);
      expect(new Set([...left, ...popped]).size).toBe(300);
    }
  });

  it('answers random set command sequences as Redis, sets spilling and restoring', async () => {
    const before = await tierCounters(pair);
    const commands = [...SET_COMMANDS, ...KEYSPACE_COMMANDS];
    await checkDifferential(pair, {
      commands: [...commands, fuzzRow([...SET_FUZZ, ...KEYSPACE_COMMANDS]), PRESSURE],
      numRuns: 400,
      maxCommands: 40,
      seed: 1414,
      normalise: normaliseSet,
    });
    const after = await tierCounters(pair);
    expect(after.spills - before.spills, 'spills').toBeGreaterThan(0);
    expect(after.restores - before.restores, 'restores').toBeGreaterThan(0);
  }, 180_000);
});
