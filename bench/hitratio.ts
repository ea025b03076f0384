/**
 * npm run bench:hitratio [-- --quick] [-- --policies=lru,sieve] [-- --workloads=zipf0.99,scan] [-- --chart-only]
 *
 * Trace-driven hit-ratio simulation through the real shard engine: each request is a get, and a
 * miss is followed by a set of the key (a cache in front of a slower store). Four workloads (Zipf
 * 0.99, Zipf 0.8, Zipf with periodic scans of cold keys, a loop), cache sizes from 0.1% to 50% of
 * the trace's distinct keys (the byte budget is what the engine accounts for that many entries),
 * every eviction policy (the loop also at 70% and 90%). Every request counts, cold misses included
 * (as libCacheSim reports). A run limited with --policies / --workloads merges into the last results.
 *
 * Writes bench/results/hitratio.json and docs/hitratio.svg (miss ratio against cache size, log x,
 * one panel per workload, one line per policy); --quick writes hitratio-quick.json / -quick.svg so
 * that it never replaces the full run's chart. Each (workload, policy) pair runs in a child
 * process, two at a time. Readable lines first; the last line is one JSON object: the miss ratio per
 * policy per workload at 1% and 10% cache sizes.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, EVICTION_POLICIES, type EvictionName } from '../src/engine/index.js';
import { loopTrace, scanTrace, zipfTrace, type Trace } from './lib/trace.js';

const FRACTIONS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
/** the loop also runs at 70% and 90%, where it is only slightly larger than the cache. */
const fractionsFor = (w: Workload): number[] => (w === 'loop' ? [...FRACTIONS, 0.7, 0.9] : FRACTIONS);
const KEY_BYTES = 12;
const VALUE_BYTES = 32;
const WORKLOADS = ['zipf0.99', 'zipf0.8', 'scan', 'loop'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Point {
  fraction: number;
  items: number;
  budget: number;
  missRatio: number;
  /** entries held at the end of the run (the budget's real capacity under this policy). */
  held: number;
}
interface JobResult {
  workload: Workload;
  policy: EvictionName;
  distinct: number;
  requests: number;
  description: string;
  points: Point[];
  ms: number;
}

function makeTrace(w: Workload, quick: boolean): Trace {
  const requests = quick ? 300_000 : 1_000_000;
  const keys = quick ? 20_000 : 100_000;
  switch (w) {
    case 'zipf0.99':
      return zipfTrace(requests, keys, 0.99, 1);
    case 'zipf0.8':
      return zipfTrace(requests, keys, 0.8, 2);
    case 'scan':
      return scanTrace(requests, keys, keys / 5, keys / 20, keys / 2, 3);
    case 'loop':
      return loopTrace(requests, keys, 4);
  }
}

/** key id as KEY_BYTES ASCII bytes "k:0000000042" written into dst. */
function keyBytes(id: number, dst: Buffer): Buffer {
  dst[0] = 0x6b;
  dst[1] = 0x3a;
  let x = id;
  for (let j = KEY_BYTES - 1; j >= 2; j--) {
    dst[j] = 48 + (x % 10);
    x = Math.floor(x / 10);
  }
  return dst;
}

/** the budget the engine accounts for `items` entries of this shape (table, arena, bookkeeping). */
function budgetFor(items: number): number {
  const e = new Engine({ maxMemory: 1 << 30 });
  const key = Buffer.alloc(KEY_BYTES);
  const value = Buffer.alloc(VALUE_BYTES, 0x76);
  for (let i = 0; i < items; i++) e.set(keyBytes(i, key), value);
  return e.bytesUsed;
}

function replay(trace: Trace, policy: EvictionName, budget: number): { misses: number; held: number } {
  let now = 1_700_000_000_000;
  const e = new Engine({ maxMemory: budget, eviction: policy, clock: () => now, maxValueSize: 1024 });
  const key = Buffer.alloc(KEY_BYTES);
  const value = Buffer.alloc(VALUE_BYTES, 0x76);
  const ids = trace.ids;
  let misses = 0;
  for (let i = 0; i < ids.length; i++) {
    now += 0.01; // 100,000 requests a second, for LFU's decay clock
    keyBytes(ids[i], key);
    if (e.find(key) < 0) {
      misses++;
      e.set(key, value);
    }
  }
  return { misses, held: e.count };
}

function runJob(workload: Workload, policy: EvictionName, quick: boolean): JobResult {
  const t0 = performance.now();
  const trace = makeTrace(workload, quick);
  const points: Point[] = [];
  for (const fraction of fractionsFor(workload)) {
    const items = Math.max(4, Math.round(trace.distinct * fraction));
    const budget = budgetFor(items);
    const { misses, held } = replay(trace, policy, budget);
    points.push({ fraction, items, budget, missRatio: misses / trace.ids.length, held });
  }
  return {
    workload,
    policy,
    distinct: trace.distinct,
    requests: trace.ids.length,
    description: trace.description,
    points,
    ms: Math.round(performance.now() - t0),
  };
}

function runChild(workload: Workload, policy: EvictionName, quick: boolean): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const args = ['--child', workload, policy, ...(quick ? ['--quick'] : [])];
    const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${workload}/${policy} child exited with ${code}`));
      const lines = out.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]) as JobResult);
    });
  });
}

// ------------------------------------------------------------------ chart

const COLORS: Record<EvictionName, string> = {
  lru: '#1f77b4',
  lfu: '#9467bd',
  fifo: '#7f7f7f',
  random: '#bcbd22',
  ttl: '#8c564b',
  sieve: '#d62728',
  s3fifo: '#2ca02c',
};
const DASH: Record<EvictionName, string> = { lru: '', lfu: '6 3', fifo: '2 3', random: '2 3', ttl: '6 3', sieve: '', s3fifo: '' };

function svgChart(results: JobResult[], command: string): string {
  const workloads = [...new Set(results.map((r) => r.workload))];
  const policies = [...new Set(results.map((r) => r.policy))];
  const pw = 420;
  const ph = 280;
  const m = { l: 56, r: 16, t: 34, b: 44 };
  const cols = 2;
  const rows = Math.ceil(workloads.length / cols);
  const W = cols * pw;
  const H = rows * ph + 70;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  workloads.forEach((w, wi) => {
    const ox = (wi % cols) * pw;
    const oy = Math.floor(wi / cols) * ph;
    const rs = results.filter((r) => r.workload === w);
    const fr = rs[0].points.map((p) => p.fraction);
    const xMin = Math.log10(fr[0]);
    const xMax = Math.log10(fr[fr.length - 1]);
    const all = rs.flatMap((r) => r.points.map((p) => p.missRatio));
    const yMin = Math.max(0, Math.floor(Math.min(...all) * 10) / 10);
    const yMax = Math.min(1, Math.ceil(Math.max(...all) * 10) / 10 + (Math.max(...all) >= 0.999 ? 0.02 : 0));
    const iw = pw - m.l - m.r;
    const ih = ph - m.t - m.b;
    const X = (f: number): number => ox + m.l + ((Math.log10(f) - xMin) / (xMax - xMin)) * iw;
    const Y = (v: number): number => oy + m.t + (1 - (v - yMin) / (yMax - yMin || 1)) * ih;
    out.push(`<text x="${ox + m.l}" y="${oy + 20}" font-size="13" font-weight="bold">${esc(rs[0].description)}</text>`);
    out.push(`<rect x="${ox + m.l}" y="${oy + m.t}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`);
    let lastLabel = -Infinity;
    for (const f of fr) {
      const x = X(f).toFixed(1);
      out.push(`<line x1="${x}" x2="${x}" y1="${oy + m.t}" y2="${oy + m.t + ih}" stroke="#eee"/>`);
      if (X(f) - lastLabel < 26) continue;
      lastLabel = X(f);
      out.push(`<text x="${x}" y="${oy + m.t + ih + 14}" text-anchor="middle">${+(f * 100).toFixed(1)}%</text>`);
    }
    const step = (yMax - yMin) / 5;
    for (let k = 0; k <= 5; k++) {
      const v = yMin + k * step;
      const y = Y(v).toFixed(1);
      out.push(`<line x1="${ox + m.l}" x2="${ox + m.l + iw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      out.push(`<text x="${ox + m.l - 6}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`);
    }
    out.push(`<text x="${ox + m.l + iw / 2}" y="${oy + ph - 10}" text-anchor="middle">cache size (% of distinct keys, log scale)</text>`);
    out.push(`<text transform="translate(${ox + 14} ${oy + m.t + ih / 2}) rotate(-90)" text-anchor="middle">miss ratio</text>`);
    for (const r of rs) {
      const pts = r.points.map((p) => `${X(p.fraction).toFixed(1)},${Y(p.missRatio).toFixed(1)}`).join(' ');
      const dash = DASH[r.policy] ? ` stroke-dasharray="${DASH[r.policy]}"` : '';
      out.push(`<polyline points="${pts}" fill="none" stroke="${COLORS[r.policy]}" stroke-width="2"${dash}/>`);
    }
  });
  const ly = rows * ph + 16;
  policies.forEach((p, i) => {
    const x = 20 + i * ((W - 40) / policies.length);
    const dash = DASH[p] ? ` stroke-dasharray="${DASH[p]}"` : '';
    out.push(`<line x1="${x}" x2="${x + 26}" y1="${ly}" y2="${ly}" stroke="${COLORS[p]}" stroke-width="3"${dash}/>`);
    out.push(`<text x="${x + 32}" y="${ly + 4}" font-size="12">${p}</text>`);
  });
  out.push(
    `<text x="20" y="${ly + 28}" fill="#555">${esc(command)}; every request counted, cold misses included; ttl is lru when no key has a TTL; ${esc(new Date().toISOString().slice(0, 10))}</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// ------------------------------------------------------------------ main

function arg(name: string): string | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--chart-only')) {
    // redraw docs/hitratio.svg from the last results
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const last = JSON.parse(readFileSync(join(root, 'bench', 'results', 'hitratio.json'), 'utf8')) as { command: string; results: JobResult[] };
    writeFileSync(join(root, 'docs', 'hitratio.svg'), svgChart(last.results, last.command));
    return;
  }
  const ci = process.argv.indexOf('--child');
  if (ci >= 0) {
    const r = runJob(process.argv[ci + 1] as Workload, process.argv[ci + 2] as EvictionName, quick);
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const policies = (arg('policies')?.split(',') ?? [...EVICTION_POLICIES]) as EvictionName[];
  const workloads = (arg('workloads')?.split(',') ?? [...WORKLOADS]) as Workload[];
  for (const p of policies) if (!(EVICTION_POLICIES as readonly string[]).includes(p)) throw new Error(`unknown policy ${p}`);
  for (const w of workloads) if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`unknown workload ${w}`);
  const jobs = workloads.flatMap((w) => policies.map((p) => [w, p] as const));
  const parallel = Math.max(1, Math.min(2, availableParallelism()));
  console.log(
    `cairn hit-ratio: ${workloads.length} workloads x ${policies.length} policies x ${FRACTIONS.length} cache sizes` +
      `${quick ? ' (quick)' : ''}, ${parallel} at a time, node ${process.version}`,
  );
  const results: JobResult[] = [];
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const tty = process.stderr.isTTY;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const [w, p] = jobs[next++];
      const r = await runChild(w, p, quick);
      results.push(r);
      done++;
      const secs = ((performance.now() - t0) / 1000).toFixed(0);
      const msg = `[${done}/${jobs.length}] ${w} ${p}: ${(r.ms / 1000).toFixed(1)} s (${secs} s elapsed)`;
      if (tty) process.stderr.write(`\r${msg.padEnd(70)}${done === jobs.length ? '\n' : ''}`);
      else process.stderr.write(msg + '\n');
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  // stable order: as requested
  results.sort((a, b) => jobs.findIndex(([w, p]) => w === a.workload && p === a.policy) - jobs.findIndex(([w, p]) => w === b.workload && p === b.policy));

  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const suffix = quick ? '-quick' : ''; // a quick run never overwrites the full run's chart
  const jsonPath = join(root, 'bench', 'results', `hitratio${suffix}.json`);
  const partial = arg('policies') !== undefined || arg('workloads') !== undefined;
  if (partial && existsSync(jsonPath)) {
    // a partial run replaces its own pairs in the last results of the same mode and keeps the rest
    const old = JSON.parse(readFileSync(jsonPath, 'utf8')) as { quick?: boolean; results: JobResult[] };
    if (old.quick === quick) {
      for (const r of old.results) if (!results.some((x) => x.workload === r.workload && x.policy === r.policy)) results.push(r);
      const order = (r: JobResult): number => WORKLOADS.indexOf(r.workload) * 100 + EVICTION_POLICIES.indexOf(r.policy);
      results.sort((a, b) => order(a) - order(b));
    }
  }
  const allWorkloads = WORKLOADS.filter((w) => results.some((r) => r.workload === w));
  const summary: Record<string, Record<string, Record<string, number>>> = {};
  for (const w of allWorkloads) {
    const rs = results.filter((r) => r.workload === w);
    console.log(`\n${rs[0].description}: ${rs[0].requests.toLocaleString('en-US')} requests, ${rs[0].distinct.toLocaleString('en-US')} distinct keys`);
    console.log(`  ${'size'.padEnd(8)}${rs.map((r) => r.policy.padStart(8)).join('')}`);
    rs[0].points.forEach(({ fraction: f }, i) => {
      console.log(`  ${(f * 100 + '%').padEnd(8)}${rs.map((r) => r.points[i].missRatio.toFixed(4).padStart(8)).join('')}`);
    });
    summary[w] = {};
    for (const r of rs) {
      const at = (f: number): number => Math.round(r.points.find((p) => p.fraction === f)!.missRatio * 10000) / 10000;
      summary[w][r.policy] = { '1%': at(0.01), '10%': at(0.1) };
    }
  }
  const z = summary['zipf0.99'];
  if (z?.lru) {
    for (const p of ['sieve', 's3fifo'] as const) {
      if (!z[p]) continue;
      const ok = z[p]['1%'] < z.lru['1%'] && z[p]['10%'] < z.lru['10%'];
      console.log(`target: ${p} miss ratio below lru on Zipf 0.99 at 1% and 10%: ${ok ? 'met' : 'MISSED'}`);
    }
  }
  const command = `npm run bench:hitratio${quick ? ' -- --quick' : ''}`;
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(
    jsonPath,
    JSON.stringify(
      { command, quick, date: new Date().toISOString(), node: process.version, keyBytes: KEY_BYTES, valueBytes: VALUE_BYTES, results, summary },
      null,
      1,
    ) + '\n',
  );
  writeFileSync(join(root, 'docs', `hitratio${suffix}.svg`), svgChart(results, command));
  console.log(`\nwrote bench/results/hitratio${suffix}.json and docs/hitratio${suffix}.svg in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
