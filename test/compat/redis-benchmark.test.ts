/**
 * A short redis-benchmark run against cairn's RESP port: SET and GET, 20 clients, without and with
 * pipelining (-P 16); it must finish with no errors and report requests per second for both, in -q
 * and in --csv output (redis-benchmark stops at the first error reply).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisBenchmark, type RedisBenchmarkResult } from '../../bench/lib/redis-benchmark.js';
import { startTarget, type Target } from './lib/target.js';
import { Redis } from 'ioredis';

let target: Target;

beforeAll(async () => {
  target = await startTarget({ memcache: false });
});

afterAll(async () => {
  await target?.stop();
});

function clean(r: RedisBenchmarkResult): void {
  const context = `${r.command}\nexit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${JSON.stringify(r.stdout.slice(-1500))}\nstderr: ${JSON.stringify(r.stderr.slice(-1500))}`;
  expect(r.timedOut, context).toBe(false);
  expect(r.code, context).toBe(0);
  expect(r.stderr, context).not.toMatch(/error/i);
  expect(r.stdout, context).not.toMatch(/error/i);
  const tests = r.rows.map((row) => row.test);
  expect(tests, context).toEqual(['SET', 'GET']);
  for (const row of r.rows) expect(row.rps, context).toBeGreaterThan(0);
}

describe('redis-benchmark', () => {
  it('-t set,get -n 20000 -c 20 -q', async () => {
    const r = await redisBenchmark({ port: target.respPort, tests: ['set', 'get'], requests: 20_000, clients: 20, format: 'quiet', timeoutMs: 60_000 });
    clean(r);
  });

  it('-t set,get -n 20000 -c 20 -P 16 -q', async () => {
    const r = await redisBenchmark({
      port: target.respPort,
      tests: ['set', 'get'],
      requests: 20_000,
      clients: 20,
      pipeline: 16,
      format: 'quiet',
      timeoutMs: 60_000,
    });
    clean(r);
  });

  it('--csv with random keys and 100-byte values reports p99; the keys are there afterwards', async () => {
    const r = await redisBenchmark({
      port: target.respPort,
      tests: ['set', 'get'],
      requests: 20_000,
      clients: 20,
      dataSize: 100,
      keyspace: 1000,
      pipeline: 16,
      timeoutMs: 60_000,
    });
    clean(r);
    for (const row of r.rows) expect(row.p99Ms).toBeGreaterThan(0);
    const c = new Redis({ host: '127.0.0.1', port: target.respPort, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      const keys = await c.keys('key:*');
      expect(keys.length).toBeGreaterThan(900);
      expect(keys.length).toBeLessThanOrEqual(1001);
      const v = await c.get(keys.find((k) => k !== 'key:__rand_int__')!);
      expect(v?.length).toBe(100);
    } finally {
      c.disconnect();
    }
  });
});
