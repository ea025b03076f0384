/**
 * rate-limiter-flexible's Redis limiter (ioredis client, its Lua script through EVALSHA) against
 * cairn and against redis-server in the same file: the same concurrent load must be counted and
 * refused exactly alike. The limiter's MULTI paths (blockDuration, get) wait for MULTI/EXEC.
 */
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';

const { ports, client } = besideRedis(['--shards', '4']);

/** 60 concurrent consumes of 1 point by 3 keys on a 10-point limiter: what was let through and refused */
async function load(port: number): Promise<{ allowed: Record<string, number>; refused: Record<string, number>; remaining: number[]; consumed: number[] }> {
  const limiter = new RateLimiterRedis({ storeClient: client(port), keyPrefix: 'rlf', points: 10, duration: 60 });
  const consumed: number[] = [];
  const allowed: Record<string, number> = {};
  const refused: Record<string, number> = {};
  const remaining: number[] = [];
  await Promise.all(
    Array.from({ length: 60 }, async (_, i) => {
      const key = `user${i % 3}`;
      try {
        const r = await limiter.consume(key);
        allowed[key] = (allowed[key] ?? 0) + 1;
        remaining.push(r.remainingPoints);
      } catch (r) {
        if (r instanceof Error) throw r;
        refused[key] = (refused[key] ?? 0) + 1;
        const res = r as { msBeforeNext: number; consumedPoints: number };
        expect(res.msBeforeNext).toBeGreaterThan(50_000); // the window's TTL, set by the script
        consumed.push(res.consumedPoints);
      }
    }),
  );
  return { allowed, refused, remaining: remaining.sort((a, b) => a - b), consumed: consumed.sort((a, b) => a - b) };
}

describe('rate-limiter-flexible RateLimiterRedis, cairn beside redis-server', () => {
  it('counts and refuses concurrent consumes exactly as redis-server', async () => {
    const [got, want] = await Promise.all([load(ports().cairn), load(ports().redis)]);
    expect(want.allowed).toEqual({ user0: 10, user1: 10, user2: 10 });
    expect(got).toEqual(want);
  }, 60_000);

  it('reward, penalty and delete agree', async () => {
    const run = async (port: number) => {
      const limiter = new RateLimiterRedis({ storeClient: client(port), keyPrefix: 'rlf2', points: 5, duration: 30 });
      await limiter.consume('k', 2);
      await limiter.penalty('k', 2);
      const r = await limiter.reward('k', 1);
      const deleted = await limiter.delete('k');
      const again = await limiter.consume('k', 1);
      return { consumed: r.consumedPoints, remaining: r.remainingPoints, deleted, again: again.consumedPoints };
    };
    const [got, want] = await Promise.all([run(ports().cairn), run(ports().redis)]);
    expect(want.consumed).toBe(3);
    expect(got).toEqual(want);
  }, 60_000);
});
