/**
 * `npm run bench:types`: the data types against redis-server in one run.
 *
 * 1. Throughput: redis-benchmark's own tests (lpush, rpush, lpop, rpop, sadd, hset, spop, zadd,
 *    zpopmin, lrange_100, lrange_300, lrange_600) and GET as the yardstick, 50 clients, pipeline 1 and
 *    16, the same command lines to both servers. The target: each test's cairn/redis ratio at least
 *    the GET ratio of the same run.
 * 2. Memory per member: a hash, a set and a sorted set of MEMBERS members each (1,000,000 unless
 *    `--quick`), loaded in pipelined batches; redis-server's `used_memory` delta against cairn's RSS
 *    delta (what the process really grew by) and its accounted delta (`used_memory_dataset`: what
 *    the memory budget charges). The target: cairn at most redis-server per member.
 * 3. Cold collection: one-member reads (HGET, SISMEMBER, ZSCORE, LINDEX) and writes (HSET, SADD,
 *    ZADD, LPUSH and RPOP) on a collection of MEMBERS members (a list of MEMBERS elements) on disk,
 *    after a restart with room in memory and with a hot budget smaller than it: the first call after
 *    the start alone, then p50/p99 latency over COLD_OPS sequential calls of random members. The
 *    target: p99 at most 1 ms.
 *
 * `--only=throughput,memory,cold` runs the named parts alone (all three by default).
 *
 * The last line printed is one JSON object with every figure.
 */
import { availableParallelism } from 'node:os';
import { connect, type Socket } from 'node:net';
import { packageRoot } from '../src/paths.js';
import { startCairn, startRedisServer, stopAllDaemons } from './lib/procs.js';
import { redisBenchmark } from './lib/redis-benchmark.js';

const quick = process.argv.includes('--quick');
const MEMBERS = Number(process.env.TYPES_MEMBERS ?? (quick ? 100_000 : 1_000_000));
const REQUESTS = Number(process.env.TYPES_REQUESTS ?? (quick ? 50_000 : 200_000));
const COLD_OPS = quick ? 50 : 200;
const CLIENTS = 50;
const DEPTHS = [1, 16];
const SHARDS = Number(process.env.TYPES_SHARDS ?? Math.max(1, availableParallelism()));
const PARTS = (process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? 'throughput,memory,cold').split(',');
const TESTS = ['get', 'lpush', 'rpush', 'lpop', 'rpop', 'sadd', 'hset', 'spop', 'zadd', 'zpopmin', 'lrange_100', 'lrange_300', 'lrange_600'];

const log = (line: string): void => console.log(line);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A plain RESP connection: commands out, whole replies counted back (enough to pace pipelined loads). */
class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { n: number; resolve: (replies: Buffer[]) => void; got: Buffer[] } | null = null;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.drain();
    });
  }
  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true });
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  /** sends the commands, resolves with their replies (raw) */
  send(commands: string[][]): Promise<Buffer[]> {
    const parts: Buffer[] = [];
    for (const argv of commands) {
      parts.push(Buffer.from(`*${argv.length}\r\n`));
      for (const a of argv) parts.push(Buffer.from(`$${Buffer.byteLength(a)}\r\n${a}\r\n`));
    }
    return new Promise((resolve) => {
      this.waiting = { n: commands.length, resolve, got: [] };
      this.socket.write(Buffer.concat(parts));
      this.drain();
    });
  }
  close(): void {
    this.socket.destroy();
  }
  private drain(): void {
    const w = this.waiting;
    if (w === null) return;
    for (;;) {
      const n = replyLength(this.buf, 0);
      if (n < 0) return;
      w.got.push(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
      if (w.got.length === w.n) {
        this.waiting = null;
        w.resolve(w.got);
        return;
      }
    }
  }
}

/** bytes of the RESP reply at `at`, -1 while incomplete */
function replyLength(b: Buffer, at: number): number {
  if (at >= b.length) return -1;
  const cr = b.indexOf(13, at);
  if (cr < 0 || cr + 1 >= b.length) return -1;
  const head = b[at];
  if (head === 43 || head === 45 || head === 58) return cr + 2 - at; // + - :
  const n = Number(b.toString('latin1', at + 1, cr));
  if (head === 36) return n < 0 ? cr + 2 - at : cr + 2 + n + 2 <= b.length ? cr + 2 + n + 2 - at : -1;
  let p = cr + 2;
  for (let i = 0; i < n; i++) {
    const len = replyLength(b, p);
    if (len < 0) return -1;
    p += len;
  }
  return p - at;
}

function infoField(reply: Buffer, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(reply.toString('latin1'));
  if (m === null) throw new Error(`INFO has no ${field}`);
  return Number(m[1]);
}

async function memory(c: Conn): Promise<{ used: number; dataset: number }> {
  const [info] = await c.send([['INFO', 'memory']]);
  const text = info.toString('latin1');
  return { used: infoField(info, 'used_memory'), dataset: /used_memory_dataset:/.test(text) ? infoField(info, 'used_memory_dataset') : 0 };
}

/** loads `members` members into one collection per kind, 1,000 per command, 50 commands in flight */
async function load(c: Conn, kind: 'hash' | 'set' | 'zset' | 'list', key: string, members: number): Promise<void> {
  const PER = 1000;
  const FLIGHT = 50;
  let batch: string[][] = [];
  for (let i = 0; i < members; i += PER) {
    const argv = kind === 'hash' ? ['HSET', key] : kind === 'set' ? ['SADD', key] : kind === 'list' ? ['RPUSH', key] : ['ZADD', key];
    for (let j = i; j < Math.min(members, i + PER); j++) {
      if (kind === 'hash') argv.push(`field:${j}`, `value:${j}`);
      else if (kind === 'set' || kind === 'list') argv.push(`member:${j}`);
      else argv.push(String(j), `member:${j}`);
    }
    batch.push(argv);
    if (batch.length === FLIGHT) {
      const replies = await c.send(batch);
      const bad = replies.find((r) => r[0] === 45);
      if (bad) throw new Error(`${argv[0]} failed: ${bad.toString()}`);
      batch = [];
    }
  }
  if (batch.length > 0) await c.send(batch);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function main(): Promise<void> {
  const out: Record<string, number | string | boolean> = { shards: SHARDS, clients: CLIENTS, requests: REQUESTS, members: MEMBERS };
  if (PARTS.includes('throughput')) {
    log(`bench:types — redis-benchmark -t ${TESTS.join(',')} -c ${CLIENTS} -n ${REQUESTS}, P1 and P16; ${SHARDS} cairn shards (spill) vs redis-server`);
    const [cairn, redis] = await Promise.all([
      startCairn({
        root: packageRoot,
        shards: SHARDS,
        maxMemory: '1gb',
        args: ['--durability', 'spill'],
        protocols: { native: false, memcache: false, http: false },
      }),
      startRedisServer(undefined, ['--databases', '1']),
    ]);
    try {
      for (const depth of DEPTHS) {
        const run = (port: number) => redisBenchmark({ port, tests: TESTS, requests: REQUESTS, clients: CLIENTS, pipeline: depth, timeoutMs: 600_000 });
        const c = await run(cairn.respPort);
        const r = await run(redis.port);
        if (c.code !== 0 || r.code !== 0) throw new Error(`redis-benchmark failed: ${c.stderr || r.stderr}`);
        const byTest = (rows: typeof c.rows): Map<string, number> => {
          const m = new Map<string, number>();
          for (const row of rows) m.set(row.test.toLowerCase(), row.rps);
          return m;
        };
        const cm = byTest(c.rows);
        const rm = byTest(r.rows);
        const getRatio = (cm.get('get') ?? 0) / (rm.get('get') ?? 1);
        out[`getRatioP${depth}`] = Number(getRatio.toFixed(3));
        log(`P${depth}: GET cairn ${fmt(cm.get('get') ?? 0)}/s, redis ${fmt(rm.get('get') ?? 0)}/s, ratio ${getRatio.toFixed(2)} (the bar)`);
        let met = 0;
        let total = 0;
        for (const [test, rps] of rm) {
          if (test === 'get') continue;
          const cr = cm.get(test) ?? 0;
          const ratio = cr / rps;
          const name = test.replace(/[^a-z0-9]+/g, '_').replace(/_+$/, '');
          out[`${name}RatioP${depth}`] = Number(ratio.toFixed(3));
          total++;
          if (ratio >= getRatio) met++;
          log(
            `  ${test.padEnd(40)} cairn ${fmt(cr).padStart(10)}/s  redis ${fmt(rps).padStart(10)}/s  ratio ${ratio.toFixed(2)}${ratio >= getRatio ? '' : '  (below the GET ratio)'}`,
          );
        }
        out[`testsAtGetRatioP${depth}`] = `${met}/${total}`;
      }
    } finally {
      await Promise.all([cairn.stop(), redis.stop()]);
    }
  }

  if (PARTS.includes('memory')) {
    log(`memory per member: ${fmt(MEMBERS)} members per collection`);
    const [cairn, redis] = await Promise.all([
      startCairn({
        root: packageRoot,
        shards: SHARDS,
        maxMemory: '4gb',
        args: ['--durability', 'spill'],
        protocols: { native: false, memcache: false, http: false },
      }),
      startRedisServer(undefined, ['--databases', '1']),
    ]);
    const cc = await Conn.open(cairn.respPort);
    const rc = await Conn.open(redis.port);
    try {
      for (const kind of ['hash', 'set', 'zset'] as const) {
        const key = `big:${kind}`;
        const c0 = await memory(cc);
        const r0 = await memory(rc);
        await load(cc, kind, key, MEMBERS);
        await load(rc, kind, key, MEMBERS);
        const c1 = await memory(cc);
        const r1 = await memory(rc);
        const redisPer = (r1.used - r0.used) / MEMBERS;
        const cairnRss = (c1.used - c0.used) / MEMBERS;
        const cairnCharged = (c1.dataset - c0.dataset) / MEMBERS;
        out[`${kind}RedisBytesPerMember`] = Math.round(redisPer);
        out[`${kind}CairnRssBytesPerMember`] = Math.round(cairnRss);
        out[`${kind}CairnChargedBytesPerMember`] = Math.round(cairnCharged);
        log(
          `  ${kind}: redis-server ${redisPer.toFixed(0)} B/member (used_memory), cairn ${cairnRss.toFixed(0)} B/member RSS, ${cairnCharged.toFixed(0)} B/member charged to the budget`,
        );
      }
    } finally {
      cc.close();
      rc.close();
      await Promise.all([cairn.stop(), redis.stop()]);
    }
  }

  /** n calls, one at a time, of random members: each call's latency (ms) */
  const timed = async (port: number, n: number, cmd: (i: number) => readonly string[]): Promise<number[]> => {
    const c = await Conn.open(port);
    const times: number[] = [];
    try {
      for (let k = 0; k < n; k++) {
        const argv = cmd(Math.floor(Math.random() * MEMBERS));
        const t0 = performance.now();
        const [reply] = await c.send([[...argv]]);
        times.push(performance.now() - t0);
        if (reply[0] === 45) throw new Error(`${argv[0]} failed: ${reply.toString()}`);
      }
    } finally {
      c.close();
    }
    return times;
  };
  if (PARTS.includes('cold')) {
    log(`cold collections: one-member commands on ${fmt(MEMBERS)}-member collections on disk after a restart`);
    // the floor under every figure below: one connection's round trip, a GET of a key in memory
    const redis = await startRedisServer(undefined, ['--databases', '1']);
    const cairn = await startCairn({
      root: packageRoot,
      shards: 1,
      maxMemory: '64mb',
      args: ['--durability', 'spill'],
      protocols: { native: false, memcache: false, http: false },
    });
    try {
      for (const [who, port] of [
        ['redis', redis.port],
        ['cairn', cairn.respPort],
      ] as const) {
        await timed(port, 1, () => ['SET', 'floor', 'v']);
        const gets = (await timed(port, COLD_OPS, () => ['GET', 'floor'])).sort((x, y) => x - y);
        out[`${who}GetFloorP50Ms`] = Number(percentile(gets, 50).toFixed(3));
        out[`${who}GetFloorP99Ms`] = Number(percentile(gets, 99).toFixed(3));
        log(
          `  the floor: ${COLD_OPS} GETs of a key in memory, one at a time, ${who} p50 ${percentile(gets, 50).toFixed(3)} ms p99 ${percentile(gets, 99).toFixed(3)} ms`,
        );
      }
    } finally {
      await Promise.all([cairn.stop(), redis.stop()]);
    }
  }
  for (const [kind, read, write, write2] of [
    ['hash', (i: number) => ['HGET', 'cold:hash', `field:${i}`], (i: number) => ['HSET', 'cold:hash', `field:${i}`, 'changed'], null],
    ['set', (i: number) => ['SISMEMBER', 'cold:set', `member:${i}`], (i: number) => ['SADD', 'cold:set', `new:${i}`], null],
    ['zset', (i: number) => ['ZSCORE', 'cold:zset', `member:${i}`], (i: number) => ['ZADD', 'cold:zset', '7', `member:${i}`], null],
    // a list's one-element commands reach an index (the pops and pushes leave it at MEMBERS elements)
    ['list', (i: number) => ['LINDEX', 'cold:list', String(i)], (i: number) => ['LPUSH', 'cold:list', `new:${i}`], () => ['RPOP', 'cold:list']],
  ] as const) {
    if (!PARTS.includes('cold')) break;
    const serve = (maxMemory: string, dataDir?: string, keepData = true) =>
      startCairn({
        root: packageRoot,
        shards: 1,
        maxMemory,
        dataDir,
        keepData,
        args: ['--durability', 'spill'],
        protocols: { native: false, memcache: false, http: false },
      });
    // load it, stop (spill mode writes it to disk at a graceful stop), start again: it is cold
    const first = await serve('1gb');
    const lc = await Conn.open(first.respPort);
    await load(lc, kind, `cold:${kind}`, MEMBERS);
    lc.close();
    await first.stop();
    const name = `cold${kind[0].toUpperCase()}${kind.slice(1)}`;
    for (const [where, budget, keep] of [
      ['AfterRestart', '1gb', true],
      ['BelowMemory', '16mb', false],
    ] as const) {
      // with room in memory (after a restart) and with a budget smaller than the collection
      const server = await serve(budget, first.dataDir, keep);
      // the first call after a start (LevelDB opens its table files, the code is not yet compiled)
      // is reported alone; the percentiles are of the calls after it
      const [firstRead] = await timed(server.respPort, 1, read);
      const reads = await timed(server.respPort, COLD_OPS, read);
      const writes = await timed(server.respPort, COLD_OPS, write);
      const writes2 = write2 === null ? null : await timed(server.respPort, COLD_OPS, write2);
      await server.stop();
      reads.sort((x, y) => x - y);
      writes.sort((x, y) => x - y);
      writes2?.sort((x, y) => x - y);
      out[`${name}${where}FirstMs`] = Number(firstRead.toFixed(3));
      out[`${name}${where}ReadP99Ms`] = Number(percentile(reads, 99).toFixed(3));
      out[`${name}${where}WriteP99Ms`] = Number(percentile(writes, 99).toFixed(3));
      if (writes2 !== null) out[`${name}${where}Write2P99Ms`] = Number(percentile(writes2, 99).toFixed(3));
      const also =
        writes2 === null || write2 === null ? '' : `; ${write2()[0]} p50 ${percentile(writes2, 50).toFixed(3)} ms p99 ${percentile(writes2, 99).toFixed(3)} ms`;
      log(
        `  ${kind} ${where === 'AfterRestart' ? 'after a restart' : 'larger than memory'}: ${read(0)[0]} first call ${firstRead.toFixed(3)} ms, the next ${COLD_OPS} p50 ${percentile(reads, 50).toFixed(3)} ms p99 ${percentile(reads, 99).toFixed(3)} ms; ${write(0)[0]} p50 ${percentile(writes, 50).toFixed(3)} ms p99 ${percentile(writes, 99).toFixed(3)} ms${also} (target: p99 <= 1 ms)`,
      );
    }
  }
  await stopAllDaemons();
  log(JSON.stringify(out));
}

await main();
