/**
 * BullMQ, unchanged, against cairn (2 shards, no hash tags: the queue's keys land on both shards, its
 * `wait` and `active` lists on different ones) and against redis-server in the same file: a queue, a
 * worker and queue events processing jobs with priorities, a retry with backoff, a delay, a failure,
 * a bulk add, a flow (parent and children, added in one MULTI of scripts across shards), a removed
 * job and obliterate; the same story must come out of both servers. BullMQ runs nearly everything as
 * Lua scripts over hashes, lists, sorted sets and a stream (its events), with blocking reads
 * (BZPOPMIN, XREAD BLOCK).
 */
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { besideRedis } from './lib/beside-redis.js';
import { until } from '../reliability/lib.js';

const { ports, client } = besideRedis(['--shards', '2']);
const NAME = 'mail';

interface Story {
  /** job names the worker started, sorted (a retried job appears twice) */
  started: string[];
  /** the prioritized jobs in the order the worker started them */
  byPriority: string[];
  returned: Record<string, unknown>;
  attempts: Record<string, number>;
  failedReason: string | undefined;
  counts: Record<string, number>;
  completedEvents: string[];
  failedEvents: string[];
  delayedWaitedMs: number;
  childrenValues: unknown[];
  removed: boolean;
  keysLeft: number;
}

async function story(port: number): Promise<Story> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(NAME, { connection });
  const events = new QueueEvents(NAME, { connection });
  const flows = new FlowProducer({ connection });
  await events.waitUntilReady();
  await queue.obliterate({ force: true });
  const completedEvents: string[] = [];
  const failedEvents: string[] = [];
  events.on('completed', ({ jobId }) => completedEvents.push(jobId));
  events.on('failed', ({ jobId }) => failedEvents.push(jobId));

  const started: string[] = [];
  const worker = new Worker(
    NAME,
    async (job) => {
      started.push(job.name);
      if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('the first try fails');
      if (job.name === 'broken') throw new Error('always fails');
      return { doubled: (job.data as { n: number }).n * 2 };
    },
    { connection, concurrency: 1, autorun: false },
  );
  const ids: Record<string, string> = {};
  for (const [jobName, n, opts] of [
    ['low', 1, { priority: 10 }],
    ['high', 2, { priority: 1 }],
    ['flaky', 3, { attempts: 2, backoff: { type: 'fixed', delay: 50 } }],
    ['broken', 4, { attempts: 1 }],
    ['later', 5, { delay: 300 }],
  ] as const) {
    const job = await queue.add(jobName, { n }, opts);
    ids[jobName] = job.id!;
  }
  for (const job of await queue.addBulk([
    { name: 'bulk1', data: { n: 6 } },
    { name: 'bulk2', data: { n: 7 } },
  ]))
    ids[job.name] = job.id!;
  const flow = await flows.add({
    name: 'report',
    queueName: NAME,
    data: { n: 8 },
    children: [
      { name: 'part1', queueName: NAME, data: { n: 9 } },
      { name: 'part2', queueName: NAME, data: { n: 10 } },
    ],
  });
  ids.report = flow.job.id!;
  for (const child of flow.children ?? []) ids[child.job.name] = child.job.id!;
  const cancelled = await queue.add('cancelled', { n: 11 }, { delay: 3_600_000 });
  await cancelled.remove();
  const removed = (await queue.getJob(cancelled.id!)) === undefined;

  void worker.run();
  await until(
    async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return c.completed === 9 && c.failed === 1;
    },
    60_000,
    'every job to finish',
  );
  await until(async () => completedEvents.length === 9 && failedEvents.length >= 1, 60_000, 'the queue events');

  const returned: Record<string, unknown> = {};
  const attempts: Record<string, number> = {};
  let failedReason: string | undefined;
  let delayedWaitedMs = 0;
  for (const [jobName, id] of Object.entries(ids)) {
    const job = await queue.getJob(id);
    returned[jobName] = job?.returnvalue ?? null;
    attempts[jobName] = job?.attemptsMade ?? -1;
    if (jobName === 'broken') failedReason = job?.failedReason;
    if (jobName === 'later' && job?.processedOn !== undefined) delayedWaitedMs = job.processedOn - job.timestamp;
  }
  const childrenValues = Object.values(await (await queue.getJob(ids.report))!.getChildrenValues()).sort((x, y) =>
    JSON.stringify(x).localeCompare(JSON.stringify(y)),
  );
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children');
  await worker.close();
  await events.close();
  await flows.close();
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
    childrenValues,
    removed,
    keysLeft,
  };
}

describe('BullMQ, cairn beside redis-server', () => {
  it('puts the queue on both shards, its wait and active lists apart', () => {
    const shard = (suffix: string) => shardOf(Buffer.from(`bull:${NAME}:${suffix}`), 2);
    expect(shard('wait')).not.toBe(shard('active'));
  });

  it('processes jobs with priorities, a retry, a delay, a failure, a bulk add, a flow and a removal as redis-server does', async () => {
    const want = await story(ports().redis);
    expect(want.returned.high).toEqual({ doubled: 4 });
    expect(want.byPriority).toEqual(['high', 'low']);
    expect(want.attempts.flaky).toBe(2);
    expect(want.failedReason).toBe('always fails');
    expect(want.delayedWaitedMs).toBeGreaterThanOrEqual(300);
    expect(want.childrenValues).toEqual([{ doubled: 18 }, { doubled: 20 }]);
    expect(want.keysLeft).toBe(0);
    const got = await story(ports().cairn);
    expect({ ...got, delayedWaitedMs: got.delayedWaitedMs >= 300 }).toEqual({ ...want, delayedWaitedMs: true });
  }, 180_000);
});
