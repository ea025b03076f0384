/**
 * `npm run bench:held`: work that holds shards (docs/architecture.md, "Transactions" and
 * "Scripting"), through cairn (2 shards, spill) and redis-server in the same run:
 * - a script over two keys on two shards, `return redis.call('INCR', KEYS[1]) + redis.call('INCR',
 *   KEYS[2])`, by redis-benchmark's `EVALSHA <sha> 2 k1 k2` with 20 clients and with one; the same
 *   with both keys on one shard (`{t}a {t}b`), which cairn runs on that shard without holding;
 * - a transaction over the same two keys, ioredis' `multi().incr(k1).incr(k2).exec()` in a loop on
 *   20 connections and on one.
 * `--quick` shortens each run. The last line printed is one JSON object with the rates and ratios.
 */
import { Redis } from 'ioredis';
import { shardOf } from '../src/hash.js';
import { packageRoot } from '../src/paths.js';
import { startCairn, startRedisServer, stopAllDaemons } from './lib/procs.js';
import { rateFor } from './lib/redis-benchmark.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 2 : Number(process.env.HELD_SECONDS ?? 5);
const SHARDS = 2;
const SCRIPT = "return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])";

const log = (line: string): void => console.log(line);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** two keys that cairn's 2 shards split between them */
function keysOnTwoShards(): [string, string] {
  const first = 'held:0';
  for (let i = 1; ; i++) {
    const k = `held:${i}`;
    if (shardOf(Buffer.from(k), SHARDS) !== shardOf(Buffer.from(first), SHARDS)) return [first, k];
  }
}

/** EVALSHA of the script over `keys`, by redis-benchmark for about SECONDS */
function scripts(port: number, sha: string, keys: string[], clients: number): Promise<number> {
  return rateFor(SECONDS, clients > 1 ? 5_000 : 1_000, {
    port,
    clients,
    timeoutMs: SECONDS * 20_000 + 60_000,
    extraArgs: ['EVALSHA', sha, String(keys.length), ...keys],
  });
}

/** MULTI / INCR k1 / INCR k2 / EXEC on `clients` connections for SECONDS: transactions per second */
async function transactions(port: number, keys: [string, string], clients: number): Promise<number> {
  const conns = Array.from({ length: clients }, () => new Redis({ port, host: '127.0.0.1', lazyConnect: true }));
  try {
    await Promise.all(conns.map((c) => c.connect()));
    let n = 0;
    const start = performance.now();
    const end = start + SECONDS * 1000;
    await Promise.all(
      conns.map(async (c) => {
        while (performance.now() < end) {
          const out = await c.multi().incr(keys[0]).incr(keys[1]).exec();
          if (out === null || out.some(([e]) => e !== null)) throw new Error(`EXEC answered ${JSON.stringify(out)}`);
          n++;
        }
      }),
    );
    return n / ((performance.now() - start) / 1000);
  } finally {
    for (const c of conns) c.disconnect();
  }
}

async function main(): Promise<void> {
  const [cairn, redis] = await Promise.all([
    startCairn({
      root: packageRoot,
      shards: SHARDS,
      maxMemory: '256mb',
      args: ['--durability', 'spill'],
      protocols: { native: false, memcache: false, http: false },
    }),
    startRedisServer(undefined, ['--databases', '1']),
  ]);
  const split = keysOnTwoShards();
  const tagged = ['{t}a', '{t}b'];
  const out: Record<string, number | string> = { shards: SHARDS, seconds: SECONDS };
  try {
    const load = async (port: number): Promise<string> => {
      const c = new Redis({ port, host: '127.0.0.1' });
      try {
        return (await c.script('LOAD', SCRIPT)) as string;
      } finally {
        c.disconnect();
      }
    };
    const sha = { cairn: await load(cairn.respPort), redis: await load(redis.port) };
    log(
      `bench:held — cairn ${SHARDS} shards (spill) and redis-server; keys ${split.join(' ')} on two shards, ${tagged.join(' ')} on one; ~${SECONDS}s per run`,
    );
    const row = async (name: string, measure: (port: number, which: 'cairn' | 'redis') => Promise<number>): Promise<void> => {
      const c = await measure(cairn.respPort, 'cairn');
      const r = await measure(redis.port, 'redis');
      out[`cairn_${name}`] = Math.round(c);
      out[`redis_${name}`] = Math.round(r);
      out[`ratio_${name}`] = Number((c / r).toFixed(3));
      log(`${name.padEnd(24)} cairn ${fmt(c).padStart(7)}/s   redis-server ${fmt(r).padStart(7)}/s   ratio ${(c / r).toFixed(2)}`);
    };
    for (const clients of [20, 1]) {
      await row(`script2shards_c${clients}`, (port, which) => scripts(port, sha[which], split, clients));
      await row(`script1shard_c${clients}`, (port, which) => scripts(port, sha[which], tagged, clients));
      await row(`multi2shards_c${clients}`, (port) => transactions(port, split, clients));
    }
  } finally {
    await Promise.all([cairn.stop(), redis.stop()]);
    await stopAllDaemons();
  }
  log(JSON.stringify(out));
}

await main();
