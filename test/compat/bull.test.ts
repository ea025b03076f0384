/**
 * Bull (v4), unchanged, against cairn (2 shards, no hash tags: the queue's keys land on both shards,
 * its `wait` and `active` lists on different ones, so its BRPOPLPUSH and its scripts' RPOPLPUSH move
 * between shards) and against redis-server in the same file: priorities, a retry with backoff, a
 * delay, a failure, a bulk add (scripts inside MULTI), a removed job, global events (PUBLISH from
 * its scripts) and obliterate; the same story must come out of both servers.
 */
import Bull from 'bull';
import { describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { besideRedis } from './lib/beside-redis.js';
import { until } from '../reliability/lib.js';

const { ports, client } = besideRedis(['--shards', '2']);
const NAME = 'mail';

interface Data {
  name: string;
  n: number;
}

async function story(port: number) {
  const queue = new Bull<Data>(NAME, { redis: { host: '127.0.0.1', port } });
  await queue.isReady();
  await queue.obliterate({ force: true });
  const completedEvents: string[] = [];
  const failedEvents: string[] = [];
  queue.on('global:completed', (id: string) => completedEvents.push(String(id)));
  queue.on('global:failed', (id: string) => failedEvents.push(String(id)));
  const started: string[] = [];
  const ids: Record<string, string> = {};
  for (const [name, n, opts] of [
    ['low', 1, { priority: 10 }],
    ['high', 2, { priority: 1 }],
    ['flaky', 3, { attempts: 2, backoff: { type: 'fixed', delay: 50 } }],
    ['broken', 4, { attempts: 1 }],
    ['later', 5, { delay: 300 }],
  ] as const) {
    const job = await queue.add({ name, n }, opts);
    ids[name] = String(job.id);
  }
  for (const job of await queue.addBulk([{ data: { name: 'bulk1', n: 6 } }, { data: { name: 'bulk2', n: 7 } }])) ids[job.data.name] = String(job.id);
  const cancelled = await queue.add({ name: 'cancelled', n: 8 }, { delay: 3_600_000 });
  await cancelled.remove();
  const removed = (await queue.getJob(cancelled.id)) === null;

  void queue.process(1, async (job) => {
    started.push(job.data.name);
    if (job.data.name === 'flaky' && job.attemptsMade === 0) throw new Error('the first try fails');
    if (job.data.name === 'broken') throw new Error('always fails');
    return { doubled: job.data.n * 2 };
  });
  await until(
    async () => {
      const c = await queue.getJobCounts();
      return c.completed === 6 && c.failed === 1;
    },
    60_000,
    'every job to finish',
  );
  await until(async () => completedEvents.length === 6 && failedEvents.length === 1, 60_000, 'the global events');

  const returned: Record<string, unknown> = {};
  const attempts: Record<string, number> = {};
  let failedReason: string | undefined;
  let delayedWaitedMs = 0;
  for (const [name, id] of Object.entries(ids)) {
    const job = await queue.getJob(id);
    returned[name] = job?.returnvalue ?? null;
    attempts[name] = job?.attemptsMade ?? -1;
    if (name === 'broken') failedReason = job?.failedReason;
    if (name === 'later' && job?.processedOn) delayedWaitedMs = job.processedOn - job.timestamp;
  }
  const counts = await queue.getJobCounts();
  await queue.obliterate({ force: true });
  await queue.close();
  const keysLeft = (await client(port).keys(`bull:${NAME}:*`)).length;
  const byId = (list: string[]) => list.map((id) => Object.keys(ids).find((k) => ids[k] === id) ?? id).sort();
  return {
    started: [...started].sort(),
    byPriority: started.filter((s) => s === 'high' || s === 'low'),
    returned,
    attempts,
    failedReason,
    counts,
    completedEvents: byId(completedEvents),
    failedEvents: byId(failedEvents),
    delayedWaitedMs,
    removed,
    keysLeft,
  };
}

describe('Bull, cairn beside redis-server', () => {
  it('puts the queue on both shards, its wait and active lists apart', () => {
    const shard = (suffix: string) => shardOf(Buffer.from(`bull:${NAME}:${suffix}`), 2);
    expect(shard('wait')).not.toBe(shard('active'));
  });

  it('processes jobs with priorities, a retry, a delay, a failure, a bulk add and a removal as redis-server does', async () => {
    const want = await story(ports().redis);
    expect(want.returned.high).toEqual({ doubled: 4 });
    expect(want.byPriority).toEqual(['high', 'low']);
    expect(want.started.filter((s) => s === 'flaky')).toHaveLength(2);
    expect(want.attempts.flaky).toBe(1); // Bull counts the failed attempts
    expect(want.failedReason).toBe('always fails');
    expect(want.delayedWaitedMs).toBeGreaterThanOrEqual(300);
    expect(want.removed).toBe(true);
    const got = await story(ports().cairn);
    expect({ ...got, delayedWaitedMs: got.delayedWaitedMs >= 300 }).toEqual({ ...want, delayedWaitedMs: true });
  }, 180_000);
});
