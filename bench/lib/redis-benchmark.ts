/**
 * Runs redis-benchmark and parses its output: `--csv` (Redis 7 prints rps and latency percentiles,
 * p99 included), `-q` ("SET: 123.45 requests per second, p50=0.1 msec") or the full report
 * (`format: 'full'`: the summary plus its HDR percentile distribution, which gives p99.9).
 */
import { requireProgram, run } from './procs.js';

export interface BenchRow {
  test: string;
  rps: number;
  avgMs?: number;
  minMs?: number;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  /** only from the full report: the first percentile step at or past 99.9 % (an upper bound) */
  p999Ms?: number;
  maxMs?: number;
}

export interface RedisBenchmarkOptions {
  port: number;
  host?: string;
  tests?: string[];
  requests: number;
  clients?: number;
  dataSize?: number;
  pipeline?: number;
  /** -r: random keys in [0, keyspace) (without it every command uses the same key) */
  keyspace?: number;
  password?: string;
  format?: 'csv' | 'quiet' | 'full';
  timeoutMs?: number;
  extraArgs?: string[];
  /** a command prefix such as ['taskset', '-c', '1'] */
  wrap?: string[];
}

export interface RedisBenchmarkResult {
  rows: BenchRow[];
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
  /** the command line, for reports */
  command: string;
}

function unquote(s: string): string {
  s = s.trim();
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Parses redis-benchmark --csv output (the header line names the columns). */
export function parseCsv(text: string): BenchRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().startsWith('"'));
  let header: string[] | null = null;
  const rows: BenchRow[] = [];
  for (const line of lines) {
    const cells = line.split(',').map(unquote);
    if (cells[0] === 'test') {
      header = cells;
      continue;
    }
    const get = (name: string, index: number): number | undefined => {
      const i = header ? header.indexOf(name) : index;
      if (i < 0 || i >= cells.length) return undefined;
      const v = Number(cells[i]);
      return Number.isFinite(v) ? v : undefined;
    };
    const rps = get('rps', 1);
    if (rps === undefined) continue;
    rows.push({
      test: cells[0],
      rps,
      avgMs: get('avg_latency_ms', 2),
      minMs: get('min_latency_ms', 3),
      p50Ms: get('p50_latency_ms', 4),
      p95Ms: get('p95_latency_ms', 5),
      p99Ms: get('p99_latency_ms', 6),
      maxMs: get('max_latency_ms', 7),
    });
  }
  return rows;
}

/** Parses redis-benchmark -q output; the live progress lines (separated by CR) are skipped. */
export function parseQuiet(text: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const piece of text.split(/[\r\n]+/)) {
    const m = /^\s*([A-Za-z0-9_ :.()-]+?):\s+([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/.exec(piece);
    if (!m) continue;
    rows.push({ test: m[1].trim(), rps: Number(m[2]), p50Ms: m[3] !== undefined ? Number(m[3]) : undefined });
  }
  return rows;
}

/**
 * Parses redis-benchmark's full report (Redis 7): one "====== TEST ======" block per test with
 * "Latency by percentile distribution" lines ("99.902% <= 2.047 milliseconds ...") and a summary
 * ("throughput summary: N requests per second" and "avg min p50 p95 p99 max").
 */
export function parseFull(text: string): BenchRow[] {
  const rows: BenchRow[] = [];
  const clean = text
    .split('\r')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal escape sequences of redis-benchmark's progress lines
    .map((l) => l.replace(/^.*\x1b\[[0-9;]*[A-Za-z]/, ''))
    .join('\n');
  const blocks = clean.split(/^====== (.+?) ======\s*$/m);
  // blocks: [before, name1, body1, name2, body2, ...]
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const test = blocks[i].trim();
    const body = blocks[i + 1];
    const rps = /throughput summary:\s*([\d.]+) requests per second/.exec(body);
    if (!rps) continue;
    const row: BenchRow = { test, rps: Number(rps[1]) };
    const lat = /avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)/.exec(body);
    if (lat) {
      [row.avgMs, row.minMs, row.p50Ms, row.p95Ms, row.p99Ms, row.maxMs] = lat.slice(1, 7).map(Number);
    }
    const dist = body.split(/Latency by percentile distribution:/)[1]?.split(/Cumulative distribution/)[0] ?? '';
    for (const m of dist.matchAll(/([\d.]+)% <= ([\d.]+) milliseconds/g)) {
      if (Number(m[1]) >= 99.9) {
        row.p999Ms = Number(m[2]);
        break;
      }
    }
    rows.push(row);
  }
  return rows;
}

export async function redisBenchmark(o: RedisBenchmarkOptions): Promise<RedisBenchmarkResult> {
  const bin = requireProgram('redis-benchmark');
  const args = ['-h', o.host ?? '127.0.0.1', '-p', String(o.port), '-n', String(o.requests), '-c', String(o.clients ?? 50)];
  if (o.tests?.length) args.push('-t', o.tests.join(','));
  if (o.dataSize !== undefined) args.push('-d', String(o.dataSize));
  if (o.pipeline !== undefined && o.pipeline > 1) args.push('-P', String(o.pipeline));
  if (o.keyspace !== undefined) args.push('-r', String(o.keyspace));
  if (o.password !== undefined) args.push('-a', o.password);
  if (o.format === 'quiet') args.push('-q');
  else if (o.format !== 'full') args.push('--csv');
  args.push(...(o.extraArgs ?? []));
  const wrap = o.wrap ?? [];
  const r = wrap.length
    ? await run(requireProgram(wrap[0]), [...wrap.slice(1), bin, ...args], { timeoutMs: o.timeoutMs ?? 120_000 })
    : await run(bin, args, { timeoutMs: o.timeoutMs ?? 120_000 });
  const rows = o.format === 'quiet' ? parseQuiet(r.stdout) : o.format === 'full' ? parseFull(r.stdout) : parseCsv(r.stdout);
  const prefix = wrap.length ? `${wrap.join(' ')} ` : '';
  return { rows, stdout: r.stdout, stderr: r.stderr, code: r.code, timedOut: r.timedOut, command: `${prefix}redis-benchmark ${args.join(' ')}` };
}

/**
 * The rate of one redis-benchmark test run for about `seconds`: a short probe of `probeRequests`
 * sizes the run. Throws when either run fails or reports no rate.
 */
export async function rateFor(seconds: number, probeRequests: number, o: Omit<RedisBenchmarkOptions, 'requests'>): Promise<number> {
  const measure = async (requests: number): Promise<number> => {
    const r = await redisBenchmark({ ...o, requests });
    const rps = r.rows[0]?.rps ?? 0;
    if (r.code !== 0 || rps === 0) throw new Error(`redis-benchmark failed: ${r.stderr || r.stdout}`);
    return rps;
  };
  const probe = await measure(probeRequests);
  return measure(Math.max(probeRequests, Math.round(probe * seconds)));
}
