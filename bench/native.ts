/**
 * `npm run bench:native`: GET and SET through the TypeScript SDK against cairn's native port, 50
 * connections at pipeline depths 1 and 16, 100-byte values, for every shard count from 1 to the core
 * count; and redis-benchmark against redis-server with the same connections, depths and value size,
 * in the same run, for scale. The last line printed is one JSON object.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { packageRoot } from '../src/paths.js';
import { startCairn, startRedisServer, stopAllDaemons } from './lib/procs.js';
import { redisBenchmark } from './lib/redis-benchmark.js';
import { runLoad, type LoadTask } from './sdk-load.js';

const quick = process.argv.includes('--quick');
const durationMs = quick ? 1500 : 5000;
const connections = 50;
const depths = [1, 16];
const valueSize = 100;
const keyspace = 100_000;
const cores = availableParallelism();

interface Row {
  target: string;
  shards: number | null;
  depth: number;
  op: 'get' | 'set';
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
}

const rows: Row[] = [];
const log = (line: string): void => console.log(line);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function nativeRun(pool: Piscina, port: number, shards: number, depth: number, op: 'get' | 'set'): Promise<Row> {
  // Two load threads share the connections, so the generator is not capped at one core's worth of SDK work.
  const task: LoadTask = { transport: 'tcp', port, connections, depth, op, valueSize, keyspace, durationMs };
  const s = await runLoad(pool, task, 2);
  return { target: 'cairn-native', shards, depth, op, ...s };
}

async function main(): Promise<void> {
  const pool = new Piscina({ filename: fileURLToPath(new URL('./sdk-load.js', import.meta.url)), minThreads: 2, maxThreads: 2 });
  const shardCounts = Array.from({ length: cores }, (_, i) => i + 1);
  const total = shardCounts.length * depths.length * 2 + depths.length;
  let step = 0;
  const progress = (what: string): void => log(`[${++step}/${total}] ${what}`);
  try {
    for (const shards of shardCounts) {
      const cairn = await startCairn({ root: packageRoot, shards, maxMemory: '1gb', args: ['--resp-port', 'off', '--memcache-port', 'off'] });
      try {
        for (const depth of depths) {
          for (const op of ['set', 'get'] as const) {
            progress(`cairn native, ${shards} shard(s), depth ${depth}, ${op.toUpperCase()} for ${durationMs / 1000}s`);
            const row = await nativeRun(pool, cairn.port, shards, depth, op);
            rows.push(row);
            log(
              `    ${fmt(row.opsPerSec)} ops/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms  p99.9 ${row.p999Ms.toFixed(3)} ms  errors ${row.errors}`,
            );
          }
        }
      } finally {
        await cairn.stop();
      }
    }
    const redis = await startRedisServer();
    try {
      for (const depth of depths) {
        progress(`redis-server via redis-benchmark, depth ${depth}, SET and GET`);
        const rps = depth === 1 ? 20_000 : 60_000;
        const r = await redisBenchmark({
          port: redis.port,
          tests: ['set', 'get'],
          requests: Math.round((rps * durationMs) / 1000),
          clients: connections,
          dataSize: valueSize,
          pipeline: depth,
          keyspace,
          format: 'csv',
        });
        for (const b of r.rows) {
          const op = b.test.toLowerCase().startsWith('set') ? 'set' : 'get';
          rows.push({
            target: 'redis-server',
            shards: null,
            depth,
            op,
            opsPerSec: b.rps,
            p50Ms: b.p50Ms ?? NaN,
            p99Ms: b.p99Ms ?? NaN,
            p999Ms: NaN,
            errors: 0,
          });
          log(`    ${op.toUpperCase()} ${fmt(b.rps)} ops/s  p50 ${b.p50Ms?.toFixed(3)} ms  p99 ${b.p99Ms?.toFixed(3)} ms`);
        }
      }
    } finally {
      await redis.stop();
    }
  } finally {
    await pool.destroy();
    await stopAllDaemons();
  }

  log('');
  log('| target | shards | depth | SET ops/s | SET p99 ms | GET ops/s | GET p99 ms |');
  log('|---|---|---|---|---|---|---|');
  const keyOf = (r: Row): string => `${r.target}|${r.shards}|${r.depth}`;
  const seen = new Set<string>();
  const summary: Record<string, unknown>[] = [];
  for (const r of rows) {
    const k = keyOf(r);
    if (seen.has(k)) continue;
    seen.add(k);
    const set = rows.find((x) => keyOf(x) === k && x.op === 'set')!;
    const get = rows.find((x) => keyOf(x) === k && x.op === 'get')!;
    log(
      `| ${r.target} | ${r.shards ?? '-'} | ${r.depth} | ${fmt(set.opsPerSec)} | ${set.p99Ms.toFixed(2)} | ${fmt(get.opsPerSec)} | ${get.p99Ms.toFixed(2)} |`,
    );
    summary.push({
      target: r.target,
      shards: r.shards,
      depth: r.depth,
      getOpsPerSec: Math.round(get.opsPerSec),
      setOpsPerSec: Math.round(set.opsPerSec),
      getP99Ms: +get.p99Ms.toFixed(3),
      setP99Ms: +set.p99Ms.toFixed(3),
      getP999Ms: Number.isNaN(get.p999Ms) ? null : +get.p999Ms.toFixed(3),
      setP999Ms: Number.isNaN(set.p999Ms) ? null : +set.p999Ms.toFixed(3),
    });
  }
  console.log(JSON.stringify({ connections, valueSize, durationMs, results: summary }));
}

main().catch(async (err) => {
  console.error(err);
  await stopAllDaemons();
  process.exit(1);
});
