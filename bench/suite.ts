/**
 * `npm run bench`: the benchmark suite. One entry that runs a matrix of cells, each measured on
 * cairn and, in the same run, on the server that speaks the same protocol (redis-server for RESP,
 * memcached for the memcached text protocol), reported as ratios.
 *
 *   npm run bench                  full matrix (≈ 15 min on 2 cores; the estimate is printed first)
 *   npm run bench -- --quick       a representative slice in under two minutes
 *   npm run bench -- --readme      rewrite README.md between <!-- bench:start --> and <!-- bench:end -->
 *                                  from bench/results/latest.json (no run; --from FILE for another file)
 *   npm run bench -- --dry-run     print the matrix and the time estimate, run nothing
 *   options: --seconds N (per measured run), --only shards,pipeline,placement,value,dataset
 *
 * Dimensions (the full run sweeps one dimension at a time around a base cell, rather than the whole
 * cartesian product, which would take hours): shard counts 1..cores; load-generator placement
 * (unpinned, or `split`: server and load generator pinned to disjoint cores with taskset);
 * GET / SET / 90:10 GET:SET mix; pipeline depth 1 / 16 / 64; values of 16 B / 100 B / 4 KiB / 64 KiB;
 * a data set inside the hot budget and one ten times over it (preloaded, then read uniformly over the
 * whole key space so most reads are cold: cairn serves them from disk, redis-server and memcached evict).
 * The base cell: shards = cores, unpinned, pipeline 16, 100 B values, data set inside the budget.
 *
 * Generators: redis-benchmark for RESP GET and SET (its own percentiles, p99.9 from its HDR
 * distribution), bench/lib/kv-load.ts (worker threads, HDR histograms) for the mix, for the
 * memcached protocol and for the over-budget data set (it counts hits). Both targets of a cell use the
 * same generator, connections (50), pipeline and key space.
 *
 * Output: bench/results/<timestamp>[-quick].json, latest[-quick].json, latest[-quick].md and SVG
 * charts (throughput-<protocol>[-quick].svg, latency[-quick].svg). Every process started here is
 * bounded in time and stopped on failure and on Ctrl-C.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { kvLoadProcess, type KvLoadResult, type KvProtocol } from './lib/kv-load.js';
import { describeMachine, machineLine, type MachineInfo } from './lib/machine.js';
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
import { redisBenchmark } from './lib/redis-benchmark.js';
import { barChart, lineChart, type BarGroup, type LineSeries } from './lib/svg.js';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const flagValue = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};
const QUICK = argv.includes('--quick');
const DRY = argv.includes('--dry-run');
const README = argv.includes('--readme');
const SECONDS = Number(flagValue('--seconds') ?? (QUICK ? 1 : 5));
const ONLY = flagValue('--only')?.split(',') as Group[] | undefined;
const CORES = availableParallelism();
const CONNECTIONS = 50;
const RESULTS = join(packageRoot, 'bench', 'results');
const SUFFIX = QUICK ? '-quick' : '';

/** hot budget for the data-set cells, and the values they use */
const SMALL_BUDGET_MB = QUICK ? 8 : 16;
const DATASET_VALUE = 4096;
/** key space for cells inside the budget: at most this many keys, and at most 64 MiB of values */
const MAX_KEYS = QUICK ? 20_000 : 100_000;
const INSIDE_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------- the matrix

type Group = 'shards' | 'pipeline' | 'placement' | 'value' | 'dataset';
type Op = 'get' | 'set' | 'mix';
type Placement = 'unpinned' | 'split';
type Dataset = 'inside' | 'over';
type Target = 'cairn' | 'redis' | 'memcached';
type Generator = 'redis-benchmark' | 'kv-load';

interface Cell {
  group: Group;
  protocol: KvProtocol;
  op: Op;
  shards: number;
  placement: Placement;
  pipeline: number;
  valueSize: number;
  dataset: Dataset;
  keyspace: number;
  generator: Generator;
}

interface Measurement {
  target: Target;
  generator: Generator;
  rps: number;
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  /** GET hits ÷ GETs (kv-load only) */
  hitRatio: number | null;
  errors: number;
  elapsedMs: number;
  command?: string;
  firstError?: string;
}

interface CellResult extends Cell {
  id: string;
  label: string;
  cairn: Measurement | null;
  baseline: Measurement | null;
  /** cairn req/s ÷ baseline req/s */
  ratio: number | null;
  error?: string;
}

interface Results {
  version: 1;
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  partial: boolean;
  secondsPerRun: number;
  connections: number;
  machine: MachineInfo;
  loadAvgAtEnd: number;
  settings: { smallBudgetMB: number; datasetValueBytes: number; maxKeys: number; placements: Record<Placement, string> };
  cells: CellResult[];
}

const OPS: Op[] = ['get', 'set', 'mix'];
const PROTOCOLS: KvProtocol[] = ['resp', 'memcache'];
const GET_RATIO: Record<Op, number> = { get: 1, set: 0, mix: 0.9 };
const shardCounts = Array.from({ length: CORES }, (_, i) => i + 1);

function keyspaceFor(valueSize: number, dataset: Dataset, smallBudget: boolean): number {
  const entry = valueSize + 16;
  if (!smallBudget) return Math.max(100, Math.min(MAX_KEYS, Math.floor(INSIDE_BYTES / entry)));
  const budget = SMALL_BUDGET_MB * 1024 * 1024;
  return Math.max(100, Math.floor(((dataset === 'over' ? 10 : 0.5) * budget) / entry));
}

function makeCell(c: Omit<Cell, 'keyspace' | 'generator'>): Cell {
  const keyspace = keyspaceFor(c.valueSize, c.dataset, c.group === 'dataset');
  // redis-benchmark where it can (RESP GET/SET, inside the budget); kv-load for the mix, for the
  // memcached protocol and for the over-budget data set (where hit ratios matter)
  const generator: Generator = c.protocol === 'resp' && c.op !== 'mix' && c.group !== 'dataset' ? 'redis-benchmark' : 'kv-load';
  return { ...c, keyspace, generator };
}

function buildMatrix(): Cell[] {
  const cells: Cell[] = [];
  const base = { shards: CORES, placement: 'unpinned' as Placement, pipeline: 16, valueSize: 100, dataset: 'inside' as Dataset };
  const add = (group: Group, c: Partial<Cell> & { protocol: KvProtocol; op: Op }): void => {
    if (ONLY && !ONLY.includes(group)) return;
    cells.push(makeCell({ ...base, ...c, group }));
  };
  const canSplit = CORES >= 2;
  if (QUICK) {
    for (const shards of [...new Set([1, CORES])])
      for (const protocol of PROTOCOLS) for (const op of ['get', 'mix'] as Op[]) add('shards', { protocol, op, shards });
    for (const protocol of PROTOCOLS) add('pipeline', { protocol, op: 'get', pipeline: 1 });
    if (canSplit) for (const protocol of PROTOCOLS) add('placement', { protocol, op: 'get', placement: 'split' });
    for (const protocol of PROTOCOLS) add('value', { protocol, op: 'set', valueSize: 4096 });
    for (const protocol of PROTOCOLS) add('dataset', { protocol, op: 'get', dataset: 'over', valueSize: DATASET_VALUE });
    return cells;
  }
  for (const shards of shardCounts)
    for (const protocol of PROTOCOLS) for (const op of OPS) for (const pipeline of [1, 16]) add('shards', { protocol, op, shards, pipeline });
  for (const protocol of PROTOCOLS) for (const op of OPS) add('pipeline', { protocol, op, pipeline: 64 });
  if (canSplit)
    for (const shards of shardCounts)
      for (const protocol of PROTOCOLS) for (const op of ['get', 'mix'] as Op[]) add('placement', { protocol, op, shards, placement: 'split' });
  for (const valueSize of [16, 4096, 65536]) for (const protocol of PROTOCOLS) for (const op of OPS) add('value', { protocol, op, valueSize });
  for (const dataset of ['inside', 'over'] as Dataset[])
    for (const protocol of PROTOCOLS) for (const op of ['get', 'mix'] as Op[]) add('dataset', { protocol, op, dataset, valueSize: DATASET_VALUE });
  return cells;
}

const opName: Record<Op, string> = { get: 'GET', set: 'SET', mix: 'mix 90:10' };
const protoName: Record<KvProtocol, string> = { resp: 'RESP', memcache: 'memcache' };
const baselineOf = (p: KvProtocol): Target => (p === 'resp' ? 'redis' : 'memcached');
const sizeName = (n: number): string => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

function cellLabel(c: Cell): string {
  const parts = [`${protoName[c.protocol]} ${opName[c.op]}`, `P${c.pipeline}`, sizeName(c.valueSize), `${c.shards} shard${c.shards === 1 ? '' : 's'}`];
  if (c.placement !== 'unpinned') parts.push(c.placement);
  if (c.group === 'dataset') parts.push(c.dataset === 'over' ? `10× over ${SMALL_BUDGET_MB} MiB` : `inside ${SMALL_BUDGET_MB} MiB`);
  return parts.join(' · ');
}

/** which server instances a cell needs: cairn's depends on shards, the baseline's does not */
const serverEnv = (c: Cell): string => `${c.group === 'dataset' ? 'small' : 'big'}|${c.placement}|${c.shards}`;
const baselineEnv = (c: Cell): string => `${c.group === 'dataset' ? 'small' : 'big'}|${c.placement}`;
const baselineKey = (c: Cell): string => `${baselineEnv(c)}|${c.protocol}|${c.op}|${c.pipeline}|${c.valueSize}|${c.dataset}|${c.keyspace}`;

// ---------------------------------------------------------------- placement

interface Pins {
  server: string[];
  load: string[];
  serverCores: number;
  loadThreads: number;
  description: string;
}

function cpuList(from: number, to: number): string {
  return to - from <= 1 ? String(from) : `${from}-${to - 1}`;
}

function pinsFor(p: Placement): Pins {
  if (p === 'unpinned' || CORES < 2) {
    return { server: [], load: [], serverCores: CORES, loadThreads: Math.min(2, CORES), description: 'server and load generator unpinned' };
  }
  const serverCpus = CORES - Math.floor(CORES / 2);
  const s = cpuList(0, serverCpus);
  const l = cpuList(serverCpus, CORES);
  return {
    server: ['taskset', '-c', s],
    load: ['taskset', '-c', l],
    serverCores: serverCpus,
    loadThreads: Math.max(1, Math.min(2, CORES - serverCpus)),
    description: `server on cpu ${s}, load generator on cpu ${l} (taskset)`,
  };
}

// ---------------------------------------------------------------- servers

interface Loaded {
  /** "valueSize/keyspace" of the last preload */
  loaded: string;
}

let cairn: (Loaded & { env: string; handle: CairnHandle }) | null = null;
let baselines: { env: string; redis: ServiceHandle & Loaded; memcached: ServiceHandle & Loaded } | null = null;
const dataDirs = new Set<string>();

async function ensureServers(c: Cell): Promise<void> {
  const pins = pinsFor(c.placement);
  const small = c.group === 'dataset';
  if (cairn && (cairn.env !== serverEnv(c) || !cairn.handle.daemon.alive())) {
    const old = cairn;
    cairn = null;
    await old.handle.stop().catch(() => undefined);
    dataDirs.delete(old.handle.dataDir);
  }
  if (!cairn) {
    status(`starting cairn (${c.shards} shard${c.shards === 1 ? '' : 's'}, ${small ? `${SMALL_BUDGET_MB} MiB` : '1 GiB'} hot budget, ${c.placement})`);
    const handle = await startCairn({
      root: packageRoot,
      shards: c.shards,
      maxMemory: small ? `${SMALL_BUDGET_MB}mb` : '1gb',
      protocols: { native: false, http: false, resp: true, memcache: true },
      wrap: pins.server,
      startTimeoutMs: 60_000,
      stopGraceMs: 20_000,
    });
    dataDirs.add(handle.dataDir);
    cairn = { env: serverEnv(c), handle, loaded: '' };
  }
  if (baselines && (baselines.env !== baselineEnv(c) || !baselines.redis.daemon.alive() || !baselines.memcached.daemon.alive())) {
    const old = baselines;
    baselines = null;
    await Promise.all([old.redis.stop(), old.memcached.stop()].map((p) => p.catch(() => undefined)));
  }
  if (!baselines) {
    status(`starting redis-server and memcached (${c.placement})`);
    const mb = small ? SMALL_BUDGET_MB : 1024;
    const redisArgs = small ? ['--maxmemory', `${mb}mb`, '--maxmemory-policy', 'allkeys-lru'] : [];
    const [redis, memcached] = await Promise.all([
      startRedisServer(undefined, redisArgs, { wrap: pins.server }),
      startMemcached(undefined, ['-m', String(mb), '-t', String(Math.max(1, pins.serverCores))], { wrap: pins.server }),
    ]);
    baselines = { env: baselineEnv(c), redis: { ...redis, loaded: '' }, memcached: { ...memcached, loaded: '' } };
  }
}

async function stopServers(): Promise<void> {
  const jobs: Promise<void>[] = [];
  if (cairn) jobs.push(cairn.handle.stop());
  if (baselines) jobs.push(baselines.redis.stop(), baselines.memcached.stop());
  cairn = null;
  baselines = null;
  await Promise.all(jobs.map((p) => p.catch(() => undefined)));
  await stopAllDaemons();
}

/** writes every key of the cell's key space once (skipped when the server already holds that set) */
async function preload(target: Target, c: Cell, pins: Pins): Promise<void> {
  const server = target === 'cairn' ? cairn! : target === 'redis' ? baselines!.redis : baselines!.memcached;
  const want = `${c.valueSize}/${c.keyspace}`;
  if (server.loaded === want) return;
  const port = target === 'cairn' ? cairn!.handle.respPort : target === 'redis' ? baselines!.redis.port : baselines!.memcached.port;
  const protocol: KvProtocol = target === 'memcached' ? 'memcache' : 'resp';
  status(`preloading ${target}: ${c.keyspace.toLocaleString('en-US')} keys × ${sizeName(c.valueSize)}`);
  const r = await kvLoadProcess(
    {
      port,
      protocol,
      getRatio: 0,
      preload: true,
      keyspace: c.keyspace,
      valueSize: c.valueSize,
      pipeline: c.valueSize >= 65536 ? 4 : c.valueSize >= 4096 ? 16 : 64,
      connections: 16,
      threads: pins.loadThreads,
      timeoutMs: 180_000,
    },
    pins.load,
  );
  if (r.errors > 0) throw new Error(`preloading ${target}: ${r.errors} errors; first: ${r.firstError}`);
  server.loaded = want;
}

// ---------------------------------------------------------------- measuring

/** req/s seen so far per target and load shape, to size redis-benchmark runs (-n) for SECONDS */
const rateSeen = new Map<string, number>();

async function measure(target: Target, c: Cell, pins: Pins): Promise<Measurement> {
  const port =
    target === 'cairn'
      ? c.protocol === 'resp'
        ? cairn!.handle.respPort
        : cairn!.handle.memcachePort
      : target === 'redis'
        ? baselines!.redis.port
        : baselines!.memcached.port;
  if (c.op !== 'set') await preload(target, c, pins);
  else {
    // a SET run overwrites random keys with values of its size: a preload of another size no longer holds
    const server = target === 'cairn' ? cairn! : target === 'redis' ? baselines!.redis : baselines!.memcached;
    if (!server.loaded.startsWith(`${c.valueSize}/`)) server.loaded = '';
  }
  status(`measuring ${target} (${c.generator}, ${SECONDS}s)`);
  if (c.generator === 'redis-benchmark') {
    const test = c.op === 'get' ? 'get' : 'set';
    const common = {
      port,
      tests: [test],
      clients: CONNECTIONS,
      dataSize: c.valueSize,
      pipeline: c.pipeline,
      keyspace: c.keyspace,
      wrap: pins.load,
      format: 'full' as const,
    };
    const rateKey = `${target}|${c.op}|${c.pipeline}|${c.valueSize}|${c.placement}`;
    let rate = rateSeen.get(rateKey);
    if (rate === undefined) {
      const probe = await redisBenchmark({ ...common, requests: Math.max(2_000, CONNECTIONS * c.pipeline * 20), timeoutMs: 30_000 });
      rate = probe.rows[0]?.rps ?? 10_000;
    }
    const requests = Math.max(5_000, Math.min(50_000_000, Math.round(rate * SECONDS)));
    const r = await redisBenchmark({ ...common, requests, timeoutMs: Math.max(30_000, SECONDS * 10_000) });
    const row = r.rows[0];
    if (r.timedOut || !row) throw new Error(`${r.command}: ${r.timedOut ? 'timed out' : `no result (exit ${r.code})`} ${r.stderr.slice(-500)}`);
    rateSeen.set(rateKey, row.rps);
    return {
      target,
      generator: 'redis-benchmark',
      rps: row.rps,
      requests,
      p50Ms: row.p50Ms ?? null,
      p99Ms: row.p99Ms ?? null,
      p999Ms: row.p999Ms ?? null,
      maxMs: row.maxMs ?? null,
      hitRatio: null,
      errors: /error/i.test(r.stderr) ? 1 : 0,
      elapsedMs: (requests / row.rps) * 1000,
      command: r.command,
      firstError: /error/i.test(r.stderr) ? r.stderr.slice(0, 300) : undefined,
    };
  }
  const r: KvLoadResult = await kvLoadProcess(
    {
      port,
      protocol: c.protocol,
      getRatio: GET_RATIO[c.op],
      connections: CONNECTIONS,
      threads: pins.loadThreads,
      pipeline: c.pipeline,
      valueSize: c.valueSize,
      keyspace: c.keyspace,
      durationMs: SECONDS * 1000,
      timeoutMs: SECONDS * 1000 + 60_000,
    },
    pins.load,
  );
  return {
    target,
    generator: 'kv-load',
    rps: r.rps,
    requests: r.requests,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    p999Ms: r.p999Ms,
    maxMs: r.maxMs,
    hitRatio: r.gets > 0 ? r.hits / r.gets : null,
    errors: r.errors,
    elapsedMs: r.elapsedMs,
    firstError: r.firstError,
  };
}

// ---------------------------------------------------------------- progress

const isTty = process.stderr.isTTY === true;
const runStarted = Date.now();
let progressPrefix = '';
let progressStatus = '';
let plannedTotal = 1;
let plannedDone = 0;

const clock = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

function etaMs(): number {
  const elapsed = Date.now() - runStarted;
  if (plannedDone <= 0) return plannedTotal * 1000;
  return ((plannedTotal - plannedDone) / plannedDone) * elapsed;
}

function drawStatus(newline = false): void {
  const line = `${progressPrefix} — ${progressStatus} | ${clock(Date.now() - runStarted)} elapsed | ETA ${clock(etaMs())}`;
  if (isTty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 160) - 1)}${newline ? '\n' : ''}`);
  else process.stderr.write(`${line}\n`);
}

function status(s: string): void {
  progressStatus = s;
  drawStatus();
}

function out(line: string): void {
  if (isTty) process.stderr.write('\r\x1b[K');
  process.stdout.write(`${line}\n`);
}

/** planned seconds for a cell: its measurements plus process start-up and probes */
function plannedSeconds(c: Cell, baselineNeeded: boolean): number {
  const per = SECONDS + (c.generator === 'redis-benchmark' ? 1.2 : 0.8);
  return per * (baselineNeeded ? 2 : 1);
}

// ---------------------------------------------------------------- reports

const fmtRps = (n: number | null | undefined): string => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n: number | null | undefined): string => (n == null ? '–' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtRatio = (n: number | null | undefined): string => (n == null ? '–' : `${n.toFixed(2)}×`);
const lat = (m: Measurement | null): string => (m ? `${fmtMs(m.p50Ms)} / ${fmtMs(m.p99Ms)} / ${fmtMs(m.p999Ms)} / ${fmtMs(m.maxMs)}` : '–');
const hits = (m: Measurement | null): string => (m?.hitRatio == null ? '' : `${(m.hitRatio * 100).toFixed(0)} %`);

const GROUP_TITLES: Record<Group, string> = {
  shards: 'Shard count (unpinned, 100 B values)',
  pipeline: 'Pipeline depth (all cores, unpinned, 100 B values)',
  placement: 'Load generator placement: split (server and load generator pinned apart)',
  value: 'Value size',
  dataset: `Data set inside and ten times over a ${SMALL_BUDGET_MB} MiB hot budget (${sizeName(DATASET_VALUE)} values, uniform reads over the whole key space)`,
};

function geomean(xs: number[]): number | null {
  const ok = xs.filter((x) => x > 0 && Number.isFinite(x));
  if (!ok.length) return null;
  return Math.exp(ok.reduce((a, x) => a + Math.log(x), 0) / ok.length);
}

export function summaryLines(r: Results): string[] {
  const lines: string[] = [];
  for (const protocol of PROTOCOLS) {
    const cells = r.cells.filter((c) => c.protocol === protocol && c.ratio !== null && c.dataset === 'inside');
    if (!cells.length) continue;
    const ratios = cells.map((c) => c.ratio!);
    const best = cells.reduce((a, b) => (b.ratio! > a.ratio! ? b : a));
    const worst = cells.reduce((a, b) => (b.ratio! < a.ratio! ? b : a));
    const other = baselineOf(protocol);
    const met = cells.filter((c) => c.ratio! >= 1).length;
    lines.push(
      `- **${protoName[protocol]} vs ${other}** (${cells.length} cells inside the hot budget): cairn's throughput is ${fmtRatio(geomean(ratios))} ${other}'s (geometric mean), ` +
        `from ${fmtRatio(worst.ratio)} (${worst.label}) to ${fmtRatio(best.ratio)} (${best.label}); cairn matches or beats ${other} in ${met} of ${cells.length}.`,
    );
  }
  const over = r.cells.filter((c) => c.dataset === 'over' && c.cairn && c.baseline);
  for (const c of over) {
    lines.push(
      `- **${c.label}**: cairn ${fmtRps(c.cairn!.rps)} req/s with ${hits(c.cairn) || 'n/a'} hits (cold keys come back from disk) vs ${baselineOf(c.protocol)} ${fmtRps(c.baseline!.rps)} req/s with ${hits(c.baseline) || 'n/a'} hits (evicted keys are gone).`,
    );
  }
  const failed = r.cells.filter((c) => c.error);
  if (failed.length) lines.push(`- ${failed.length} cell(s) failed; see the table.`);
  return lines;
}

/** the markdown report; `imagePrefix` is where the SVGs are relative to the document */
export function renderMarkdown(r: Results, imagePrefix: string): string {
  const s = SUFFIXES[r.mode];
  const lines: string[] = [];
  const minutes = ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 60_000).toFixed(1);
  lines.push(
    `${r.mode === 'quick' ? '**Quick run** (a small slice; noisy, for checking the suite, not for claims). ' : ''}` +
      `Run of ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${minutes} min${r.partial ? ', **interrupted: partial results**' : ''}; ${r.secondsPerRun} s per measured run, ${r.connections} connections.`,
  );
  lines.push('');
  lines.push(`**Machine:** ${machineLine(r.machine)}, ${r.loadAvgAtEnd} at the end.`);
  lines.push('');
  lines.push(...summaryLines(r));
  lines.push('');
  lines.push(
    `Ratios are cairn ÷ the other server, measured in the same run with the same generator, connections, pipeline and key space: ` +
      `redis-server (no persistence) for RESP, memcached for the memcached text protocol. cairn runs with its default durability (writeback to LevelDB). ` +
      `Latencies are p50 / p99 / p99.9 / max in ms (per request, a pipelined batch's requests completing together), from redis-benchmark where it is the generator and from HDR histograms in kv-load otherwise.`,
  );
  lines.push('');
  const charts = PROTOCOLS.filter((p) => r.cells.some((c) => c.protocol === p && c.group === 'shards')).map(
    (p) => `![${protoName[p]} throughput by shard count](${imagePrefix}throughput-${p}${s}.svg)`,
  );
  if (r.cells.some((c) => c.cairn)) charts.push(`![latency percentiles](${imagePrefix}latency${s}.svg)`);
  if (charts.length) {
    lines.push(charts.join(' '));
    lines.push('');
  }
  const groups = [...new Set(r.cells.map((c) => c.group))];
  for (const g of groups) {
    lines.push(`#### ${GROUP_TITLES[g]}`);
    lines.push('');
    const showHits = r.cells.some((c) => c.group === g && (c.cairn?.hitRatio != null || c.baseline?.hitRatio != null) && c.op !== 'set');
    lines.push(
      `| cell | cairn req/s | other | other req/s | ratio | cairn latency ms | other latency ms |${showHits ? ' hits cairn / other |' : ''} generator |`,
    );
    lines.push(`|---|---:|---|---:|---:|---|---|${showHits ? '---|' : ''}---|`);
    for (const c of r.cells.filter((x) => x.group === g)) {
      const hitCol = showHits ? ` ${hits(c.cairn) || '–'} / ${hits(c.baseline) || '–'} |` : '';
      const err = c.error ? ` **failed: ${c.error.replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 120)}**` : '';
      lines.push(
        `| ${c.label}${err} | ${fmtRps(c.cairn?.rps)} | ${baselineOf(c.protocol)} | ${fmtRps(c.baseline?.rps)} | ${fmtRatio(c.ratio)} | ${lat(c.cairn)} | ${lat(c.baseline)} |${hitCol} ${c.generator} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    `Placements: ${Object.entries(r.settings.placements)
      .map(([k, v]) => `\`${k}\` = ${v}`)
      .join('; ')}.`,
  );
  return `${lines.join('\n')}\n`;
}

const SUFFIXES: Record<Results['mode'], string> = { quick: '-quick', full: '' };

function renderCharts(r: Results): Record<string, string> {
  const s = SUFFIXES[r.mode];
  const files: Record<string, string> = {};
  const colorOf = new Map<string, string>();
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  for (const protocol of PROTOCOLS) {
    const cells = r.cells.filter((c) => c.protocol === protocol && (c.group === 'shards' || c.group === 'placement') && c.cairn);
    if (!cells.length) continue;
    const series: LineSeries[] = [];
    const shapes = [...new Set(cells.map((c) => `${c.op}|${c.pipeline}`))];
    shapes.forEach((shape, i) => {
      const [op, pipeline] = shape.split('|');
      const color = colors[i % colors.length];
      colorOf.set(shape, color);
      const name = `${opName[op as Op]} P${pipeline}`;
      for (const placement of ['unpinned', 'split'] as Placement[]) {
        const mine = cells.filter((c) => `${c.op}|${c.pipeline}` === shape && c.placement === placement);
        if (!mine.length) continue;
        series.push({
          name: `cairn ${name}${placement === 'split' ? ' (split)' : ''}`,
          color,
          dash: placement === 'split' ? '2,3' : undefined,
          points: mine.map((c) => ({ x: c.shards, y: c.cairn!.rps })),
        });
        if (placement === 'unpinned') {
          const base = mine.filter((c) => c.baseline);
          if (base.length)
            series.push({ name: `${baselineOf(protocol)} ${name}`, color, dash: '7,4', points: base.map((c) => ({ x: c.shards, y: c.baseline!.rps })) });
        }
      }
    });
    files[`throughput-${protocol}${s}.svg`] = lineChart({
      title: `${protoName[protocol]}: throughput by shard count`,
      subtitle: `${r.machine.cores} cores; dashed: ${baselineOf(protocol)} (one process, does not shard); dotted: split placement`,
      xLabel: 'cairn shards',
      yLabel: 'requests per second',
      xTicks: Array.from({ length: r.machine.cores }, (_, i) => i + 1),
      series,
    });
  }
  // latency: the base cells (all cores, unpinned, P16, 100 B) of each protocol and op, plus P1 GET
  const latencyCells = r.cells.filter(
    (c) =>
      c.cairn &&
      c.dataset === 'inside' &&
      c.placement === 'unpinned' &&
      c.valueSize === 100 &&
      c.shards === r.machine.cores &&
      (c.pipeline === 16 || (c.pipeline === 1 && c.op === 'get')),
  );
  const groups: BarGroup[] = [];
  for (const c of latencyCells) {
    for (const m of [c.cairn, c.baseline]) {
      if (!m) continue;
      groups.push({ label: `${m.target} ${protoName[c.protocol]} ${opName[c.op]} P${c.pipeline}`, values: [m.p50Ms, m.p99Ms, m.p999Ms, m.maxMs] });
    }
  }
  if (groups.length) {
    files[`latency${s}.svg`] = barChart({
      title: 'Latency percentiles per target',
      subtitle: `${r.machine.cores} shards, ${r.connections} connections, 100 B values, unpinned`,
      yLabel: 'milliseconds (log scale)',
      bars: ['p50', 'p99', 'p99.9', 'max'],
      groups,
      log: true,
    });
  }
  return files;
}

function writeResults(r: Results): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = r.startedAt.replace(/[:]/g, '-').replace(/\..*$/, '');
  const written: string[] = [];
  const put = (name: string, text: string): void => {
    const file = join(RESULTS, name);
    writeFileSync(file, text);
    written.push(relative(packageRoot, file));
  };
  put(`${stamp}${SUFFIX}.json`, `${JSON.stringify(r, null, 2)}\n`);
  copyFileSync(join(RESULTS, `${stamp}${SUFFIX}.json`), join(RESULTS, `latest${SUFFIX}.json`));
  written.push(relative(packageRoot, join(RESULTS, `latest${SUFFIX}.json`)));
  put(`latest${SUFFIX}.md`, renderMarkdown(r, ''));
  for (const [name, svg] of Object.entries(renderCharts(r))) put(name, svg);
  return written;
}

// ---------------------------------------------------------------- README

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

function rewriteReadme(): void {
  const from = flagValue('--from') ?? join(RESULTS, 'latest.json');
  if (!existsSync(from)) throw new Error(`${from} not found: run \`npm run bench\` first (a full run writes bench/results/latest.json)`);
  const r = JSON.parse(readFileSync(from, 'utf8')) as Results;
  const readmePath = join(packageRoot, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) {
    throw new Error(`README.md has no ${START} … ${END} section: add the two markers where the performance figures belong, then run again`);
  }
  const prefix = `${relative(packageRoot, RESULTS)}/`;
  const body = [
    `<!-- generated by \`npm run bench -- --readme\` from ${relative(packageRoot, from)}; do not edit by hand -->`,
    '',
    renderMarkdown(r, prefix).trimEnd(),
    '',
    `Re-run with \`npm run bench\` (full, about ${Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 60_000)} min here) or \`npm run bench -- --quick\`; raw figures in [${prefix}latest.json](${prefix}latest.json).`,
  ].join('\n');
  writeFileSync(readmePath, `${readme.slice(0, a + START.length)}\n${body}\n${readme.slice(b)}`);
  process.stdout.write(`README.md: performance section rewritten from ${relative(packageRoot, from)}\n`);
}

// ---------------------------------------------------------------- main

let results: Results | null = null;

async function main(): Promise<void> {
  if (README) {
    rewriteReadme();
    return;
  }
  requireProgram('redis-benchmark');
  requireProgram('redis-server');
  requireProgram('memcached');
  if (CORES >= 2) requireProgram('taskset');
  if (!existsSync(join(packageRoot, 'dist', 'src', 'cli.js'))) throw new Error('dist/src/cli.js is missing: run `npm run build` first');

  const matrix = buildMatrix();
  // group cells by the servers they need so each server starts once; inside a server, by value size
  const order = (c: Cell): string =>
    `${c.group === 'dataset' ? 1 : 0}|${c.placement === 'split' ? 1 : 0}|${String(c.shards).padStart(3)}|${String(c.valueSize).padStart(6)}|${c.dataset}`;
  const cells = matrix
    .map((c, i) => ({ c, i }))
    .sort((x, y) => (order(x.c) < order(y.c) ? -1 : order(x.c) > order(y.c) ? 1 : x.i - y.i))
    .map((x) => x.c);
  const baselineSeen = new Set<string>();
  const plan = cells.map((c) => {
    const needed = !baselineSeen.has(baselineKey(c));
    baselineSeen.add(baselineKey(c));
    return plannedSeconds(c, needed);
  });
  const envs = new Set(cells.map(serverEnv)).size;
  const preloads = new Set(cells.filter((c) => c.op !== 'set').map((c) => `${serverEnv(c)}|${c.valueSize}|${c.keyspace}`));
  const preloadSeconds = [...preloads].reduce((a, k) => {
    const [, , , v, n] = k.split('|');
    return a + 3 * Math.max(0.5, (Number(n) * (Number(v) + 100)) / 40e6 + Number(n) / 30_000);
  }, 0);
  plannedTotal = plan.reduce((a, x) => a + x, 0) + envs * 3 + preloadSeconds;
  const measurements = cells.length + baselineSeen.size;
  const machine = await describeMachine();
  out(
    `cairn bench${QUICK ? ' --quick' : ''}: ${cells.length} cells, ${measurements} measured runs of ${SECONDS}s; estimated ${clock(plannedTotal * 1000)} (min:s)`,
  );
  out(`machine: ${machineLine(machine)}`);
  if (machine.loadAvgAtStart > CORES * 0.5)
    out(`warning: load average ${machine.loadAvgAtStart} on ${CORES} cores: other work is running, figures will be noisy`);
  if (DRY) {
    cells.forEach((c, i) => out(`  ${String(i + 1).padStart(3)}. [${c.group}] ${cellLabel(c)} — keys ${c.keyspace}, ${c.generator}`));
    return;
  }

  results = {
    version: 1,
    mode: QUICK ? 'quick' : 'full',
    startedAt: new Date(runStarted).toISOString(),
    finishedAt: '',
    partial: true,
    secondsPerRun: SECONDS,
    connections: CONNECTIONS,
    machine,
    loadAvgAtEnd: 0,
    settings: {
      smallBudgetMB: SMALL_BUDGET_MB,
      datasetValueBytes: DATASET_VALUE,
      maxKeys: MAX_KEYS,
      placements: { unpinned: pinsFor('unpinned').description, split: pinsFor('split').description },
    },
    cells: [],
  };
  const baselineCache = new Map<string, Measurement>();
  try {
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i];
      const label = cellLabel(c);
      progressPrefix = `[cell ${i + 1}/${cells.length}] ${label}`;
      const pins = pinsFor(c.placement);
      const result: CellResult = { ...c, id: `${c.group}:${label}`, label, cairn: null, baseline: null, ratio: null };
      try {
        await ensureServers(c);
        result.cairn = await measure('cairn', c, pins);
        const bk = baselineKey(c);
        let base = baselineCache.get(bk);
        if (!base) {
          base = await measure(baselineOf(c.protocol), c, pins);
          baselineCache.set(bk, base);
        }
        result.baseline = base;
        result.ratio = base.rps > 0 ? Math.round((result.cairn.rps / base.rps) * 1000) / 1000 : null;
        const errs =
          (result.cairn.errors ? ` cairn errors ${result.cairn.errors} (${result.cairn.firstError})` : '') +
          (base.errors ? ` ${base.target} errors ${base.errors} (${base.firstError})` : '');
        out(
          `[${String(i + 1).padStart(3)}/${cells.length}] ${label.padEnd(58)} cairn ${fmtRps(result.cairn.rps).padStart(9)} p99 ${fmtMs(result.cairn.p99Ms).padStart(5)} | ${base.target.padEnd(9)} ${fmtRps(base.rps).padStart(9)} p99 ${fmtMs(base.p99Ms).padStart(5)} | ${fmtRatio(result.ratio)}${hits(result.cairn) ? ` hits ${hits(result.cairn)} / ${hits(base)}` : ''}${errs}`,
        );
      } catch (err) {
        result.error = err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err);
        out(`[${String(i + 1).padStart(3)}/${cells.length}] ${label} FAILED: ${result.error}`);
        // a failed cell may have left a server in a bad state: start afresh for the next one
        await stopServers();
      }
      results.cells.push(result);
      plannedDone += plan[i];
    }
  } finally {
    progressStatus = 'stopping servers';
    await stopServers();
  }
  results.partial = false;
  finish(results);
}

function finish(r: Results): void {
  r.finishedAt = new Date().toISOString();
  r.loadAvgAtEnd = Math.round(loadavg()[0] * 100) / 100;
  const written = writeResults(r);
  out('');
  out(
    renderMarkdown(r, '')
      .split('\n')
      .filter((l) => l.startsWith('- **'))
      .join('\n'),
  );
  out('');
  out(`wrote ${written.join(', ')}`);
  out(`total ${clock(Date.now() - runStarted)}`);
}

function cleanupSync(): void {
  killAllDaemonsSync();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  dataDirs.clear();
}

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (isTty) process.stderr.write('\n');
    process.stderr.write(`bench: ${sig}: stopping every server and load generator\n`);
    cleanupSync();
    if (results?.cells.length) {
      try {
        finish(results);
      } catch {
        /* best effort */
      }
    }
    process.exit(130);
  });
}

// a hard limit on the whole run, whatever hangs
const HARD_LIMIT_MS = Number(flagValue('--timeout-min') ?? (QUICK ? 6 : 40)) * 60_000;
setTimeout(() => {
  process.stderr.write(`\nbench: still running after ${clock(HARD_LIMIT_MS)}; stopping everything\n`);
  cleanupSync();
  if (results?.cells.length) finish(results);
  process.exit(2);
}, HARD_LIMIT_MS).unref();

let ticker: NodeJS.Timeout | undefined;
if (isTty && !README) ticker = setInterval(() => progressPrefix && drawStatus(), 500);

main().then(
  () => {
    if (ticker) clearInterval(ticker);
    process.exit(0);
  },
  (err: unknown) => {
    if (ticker) clearInterval(ticker);
    process.stderr.write(`\nbench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    cleanupSync();
    process.exit(1);
  },
);
