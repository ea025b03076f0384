/**
 * Sorted sets as applications use them, through ioredis and node-redis, against cairn and a
 * redis-server started beside it: the same calls on both, the same results. A leaderboard, a
 * sliding-window rate limiter (ZREMRANGEBYSCORE + ZADD + ZCARD in MULTI), delayed jobs (ZRANGEBYSCORE
 * LIMIT, claimed with ZREM), and the set-algebra and pop commands with each client's own API.
 * Times are fixed numbers, so both servers see the same scores.
 */
import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';

const servers = besideRedis([]);

type NodeRedis = ReturnType<typeof createClient>;
const nodeClients: NodeRedis[] = [];

async function nodeRedis(port: number): Promise<NodeRedis> {
  const c = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 10_000, reconnectStrategy: false } });
  c.on('error', () => {});
  nodeClients.push(c);
  await c.connect();
  return c;
}

afterAll(async () => {
  for (const c of nodeClients) if (c.isOpen) c.destroy();
});

/** runs the same scenario on both servers and expects the same results */
async function onBoth<T>(scenario: (port: number) => Promise<T>): Promise<T> {
  const { cairn, redis } = servers.ports();
  const [fromCairn, fromRedis] = await Promise.all([scenario(cairn), scenario(redis)]);
  expect(fromCairn).toEqual(fromRedis);
  return fromCairn;
}

describe('ioredis: sorted sets beside redis-server', () => {
  let clients: Map<number, Redis>;
  beforeAll(() => {
    const { cairn, redis } = servers.ports();
    clients = new Map([cairn, redis].map((p) => [p, servers.client(p)]));
  });
  const io = (port: number): Redis => clients.get(port)!;

  it('a leaderboard: scores, increments, top N with scores, ranks, around-me windows', async () => {
    const out = await onBoth(async (port) => {
      const r = io(port);
      await r.del('lb');
      const added = await r.zadd('lb', 120, 'ann', 95, 'bob', 300, 'cy', 95, 'dee', 12.5, 'eve');
      const bumped = await r.zincrby('lb', 7.25, 'bob');
      const nx = await r.zadd('lb', 'NX', 1, 'ann', 50, 'fay');
      const gt = await r.zadd('lb', 'GT', 'CH', 100, 'ann', 130, 'ann');
      const top = await r.zrevrange('lb', 0, 2, 'WITHSCORES');
      const rank = await r.zrevrank('lb', 'bob');
      const missing = await r.zrevrank('lb', 'nobody');
      const score = await r.zscore('lb', 'eve');
      const scores = await r.zmscore('lb', 'ann', 'nobody', 'cy');
      const card = await r.zcard('lb');
      const myRank = (await r.zrevrank('lb', 'dee'))!;
      const around = await r.zrevrange('lb', Math.max(0, myRank - 1), myRank + 1, 'WITHSCORES');
      const band = await r.zcount('lb', '(95', '+inf');
      const page = await r.zrange('lb', '+inf', '100', 'BYSCORE', 'REV', 'LIMIT', 0, 2, 'WITHSCORES');
      return { added, bumped, nx, gt, top, rank, missing, score, scores, card, around, band, page };
    });
    expect(out.top).toEqual(['cy', '300', 'ann', '130', 'bob', '102.25']);
    expect(out.bumped).toBe('102.25');
  });

  it('a sliding-window rate limiter: ZREMRANGEBYSCORE + ZADD + ZCARD + PEXPIRE in MULTI', async () => {
    const out = await onBoth(async (port) => {
      const r = io(port);
      await r.del('rl:user1');
      const window = 1000;
      const limit = 3;
      const decisions: [number, number, boolean][] = [];
      // requests at fixed times (ms); each trims the window, adds itself, counts
      for (const [i, now] of [1000, 1100, 1200, 1300, 2150, 2250, 2300, 2301, 4000].entries()) {
        const res = await r
          .multi()
          .zremrangebyscore('rl:user1', 0, now - window)
          .zadd('rl:user1', now, `req-${i}`)
          .zcard('rl:user1')
          .pexpire('rl:user1', 100_000)
          .exec();
        const count = res![2][1] as number;
        decisions.push([now, count, count <= limit]);
      }
      const left = await r.zrange('rl:user1', 0, -1, 'WITHSCORES');
      return { decisions, left };
    });
    expect(out.decisions.map((d) => d[2])).toEqual([true, true, true, false, true, true, true, false, true]);
  });

  it('delayed jobs: due jobs by ZRANGEBYSCORE LIMIT, claimed by ZREM, rescheduled by ZADD XX', async () => {
    await onBoth(async (port) => {
      const r = io(port);
      await r.del('jobs');
      for (let i = 0; i < 12; i++) await r.zadd('jobs', 1_700_000_000_000 + i * 1000, `job:${i}`);
      const claimed: string[] = [];
      const now = 1_700_000_007_500;
      for (;;) {
        const due = await r.zrangebyscore('jobs', '-inf', now, 'LIMIT', 0, 3);
        if (due.length === 0) break;
        for (const job of due) if ((await r.zrem('jobs', job)) === 1) claimed.push(job);
      }
      const rescheduled = await r.zadd('jobs', 'XX', 'CH', 1_800_000_000_000, 'job:11', 1, 'job:gone');
      const next = await r.zrange('jobs', 0, 0, 'WITHSCORES');
      const left = await r.zcard('jobs');
      const popped = await r.zpopmin('jobs', 2);
      return { claimed, rescheduled, next, left, popped };
    });
  });

  it('union, intersection, difference, stores and pops with ioredis', async () => {
    await onBoth(async (port) => {
      const r = io(port);
      await r.del('{g}a', '{g}b', '{g}out', '{g}none');
      await r.zadd('{g}a', 1, 'x', 2, 'y', 3, 'z');
      await r.zadd('{g}b', 10, 'y', 20, 'z', 30, 'w');
      const union = await r.zunion(2, '{g}a', '{g}b', 'WEIGHTS', 1, 0.5, 'WITHSCORES');
      const inter = await r.zinter(2, '{g}a', '{g}b', 'AGGREGATE', 'MAX', 'WITHSCORES');
      const diff = await r.zdiff(2, '{g}a', '{g}b', 'WITHSCORES');
      const card = await r.zintercard(2, '{g}a', '{g}b');
      const stored = await r.zunionstore('{g}out', 2, '{g}a', '{g}b', 'AGGREGATE', 'MIN');
      const storedRange = await r.zrangestore('{g}out', '{g}a', 1, 2);
      const out = await r.zrange('{g}out', 0, -1, 'WITHSCORES');
      const none = await r.zinterstore('{g}out', 2, '{g}a', '{g}none');
      const exists = await r.exists('{g}out');
      const mpop = await r.zmpop(2, '{g}none', '{g}b', 'MAX', 'COUNT', 2);
      const lex = await r.zrangebylex('{g}a', '-', '(z');
      // every member once, in an order Redis leaves open: compared as sorted pairs
      const flat = (await r.zrandmember('{g}a', 10, 'WITHSCORES')) as string[];
      const rand = flat.flatMap((m, i) => (i % 2 === 0 ? [`${m}=${flat[i + 1]}`] : [])).sort();
      return { union, inter, diff, card, stored, storedRange, out, none, exists, mpop, lex, rand };
    });
  });

  it('errors come back as the same rejections', async () => {
    await onBoth(async (port) => {
      const r = io(port);
      await r.set('str', 'v');
      const reasons: string[] = [];
      for (const call of [
        () => r.zadd('str', 1, 'a'),
        () => r.zadd('lb2', 'nan', 'a'),
        () => r.zadd('lb2', 'GT', 'LT', 1, 'a'),
        () => r.zrangebyscore('lb2', 'x', 'y'),
        () => r.zrangebylex('lb2', 'a', 'b'),
        () => r.zunionstore('{g}x', 0, '{g}a'),
      ]) {
        reasons.push(
          await call().then(
            () => 'ok',
            (e: Error) => e.message,
          ),
        );
      }
      return reasons;
    });
  });
});

describe('node-redis: sorted sets beside redis-server', () => {
  const nodes = new Map<number, NodeRedis>();
  beforeAll(async () => {
    const { cairn, redis } = servers.ports();
    for (const p of [cairn, redis]) nodes.set(p, await nodeRedis(p));
  });

  it('a leaderboard with the typed API', async () => {
    await onBoth(async (port) => {
      const c = nodes.get(port)!;
      await c.del('nlb');
      const added = await c.zAdd('nlb', [
        { score: 10, value: 'a' },
        { score: 20, value: 'b' },
        { score: 15.5, value: 'c' },
      ]);
      const incr = await c.zIncrBy('nlb', 0.1, 'a');
      const top = await c.zRangeWithScores('nlb', 0, -1, { REV: true });
      const rank = await c.zRank('nlb', 'c');
      const revRank = await c.zRevRank('nlb', 'c');
      const score = await c.zScore('nlb', 'a');
      const count = await c.zCount('nlb', 11, '+inf');
      const popped = await c.zPopMax('nlb');
      const card = await c.zCard('nlb');
      return { added, incr, top, rank, revRank, score, count, popped, card };
    });
  });

  it('a rate-limit window and delayed jobs through a node-redis MULTI and LIMIT', async () => {
    await onBoth(async (port) => {
      const c = nodes.get(port)!;
      await c.del(['nrl', 'njobs']);
      const counts: unknown[] = [];
      for (const now of [100, 200, 300, 1250, 1260]) {
        const res = await c
          .multi()
          .zRemRangeByScore('nrl', 0, now - 1000)
          .zAdd('nrl', { score: now, value: String(now) })
          .zCard('nrl')
          .exec();
        counts.push(res[2]);
      }
      for (let i = 0; i < 8; i++) await c.zAdd('njobs', { score: i * 10, value: `j${i}` });
      const due = await c.zRangeByScore('njobs', '-inf', 45, { LIMIT: { offset: 1, count: 3 } });
      const removed = await c.zRem('njobs', due);
      const trimmed = await c.zRemRangeByRank('njobs', 0, 0);
      const rest = await c.zRange('njobs', 0, -1);
      const mpop = await c.zmPop(['nnone', 'njobs'], 'MIN', { COUNT: 2 });
      const scan = await c.zScan('njobs', '0');
      return { counts, due, removed, trimmed, rest, mpop, scan };
    });
  });
});
