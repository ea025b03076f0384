/**
 * redlock (@sesamecare-oss/redlock, its Lua scripts through EVALSHA) against cairn and against
 * redis-server in the same file: two clients race for one lock, the loser waits for the release,
 * extend keeps the lock, and both servers must decide alike.
 */
import { Redlock } from '@sesamecare-oss/redlock';
import { describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';

const { ports, client } = besideRedis(['--shards', '4']);

async function race(port: number) {
  const probe = client(port);
  const a = new Redlock([client(port)], { retryCount: 0 });
  const b = new Redlock([client(port)], { retryCount: 0 });
  const outcomes = await Promise.allSettled([a.acquire(['{res}lock'], 20_000), b.acquire(['{res}lock'], 20_000)]);
  const won = outcomes.filter((o) => o.status === 'fulfilled');
  const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Redlock['acquire']>>>).value;
  const loserLocked = await Promise.allSettled([b.acquire(['{res}lock'], 20_000)]);
  const extended = await winner.extend(30_000);
  const ttl = await probe.pttl('{res}lock');
  await extended.release();
  const after = await b.acquire(['{res}lock'], 5_000); // free again
  await after.release();
  // two resources at once (one hash tag: one shard)
  const multi = await a.acquire(['{r2}x', '{r2}y'], 5_000);
  const heldBoth = [await probe.exists('{r2}x'), await probe.exists('{r2}y')];
  await multi.release();
  return {
    winners: won.length,
    loserRefused: loserLocked[0].status === 'rejected',
    extendedLonger: ttl > 20_000,
    afterRelease: after.value.length > 0,
    heldBoth,
    gone: await probe.exists('{r2}x', '{r2}y'),
  };
}

describe('redlock: acquire, extend, release with contention, cairn beside redis-server', () => {
  it('decides the race, extends and releases as redis-server does', async () => {
    const [got, want] = await Promise.all([race(ports().cairn), race(ports().redis)]);
    expect(want).toEqual({ winners: 1, loserRefused: true, extendedLonger: true, afterRelease: true, heldBoth: [1, 1], gone: 0 });
    expect(got).toEqual(want);
  }, 60_000);
});
