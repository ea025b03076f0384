/**
 * `npm run bench:queue`: BullMQ jobs processed per second through cairn (2 shards, and 1 shard) and
 * through redis-server in the same run, with the same producer (addBulk of 100 jobs at a time), the
 * same worker (a processor that returns at once, `concurrency` 20) and the same job count; the queue
 * has no hash tag, so on 2 shards its keys are on both (and a third cairn run gives it the prefix
 * `{bull}`, a hash tag, which keeps it on one shard). The yardstick is the GET ratio of the same
 * run (redis-benchmark -t get, 50 clients, pipeline 1): the target is a jobs ratio at least
 * that. `--quick` processes fewer jobs. The last line printed is one JSON object.
 */
import { Queue, Worker } from 'bullmq';
import { packageRoot } from '../src/paths.js';
import { startCairn, startRedisServer, stopAllDaemons } from './lib/procs.js';
import { redisBenchmark } from './lib/redis-benchmark.js';

const quick = process.argv.includes('--quick');
const JOBS = quick ? 1_000 : Number(process.env.QUEUE_JOBS ?? 5_000);
const CONCURRENCY = 20;
const BATCH = 100;
/** a run that has not finished by then is reported as failed, not waited for */
const RUN_LIMIT_MS = 300_000;

const log = (line: string): void => console.log(line);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** jobs added per second and processed per second through the server on `port` */
async function jobsPerSecond(port: number, name: string, prefix: string): Promise<{ added: number; processed: number }> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection, prefix, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  queue.on('error', () => {});
  const addStart = performance.now();
  for (let i = 0; i < JOBS; i += BATCH) {
    await queue.addBulk(Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, j) => ({ name: 'job', data: { n: i + j } })));
  }
  const added = JOBS / ((performance.now() - addStart) / 1000);
  let done = 0;
  let finished: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const worker = new Worker(name, async (job) => (job.data as { n: number }).n, { connection, prefix, concurrency: CONCURRENCY, autorun: false });
  worker.on('error', () => {});
  worker.on('completed', () => {
    if (++done === JOBS) finished();
  });
  const start = performance.now();
  void worker.run();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${done} of ${JOBS} jobs processed in ${RUN_LIMIT_MS / 1000}s`)), RUN_LIMIT_MS);
  });
  try {
    await Promise.race([all, limit]);
  } finally {
    clearTimeout(timer);
  }
  const processed = JOBS / ((performance.now() - start) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { added, processed };
}

async function getRate(port: number): Promise<number> {
  const r = await redisBenchmark({ port, tests: ['get'], requests: quick ? 100_000 : 300_000, clients: 50, pipeline: 1, keyspace: 100_000 });
  const rps = r.rows[0]?.rps ?? 0;
  if (r.code !== 0 || rps === 0) throw new Error(`redis-benchmark failed: ${r.stderr || r.stdout}`);
  return rps;
}

async function main(): Promise<void> {
  const cairnOptions = { root: packageRoot, maxMemory: '512mb', protocols: { native: false, memcache: false, http: false } };
  const [cairn2, cairn1, redis] = await Promise.all([
    startCairn({ ...cairnOptions, shards: 2 }),
    startCairn({ ...cairnOptions, shards: 1 }),
    startRedisServer(undefined, ['--databases', '1']),
  ]);
  const out: Record<string, number> = { jobs: JOBS, concurrency: CONCURRENCY, batch: BATCH };
  try {
    log(`bench:queue — BullMQ: ${fmt(JOBS)} jobs added by addBulk(${BATCH}), then processed by one worker (concurrency ${CONCURRENCY}); queue 'mail'`);
    // cairn2tag: the same on 2 shards with BullMQ's `prefix: '{bull}'`, a hash tag that puts the queue on one shard
    const runs: [string, number, string][] = [
      ['redis', redis.port, 'bull'],
      ['cairn2', cairn2.respPort, 'bull'],
      ['cairn2tag', cairn2.respPort, '{bull}'],
      ['cairn1', cairn1.respPort, 'bull'],
    ];
    for (const [label, port, prefix] of runs) {
      const r = await jobsPerSecond(port, 'mail', prefix);
      out[`${label}Added`] = Math.round(r.added);
      out[`${label}Processed`] = Math.round(r.processed);
      log(`${label.padEnd(9)} added ${fmt(r.added)} jobs/s, processed ${fmt(r.processed)} jobs/s`);
    }
    out.ratio2 = Number((out.cairn2Processed / out.redisProcessed).toFixed(3));
    out.ratio2tag = Number((out.cairn2tagProcessed / out.redisProcessed).toFixed(3));
    out.ratio1 = Number((out.cairn1Processed / out.redisProcessed).toFixed(3));
    log(`processed ratio: 2 shards ${out.ratio2}, 2 shards with {bull} ${out.ratio2tag}, 1 shard ${out.ratio1}`);
    const [g2, g1, gr] = [await getRate(cairn2.respPort), await getRate(cairn1.respPort), await getRate(redis.port)];
    out.getRatio2 = Number((g2 / gr).toFixed(3));
    out.getRatio1 = Number((g1 / gr).toFixed(3));
    log(`GET (yardstick, -c 50 -P 1): cairn 2 shards ${fmt(g2)}/s, 1 shard ${fmt(g1)}/s, redis-server ${fmt(gr)}/s; ratios ${out.getRatio2}, ${out.getRatio1}`);
  } finally {
    await Promise.all([cairn2.stop(), cairn1.stop(), redis.stop()]);
    await stopAllDaemons();
  }
  log(JSON.stringify(out));
}

await main();
