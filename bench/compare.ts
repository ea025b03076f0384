/**
 * cairn beside redis-server, memcached and a plain Node server on the same machine, measured the
 * same way, with the same persistence on both sides of each pair.
 *
 *   npm run bench:compare
 *
 * Throughput (servers started together on free loopback ports, loaded one at a time):
 *   - RESP: redis-benchmark SET and GET, 50 clients, 100-byte values, random keys, pipeline 1 and
 *     16 (each run sized for about COMPARE_SECONDS after a short probe), against
 *       cairn `--durability writeback` (the default)  beside  redis-server `appendonly yes,
 *                                                              appendfsync everysec`,
 *       cairn `--durability spill`                    beside  redis-server without persistence,
 *     and against a plain one-thread Node RESP server (bench/lib/yardstick-resp.ts: a Map of
 *     Buffers, every command of a read chunk parsed, all replies in one write), the yardstick of
 *     what Node gives with nothing between socket and Map.
 *   - memcached text protocol: bench/lib/kv-load.ts (50 connections, pipeline 16, set then get)
 *     against cairn writeback, cairn spill, memcached (which has no persistence) and the Node
 *     memcached yardstick (bench/lib/yardstick-memcache.ts).
 *   Beside each figure: the server process's CPU time per request (utime + stime of all its
 *   threads, /proc/<pid>/stat), which survives a busy machine better than throughput does.
 * Memory (COMPARE_MEMORY=0 skips it): a fresh cairn (`--durability spill`) and a fresh
 * redis-server each take `redis-benchmark -t set -n 1000000 -r 1000000000 -d 100 -P 16 -c 20`
 * twice; VmRSS (/proc/<pid>/status: one figure per process, so it covers every cairn thread) is
 * read before and after each, giving RSS per key for the first million and the marginal cost of
 * the next.
 * Across cores (COMPARE_CORES=1,2; off by default): per listed core count k, cairn spill with k
 * shards, redis-server and memcached -t k run under `taskset -c 0..k-1` and the load generators on
 * the remaining cores (unpinned when none remain, which the output says); throughput per allotted
 * core and per CPU-second the server actually used.
 *
 * Prints each figure and ratio; the last line is one JSON object (ratios, rates, p99s, CPU per
 * request, memory per key, and `coreScaling` when asked). Every process started here is stopped
 * at the end, on failure too.
 *
 * Time: 28 measured runs of about COMPARE_SECONDS plus ten probes, then the memory phase (four
 * loads of a million keys; cairn takes 10-20 s per million on two cores): about 2 minutes at
 * COMPARE_SECONDS=2 on a 2-core machine, and each further second per run adds about half a
 * minute, so about 3.5 minutes at the default 5 s. COMPARE_CORES adds 12 runs and 4 probes per
 * core count (about 40 s each at COMPARE_SECONDS=2).
 *
 * Environment: COMPARE_SECONDS (default 5) per measured run, COMPARE_SHARDS (default: cores),
 * COMPARE_CLIENTS (50), COMPARE_VALUE (100), COMPARE_KEYSPACE (100000), COMPARE_MC_PIPELINE (16),
 * COMPARE_MC_THREADS (2), COMPARE_MAX_MEMORY (1gb), COMPARE_MEMORY (1; 0 skips the memory phase),
 * COMPARE_MEMORY_KEYS (1000000 per load), COMPARE_CORES (unset; e.g. "1,2"), COMPARE_TIMEOUT_MS.
 */
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  killAllDaemonsSync,
  requireProgram,
  run,
  startCairn,
  startMemcached,
  startRedisServer,
  startYardstick,
  stopAllDaemons,
  type CairnHandle,
  type ServiceHandle,
} from './lib/procs.js';
import { redisBenchmark } from './lib/redis-benchmark.js';
import { kvLoad, kvLoadProcess, type KvLoadOptions, type KvLoadResult } from './lib/kv-load.js';
import { measureCpu, memoryStatus, settle, type CpuReading, type MemoryStatus } from './lib/proc-stat.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/bench/compare.js → the package root */
const root = here.includes(`dist`) ? resolve(here, '..', '..') : resolve(here, '..');

const CORES = availableParallelism();
const SECONDS = Number(process.env.COMPARE_SECONDS ?? 5);
const SHARDS = Number(process.env.COMPARE_SHARDS ?? CORES);
const CLIENTS = Number(process.env.COMPARE_CLIENTS ?? 50);
const VALUE = Number(process.env.COMPARE_VALUE ?? 100);
const KEYSPACE = Number(process.env.COMPARE_KEYSPACE ?? 100_000);
const MC_PIPELINE = Number(process.env.COMPARE_MC_PIPELINE ?? 16);
const MC_THREADS = Number(process.env.COMPARE_MC_THREADS ?? 2);
const MAX_MEMORY = process.env.COMPARE_MAX_MEMORY ?? '1gb';
const MEMORY_PHASE = process.env.COMPARE_MEMORY !== '0';
const MEMORY_KEYS = Number(process.env.COMPARE_MEMORY_KEYS ?? 1_000_000);
const CORE_COUNTS = (process.env.COMPARE_CORES ?? '')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);

const PIPELINES = [1, 16] as const;
/** RESP targets × pipelines × (probe + run), memcached targets × (set + get), one start */
const THROUGHPUT_STEPS = 1 + 5 * PIPELINES.length * 2 + 4 * 2;
/** one start, two servers × two loads */
const MEMORY_STEPS = 1 + 2 * 2;
/** per core count: one start, two RESP servers × pipelines × (probe + run), two memcached servers × 2 */
const CORE_STEPS = 1 + 2 * PIPELINES.length * 2 + 2 * 2;
const TOTAL_STEPS = THROUGHPUT_STEPS + (MEMORY_PHASE ? MEMORY_STEPS : 0) + CORE_COUNTS.length * CORE_STEPS;
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

/** A server under load: its port and the pid whose CPU and memory are read. */
interface Target {
  name: string;
  port: number;
  pid: number;
}

const targetOf = (name: string, port: number, handle: { daemon: { process: { pid?: number } } }): Target => {
  const pid = handle.daemon.process.pid;
  if (pid === undefined) throw new Error(`${name}: no pid`);
  return { name, port, pid };
};

/** One measured run: throughput, p99, and what the server process spent on it. */
interface Cell {
  rps: number;
  p99Ms?: number;
  /** server CPU (all threads) per request, microseconds */
  cpuUsPerReq: number;
  /** server CPU seconds per second of load: how many cores it kept busy */
  coresUsed: number;
  /** the main thread's part of that CPU (cairn: the acceptor, which every request crosses) */
  mainThreadShare: number;
}

interface SetGet {
  set: Cell;
  get: Cell;
}

function cellOf(rps: number, requests: number, p99Ms: number | undefined, cpu: CpuReading<unknown>): Cell {
  const loadSeconds = rps > 0 ? requests / rps : 0;
  return {
    rps,
    p99Ms,
    cpuUsPerReq: requests > 0 ? (cpu.cpuSeconds / requests) * 1e6 : 0,
    coresUsed: loadSeconds > 0 ? cpu.cpuSeconds / loadSeconds : 0,
    mainThreadShare: cpu.cpuSeconds > 0 ? Math.min(1, cpu.mainThreadCpuSeconds / cpu.cpuSeconds) : 0,
  };
}

/**
 * What the process passes once its main thread fills one core, at this CPU per request: one
 * core-second divided by the main thread's CPU per request. For cairn, whose acceptor every
 * request crosses, that is the ceiling no shard count lifts, unless the acceptor's cost per
 * request falls.
 */
const mainThreadCeiling = (c: Cell): number => (c.cpuUsPerReq * c.mainThreadShare > 0 ? 1e6 / (c.cpuUsPerReq * c.mainThreadShare) : 0);

async function respRun(target: Target, pipeline: number, wrap: string[] = []): Promise<SetGet> {
  // size each run for about SECONDS: a short probe first
  const probeN = pipeline > 1 ? 100_000 : 20_000;
  const probe = await progress(
    `redis-benchmark probe ${target.name} P${pipeline}`,
    redisBenchmark({
      port: target.port,
      tests: ['set', 'get'],
      requests: probeN,
      clients: CLIENTS,
      dataSize: VALUE,
      pipeline,
      keyspace: KEYSPACE,
      timeoutMs: 60_000,
      wrap,
    }),
  );
  checkBench(probe, target.name);
  await settle(target.pid);
  const rate = (name: string): number => probe.rows.find((r) => r.test === name)?.rps ?? 0;
  const sizeFor = (rps: number): number => Math.max(10_000, Math.min(20_000_000, Math.round(rps * SECONDS)));
  const setN = sizeFor(rate('SET'));
  const getN = sizeFor(rate('GET'));
  // one invocation per test so each gets its own request count and its own CPU reading
  const one = async (test: string, n: number): Promise<Cell> => {
    const m = await measureCpu(target.pid, () =>
      redisBenchmark({
        port: target.port,
        tests: [test],
        requests: n,
        clients: CLIENTS,
        dataSize: VALUE,
        pipeline,
        keyspace: KEYSPACE,
        timeoutMs: SECONDS * 6_000 + 30_000,
        wrap,
      }),
    );
    checkBench(m.result, target.name);
    const row = m.result.rows.find((r) => r.test === test.toUpperCase());
    if (!row) throw new Error(`${target.name}: redis-benchmark printed no ${test.toUpperCase()} row`);
    // a server still writing back the SETs would steal CPU from the next run
    await settle(target.pid);
    return cellOf(row.rps, n, row.p99Ms, m);
  };
  const measure = async (): Promise<SetGet> => ({ set: await one('set', setN), get: await one('get', getN) });
  return progress(`redis-benchmark ${target.name} P${pipeline} SET n=${setN}, GET n=${getN}`, measure());
}

function checkBench(r: Awaited<ReturnType<typeof redisBenchmark>>, target: string): void {
  if (r.timedOut) throw new Error(`${target}: ${r.command} timed out\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  if (r.code !== 0 || /error/i.test(r.stderr)) {
    throw new Error(`${target}: ${r.command} exited ${r.code}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  }
}

interface McFigures extends SetGet {
  hitRate: number;
}

/** The memcached text load; in this process unless `wrap` pins it, then in a child process under the wrap. */
async function mcRun(target: Target, wrap: string[] = []): Promise<McFigures> {
  const common = {
    port: target.port,
    protocol: 'memcache' as const,
    connections: CLIENTS,
    threads: MC_THREADS,
    pipeline: MC_PIPELINE,
    valueSize: VALUE,
    keyspace: KEYSPACE,
    durationMs: SECONDS * 1000,
  };
  const one = async (op: string, getRatio: number): Promise<{ cell: Cell; load: KvLoadResult }> => {
    const options: KvLoadOptions = { ...common, getRatio };
    const m = await progress(
      `memcached load ${target.name} ${op}`,
      measureCpu(target.pid, () => (wrap.length ? kvLoadProcess(options, wrap) : kvLoad(options))),
    );
    const load = m.result;
    if (load.errors) throw new Error(`${target.name}: ${load.errors} errors during ${op} load; first: ${load.firstError}`);
    await settle(target.pid);
    return { cell: cellOf(load.rps, load.requests, load.p99Ms, m), load };
  };
  const set = await one('set', 0);
  const get = await one('get', 1);
  return { set: set.cell, get: get.cell, hitRate: get.load.hits / Math.max(1, get.load.requests) };
}

const fmtRps = (n: number): string => `${Math.round(n).toLocaleString('en-US').padStart(11)} req/s`;
const fmtMs = (n: number | undefined): string => (n === undefined ? '   n/a' : `${n.toFixed(3).padStart(7)} ms`);
const fmtCpu = (c: Cell): string => `${c.cpuUsPerReq.toFixed(2).padStart(6)} µs/req`;
const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 1000) / 1000 : 0);
const round3 = (n: number | undefined): number | null => (n === undefined ? null : Math.round(n * 1000) / 1000);

function line(label: string, a: Cell, aName: string, b: Cell, bName: string): void {
  log(
    `${label.padEnd(22)} ${aName.padEnd(15)} ${fmtRps(a.rps)} p99 ${fmtMs(a.p99Ms)} ${fmtCpu(a)} | ${bName.padEnd(15)} ${fmtRps(b.rps)} p99 ${fmtMs(b.p99Ms)} ${fmtCpu(b)} | ratio ${ratio(a.rps, b.rps).toFixed(3)}`,
  );
}

/** The JSON name of a cell: RespP1Set, RespP16Get, MemcacheSet, ... */
type CellName = 'RespP1Set' | 'RespP1Get' | 'RespP16Set' | 'RespP16Get' | 'MemcacheSet' | 'MemcacheGet';

// ---------------------------------------------------------------- throughput

interface Throughput {
  /** per target name: its cells by CellName */
  cells: Record<string, Partial<Record<CellName, Cell>>>;
  hitRates: Record<string, number>;
}

async function throughputPhase(): Promise<Throughput> {
  let redis: ServiceHandle | undefined;
  let redisAof: ServiceHandle | undefined;
  let memcached: ServiceHandle | undefined;
  let nodeResp: ServiceHandle | undefined;
  let nodeMc: ServiceHandle | undefined;
  let cairn: CairnHandle | undefined;
  let cairnSpill: CairnHandle | undefined;
  try {
    [redis, redisAof, memcached, nodeResp, nodeMc, cairn, cairnSpill] = await progress(
      'starting redis-server ×2, memcached, two Node yardsticks, cairn writeback and cairn spill',
      Promise.all([
        startRedisServer(),
        startRedisServer(undefined, ['--appendonly', 'yes', '--appendfsync', 'everysec']),
        startMemcached(undefined, ['-m', '1024', '-t', String(Math.max(1, SHARDS))]),
        startYardstick('resp'),
        startYardstick('memcache'),
        startCairn({ root, shards: SHARDS, maxMemory: MAX_MEMORY, args: ['--durability', 'writeback'] }),
        startCairn({ root, shards: SHARDS, maxMemory: MAX_MEMORY, args: ['--durability', 'spill'] }),
      ]),
    );
    log(
      `redis-server :${redis.port} (no persistence), :${redisAof.port} (AOF everysec), memcached :${memcached.port}, ` +
        `node yardsticks resp :${nodeResp.port} memcache :${nodeMc.port}, ` +
        `cairn writeback resp :${cairn.respPort} memcache :${cairn.memcachePort}, cairn spill resp :${cairnSpill.respPort} memcache :${cairnSpill.memcachePort}`,
    );
    const resp: Target[] = [
      targetOf('cairn', cairn.respPort, cairn),
      targetOf('redisAof', redisAof.port, redisAof),
      targetOf('cairnSpill', cairnSpill.respPort, cairnSpill),
      targetOf('redis', redis.port, redis),
      targetOf('node', nodeResp.port, nodeResp),
    ];
    const mc: Target[] = [
      targetOf('cairn', cairn.memcachePort, cairn),
      targetOf('cairnSpill', cairnSpill.memcachePort, cairnSpill),
      targetOf('memcached', memcached.port, memcached),
      targetOf('node', nodeMc.port, nodeMc),
    ];
    const out: Throughput = { cells: {}, hitRates: {} };
    const put = (name: string, cell: CellName, c: Cell): void => {
      (out.cells[name] ??= {})[cell] = c;
    };
    // servers run one at a time under load, so they do not share the cores with each other
    for (const p of PIPELINES) {
      for (const t of resp) {
        const r = await respRun(t, p);
        put(t.name, `RespP${p}Set` as CellName, r.set);
        put(t.name, `RespP${p}Get` as CellName, r.get);
      }
    }
    for (const t of mc) {
      const r = await mcRun(t);
      put(t.name, 'MemcacheSet', r.set);
      put(t.name, 'MemcacheGet', r.get);
      out.hitRates[t.name] = r.hitRate;
    }
    return out;
  } finally {
    await Promise.all([cairn, cairnSpill, redis, redisAof, memcached, nodeResp, nodeMc].map((h) => h?.stop().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------- memory

interface MemoryFigures {
  before: MemoryStatus;
  afterFirst: MemoryStatus;
  afterNext: MemoryStatus;
  keysFirst: number;
  keysNext: number;
  /** INFO memory used_memory_dataset after the first load, when the server reports it */
  datasetFirst: number | null;
  rssPerKeyFirst: number;
  rssPerKeyNext: number;
}

async function redisCli(port: number, args: string[]): Promise<string> {
  const r = await run(requireProgram('redis-cli'), ['-h', '127.0.0.1', '-p', String(port), ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')} on :${port} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function memoryRun(target: Target): Promise<MemoryFigures> {
  const load = async (round: number): Promise<void> => {
    const r = await progress(
      `memory: ${target.name} SET ${MEMORY_KEYS.toLocaleString('en-US')} random keys (${round}/2)`,
      redisBenchmark({
        port: target.port,
        tests: ['set'],
        requests: MEMORY_KEYS,
        clients: 20,
        dataSize: 100,
        pipeline: 16,
        keyspace: 1_000_000_000,
        timeoutMs: 600_000,
      }),
    );
    checkBench(r, target.name);
    await settle(target.pid);
  };
  const keys = async (): Promise<number> => Number((await redisCli(target.port, ['DBSIZE'])).trim());
  const dataset = async (): Promise<number | null> => {
    const m = /^used_memory_dataset:(\d+)/m.exec(await redisCli(target.port, ['INFO', 'memory']));
    return m ? Number(m[1]) : null;
  };
  await settle(target.pid);
  const keys0 = await keys();
  const before = memoryStatus(target.pid);
  await load(1);
  const afterFirst = memoryStatus(target.pid);
  const keys1 = await keys();
  const datasetFirst = await dataset();
  await load(2);
  const afterNext = memoryStatus(target.pid);
  const keys2 = await keys();
  return {
    before,
    afterFirst,
    afterNext,
    keysFirst: keys1 - keys0,
    keysNext: keys2 - keys1,
    datasetFirst,
    rssPerKeyFirst: (afterFirst.rss - before.rss) / Math.max(1, keys1 - keys0),
    rssPerKeyNext: (afterNext.rss - afterFirst.rss) / Math.max(1, keys2 - keys1),
  };
}

async function memoryPhase(): Promise<{ cairn: MemoryFigures; redis: MemoryFigures }> {
  let cairn: CairnHandle | undefined;
  let redis: ServiceHandle | undefined;
  try {
    // fresh servers, so the throughput phase's keys and buffers are not in the figures
    [cairn, redis] = await progress(
      'memory: starting a fresh cairn (spill) and redis-server',
      Promise.all([startCairn({ root, shards: SHARDS, maxMemory: '2gb', args: ['--durability', 'spill'] }), startRedisServer()]),
    );
    return { cairn: await memoryRun(targetOf('cairn', cairn.respPort, cairn)), redis: await memoryRun(targetOf('redis', redis.port, redis)) };
  } finally {
    await Promise.all([cairn, redis].map((h) => h?.stop().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------- across cores

interface CoreRow {
  serverCores: number;
  serverCpus: string;
  /** the cpus the load generators ran on, or "unpinned" when the server has them all */
  generatorCpus: string;
  cells: Record<string, Partial<Record<CellName, Cell>>>;
}

const cpuRange = (from: number, to: number): string => (to - from <= 1 ? String(from) : `${from}-${to - 1}`);

async function coreRun(k: number): Promise<CoreRow> {
  const serverCpus = cpuRange(0, k);
  const generatorCpus = k < CORES ? cpuRange(k, CORES) : 'unpinned';
  const server = ['taskset', '-c', serverCpus];
  const load = k < CORES ? ['taskset', '-c', generatorCpus] : [];
  let cairn: CairnHandle | undefined;
  let redis: ServiceHandle | undefined;
  let memcached: ServiceHandle | undefined;
  try {
    [cairn, redis, memcached] = await progress(
      `cores: starting cairn (spill, ${k} shard${k === 1 ? '' : 's'}), redis-server, memcached on cpu ${serverCpus}`,
      Promise.all([
        startCairn({ root, shards: k, maxMemory: MAX_MEMORY, args: ['--durability', 'spill'], wrap: server }),
        startRedisServer(undefined, [], { wrap: server }),
        startMemcached(undefined, ['-m', '1024', '-t', String(k)], { wrap: server }),
      ]),
    );
    const row: CoreRow = { serverCores: k, serverCpus, generatorCpus, cells: { cairn: {}, redis: {}, memcached: {} } };
    for (const p of PIPELINES) {
      for (const t of [targetOf('cairn', cairn.respPort, cairn), targetOf('redis', redis.port, redis)]) {
        const r = await respRun(t, p, load);
        row.cells[t.name][`RespP${p}Set` as CellName] = r.set;
        row.cells[t.name][`RespP${p}Get` as CellName] = r.get;
      }
    }
    for (const t of [targetOf('cairn', cairn.memcachePort, cairn), targetOf('memcached', memcached.port, memcached)]) {
      const r = await mcRun(t, load);
      row.cells[t.name].MemcacheSet = r.set;
      row.cells[t.name].MemcacheGet = r.get;
    }
    return row;
  } finally {
    await Promise.all([cairn, redis, memcached].map((h) => h?.stop().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------- report

const RESP_CELLS: [CellName, string][] = [
  ['RespP1Set', 'RESP SET pipeline 1'],
  ['RespP1Get', 'RESP GET pipeline 1'],
  ['RespP16Set', 'RESP SET pipeline 16'],
  ['RespP16Get', 'RESP GET pipeline 16'],
];
const MC_CELLS: [CellName, string][] = [
  ['MemcacheSet', `memcache set P${MC_PIPELINE}`],
  ['MemcacheGet', `memcache get P${MC_PIPELINE}`],
];

function reportThroughput(t: Throughput): void {
  const c = (target: string, cell: CellName): Cell => {
    const found = t.cells[target]?.[cell];
    if (!found) throw new Error(`no ${cell} figure for ${target}`);
    return found;
  };
  log('');
  log('cairn (default writeback) beside servers without persistence, as in earlier runs:');
  for (const [cell, label] of RESP_CELLS) line(label, c('cairn', cell), 'cairn writeback', c('redis', cell), 'redis');
  for (const [cell, label] of MC_CELLS) line(label, c('cairn', cell), 'cairn writeback', c('memcached', cell), 'memcached');
  log('');
  log('Same persistence on both sides:');
  for (const [cell, label] of RESP_CELLS) line(label, c('cairn', cell), 'cairn writeback', c('redisAof', cell), 'redis AOF/1s');
  for (const [cell, label] of RESP_CELLS) line(label, c('cairnSpill', cell), 'cairn spill', c('redis', cell), 'redis no-pers.');
  for (const [cell, label] of MC_CELLS) line(label, c('cairnSpill', cell), 'cairn spill', c('memcached', cell), 'memcached');
  log('');
  log('The one-thread Node yardstick (a Map of Buffers, no persistence):');
  for (const [cell, label] of [...RESP_CELLS, ...MC_CELLS]) line(label, c('cairnSpill', cell), 'cairn spill', c('node', cell), 'node');
  log('');
  log(
    'cairn acceptor (main thread) share of the server CPU: ' +
      [...RESP_CELLS, ...MC_CELLS]
        .map(
          ([cell, label]) => `${label} ${(c('cairn', cell).mainThreadShare * 100).toFixed(0)}% / ${(c('cairnSpill', cell).mainThreadShare * 100).toFixed(0)}%`,
        )
        .join(', ') +
      ' (writeback / spill)',
  );
  const hr = (name: string): string => (t.hitRates[name] ?? 0).toFixed(3);
  log(`memcache get hit rate: cairn writeback ${hr('cairn')}, cairn spill ${hr('cairnSpill')}, memcached ${hr('memcached')}, node ${hr('node')}`);
  log(
    `writeback ÷ spill, SET: RESP P1 ${ratio(c('cairn', 'RespP1Set').rps, c('cairnSpill', 'RespP1Set').rps).toFixed(3)}, ` +
      `RESP P16 ${ratio(c('cairn', 'RespP16Set').rps, c('cairnSpill', 'RespP16Set').rps).toFixed(3)}, ` +
      `memcache ${ratio(c('cairn', 'MemcacheSet').rps, c('cairnSpill', 'MemcacheSet').rps).toFixed(3)}`,
  );
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function reportMemory(m: { cairn: MemoryFigures; redis: MemoryFigures }): void {
  log('');
  log(
    `Memory: redis-benchmark -t set -n ${MEMORY_KEYS} -r 1000000000 -d 100 -P 16 -c 20, twice, into a fresh server (cairn --durability spill, ${SHARDS} shards):`,
  );
  for (const [name, f] of [
    ['cairn', m.cairn],
    ['redis', m.redis],
  ] as const) {
    log(
      `${name.padEnd(6)} VmRSS ${mb(f.before.rss)} → ${mb(f.afterFirst.rss)} → ${mb(f.afterNext.rss)} (${f.afterNext.threads} threads, one process); ` +
        `first ${f.keysFirst.toLocaleString('en-US')} keys ${f.rssPerKeyFirst.toFixed(1)} B/key, next ${f.keysNext.toLocaleString('en-US')} keys ${f.rssPerKeyNext.toFixed(1)} B/key` +
        (f.datasetFirst !== null ? `; used_memory_dataset after the first ${(f.datasetFirst / Math.max(1, f.keysFirst)).toFixed(1)} B/key` : ''),
    );
  }
}

function reportCores(rows: CoreRow[]): void {
  log('');
  log('Across cores (servers confined with taskset; cairn --durability spill with one shard per core, redis-server without persistence, memcached -t k):');
  for (const row of rows) {
    log(
      `server on cpu ${row.serverCpus} (${row.serverCores} core${row.serverCores === 1 ? '' : 's'}), load generator ${row.generatorCpus === 'unpinned' ? "unpinned (sharing the server's cores)" : `on cpu ${row.generatorCpus}`}:`,
    );
    for (const [cell, label] of [...RESP_CELLS, ...MC_CELLS]) {
      for (const [name, cells] of Object.entries(row.cells)) {
        const x = cells[cell];
        if (!x) continue;
        log(
          `  ${label.padEnd(22)} ${name.padEnd(9)} ${fmtRps(x.rps)}; per core allotted ${fmtRps(x.rps / row.serverCores)}; ` +
            `per core used ${fmtRps(x.rps / Math.max(1e-9, x.coresUsed))} (${x.coresUsed.toFixed(2)} busy); ` +
            (x.mainThreadShare >= 0.05
              ? `main thread ${(x.mainThreadShare * 100).toFixed(0).padStart(3)}% of the CPU, ${fmtRps(mainThreadCeiling(x))} once it fills a core`
              : 'main thread idle (other threads serve the requests)'),
        );
      }
    }
  }
}

function summary(t: Throughput, m: { cairn: MemoryFigures; redis: MemoryFigures } | null, cores: CoreRow[]): Record<string, unknown> {
  const c = (target: string, cell: CellName): Cell => t.cells[target]![cell]!;
  const out: Record<string, unknown> = {};
  // the fields of earlier runs first, with their meaning unchanged (cairn = the default writeback)
  for (const [cell] of RESP_CELLS) out[`resp${cell.slice(4)}Ratio`] = ratio(c('cairn', cell).rps, c('redis', cell).rps);
  out.memcacheSetRatio = ratio(c('cairn', 'MemcacheSet').rps, c('memcached', 'MemcacheSet').rps);
  out.memcacheGetRatio = ratio(c('cairn', 'MemcacheGet').rps, c('memcached', 'MemcacheGet').rps);
  const other = (cell: CellName): string => (cell.startsWith('Memcache') ? 'memcached' : 'redis');
  /** memcachedSetRps, not memcachedMemcacheSetRps, as before */
  const field = (target: string, cell: CellName, what: string): string =>
    target === 'memcached' ? `memcached${cell.slice('Memcache'.length)}${what}` : `${target}${cell}${what}`;
  for (const what of ['Rps', 'P99Ms'] as const) {
    for (const [cell] of [...RESP_CELLS, ...MC_CELLS]) {
      for (const target of ['cairn', other(cell)]) {
        const x = c(target, cell);
        out[field(target, cell, what)] = what === 'Rps' ? Math.round(x.rps) : round3(x.p99Ms);
      }
    }
  }
  // the pairs with the same persistence on both sides, and the Node yardstick
  for (const [cell] of RESP_CELLS) {
    out[`resp${cell.slice(4)}RatioWritebackVsAof`] = ratio(c('cairn', cell).rps, c('redisAof', cell).rps);
    out[`resp${cell.slice(4)}RatioSpillVsRedis`] = ratio(c('cairnSpill', cell).rps, c('redis', cell).rps);
  }
  out.memcacheSetRatioSpill = ratio(c('cairnSpill', 'MemcacheSet').rps, c('memcached', 'MemcacheSet').rps);
  out.memcacheGetRatioSpill = ratio(c('cairnSpill', 'MemcacheGet').rps, c('memcached', 'MemcacheGet').rps);
  /** cairn spill ÷ the Node yardstick: neither persists, so this is what cairn's threads buy over one Node thread */
  for (const [cell] of [...RESP_CELLS, ...MC_CELLS]) out[`nodeBaselineRatio${cell}`] = ratio(c('cairnSpill', cell).rps, c('node', cell).rps);
  /** the same for the default durability */
  for (const [cell] of [...RESP_CELLS, ...MC_CELLS]) out[`nodeBaselineRatioWriteback${cell}`] = ratio(c('cairn', cell).rps, c('node', cell).rps);
  out.writebackOverSpillSet = ratio(c('cairn', 'RespP16Set').rps, c('cairnSpill', 'RespP16Set').rps);
  out.writebackOverSpillSetP1 = ratio(c('cairn', 'RespP1Set').rps, c('cairnSpill', 'RespP1Set').rps);
  out.writebackOverSpillMemcacheSet = ratio(c('cairn', 'MemcacheSet').rps, c('cairnSpill', 'MemcacheSet').rps);
  for (const target of ['cairnSpill', 'redisAof', 'node']) {
    for (const [cell] of [...RESP_CELLS, ...MC_CELLS]) {
      const x = t.cells[target]?.[cell];
      if (!x) continue;
      out[field(target, cell, 'Rps')] = Math.round(x.rps);
      out[field(target, cell, 'P99Ms')] = round3(x.p99Ms);
    }
  }
  // server CPU per request, every target and cell; cairn's acceptor share of it
  for (const [target, cells] of Object.entries(t.cells)) {
    for (const [cell, x] of Object.entries(cells)) {
      out[field(target, cell as CellName, 'CpuUsPerReq')] = round3(x.cpuUsPerReq);
      if (target.startsWith('cairn')) out[field(target, cell as CellName, 'AcceptorShare')] = round3(x.mainThreadShare);
    }
  }
  if (m) {
    out.cairnRssPerKeyFirstMillion = Math.round(m.cairn.rssPerKeyFirst * 10) / 10;
    out.cairnRssPerKeyNextMillion = Math.round(m.cairn.rssPerKeyNext * 10) / 10;
    out.redisRssPerKeyFirstMillion = Math.round(m.redis.rssPerKeyFirst * 10) / 10;
    out.redisRssPerKeyNextMillion = Math.round(m.redis.rssPerKeyNext * 10) / 10;
    out.cairnRssGrowthFirstMillionBytes = m.cairn.afterFirst.rss - m.cairn.before.rss;
    out.redisRssGrowthFirstMillionBytes = m.redis.afterFirst.rss - m.redis.before.rss;
    out.memoryKeysPerLoad = MEMORY_KEYS;
  }
  if (cores.length > 0) {
    out.coreScaling = cores.map((row) => ({
      serverCores: row.serverCores,
      serverCpus: row.serverCpus,
      generatorCpus: row.generatorCpus,
      cells: Object.fromEntries(
        Object.entries(row.cells).map(([name, cells]) => [
          name,
          Object.fromEntries(
            Object.entries(cells).map(([cell, x]) => [
              cell,
              {
                rps: Math.round(x.rps),
                rpsPerCore: Math.round(x.rps / row.serverCores),
                rpsPerCoreUsed: Math.round(x.rps / Math.max(1e-9, x.coresUsed)),
                coresUsed: round3(x.coresUsed),
                mainThreadShare: round3(x.mainThreadShare),
                mainThreadCeilingRps: x.mainThreadShare >= 0.05 ? Math.round(mainThreadCeiling(x)) : null,
                cpuUsPerReq: round3(x.cpuUsPerReq),
                p99Ms: round3(x.p99Ms),
              },
            ]),
          ),
        ]),
      ),
    }));
  }
  Object.assign(out, { shards: SHARDS, clients: CLIENTS, valueBytes: VALUE, memcachePipeline: MC_PIPELINE, secondsPerRun: SECONDS, cores: CORES });
  return out;
}

async function main(): Promise<void> {
  requireProgram('redis-benchmark');
  requireProgram('redis-server');
  requireProgram('redis-cli');
  requireProgram('memcached');
  if (CORE_COUNTS.length > 0) requireProgram('taskset');
  const tooMany = CORE_COUNTS.filter((k) => k > CORES);
  if (tooMany.length) throw new Error(`COMPARE_CORES asks for ${tooMany.join(', ')} cores; this machine has ${CORES}`);
  log(
    `bench:compare — ${SHARDS} cairn shards, ${CLIENTS} clients, ${VALUE}-byte values, ${KEYSPACE} keys, ~${SECONDS}s per run, node ${process.version}, ${CORES} cores`,
  );

  try {
    const t = await throughputPhase();
    reportThroughput(t);
    const m = MEMORY_PHASE ? await memoryPhase() : null;
    if (m) reportMemory(m);
    const cores: CoreRow[] = [];
    for (const k of CORE_COUNTS) cores.push(await coreRun(k));
    if (cores.length) reportCores(cores);
    log('');
    log(JSON.stringify(summary(t, m, cores)));
  } finally {
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
const HARD_LIMIT_MS = Number(process.env.COMPARE_TIMEOUT_MS ?? 40 * 60_000);
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
