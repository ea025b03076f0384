/**
 * A piscina task for `npm run bench:native` and `npm run bench:ws`: drive one cairn server through
 * the SDK over TCP (native port) or WebSocket (gateway) with many connections for a fixed time, and
 * report what it did. Load runs in worker threads so the generator's own event loop is not the one
 * timing the replies, and piscina keeps the pool warm between runs.
 */
import hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { CairnClient, tcpTransport, webSocketTransport, type WebSocketConstructor } from '../src/client/index.js';

export interface LoadTask {
  transport: 'tcp' | 'ws';
  port: number;
  connections: number;
  depth: number;
  op: 'get' | 'set';
  valueSize: number;
  keyspace: number;
  durationMs: number;
}

export interface LoadResult {
  ops: number;
  errors: number;
  elapsedMs: number;
  /** HDR histogram of per-request latency in microseconds, compressed */
  histogram: string;
}

export default async function run(task: LoadTask): Promise<LoadResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const transport = task.transport === 'ws' ? webSocketTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor }) : tcpTransport();
  const clients = Array.from({ length: task.connections }, () => new CairnClient({ port: task.port, reconnect: false, transport }));
  await Promise.all(clients.map((c) => c.connect()));
  const value = Buffer.alloc(task.valueSize, 0x61);
  const keys = Array.from({ length: task.keyspace }, (_, i) => `key:${String(i).padStart(12, '0')}`);
  let ops = 0;
  let errors = 0;
  let running = true;
  const start = performance.now();
  const stopAt = start + task.durationMs;
  let seed = 12345;
  const nextKey = (): string => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return keys[seed % keys.length];
  };
  const one = async (c: CairnClient): Promise<void> => {
    const t0 = performance.now();
    try {
      if (task.op === 'get') await c.get(nextKey());
      else await c.set(nextKey(), value);
      ops++;
    } catch {
      errors++;
    }
    histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
  };
  const loop = async (c: CairnClient): Promise<void> => {
    const batch: Promise<void>[] = new Array(task.depth);
    while (running) {
      for (let i = 0; i < task.depth; i++) batch[i] = one(c);
      await Promise.all(batch);
      if (performance.now() >= stopAt) running = false;
    }
  };
  await Promise.all(clients.map(loop));
  const elapsedMs = performance.now() - start;
  await Promise.all(clients.map((c) => c.close()));
  const encoded = hdr.encodeIntoCompressedBase64(histogram);
  histogram.destroy();
  return { ops, errors, elapsedMs, histogram: encoded };
}

export interface LoadSummary {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
}

/**
 * On the main thread: split the connections of one load over `threads` tasks of a piscina pool
 * running this file, and merge what they measured (their HDR histograms included).
 */
export async function runLoad(pool: { run(task: LoadTask): Promise<LoadResult> }, task: LoadTask, threads: number): Promise<LoadSummary> {
  const results = await Promise.all(Array.from({ length: threads }, () => pool.run({ ...task, connections: task.connections / threads })));
  const merged = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let ops = 0;
  let errors = 0;
  let elapsed = 0;
  for (const r of results) {
    const h = hdr.decodeFromCompressedBase64(r.histogram);
    merged.add(h);
    h.destroy();
    ops += r.ops;
    errors += r.errors;
    elapsed = Math.max(elapsed, r.elapsedMs);
  }
  const summary: LoadSummary = {
    opsPerSec: (ops / elapsed) * 1000,
    p50Ms: merged.getValueAtPercentile(50) / 1000,
    p99Ms: merged.getValueAtPercentile(99) / 1000,
    p999Ms: merged.getValueAtPercentile(99.9) / 1000,
    errors,
  };
  merged.destroy();
  return summary;
}
