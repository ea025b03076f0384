/**
 * `npm run bench:scripts`: EVALSHA of a small script (read one key, write one key) through cairn and
 * through redis-server in the same run: redis-benchmark's `EVALSHA <sha> 1 key:__rand_int__ v`, the
 * script loaded with SCRIPT LOAD first on both, 50 clients, pipeline 1 and 16. The target is
 * cairn at 50% of redis-server's rate or more. `--quick` shortens each run. The last line printed is
 * one JSON object with the rates and the ratios.
 */
import { availableParallelism } from 'node:os';
import { connect } from 'node:net';
import { packageRoot } from '../src/paths.js';
import { startCairn, startRedisServer, stopAllDaemons } from './lib/procs.js';
import { rateFor, redisBenchmark } from './lib/redis-benchmark.js';
import { sha1hex } from '../src/resp/lua.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 2 : Number(process.env.SCRIPTS_SECONDS ?? 5);
const CLIENTS = 50;
const DEPTHS = [1, 16];
const KEYSPACE = 100_000;
const SHARDS = Number(process.env.SCRIPTS_SHARDS ?? Math.max(1, availableParallelism()));
/** reads the key and writes it back with the argument appended: one read, one write */
export const SCRIPT = "local v = redis.call('GET', KEYS[1]) or ''; redis.call('SET', KEYS[1], ARGV[1]); return #v";

const log = (line: string): void => console.log(line);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** SCRIPT LOAD over a plain connection: the script's SHA1 */
function scriptLoad(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => finish(new Error('SCRIPT LOAD: no reply')), 10_000);
    const finish = (e: Error | null, sha?: string): void => {
      clearTimeout(timer);
      socket.destroy();
      if (e) reject(e);
      else resolve(sha as string);
    };
    socket.on('error', (e) => finish(e));
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const lines = buf.split('\r\n');
      if (lines.length < 3 && !buf.startsWith('-')) return;
      const sha = lines[1];
      finish(sha === sha1hex(Buffer.from(SCRIPT)) ? null : new Error(`SCRIPT LOAD answered ${JSON.stringify(buf)}`), sha);
    });
    socket.write(`*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n$${Buffer.byteLength(SCRIPT)}\r\n${SCRIPT}\r\n`);
  });
}

function rate(port: number, sha: string, pipeline: number): Promise<number> {
  return rateFor(SECONDS, pipeline > 1 ? 50_000 : 10_000, {
    port,
    clients: CLIENTS,
    pipeline,
    keyspace: KEYSPACE,
    timeoutMs: SECONDS * 10_000 + 60_000,
    extraArgs: ['EVALSHA', sha, '1', 'key:__rand_int__', 'v'],
  });
}

async function main(): Promise<void> {
  const root = packageRoot;
  const [cairn, redis] = await Promise.all([
    startCairn({ root, shards: SHARDS, maxMemory: '512mb', protocols: { native: false, memcache: false, http: false } }),
    startRedisServer(undefined, ['--databases', '1']),
  ]);
  const out: Record<string, number | string> = { shards: SHARDS, clients: CLIENTS, keyspace: KEYSPACE };
  try {
    const cairnSha = await scriptLoad(cairn.respPort);
    const redisSha = await scriptLoad(redis.port);
    log(`bench:scripts — EVALSHA ${cairnSha} 1 key:__rand_int__ v, ${CLIENTS} clients, -r ${KEYSPACE}, ${SHARDS} cairn shards, ~${SECONDS}s per run`);
    log(`script: ${SCRIPT}`);
    for (const depth of DEPTHS) {
      const c = await rate(cairn.respPort, cairnSha, depth);
      const r = await rate(redis.port, redisSha, depth);
      out[`cairnP${depth}`] = Math.round(c);
      out[`redisP${depth}`] = Math.round(r);
      out[`ratioP${depth}`] = Number((c / r).toFixed(3));
      log(`P${depth}: cairn ${fmt(c)}/s, redis-server ${fmt(r)}/s, ratio ${(c / r).toFixed(2)}`);
    }
    // the yardstick: a plain SET of the same run, since the script's own SET bounds it
    const set = async (port: number): Promise<number> => {
      const r = await redisBenchmark({ port, tests: ['set'], requests: quick ? 100_000 : 500_000, clients: CLIENTS, pipeline: 16, keyspace: KEYSPACE });
      return r.rows[0]?.rps ?? 0;
    };
    const [cs, rs] = [await set(cairn.respPort), await set(redis.port)];
    out.setRatioP16 = Number((cs / rs).toFixed(3));
    log(`SET P16 (reference): cairn ${fmt(cs)}/s, redis-server ${fmt(rs)}/s, ratio ${(cs / rs).toFixed(2)}`);
  } finally {
    await Promise.all([cairn.stop(), redis.stop()]);
    await stopAllDaemons();
  }
  log(JSON.stringify(out));
}

await main();
