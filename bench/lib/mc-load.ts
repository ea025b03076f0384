/**
 * memcached text-protocol load generator: N connections spread over worker threads, 100-byte values,
 * pipelined `set` or `get` over a random key space, for a fixed time. Latency per request is the time
 * from writing its pipelined batch to the batch's last reply (as redis-benchmark measures pipelines).
 */
import { Worker } from 'node:worker_threads';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import type { WorkerJob, WorkerReport } from './mc-load-worker.js';

export interface McLoadOptions {
  port: number;
  host?: string;
  op: 'set' | 'get';
  connections?: number;
  threads?: number;
  pipeline?: number;
  valueSize?: number;
  keyspace?: number;
  durationMs?: number;
  /** hard limit on the whole run; the workers are terminated past it */
  timeoutMs?: number;
}

export interface McLoadResult {
  op: 'set' | 'get';
  requests: number;
  rps: number;
  errors: number;
  hits: number;
  misses: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  firstError?: string;
}

export async function mcLoad(o: McLoadOptions): Promise<McLoadResult> {
  const connections = o.connections ?? 50;
  const threads = Math.max(1, Math.min(o.threads ?? 2, connections));
  const durationMs = o.durationMs ?? 5_000;
  const workerUrl = new URL('./mc-load-worker.js', import.meta.url);
  const workers: Worker[] = [];
  const reports: Promise<WorkerReport>[] = [];
  for (let t = 0; t < threads; t++) {
    const share = Math.floor(connections / threads) + (t < connections % threads ? 1 : 0);
    const job: WorkerJob = {
      host: o.host ?? '127.0.0.1',
      port: o.port,
      connections: share,
      op: o.op,
      pipeline: o.pipeline ?? 16,
      valueSize: o.valueSize ?? 100,
      keyspace: o.keyspace ?? 100_000,
      durationMs,
      seed: 0x9e3779b9 ^ ((t + 1) * 2654435761),
    };
    const w = new Worker(workerUrl, { workerData: job });
    workers.push(w);
    reports.push(
      new Promise((resolve, reject) => {
        w.once('message', (m: WorkerReport) => resolve(m));
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`load worker exited with ${code} before reporting`)));
      }),
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`memcached load (${o.op}) did not finish within ${o.timeoutMs ?? durationMs + 30_000} ms`)), o.timeoutMs ?? durationMs + 30_000);
  });
  try {
    const done = await Promise.race([Promise.all(reports), limit]);
    const hist = decodeFromCompressedBase64(done[0].histogram);
    for (const r of done.slice(1)) hist.add(decodeFromCompressedBase64(r.histogram));
    const requests = done.reduce((a, r) => a + r.requests, 0);
    const elapsed = Math.max(...done.map((r) => r.elapsedMs));
    return {
      op: o.op,
      requests,
      rps: requests / (elapsed / 1000),
      errors: done.reduce((a, r) => a + r.errors, 0),
      hits: done.reduce((a, r) => a + r.hits, 0),
      misses: done.reduce((a, r) => a + r.misses, 0),
      p50Ms: hist.getValueAtPercentile(50) / 1000,
      p99Ms: hist.getValueAtPercentile(99) / 1000,
      maxMs: hist.maxValue / 1000,
      meanMs: hist.mean / 1000,
      firstError: done.find((r) => r.firstError)?.firstError,
    };
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
