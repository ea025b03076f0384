/**
 * Differential test of the stream commands: random sequences (fast-check) sent to redis-server and
 * to cairn, replies compared byte for byte, with a hot budget so small that streams spill to
 * LevelDB and come back mid-sequence (test/compat/lib/differential.ts). Ids are explicit (see
 * lib/diff-stream.ts for what is left out and why).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIG_VALUES, KEYSPACE_COMMANDS, fuzzRow } from './lib/diff-commands.js';
import { STREAM_COMMANDS } from './lib/diff-stream.js';
import { checkDifferential, Command, type DiffPair, runSequence, startPair, tierCounters } from './lib/differential.js';

let pair: DiffPair;

/** fixed sequences, replayed on every run: the rules random runs reach rarely */
const FOUND: [what: string, commands: string[][]][] = [
  [
    '~ trims whole nodes of 100 entries only, LIMIT caps it, = trims exactly',
    [
      ...Array.from({ length: 230 }, (_, i) => ['XADD', 'a', `${i + 1}-1`, 'f', `v${i}`]),
      ['XTRIM', 'a', 'MAXLEN', '~', '120'],
      ['XLEN', 'a'],
      ['XTRIM', 'a', 'MAXLEN', '~', '0', 'LIMIT', '99'],
      ['XADD', 'a', 'MAXLEN', '~', '5', 'LIMIT', '100', '300-0', 'f', 'v'],
      ['XLEN', 'a'],
      ['XDEL', 'a', '205-1', '206-1'],
      ['XTRIM', 'a', 'MINID', '~', '210'],
      ['XTRIM', 'a', 'MINID', '=', '210'],
      ['XRANGE', 'a', '-', '+', 'COUNT', '3'],
      ['XTRIM', 'a', 'MAXLEN', '~', '5', 'LIMIT', '0'],
      ['XLEN', 'a'],
    ],
  ],
  [
    'a group past deleted entries: entries-read and lag as Redis estimates them',
    [
      ['XADD', 'b', '1-1', 'f', 'v'],
      ['XADD', 'b', '2-1', 'f', 'v'],
      ['XADD', 'b', '3-1', 'f', 'v'],
      ['XGROUP', 'CREATE', 'b', 'g', '0'],
      ['XGROUP', 'CREATE', 'b', 'h', '$'],
      ['XDEL', 'b', '2-1'],
      ['XINFO', 'GROUPS', 'b'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 'b', '>'],
      ['XINFO', 'GROUPS', 'b'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'b', '>'],
      ['XINFO', 'GROUPS', 'b'],
      ['XGROUP', 'SETID', 'b', 'g', '0', 'ENTRIESREAD', '0'],
      ['XINFO', 'GROUPS', 'b'],
      ['XDEL', 'b', '1-1', '3-1'],
      ['XINFO', 'GROUPS', 'b'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'b', '0'],
    ],
  ],
  [
    'a stream spilled with its groups and PEL comes back whole',
    [
      ['XADD', 'c', '1-1', 'f', BIG_VALUES[0]],
      ['XGROUP', 'CREATE', 'c', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 'c', '>'],
      ['XADD', 'c', '2-1', 'f', 'v'],
      ['SET', 'd', BIG_VALUES[1]],
      ['SET', 'e', BIG_VALUES[2]],
      ['SET', 'f', BIG_VALUES[3]],
      ['XPENDING', 'c', 'g'],
      ['XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 'c', '>'],
      ['XACK', 'c', 'g', '1-1'],
      ['XINFO', 'GROUPS', 'c'],
      ['XRANGE', 'c', '(1-1', '+'],
    ],
  ],
];

/** reads that found their key on disk: a collection is read there, decoded, without a restore */
async function coldHits(p: DiffPair): Promise<number> {
  const m = /^hits_cold:(\d+)\r$/m.exec((await p.cairnConn.call(['CAIRN.INFO'])).toString('latin1'));
  if (!m) throw new Error('CAIRN.INFO has no hits_cold');
  return Number(m[1]);
}

beforeAll(async () => {
  pair = await startPair();
});

afterAll(async () => {
  await pair?.stop();
});

describe('cairn against redis-server: streams', () => {
  it.each(FOUND)('%s', async (_what, commands) => {
    await runSequence(
      pair,
      commands.map((argv) => (argv[0] === '|' ? new Command(argv.slice(1), true) : new Command(argv))),
    );
  });

  it('answers random stream command sequences byte for byte as Redis, streams spilling and restoring', async () => {
    const before = await tierCounters(pair);
    const coldBefore = await coldHits(pair);
    const commands = [...STREAM_COMMANDS, ...KEYSPACE_COMMANDS];
    await checkDifferential(pair, { commands: [...commands, fuzzRow(commands, 2)], numRuns: 300, maxCommands: 40, seed: 1503 });
    const after = await tierCounters(pair);
    // the tiny budget must have sent streams to disk, and commands must have read them back there
    expect(after.spills - before.spills, 'spills').toBeGreaterThan(0);
    expect((await coldHits(pair)) - coldBefore, 'reads of keys on disk').toBeGreaterThan(0);
  }, 180_000);
});
