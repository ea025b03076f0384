/**
 * Key-value load generator for RESP and the memcached text protocol: N connections spread over
 * worker threads, pipelined GET / SET / mixed requests (getRatio 0.9 = the 90:10 mix that
 * redis-benchmark cannot do) over a uniform random key space, for a fixed time; or a preload that
 * writes every key once. Latency per request is the time from writing its pipelined batch to the
 * batch's last reply (as redis-benchmark measures pipelines), in HDR histograms.
 *
 * kvLoad() runs in this process; kvLoadProcess() runs it in a child process (kv-load-main.js),
 * optionally under a command prefix such as `taskset -c 1`, so the load can be pinned apart from
 * the server without pinning the caller.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import hdr from 'hdr-histogram-js';
import type { KvProtocol, KvWorkerJob, KvWorkerReport } from './kv-load-worker.js';
import { requireProgram, run } from './procs.js';

export type { KvProtocol } from './kv-load-worker.js';

export interface KvLoadOptions {
  port: number;
  host?: string;
  protocol: KvProtocol;
  /** share of GETs: 1 GET only, 0 SET only, 0.9 the 90:10 mix */
  getRatio: number;
  connections?: number;
  threads?: number;
  pipeline?: number;
  valueSize?: number;
  keyspace?: number;
  durationMs?: number;
  /** write every key in [0, keyspace) once instead of a timed run */
  preload?: boolean;
  /** hard limit on the whole run; the workers are terminated past it */
  timeoutMs?: number;
}

export interface KvLoadResult {
  requests: number;
  gets: number;
  sets: number;
  rps: number;
  hits: number;
  misses: number;
  errors: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  firstError?: string;
}

export async function kvLoad(o: KvLoadOptions): Promise<KvLoadResult> {
  const connections = o.connections ?? 50;
  const threads = Math.max(1, Math.min(o.threads ?? 2, connections));
  const durationMs = o.durationMs ?? 5_000;
  const keyspace = o.keyspace ?? 100_000;
  const workerUrl = new URL('./kv-load-worker.js', import.meta.url);
  const workers: Worker[] = [];
  const reports: Promise<KvWorkerReport>[] = [];
  for (let t = 0; t < threads; t++) {
    const share = Math.floor(connections / threads) + (t < connections % threads ? 1 : 0);
    const from = Math.floor((keyspace * t) / threads);
    const to = Math.floor((keyspace * (t + 1)) / threads);
    const job: KvWorkerJob = {
      host: o.host ?? '127.0.0.1',
      port: o.port,
      protocol: o.protocol,
      connections: share,
      getRatio: o.getRatio,
      pipeline: o.pipeline ?? 16,
      valueSize: o.valueSize ?? 100,
      keyspace,
      durationMs,
      seed: 0x9e3779b9 ^ Math.imul(t + 1, 2654435761),
      preload: o.preload ? { from, to } : undefined,
    };
    const w = new Worker(workerUrl, { workerData: job });
    workers.push(w);
    reports.push(
      new Promise((resolve, reject) => {
        w.once('message', (m: KvWorkerReport) => resolve(m));
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`load worker exited with ${code} before reporting`)));
      }),
    );
  }
  const limitMs = o.timeoutMs ?? durationMs + 30_000;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${o.protocol} load did not finish within ${limitMs} ms`)), limitMs);
  });
  try {
    const done = await Promise.race([Promise.all(reports), limit]);
    const hist = hdr.decodeFromCompressedBase64(done[0].histogram);
    for (const r of done.slice(1)) {
      const h = hdr.decodeFromCompressedBase64(r.histogram);
      hist.add(h);
      h.destroy();
    }
    const requests = done.reduce((a, r) => a + r.requests, 0);
    const elapsedMs = Math.max(...done.map((r) => r.elapsedMs));
    const result: KvLoadResult = {
      requests,
      gets: done.reduce((a, r) => a + r.gets, 0),
      sets: done.reduce((a, r) => a + r.sets, 0),
      rps: elapsedMs > 0 ? requests / (elapsedMs / 1000) : 0,
      hits: done.reduce((a, r) => a + r.hits, 0),
      misses: done.reduce((a, r) => a + r.misses, 0),
      errors: done.reduce((a, r) => a + r.errors, 0),
      elapsedMs,
      p50Ms: hist.getValueAtPercentile(50) / 1000,
      p99Ms: hist.getValueAtPercentile(99) / 1000,
      p999Ms: hist.getValueAtPercentile(99.9) / 1000,
      maxMs: hist.maxValue / 1000,
      meanMs: hist.mean / 1000,
      firstError: done.find((r) => r.firstError)?.firstError,
    };
    hist.destroy();
    return result;
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * kvLoad in a child process (bounded by the same time limit plus a margin), optionally under a
 * command prefix such as ['taskset', '-c', '1'].
 */
export async function kvLoadProcess(o: KvLoadOptions, wrap: string[] = []): Promise<KvLoadResult> {
  const main = fileURLToPath(new URL('./kv-load-main.js', import.meta.url));
  const limitMs = (o.timeoutMs ?? (o.durationMs ?? 5_000) + 30_000) + 10_000;
  const args = [main, JSON.stringify(o)];
  const r = wrap.length
    ? await run(requireProgram(wrap[0]), [...wrap.slice(1), process.execPath, ...args], { timeoutMs: limitMs })
    : await run(process.execPath, args, { timeoutMs: limitMs });
  if (r.timedOut) throw new Error(`${o.protocol} load process killed after ${limitMs} ms`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) {
    throw new Error(`${o.protocol} load process exited ${r.code}: ${r.stderr.slice(-2000) || r.stdout.slice(-2000)}`);
  }
  return JSON.parse(last) as KvLoadResult;
}
