/**
 * Tiered store benchmark: ONE TieredShardStore in process, a data set ten times its hot budget,
 * Zipf 0.99 reads with 10% writes; the same operation stream against a store whose hot budget holds
 * everything; the LevelDB read paths side by side; and the time from opening a store to its first
 * served read with 1M and 5M keys on disk.
 *
 *   npm run bench:tiered            (env: TIERED_KEYS, TIERED_HOT_MB, TIERED_SECONDS, TIERED_VALUE,
 *                                    TIERED_BLOCK_SIZE: LevelDB block size, default the store's)
 *
 * The last line printed is one JSON object with the headline figures.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { acknowledge } from '../src/store/acknowledge.js';
import { TieredShardStore } from '../src/store/shard-store.js';
import { dataKey, encodeMeta, encodeRecord, FORMAT_VERSION, META_KEY, recordBytes } from '../src/store/format.js';

const KEYS = Number(process.env.TIERED_KEYS ?? 400_000);
const HOT_MB = Number(process.env.TIERED_HOT_MB ?? 12);
const SECONDS = Number(process.env.TIERED_SECONDS ?? 8);
const VALUE = Number(process.env.TIERED_VALUE ?? 300);
const BLOCK_SIZE = process.env.TIERED_BLOCK_SIZE ? Number(process.env.TIERED_BLOCK_SIZE) : undefined;
const WRITE_RATIO = 0.1;
const ZIPF_S = 0.99;

const here = dirname(fileURLToPath(import.meta.url));
const log = (msg: string) => process.stdout.write(`${msg}\n`);

// Deterministic PRNG (xorshift32) so runs compare.
let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

/** Zipf(s) over [0, n) by inverse CDF; ranks are scattered over the key space by a coprime stride. */
function zipf(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  let stride = 2654435761 % n;
  while (gcd(stride, n) !== 1) stride++;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return (lo * stride) % n;
  };
}
function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function keyOf(i: number): Buffer {
  return Buffer.from(`key:${i.toString().padStart(9, '0')}`);
}
function valueFor(i: number, version: number): Buffer {
  const b = Buffer.alloc(VALUE);
  for (let j = 0; j < VALUE; j += 4) b.writeUInt32LE((Math.imul(i + j, 2654435761) ^ version) >>> 0, Math.min(j, VALUE - 4));
  return b;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface RunResult {
  opsPerSec: number;
  hot: Float64Array;
  cold: Float64Array;
  restoresPerSec: number;
  coldShare: number;
}

/**
 * The read/write mix against one store, run in slices: the tiered and the all-in-memory stores take
 * turns (one slice each, alternately), so that both see the same machine: on a shared VM the speed
 * of the machine itself drifts by a fifth or more from one ten-second window to the next.
 */
class Mix {
  private readonly next = zipf(KEYS, ZIPF_S);
  private readonly hot = new Float64Array(40_000_000 / 8);
  private readonly cold = new Float64Array(4_000_000 / 8);
  private nh = 0;
  private nc = 0;
  private ops = 0;
  private ms = 0;
  private restores = 0;
  private version = 1;

  constructor(private readonly store: TieredShardStore) {}

  async run(seconds: number): Promise<void> {
    const store = this.store;
    const startRestores = store.stats().restores;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let now = t0;
    while (now < end) {
      for (let b = 0; b < 256; b++) {
        const i = this.next();
        if (rand() < WRITE_RATIO) {
          await acknowledge(store, () => store.set(keyOf(i), valueFor(i, this.version++)));
        } else {
          const before = store.coldHitCount;
          const s = performance.now();
          const e = await store.get(keyOf(i));
          const d = performance.now() - s;
          if (e === null) throw new Error(`key ${i} missing`);
          if (store.coldHitCount !== before) {
            if (this.nc < this.cold.length) this.cold[this.nc++] = d;
          } else if (this.nh < this.hot.length) this.hot[this.nh++] = d;
        }
        this.ops++;
      }
      // A shard worker returns to its event loop after each drained batch of requests; so does this
      // loop, so the store's timers (writeback, sweep) run as they would in a server.
      await yieldToLoop();
      now = performance.now();
    }
    this.ms += now - t0;
    this.restores += store.stats().restores - startRestores;
  }

  result(): RunResult {
    const elapsed = this.ms / 1000;
    return {
      opsPerSec: this.ops / elapsed,
      hot: this.hot.slice(0, this.nh).sort(),
      cold: this.cold.slice(0, this.nc).sort(),
      restoresPerSec: this.restores / elapsed,
      coldShare: this.nc / Math.max(1, this.nh + this.nc),
    };
  }
}

async function load(store: TieredShardStore): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < KEYS; i++) {
    await acknowledge(store, () => store.set(keyOf(i), valueFor(i, 0)));
    if (i % 256 === 0) await yieldToLoop();
    if (i % 100_000 === 0 && i > 0) log(`  loaded ${i} keys`);
  }
  await store.sync();
  log(`  loaded ${KEYS} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(1)} us` : `${ms.toFixed(3)} ms`;
}

/** The three LevelDB read paths on random cold keys of the benchmark data set. */
async function readPaths(dir: string): Promise<Record<string, number>> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const n = 100_000;
  const keys = Array.from({ length: n }, () => dataKey(keyOf(Math.floor(rand() * KEYS))));
  // Warm the OS and block caches the same way for each path.
  for (let i = 0; i < 20_000; i++) db.getSync(keys[i]);
  let t = performance.now();
  for (let i = 0; i < n; i++) db.getSync(keys[i]);
  const getSync = n / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < 20_000; i++) await db.get(keys[i]);
  const get = 20_000 / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < n; i += 100) await db.getMany(keys.slice(i, i + 100));
  const getMany = n / ((performance.now() - t) / 1000);
  // Misses of keys never written (what a read of an unknown key costs; LevelDB's bloom filters help).
  const absent = Array.from({ length: n }, (_, i) => dataKey(Buffer.from(`absent:${i}`)));
  t = performance.now();
  for (let i = 0; i < n; i++) db.getSync(absent[i]);
  const missSync = n / ((performance.now() - t) / 1000);
  await db.close();
  return { getSync, get, getMany, missSync };
}

/** Writes `n` keys in the store's on-disk format straight into LevelDB (reused when present). */
async function restartDataset(n: number): Promise<string> {
  const dir = join(tmpdir(), `cairn-bench-restart-f${FORMAT_VERSION}u-${n}`);
  const done = join(dir, 'LOADED');
  if (existsSync(done)) {
    log(`  reusing ${dir}`);
    return dir;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ writeBufferSize: 64 << 20 });
  const t0 = performance.now();
  const value = Buffer.alloc(64, 7);
  let bytes = 0;
  const chunk = 20_000;
  for (let base = 0; base < n; base += chunk) {
    const ops: Array<{ type: 'put'; key: Buffer; value: Buffer }> = [];
    for (let i = base; i < Math.min(n, base + chunk); i++) {
      const key = keyOf(i);
      ops.push({ type: 'put', key: dataKey(key), value: encodeRecord(value, 0, 0, i + 1, i + 1) });
      bytes += recordBytes(key.length, value.length);
    }
    await db.batch(ops);
    if (base % 1_000_000 === 0 && base > 0) log(`  wrote ${base} keys`);
  }
  await db.put(
    META_KEY,
    encodeMeta({
      format: FORMAT_VERSION,
      shard: 0,
      casHigh: n + 1,
      items: n,
      bytes,
      accessSeq: n + 1,
      cleanShutdown: true,
      accessIndexed: false,
      flushing: false,
      flushMarked: true,
    }),
  );
  await db.close();
  writeFileSync(done, `${n}\n`);
  log(`  wrote ${n} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dir;
}

/** Opens a store on `dir` and serves one read of a random key; returns ms from open to the reply. */
async function firstRead(dir: string, n: number): Promise<number> {
  const t0 = performance.now();
  const store = await TieredShardStore.open({ shard: 0, dir, maxMemory: 64 << 20, durability: 'spill' });
  const e = await store.get(keyOf(Math.floor(rand() * n)));
  const ms = performance.now() - t0;
  if (!e) throw new Error('first read missed');
  await store.close();
  return ms;
}

/** The same from process start: a fresh node process imports the store, opens it, reads one key. */
function processFirstRead(dir: string, n: number): Promise<number> {
  const url = pathToFileURL(resolve(here, '../src/store/shard-store.js')).href;
  const script = `
    const { TieredShardStore } = await import(${JSON.stringify(url)});
    const s = await TieredShardStore.open({ shard: 0, dir: ${JSON.stringify(dir)}, maxMemory: 64 << 20, durability: 'spill' });
    const e = await s.get(Buffer.from('key:' + String(${Math.floor(n / 2)}).padStart(9, '0')));
    process.stdout.write(e ? 'hit\\n' : 'miss\\n');
    await s.close();`;
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let at = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!at && out.includes('\n')) at = performance.now() - t0;
    });
    child.on('close', () => (out.startsWith('hit') ? res(at) : rej(new Error(`child said ${out}`))));
  });
}

async function main(): Promise<void> {
  const hotBytes = HOT_MB << 20;
  const dataBytes = KEYS * (VALUE + 13);
  log(
    `cairn tiered bench: ${KEYS} keys x ${VALUE} B = ${(dataBytes / 2 ** 20).toFixed(0)} MiB of data, hot budget ${HOT_MB} MiB (${(dataBytes / hotBytes).toFixed(1)}x), Zipf ${ZIPF_S}, ${WRITE_RATIO * 100}% writes, ${SECONDS} s per store`,
  );
  const base = join(tmpdir(), `cairn-bench-tiered-${process.pid}`);
  rmSync(base, { recursive: true, force: true });

  log('tiered: loading');
  const tieredDir = join(base, 'tiered');
  const tiered = await TieredShardStore.open({ shard: 0, dir: tieredDir, maxMemory: hotBytes, durability: 'writeback', blockSize: BLOCK_SIZE });
  await load(tiered);
  log(`  hot ${tiered.stats().hot.items} items / cold ${tiered.stats().cold.items} items on disk`);
  log('all in memory: loading');
  const memDir = join(base, 'memory');
  const memory = await TieredShardStore.open({
    shard: 0,
    dir: memDir,
    maxMemory: Math.max(hotBytes * 20, dataBytes * 3),
    durability: 'writeback',
    blockSize: BLOCK_SIZE,
  });
  await load(memory);
  await new Mix(tiered).run(1); // warm-up
  await new Mix(memory).run(1);
  log(`running: ${SECONDS} slices of 1 s each, tiered and all in memory taking turns`);
  const tm = new Mix(tiered);
  const mm = new Mix(memory);
  for (let r = 0; r < SECONDS; r++) {
    await tm.run(1);
    await mm.run(1);
  }
  const t = tm.result();
  const m = mm.result();
  const st = tiered.stats();
  log(`tiered: ${Math.round(t.opsPerSec)} ops/s; cold reads ${(t.coldShare * 100).toFixed(1)}% of reads; ${Math.round(t.restoresPerSec)} restores/s`);
  log(`  hot hit  p50 ${fmt(percentile(t.hot, 50))} p99 ${fmt(percentile(t.hot, 99))} p99.9 ${fmt(percentile(t.hot, 99.9))}`);
  log(`  cold hit p50 ${fmt(percentile(t.cold, 50))} p99 ${fmt(percentile(t.cold, 99))} p99.9 ${fmt(percentile(t.cold, 99.9))}`);
  log(`  spills ${st.spills}, restores ${st.restores}, evictions ${JSON.stringify(st.evictions)}`);
  log(
    `all in memory: ${Math.round(m.opsPerSec)} ops/s; hit p50 ${fmt(percentile(m.hot, 50))} p99 ${fmt(percentile(m.hot, 99))}; tiered is ${((t.opsPerSec / m.opsPerSec) * 100).toFixed(0)}% of it`,
  );
  await tiered.close();
  await memory.close();

  log('LevelDB read paths (random keys of the tiered data set):');
  const rp = await readPaths(tieredDir);
  log(
    `  getSync ${Math.round(rp.getSync)}/s, awaited get ${Math.round(rp.get)}/s, getMany(100) ${Math.round(rp.getMany)} keys/s, getSync of absent keys ${Math.round(rp.missSync)}/s`,
  );
  rmSync(base, { recursive: true, force: true });

  const restart: Record<number, { open: number; process: number }> = {};
  for (const n of [1_000_000, 5_000_000]) {
    log(`restart with ${n} keys on disk:`);
    const dir = await restartDataset(n);
    const open = Math.min(await firstRead(dir, n), await firstRead(dir, n), await firstRead(dir, n));
    const proc = await processFirstRead(dir, n);
    restart[n] = { open, process: proc };
    log(`  open -> first served read ${fmt(open)}; process start -> first served read ${fmt(proc)}`);
  }

  const result = {
    opsPerSec: Math.round(t.opsPerSec),
    allMemoryOpsPerSec: Math.round(m.opsPerSec),
    hotHitP50Ms: +percentile(t.hot, 50).toFixed(4),
    hotHitP99Ms: +percentile(t.hot, 99).toFixed(4),
    hotHitP999Ms: +percentile(t.hot, 99.9).toFixed(4),
    coldHitP50Ms: +percentile(t.cold, 50).toFixed(4),
    coldHitP99Ms: +percentile(t.cold, 99).toFixed(4),
    coldHitP999Ms: +percentile(t.cold, 99.9).toFixed(4),
    restoresPerSec: Math.round(t.restoresPerSec),
    restartFirstReadMs1M: +restart[1_000_000].open.toFixed(2),
    restartFirstReadMs5M: +restart[5_000_000].open.toFixed(2),
    processStartFirstReadMs1M: +restart[1_000_000].process.toFixed(1),
    processStartFirstReadMs5M: +restart[5_000_000].process.toFixed(1),
    readPathGetSyncPerSec: Math.round(rp.getSync),
    readPathGetPerSec: Math.round(rp.get),
    readPathGetMany100KeysPerSec: Math.round(rp.getMany),
  };
  log(JSON.stringify(result));
}

await main();
