/**
 * The sorted-set commands through the RESP layer (framer → planner → executor) on the Map-backed
 * store double, beside a real redis-server: hand-picked cases and random sequences of
 * test/compat/lib/diff-zset.ts, replies compared byte for byte (ZRANDMEMBER by shape). The server-level
 * differential test (test/compat/differential-zset.test.ts) runs the same generators against a real
 * cairn with its tiered store.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { formatScore, parseScore } from '../../src/commands/zsets.js';
import { createConnState } from '../../src/front/plan.js';
import { SetValue } from '../../src/engine/collections/set.js';
import { ValueType } from '../../src/engine/collections/types.js';
import { commandOf, type Command } from '../compat/lib/diff-commands.js';
import { ReplyConn, show } from '../compat/lib/differential.js';
import { normaliseZset, ZSET_COMMANDS, ZSET_FUZZ } from '../compat/lib/diff-zset.js';
import { MapStoreDouble, resp, respSession } from './resp-store-double.js';

let redis: ServiceHandle;
let conn: ReplyConn;

beforeAll(async () => {
  redis = await startRedisServer(undefined, ['--databases', '1']);
  conn = await ReplyConn.open(redis.port);
}, 30_000);

afterAll(async () => {
  conn?.close();
  await redis?.stop();
});

/** runs argv lists on a fresh 2-shard double and on redis-server (flushed), throwing at the first difference */
async function same(commands: string[][]): Promise<void> {
  await conn.call(['FLUSHALL']);
  const stores = [new MapStoreDouble(0), new MapStoreDouble(1)];
  const s = respSession(createConnState(1, 2), stores);
  const done: string[] = [];
  for (const argv of commands) {
    const r = await conn.call(argv);
    const c = Buffer.from(await s.cmd(resp(...argv.map((a) => Buffer.from(a, 'latin1')))), 'latin1');
    done.push(argv.map((a) => JSON.stringify(a)).join(' '));
    if (!normaliseZset(argv, r).equals(normaliseZset(argv, c))) {
      throw new Error(`replies differ:\n  ${done.join('\n  ')}\n  redis: ${show(r)}\n  cairn: ${show(c)}`);
    }
  }
}

describe('score text', () => {
  it('prints as Redis 7.0 (%.17g), ties to even', () => {
    const cases: [number, string][] = [
      [0.1, '0.10000000000000001'],
      [1e20, '1e+20'],
      [3, '3'],
      [-0, '-0'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
      [1.5e-7, '1.4999999999999999e-07'],
      [Number('123456789012345678'), '1.2345678901234568e+17'],
      [Number('1125899906842624.25'), '1125899906842624.2'],
      [Number('1125899906842624.75'), '1125899906842624.8'],
      [0.30000000000000004, '0.30000000000000004'],
      [1e-310, '9.9999999999999694e-311'],
      [5e-324, '4.9406564584124654e-324'],
      [1e300, '1.0000000000000001e+300'],
      [Number('12345678901234567'), '12345678901234568'],
      [0.0001, '0.0001'],
      [0.00001, '1.0000000000000001e-05'],
    ];
    for (const [d, text] of cases) expect(formatScore(d), String(d)).toBe(text);
  });

  it('reads as strtod with Redis checks', () => {
    const p = (s: string) => parseScore(Buffer.from(s, 'latin1'));
    expect(p('0x10')).toBe(16);
    expect(p('0x1p-2')).toBe(0.25);
    expect(p('-inf')).toBe(-Infinity);
    expect(p('+Infinity')).toBe(Infinity);
    expect(p('1e-310')).toBe(1e-310);
    for (const bad of ['', ' 1', '1 ', 'nan', '1e400', '1e-400', '1.5x', '0x', '.', 'e1', '1e']) expect(p(bad), bad).toBeNull();
  });

  it('prints as redis-server for random doubles', async () => {
    const values = fc.sample(fc.double({ noNaN: true }), { numRuns: 300, seed: 14 });
    await conn.call(['FLUSHALL']);
    for (const v of values) {
      const text = v.toString();
      await conn.call(['ZADD', 'fmt', text, 'm']);
      const r = (await conn.call(['ZSCORE', 'fmt', 'm'])).toString('latin1');
      const body = r.split('\r\n')[1];
      expect(formatScore(Object.is(v, -0) ? 0 : v), text).toBe(body);
    }
  });
});

describe('sorted sets beside redis-server (store double)', () => {
  it('ZADD options, INCR, errors and replies', async () => {
    await same([
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'],
      ['ZADD', 'z', 'NX', 'GT', '1', 'a'],
      ['ZADD', 'z', 'NX', 'XX', '1', 'a'],
      ['ZADD', 'z', 'INCR', '1', 'a', '2', 'b'],
      ['ZADD', 'z', 'XX', 'INCR', '1', 'q'],
      ['ZADD', 'z', 'GT', 'CH', '0', 'a', '5', 'b', '1', 'new'],
      ['ZADD', 'z', 'LT', 'INCR', '1', 'a'],
      ['ZADD', 'z', 'GT', 'INCR', '1', 'a'],
      ['ZADD', 'z', 'NX', 'INCR', '1', 'a'],
      ['ZADD', 'z', 'INCR', 'inf', 'a'],
      ['ZADD', 'z', 'INCR', '-inf', 'a'],
      ['ZADD', 'z', 'nan', 'a'],
      ['ZADD', 'z', '1'],
      ['ZADD', 'z', 'CH', '1', 'a', 'b'],
      ['ZINCRBY', 'z', 'nx', 'a'],
      ['ZINCRBY', 'z', '0.1', 'a'],
      ['ZINCRBY', 'z', '0.2', 'a'],
      ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
      ['ZADD', 'z0', '-0', 'a'],
      ['ZSCORE', 'z0', 'a'],
      ['ZINCRBY', 'z0', '-0', 'n'],
      ['ZSCORE', 'z0', 'n'],
      ['SET', 's', 'v'],
      ['ZADD', 's', '1', 'a'],
      ['ZSCORE', 's', 'a'],
      ['ZCARD', 'missing'],
      ['ZMSCORE', 'missing', 'a', 'b'],
      ['ZMSCORE', 'z', 'a', 'nope', 'c'],
    ]);
  });

  it('ranges: rank, score, lex, REV, LIMIT, conflicts and parse errors', async () => {
    await same([
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '3', 'd', '4', 'e'],
      ['ZRANGE', 'z', '0', '-1'],
      ['ZRANGE', 'z', '-2', '100', 'WITHSCORES'],
      ['ZRANGE', 'z', '(1', '3', 'BYSCORE', 'LIMIT', '1', '2', 'WITHSCORES'],
      ['ZRANGE', 'z', '3', '(1', 'BYSCORE', 'REV'],
      ['ZRANGE', 'z', '[e', '-', 'BYLEX', 'REV', 'LIMIT', '0', '2'],
      ['ZRANGE', 'z', '0', '1', 'LIMIT', '0', '1'],
      ['ZRANGE', 'z', '-', '+', 'BYLEX', 'WITHSCORES'],
      ['ZRANGE', 'z', '0', '1', 'BYSCORE', 'BYLEX'],
      ['ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '-1', '2'],
      ['ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', '1', '-1'],
      ['ZRANGEBYSCORE', 'z', '', '('],
      ['ZRANGEBYSCORE', 'z', ' 1', '3'],
      ['ZRANGEBYSCORE', 'z', 'abc', '3'],
      ['ZREVRANGEBYSCORE', 'z', '+inf', '2', 'WITHSCORES', 'LIMIT', '0', '1'],
      ['ZRANGEBYLEX', 'z', 'a', 'b'],
      ['ZRANGEBYLEX', 'z', '(a', '[c'],
      ['ZREVRANGEBYLEX', 'z', '+', '(b'],
      ['ZREVRANGE', 'z', '0', '1', 'WITHSCORES'],
      ['ZREVRANGE', 'z', '0', '1', 'LIMIT', '0', '1'],
      ['ZCOUNT', 'z', '(1', '3'],
      ['ZCOUNT', 'z', '3', '1'],
      ['ZLEXCOUNT', 'z', '-', '+'],
      ['ZLEXCOUNT', 'z', '[b', '(d'],
      ['ZRANK', 'z', 'c'],
      ['ZREVRANK', 'z', 'c'],
      ['ZRANK', 'z', 'nope'],
      ['ZRANGESTORE', '{t}d', '{t}s', '0', '-1'],
      ['ZADD', '{t}s', '1', 'x', '2', 'y', '3', 'z'],
      ['SET', '{t}d', 'string'],
      ['ZRANGESTORE', '{t}d', '{t}s', '(1', '+inf', 'BYSCORE'],
      ['ZRANGE', '{t}d', '0', '-1', 'WITHSCORES'],
      ['ZRANGESTORE', '{t}d', '{t}s', '0', '-1', 'WITHSCORES'],
      ['ZRANGESTORE', '{t}d', '{t}s', '5', '6'],
      ['EXISTS', '{t}d'],
    ]);
  });

  it('pops, removals by range, ZMPOP', async () => {
    await same([
      ['ZADD', '{p}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd'],
      ['ZPOPMIN', '{p}a'],
      ['ZPOPMAX', '{p}a', '2'],
      ['ZPOPMIN', '{p}a', '0'],
      ['ZPOPMIN', '{p}a', '-1'],
      ['ZPOPMIN', '{p}a', '1', '2'],
      ['ZPOPMIN', 'nokey', '0'],
      ['ZMPOP', '2', '{p}none', '{p}a', 'MIN', 'COUNT', '5'],
      ['ZMPOP', '2', '{p}none', '{p}a', 'MIN'],
      ['ZMPOP', '0', '{p}a', 'MIN'],
      ['ZMPOP', '1', '{p}a', 'MIN', 'COUNT', '0'],
      ['ZMPOP', '1', '{p}a', 'FOO'],
      ['EXISTS', '{p}a'],
      ['ZADD', 'r', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
      ['ZREMRANGEBYRANK', 'r', '1', '2'],
      ['ZREMRANGEBYSCORE', 'r', '(4', '+inf'],
      ['ZREMRANGEBYLEX', 'r', '-', '[a'],
      ['ZRANGE', 'r', '0', '-1', 'WITHSCORES'],
      ['ZREMRANGEBYRANK', 'r', '0', '-1'],
      ['EXISTS', 'r'],
    ]);
  });

  it('union, intersection, difference: weights, aggregates, inf sums, stores', async () => {
    await same([
      ['ZADD', '{s}a', '1', 'a', '2', 'b', 'inf', 'c', '0.1', 'd'],
      ['ZADD', '{s}b', '1', 'b', '-inf', 'c', '0.2', 'd', '5', 'e'],
      ['ZADD', '{s}c', '0.3', 'd'],
      ['ZUNION', '3', '{s}a', '{s}b', '{s}c', 'WITHSCORES'],
      ['ZUNION', '3', '{s}c', '{s}a', '{s}b', 'WITHSCORES'],
      ['ZINTER', '2', '{s}a', '{s}b', 'WITHSCORES', 'AGGREGATE', 'MIN'],
      ['ZINTER', '2', '{s}a', '{s}b', 'WEIGHTS', '2', '0', 'WITHSCORES'],
      ['ZUNION', '2', '{s}a', '{s}b', 'WEIGHTS', '0', 'inf', 'AGGREGATE', 'max', 'WITHSCORES'],
      ['ZDIFF', '2', '{s}a', '{s}b', 'WITHSCORES'],
      ['ZINTERCARD', '2', '{s}a', '{s}b', 'LIMIT', '1'],
      ['ZINTERCARD', '2', '{s}a', '{s}b'],
      ['ZUNIONSTORE', '{s}d', '2', '{s}a', '{s}b'],
      ['ZRANGE', '{s}d', '0', '-1', 'WITHSCORES'],
      ['ZINTERSTORE', '{s}d', '2', '{s}a', '{s}none'],
      ['EXISTS', '{s}d'],
      ['ZDIFFSTORE', '{s}d', '1', '{s}a'],
      ['ZUNION', '0', '{s}a'],
      ['ZUNION', '3', '{s}a'],
      ['ZUNION', '1', '{s}a', 'WEIGHTS', 'abc'],
      ['ZUNION', '1', '{s}a', 'AGGREGATE', 'avg'],
      ['ZDIFF', '1', '{s}a', 'WEIGHTS', '1'],
      ['ZUNIONSTORE', '{s}d', '1', '{s}a', 'WITHSCORES'],
      ['SET', '{s}x', 'v'],
      ['ZUNION', '2', '{s}a', '{s}x', 'AGGREGATE', 'avg'],
      ['ZINTERCARD', '1', '{s}a', 'LIMIT', '-1'],
    ]);
  });

  it('ZSCAN and ZRANDMEMBER', async () => {
    await same([
      ['ZSCAN', 'z', '0'],
      ['ZADD', 'z', '1', 'a', '2', 'b', '-0', 'c', '0.1', 'ab'],
      ['ZSCAN', 'z', '0'],
      ['ZSCAN', 'z', '7', 'MATCH', 'a*', 'COUNT', '1'],
      ['ZSCAN', 'z', 'abc'],
      ['ZSCAN', 'z', '0', 'COUNT', '0'],
      ['ZSCAN', 'nokey', '0', 'COUNT', '0'],
      ['ZRANDMEMBER', 'z'],
      ['ZRANDMEMBER', 'z', '10', 'WITHSCORES'],
      ['ZRANDMEMBER', 'z', '2'],
      ['ZRANDMEMBER', 'z', '-5', 'WITHSCORES'],
      ['ZRANDMEMBER', 'z', '0'],
      ['ZRANDMEMBER', 'nokey', '3'],
      ['ZRANDMEMBER', 'nokey'],
      ['ZRANDMEMBER', 'z', '-9223372036854775808'],
      ['ZRANDMEMBER', 'z', '9223372036854775807', 'WITHSCORES'],
      ['ZRANDMEMBER', 'z', '1', 'foo'],
    ]);
  });

  it('a set past the listpack limits keeps -0 as the Redis skiplist does; a stored result that fits is small again', async () => {
    const many: string[] = [];
    for (let i = 0; i < 129; i++) many.push(String(i), `m${i}`);
    await same([
      ['ZADD', '{b}z', ...many],
      ['ZADD', '{b}z', '-0', 'neg'],
      ['ZSCORE', '{b}z', 'neg'],
      ['ZADD', '{b}z', '0', 'neg'],
      ['ZSCORE', '{b}z', 'neg'],
      ['ZINCRBY', '{b}z', '-0', 'neg'],
      ['ZRANGE', '{b}z', '0', '2', 'WITHSCORES'],
      ['ZADD', '{b}dup', ...Array.from({ length: 129 }, () => ['1', 'a']).flat(), '-0', 'neg'],
      ['ZSCORE', '{b}dup', 'neg'],
      ['ZSCAN', '{b}dup', '0'],
      ['ZADD', '{b}l', '1', 'x'.repeat(65), '-0', 'neg'],
      ['ZSCORE', '{b}l', 'neg'],
      ['ZREM', '{b}l', 'x'.repeat(65)],
      ['ZADD', '{b}l', '-0', 'neg2'],
      ['ZRANGE', '{b}l', '0', '-1', 'WITHSCORES'],
      ['ZUNION', '1', '{b}l', 'WITHSCORES'],
      ['ZUNIONSTORE', '{b}s', '1', '{b}l'],
      ['ZRANGE', '{b}s', '0', '-1', 'WITHSCORES'],
      ['ZSCAN', '{b}s', '0'],
      ['ZADD', '{b}negs', ...Array.from({ length: 130 }, (_, i) => ['-0', `n${String(i).padStart(3, '0')}`]).flat()],
      ['ZRANGESTORE', '{b}s', '{b}negs', '-inf', '+inf', 'BYSCORE'],
      ['ZMSCORE', '{b}s', 'n000', 'n127', 'n128', 'n129'],
      ['ZRANGESTORE', '{b}s', '{b}negs', '+inf', '-inf', 'BYSCORE', 'REV'],
      ['ZMSCORE', '{b}s', 'n000', 'n001', 'n002', 'n129'],
      ['ZRANGESTORE', '{b}s', '{b}negs', '0', '127'],
      ['ZMSCORE', '{b}s', 'n000', 'n127'],
      ['ZRANGESTORE', '{b}s', '{b}z', '0', '-1'],
      ['ZSCORE', '{b}s', 'neg'],
      ['ZCARD', '{b}s'],
    ]);
  });

  it('scans a large set in pages by score: every member present throughout is returned once', async () => {
    const stores = [new MapStoreDouble(0)];
    const s = respSession(createConnState(1, 1), stores);
    const r = async (...argv: string[]) => s.cmd(resp(...argv));
    for (let i = 0; i < 1000; i++) await r('ZADD', 'big', String(i % 250), `m${i}`);
    const seen = new Map<string, number>();
    let cursor = '0';
    let pages = 0;
    do {
      const reply = await r('ZSCAN', 'big', cursor, 'COUNT', '20');
      const lines = reply.split('\r\n');
      cursor = lines[2];
      const n = Number(lines[3].slice(1));
      for (let i = 0; i < n; i += 2) seen.set(lines[5 + i * 2], (seen.get(lines[5 + i * 2]) ?? 0) + 1);
      // churn while the scan runs: members below and above the cursor come and go
      await r('ZREM', 'big', `m${pages * 7}`);
      await r('ZADD', 'big', String(pages % 250), `new${pages}`);
      pages++;
    } while (cursor !== '0' && pages < 1000);
    expect(pages).toBeGreaterThan(10);
    for (let i = 0; i < 1000; i++) {
      const removed = i % 7 === 0 && i / 7 < pages;
      if (!removed) expect(seen.get(`m${i}`), `m${i}`).toBe(1);
    }
    expect(await r('ZSCAN', 'big', '18446744073709551615')).toBe('*2\r\n$1\r\n0\r\n*0\r\n');
  });

  it('ZRANDMEMBER refuses a negative count past its bound, which Redis would try to build', async () => {
    const s = respSession(createConnState(1, 1), [new MapStoreDouble(0)]);
    await s.cmd(resp('ZADD', 'z', '1', 'a'));
    expect(await s.cmd(resp('ZRANDMEMBER', 'z', '-10000001'))).toBe('-ERR value is out of range, a negative count must be at least -10000000\r\n');
    expect(await s.cmd(resp('ZRANDMEMBER', 'z', '-3'))).toBe('*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n');
  });

  it('sets are sources of ZUNION / ZINTER / ZDIFF, each member scored 1', async () => {
    const store = new MapStoreDouble(0);
    const s = respSession(createConnState(1, 1), [store]);
    const set = store.writeCollection(Buffer.from('{u}set'), ValueType.SET, () => new SetValue()) as SetValue;
    for (const m of ['a', 'b', 'c']) set.add(m);
    store.collectionChanged(Buffer.from('{u}set'));
    await s.cmd(resp('ZADD', '{u}z', '2', 'b', '5', 'x'));
    expect(await s.cmd(resp('ZUNION', '2', '{u}set', '{u}z', 'WEIGHTS', '10', '1', 'WITHSCORES'))).toBe(
      '*8\r\n$1\r\nx\r\n$1\r\n5\r\n$1\r\na\r\n$2\r\n10\r\n$1\r\nc\r\n$2\r\n10\r\n$1\r\nb\r\n$2\r\n12\r\n',
    );
    expect(await s.cmd(resp('ZINTER', '2', '{u}set', '{u}z', 'WITHSCORES'))).toBe('*2\r\n$1\r\nb\r\n$1\r\n3\r\n');
    expect(await s.cmd(resp('ZDIFF', '2', '{u}set', '{u}z'))).toBe('*2\r\n$1\r\na\r\n$1\r\nc\r\n');
    expect(await s.cmd(resp('ZINTERCARD', '2', '{u}z', '{u}set'))).toBe(':1\r\n');
    expect(await s.cmd(resp('ZUNIONSTORE', '{u}set', '1', '{u}z'))).toBe(':2\r\n');
    expect(await s.cmd(resp('TYPE', '{u}set'))).toBe('+zset\r\n');
  });

  it('answers random sequences as Redis does', async () => {
    const gens = [...ZSET_COMMANDS, ZSET_FUZZ];
    await fc.assert(
      fc.asyncProperty(fc.array(commandOf(gens), { minLength: 1, maxLength: 30 }), async (cmds: Command[]) => {
        await same(cmds.map((c) => c.argv));
      }),
      { numRuns: Number(process.env.CAIRN_DIFF_RUNS ?? 0) || 150, seed: Number(process.env.CAIRN_DIFF_SEED ?? 1414) },
    );
  }, 120_000);
});
