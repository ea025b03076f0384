/**
 * cairn beside redis-server and memcached on the same machine, measured the same way.
 *
 *   npm run bench:compare
 *
 * Starts redis-server (no persistence), memcached and a cairn server (one shard per core, temporary
 * data directory) on free loopback ports, then:
 *   - redis-benchmark SET and GET, 50 clients, 100-byte values, random keys, pipeline 1 and 16,
 *     against cairn's RESP port and against redis-server (each run sized for about COMPARE_SECONDS);
 *   - the same memcached text-protocol load (bench/lib/kv-load.ts: 50 connections, 100-byte values,
 *     pipelined set then get) against cairn's memcached port and against memcached.
 * Prints each figure and the ratio cairn ÷ other; the last line is one JSON object with the ratios
 * and the p99 latencies. Every process started here is stopped at the end, on failure too.
 *
 * Environment: COMPARE_SECONDS (default 5) per measured run, COMPARE_SHARDS (default: cores),
 * COMPARE_CLIENTS (50), COMPARE_VALUE (100), COMPARE_KEYSPACE (100000), COMPARE_MC_PIPELINE (16),
 * COMPARE_MC_THREADS (2).
 */
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  killAllDaemonsSync,
  requireProgram,
  startCairn,
  startMemcached,
  startRedisServer,
  stopAllDaemons,
  type CairnHandle,
  type ServiceHandle,
} from './lib/procs.js';
import { redisBenchmark, type BenchRow } from './lib/redis-benchmark.js';
import { kvLoad, type KvLoadResult } from './lib/kv-load.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/bench/compare.js → the package root */
const root = here.includes(`dist`) ? resolve(here, '..', '..') : resolve(here, '..');

const SECONDS = Number(process.env.COMPARE_SECONDS ?? 5);
const SHARDS = Number(process.env.COMPARE_SHARDS ?? availableParallelism());
const CLIENTS = Number(process.env.COMPARE_CLIENTS ?? 50);
const VALUE = Number(process.env.COMPARE_VALUE ?? 100);
const KEYSPACE = Number(process.env.COMPARE_KEYSPACE ?? 100_000);
const MC_PIPELINE = Number(process.env.COMPARE_MC_PIPELINE ?? 16);
const MC_THREADS = Number(process.env.COMPARE_MC_THREADS ?? 2);

const TOTAL_STEPS = 2 * 2 * 2 + 2 * 2; // RESP: 2 servers × 2 pipelines × (probe+run); memcached: 2 servers × 2 ops
let step = 0;
const isTty = process.stderr.isTTY === true;
const log = (msg: string): void => {
  process.stdout.write(`${msg}\n`);
};

/** A progress line on stderr: "[3/12] label … 2.1s", redrawn each second on a terminal. */
async function progress<T>(label: string, work: Promise<T>): Promise<T> {
  step++;
  const started = Date.now();
  const prefix = `[${String(step).padStart(2)}/${TOTAL_STEPS}] ${label}`;
  const draw = (end: string): void => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (isTty) process.stderr.write(`\r\x1b[K${prefix} … ${secs}s${end}`);
    else if (end) process.stderr.write(`${prefix} … ${secs}s${end}`);
  };
  draw('');
  const timer = isTty ? setInterval(() => draw(''), 500) : undefined;
  try {
    const result = await work;
    draw(' done\n');
    return result;
  } catch (err) {
    draw(' FAILED\n');
    throw err;
  } finally {
    if (timer) clearInterval(timer);
  }
}

interface RespFigures {
  set: BenchRow;
  get: BenchRow;
}

async function respRun(target: string, port: number, pipeline: number): Promise<RespFigures> {
  // size each run for about SECONDS: a short probe first
  const probeN = pipeline > 1 ? 100_000 : 20_000;
  const probe = await progress(
    `redis-benchmark probe ${target} P${pipeline}`,
    redisBenchmark({ port, tests: ['set', 'get'], requests: probeN, clients: CLIENTS, dataSize: VALUE, pipeline, keyspace: KEYSPACE, timeoutMs: 60_000 }),
  );
  checkBench(probe, target);
  const rate = (name: string): number => probe.rows.find((r) => r.test === name)?.rps ?? 0;
  const sizeFor = (rps: number): number => Math.max(10_000, Math.min(20_000_000, Math.round(rps * SECONDS)));
  const setN = sizeFor(rate('SET'));
  const getN = sizeFor(rate('GET'));
  // one invocation per test so each gets its own request count
  const measure = async (): Promise<RespFigures> => {
    const set = await redisBenchmark({ port, tests: ['set'], requests: setN, clients: CLIENTS, dataSize: VALUE, pipeline, keyspace: KEYSPACE, timeoutMs: SECONDS * 6_000 + 30_000 });
    checkBench(set, target);
    const get = await redisBenchmark({ port, tests: ['get'], requests: getN, clients: CLIENTS, dataSize: VALUE, pipeline, keyspace: KEYSPACE, timeoutMs: SECONDS * 6_000 + 30_000 });
    checkBench(get, target);
    return { set: pick(set.rows, 'SET', target), get: pick(get.rows, 'GET', target) };
  };
  return progress(`redis-benchmark ${target} P${pipeline} SET n=${setN}, GET n=${getN}`, measure());
}

function checkBench(r: Awaited<ReturnType<typeof redisBenchmark>>, target: string): void {
  if (r.timedOut) throw new Error(`${target}: ${r.command} timed out\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  if (r.code !== 0 || /error/i.test(r.stderr)) {
    throw new Error(`${target}: ${r.command} exited ${r.code}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  }
}

function pick(rows: BenchRow[], test: string, target: string): BenchRow {
  const row = rows.find((r) => r.test === test);
  if (!row) throw new Error(`${target}: redis-benchmark printed no ${test} row`);
  return row;
}

async function mcRun(target: string, port: number): Promise<{ set: KvLoadResult; get: KvLoadResult }> {
  const common = { port, protocol: 'memcache' as const, connections: CLIENTS, threads: MC_THREADS, pipeline: MC_PIPELINE, valueSize: VALUE, keyspace: KEYSPACE, durationMs: SECONDS * 1000 };
  const set = await progress(`memcached load ${target} set`, kvLoad({ ...common, getRatio: 0 }));
  if (set.errors) throw new Error(`${target}: ${set.errors} errors during set load; first: ${set.firstError}`);
  const get = await progress(`memcached load ${target} get`, kvLoad({ ...common, getRatio: 1 }));
  if (get.errors) throw new Error(`${target}: ${get.errors} errors during get load; first: ${get.firstError}`);
  return { set, get };
}

const fmtRps = (n: number): string => `${Math.round(n).toLocaleString('en-US').padStart(11)} req/s`;
const fmtMs = (n: number | undefined): string => (n === undefined ? '   n/a' : `${n.toFixed(3).padStart(7)} ms`);
const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 1000) / 1000 : 0);

function line(label: string, cairn: { rps: number; p99?: number }, other: { rps: number; p99?: number }, otherName: string): void {
  log(
    `${label.padEnd(22)} cairn ${fmtRps(cairn.rps)} p99 ${fmtMs(cairn.p99)} | ${otherName.padEnd(9)} ${fmtRps(other.rps)} p99 ${fmtMs(other.p99)} | ratio ${ratio(cairn.rps, other.rps).toFixed(3)}`,
  );
}

async function main(): Promise<void> {
  requireProgram('redis-benchmark');
  requireProgram('redis-server');
  requireProgram('memcached');
  log(`bench:compare — ${SHARDS} cairn shards, ${CLIENTS} clients, ${VALUE}-byte values, ${KEYSPACE} keys, ~${SECONDS}s per run, node ${process.version}, ${availableParallelism()} cores`);

  let redis: ServiceHandle | undefined;
  let memcached: ServiceHandle | undefined;
  let cairn: CairnHandle | undefined;
  try {
    [redis, memcached, cairn] = await Promise.all([
      startRedisServer(),
      startMemcached(undefined, ['-m', '1024', '-t', String(Math.max(1, SHARDS))]),
      startCairn({ root, shards: SHARDS, maxMemory: process.env.COMPARE_MAX_MEMORY ?? '1gb' }),
    ]);
    log(`redis-server :${redis.port}, memcached :${memcached.port}, cairn resp :${cairn.respPort} memcache :${cairn.memcachePort}`);

    // servers run one at a time under load, so they do not share the cores with each other
    const c1 = await respRun('cairn', cairn.respPort, 1);
    const r1 = await respRun('redis', redis.port, 1);
    const c16 = await respRun('cairn', cairn.respPort, 16);
    const r16 = await respRun('redis', redis.port, 16);
    const cm = await mcRun('cairn', cairn.memcachePort);
    const mm = await mcRun('memcached', memcached.port);

    log('');
    line('RESP SET pipeline 1', { rps: c1.set.rps, p99: c1.set.p99Ms }, { rps: r1.set.rps, p99: r1.set.p99Ms }, 'redis');
    line('RESP GET pipeline 1', { rps: c1.get.rps, p99: c1.get.p99Ms }, { rps: r1.get.rps, p99: r1.get.p99Ms }, 'redis');
    line('RESP SET pipeline 16', { rps: c16.set.rps, p99: c16.set.p99Ms }, { rps: r16.set.rps, p99: r16.set.p99Ms }, 'redis');
    line('RESP GET pipeline 16', { rps: c16.get.rps, p99: c16.get.p99Ms }, { rps: r16.get.rps, p99: r16.get.p99Ms }, 'redis');
    line(`memcache set P${MC_PIPELINE}`, { rps: cm.set.rps, p99: cm.set.p99Ms }, { rps: mm.set.rps, p99: mm.set.p99Ms }, 'memcached');
    line(`memcache get P${MC_PIPELINE}`, { rps: cm.get.rps, p99: cm.get.p99Ms }, { rps: mm.get.rps, p99: mm.get.p99Ms }, 'memcached');
    log(`memcache get hit rate: cairn ${(cm.get.hits / Math.max(1, cm.get.requests)).toFixed(3)}, memcached ${(mm.get.hits / Math.max(1, mm.get.requests)).toFixed(3)}`);
    log('');

    const round = (n: number | undefined): number | null => (n === undefined ? null : Math.round(n * 1000) / 1000);
    const summary = {
      respP1SetRatio: ratio(c1.set.rps, r1.set.rps),
      respP1GetRatio: ratio(c1.get.rps, r1.get.rps),
      respP16SetRatio: ratio(c16.set.rps, r16.set.rps),
      respP16GetRatio: ratio(c16.get.rps, r16.get.rps),
      memcacheSetRatio: ratio(cm.set.rps, mm.set.rps),
      memcacheGetRatio: ratio(cm.get.rps, mm.get.rps),
      cairnRespP1SetRps: Math.round(c1.set.rps),
      redisRespP1SetRps: Math.round(r1.set.rps),
      cairnRespP1GetRps: Math.round(c1.get.rps),
      redisRespP1GetRps: Math.round(r1.get.rps),
      cairnRespP16SetRps: Math.round(c16.set.rps),
      redisRespP16SetRps: Math.round(r16.set.rps),
      cairnRespP16GetRps: Math.round(c16.get.rps),
      redisRespP16GetRps: Math.round(r16.get.rps),
      cairnMemcacheSetRps: Math.round(cm.set.rps),
      memcachedSetRps: Math.round(mm.set.rps),
      cairnMemcacheGetRps: Math.round(cm.get.rps),
      memcachedGetRps: Math.round(mm.get.rps),
      cairnRespP1SetP99Ms: round(c1.set.p99Ms),
      redisRespP1SetP99Ms: round(r1.set.p99Ms),
      cairnRespP1GetP99Ms: round(c1.get.p99Ms),
      redisRespP1GetP99Ms: round(r1.get.p99Ms),
      cairnRespP16SetP99Ms: round(c16.set.p99Ms),
      redisRespP16SetP99Ms: round(r16.set.p99Ms),
      cairnRespP16GetP99Ms: round(c16.get.p99Ms),
      redisRespP16GetP99Ms: round(r16.get.p99Ms),
      cairnMemcacheSetP99Ms: round(cm.set.p99Ms),
      memcachedSetP99Ms: round(mm.set.p99Ms),
      cairnMemcacheGetP99Ms: round(cm.get.p99Ms),
      memcachedGetP99Ms: round(mm.get.p99Ms),
      shards: SHARDS,
      clients: CLIENTS,
      valueBytes: VALUE,
      memcachePipeline: MC_PIPELINE,
      secondsPerRun: SECONDS,
      cores: availableParallelism(),
    };
    log(JSON.stringify(summary));
  } finally {
    await Promise.all([cairn?.stop(), redis?.stop(), memcached?.stop()].map((p) => p?.catch(() => undefined)));
    await stopAllDaemons();
  }
}

process.on('exit', killAllDaemonsSync);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAllDaemonsSync();
    process.exit(130);
  });
}

// a hard limit on the whole run, whatever hangs
const HARD_LIMIT_MS = Number(process.env.COMPARE_TIMEOUT_MS ?? 20 * 60_000);
setTimeout(() => {
  process.stderr.write(`\nbench:compare: no result after ${HARD_LIMIT_MS} ms; stopping everything\n`);
  killAllDaemonsSync();
  process.exit(2);
}, HARD_LIMIT_MS).unref();

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\nbench:compare failed: ${err instanceof Error ? err.message : String(err)}\n`);
    killAllDaemonsSync();
    process.exit(1);
  },
);
