/**
 * npm run bench:engine
 *
 * 1,000,000 keys of 16 bytes with 100-byte values, side by side: cairn's shard engine, lru-cache
 * (max 2M) and a plain Map<string, Buffer>. Each contender runs in a fresh child process so that
 * RSS and heap figures belong to it alone. Then the engine grows from 0 to 5,000,000 keys in a
 * fresh process while every set is timed, for the worst single pause.
 *
 * Like for like: every contender copies each value in on set (a server's receive buffer is reused)
 * and copies it out on get (into a reused response buffer). The engine takes keys as bytes, the JS
 * caches as strings; their get loop uses prebuilt strings (their best case: no bytes->string work).
 *
 * Every eviction policy then runs the engine part again (its own child process, so its call sites
 * stay monomorphic): set and get throughput and bytes per key, the policy's side structures included.
 *
 * Readable lines first; the last line is one JSON object.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { Engine, EVICTION_POLICIES, type EvictionName } from '../src/engine/index.js';

const N = 1_000_000;
const GROW_TO = 5_000_000;
const KEY = 16;
const VAL = 100;

interface Result {
  setOpsPerSec: number;
  getOpsPerSec: number;
  lookupOpsPerSec: number;
  heapBytesPerKey: number;
  rssBytesPerKey: number;
  bytesPerKey?: number;
  maxPauseMs?: number;
  notes?: string;
}

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc (npm run bench:engine does)');
  g();
  g();
};

/** key i as 16 ASCII bytes "key:000000000042" written into dst (no allocation). */
function keyBytes(i: number, dst: Buffer): Buffer {
  dst[0] = 0x6b;
  dst[1] = 0x65;
  dst[2] = 0x79;
  dst[3] = 0x3a;
  let x = i;
  for (let j = KEY - 1; j >= 4; j--) {
    dst[j] = 48 + (x % 10);
    x = Math.floor(x / 10);
  }
  return dst;
}

const keyString = (i: number): string => 'key:' + String(i).padStart(12, '0');

function permutation(n: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

const perSec = (ops: number, ms: number): number => Math.round((ops / ms) * 1000);

function benchEngine(eviction: EvictionName = 'lru'): Result {
  const order = permutation(N);
  const key = Buffer.alloc(KEY);
  const value = Buffer.alloc(VAL, 0x76);
  const dst = Buffer.alloc(4096);
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const e = new Engine({ maxMemory: 1 << 30, eviction });
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    value.writeUInt32LE(i, 0);
    e.set(keyBytes(i, key), value);
  }
  const setMs = performance.now() - t;
  gc();
  const mem = process.memoryUsage();
  let best = 0;
  let bestLookup = 0;
  for (let round = 0; round < 3; round++) {
    t = performance.now();
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const ref = e.find(keyBytes(order[i], key));
      sum += e.copyValue(ref, dst, 0);
    }
    best = Math.max(best, perSec(N, performance.now() - t));
    if (sum !== N * VAL) throw new Error('engine lost values');
    t = performance.now();
    for (let i = 0; i < N; i++) sum += e.find(keyBytes(order[i], key));
    bestLookup = Math.max(bestLookup, perSec(N, performance.now() - t));
  }
  return {
    setOpsPerSec: perSec(N, setMs),
    getOpsPerSec: best,
    lookupOpsPerSec: bestLookup,
    heapBytesPerKey: (mem.heapUsed - heap0) / N,
    rssBytesPerKey: (mem.rss - rss0) / N,
    bytesPerKey: e.bytesUsed / N,
    notes:
      `table ${(e.tableBytes / N).toFixed(2)} B/key, arena committed ${(e.arenaBytes / N).toFixed(2)} B/key, ` +
      `fragmentation ${e.fragmentationBytes} B, ${e.debug.segments} table segments`,
  };
}

function benchJs(kind: 'lru' | 'map'): Result {
  const order = permutation(N);
  const value = Buffer.alloc(VAL, 0x76);
  const dst = Buffer.alloc(4096);
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const lru = kind === 'lru' ? new LRUCache<string, Buffer>({ max: 2_000_000 }) : null;
  const map = kind === 'map' ? new Map<string, Buffer>() : null;
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    value.writeUInt32LE(i, 0);
    const v = Buffer.from(value); // the cache keeps its own copy, as the engine does
    if (lru) lru.set(keyString(i), v);
    else map!.set(keyString(i), v);
  }
  const setMs = performance.now() - t;
  gc();
  const mem = process.memoryUsage();
  const keys: string[] = new Array(N);
  for (let i = 0; i < N; i++) keys[i] = keyString(order[i]);
  let best = 0;
  let bestLookup = 0;
  for (let round = 0; round < 3; round++) {
    t = performance.now();
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const v = lru ? lru.get(keys[i]) : map!.get(keys[i]);
      sum += v!.copy(dst, 0);
    }
    best = Math.max(best, perSec(N, performance.now() - t));
    if (sum !== N * VAL) throw new Error(`${kind} lost values`);
    t = performance.now();
    for (let i = 0; i < N; i++) sum += (lru ? lru.get(keys[i]) : map!.get(keys[i]))!.length;
    bestLookup = Math.max(bestLookup, perSec(N, performance.now() - t));
  }
  return {
    setOpsPerSec: perSec(N, setMs),
    getOpsPerSec: best,
    lookupOpsPerSec: bestLookup,
    heapBytesPerKey: (mem.heapUsed - heap0) / N,
    rssBytesPerKey: (mem.rss - rss0) / N,
  };
}

function benchGrowth(): Result {
  const key = Buffer.alloc(KEY);
  const value = Buffer.alloc(VAL, 0x76);
  const e = new Engine({ maxMemory: 1.5 * 1024 ** 3 });
  let max = 0;
  let over1 = 0;
  let over5 = 0;
  // what each slow set did: grew the table (segment rebuild or split), grew the arena, or neither
  // (then a GC or the scheduler took the time)
  let table = e.tableBytes;
  let arena = e.arenaBytes;
  const cause = { table: 0, arena: 0, neither: 0 };
  let maxCause = '';
  const t0 = performance.now();
  for (let i = 0; i < GROW_TO; i++) {
    keyBytes(i, key);
    const t = performance.now();
    e.set(key, value);
    const d = performance.now() - t;
    const grewTable = e.tableBytes !== table;
    const grewArena = e.arenaBytes !== arena;
    table = e.tableBytes;
    arena = e.arenaBytes;
    const why = grewTable ? 'table' : grewArena ? 'arena' : 'neither';
    if (d > max) {
      max = d;
      maxCause = why;
    }
    if (d > 1) over1++;
    if (d > 5) {
      over5++;
      cause[why]++;
    }
  }
  const ms = performance.now() - t0;
  if (e.count !== GROW_TO) throw new Error('growth run lost keys');
  return {
    setOpsPerSec: perSec(GROW_TO, ms),
    getOpsPerSec: 0,
    lookupOpsPerSec: 0,
    heapBytesPerKey: 0,
    rssBytesPerKey: 0,
    bytesPerKey: e.bytesUsed / GROW_TO,
    maxPauseMs: max,
    notes:
      `${over1} sets over 1 ms, ${over5} over 5 ms (table growth ${cause.table}, arena growth ${cause.arena}, ` +
      `neither ${cause.neither}; the worst: ${maxCause}), ${e.debug.segments} table segments`,
  };
}

function runChild(role: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [role], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${role} child exited with ${code}`));
      const lines = out.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]) as Result);
    });
  });
}

const fmt = (n: number): string => n.toLocaleString('en-US');

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role) {
    const r = role.startsWith('engine:')
      ? benchEngine(role.slice(7) as EvictionName)
      : role === 'engine'
        ? benchEngine()
        : role === 'growth'
          ? benchGrowth()
          : benchJs(role as 'lru' | 'map');
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  console.log(`cairn engine bench: ${fmt(N)} keys, ${KEY}-byte keys, ${VAL}-byte values, node ${process.version}`);
  const rows: [string, Result][] = [];
  for (const [name, r] of [
    ['cairn engine', 'engine'],
    ['lru-cache', 'lru'],
    ['Map<string, Buffer>', 'map'],
  ] as const) {
    console.log(`running ${name} ...`);
    const res = await runChild(r);
    rows.push([name, res]);
    console.log(
      `  ${name}: set ${fmt(res.setOpsPerSec)} ops/s, get+copy ${fmt(res.getOpsPerSec)} ops/s, ` +
        `lookup only ${fmt(res.lookupOpsPerSec)} ops/s, RSS ${res.rssBytesPerKey.toFixed(1)} B/key, ` +
        `JS heap ${res.heapBytesPerKey.toFixed(1)} B/key`,
    );
    if (res.bytesPerKey !== undefined) {
      console.log(
        `  ${name}: engine accounting ${res.bytesPerKey.toFixed(2)} B/key = ${KEY + VAL} + ` +
          `${(res.bytesPerKey - KEY - VAL).toFixed(2)} overhead (${res.notes})`,
      );
    }
  }
  console.log(`growing an engine from 0 to ${fmt(GROW_TO)} keys, timing every set ...`);
  const g = await runChild('growth');
  console.log(
    `  worst single set ${g.maxPauseMs!.toFixed(3)} ms, ${fmt(g.setOpsPerSec)} sets/s overall, ` + `${g.bytesPerKey!.toFixed(2)} B/key at 5M (${g.notes})`,
  );
  console.log('each eviction policy (same 1M keys; get = find + copy, as above; best of two interleaved passes):');
  const perPolicy: Record<string, { getOpsPerSec: number; setOpsPerSec: number; overheadBytesPerKey: number }> = {};
  for (let pass = 0; pass < 2; pass++) {
    for (const p of EVICTION_POLICIES) {
      const r = await runChild(`engine:${p}`);
      const prev = perPolicy[p];
      perPolicy[p] = {
        getOpsPerSec: Math.max(prev?.getOpsPerSec ?? 0, r.getOpsPerSec),
        setOpsPerSec: Math.max(prev?.setOpsPerSec ?? 0, r.setOpsPerSec),
        overheadBytesPerKey: Math.round((r.bytesPerKey! - KEY - VAL) * 100) / 100,
      };
    }
  }
  for (const p of EVICTION_POLICIES) {
    const r = perPolicy[p];
    console.log(
      `  ${p.padEnd(7)} get ${fmt(r.getOpsPerSec).padStart(10)} ops/s, set ${fmt(r.setOpsPerSec).padStart(10)} ops/s, ` +
        `overhead ${r.overheadBytesPerKey.toFixed(2)} B/key`,
    );
  }
  const [eng, lru, map] = rows.map((r) => r[1]);
  console.log(
    `targets: overhead <= 24 B/key: ${eng.bytesPerKey! - KEY - VAL <= 24 ? 'met' : 'MISSED'}; ` +
      `get >= lru-cache get: ${eng.getOpsPerSec >= lru.getOpsPerSec ? 'met' : 'MISSED'}; ` +
      `heap ~0 B/key: ${eng.heapBytesPerKey < 1 ? 'met' : 'MISSED'}; ` +
      `worst pause <= 5 ms: ${g.maxPauseMs! <= 5 ? 'met' : 'MISSED'}; ` +
      `sieve get >= lru get: ${perPolicy.sieve.getOpsPerSec >= perPolicy.lru.getOpsPerSec ? 'met' : 'MISSED'}; ` +
      `every policy's overhead <= 24 B/key: ${Object.values(perPolicy).every((x) => x.overheadBytesPerKey <= 24) ? 'met' : 'MISSED'}`,
  );
  const round2 = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      setOpsPerSec: eng.setOpsPerSec,
      getOpsPerSec: eng.getOpsPerSec,
      lruCacheSetOpsPerSec: lru.setOpsPerSec,
      lruCacheGetOpsPerSec: lru.getOpsPerSec,
      mapSetOpsPerSec: map.setOpsPerSec,
      mapGetOpsPerSec: map.getOpsPerSec,
      bytesPerKey: round2(eng.bytesPerKey!),
      overheadBytesPerKey: round2(eng.bytesPerKey! - KEY - VAL),
      heapBytesPerKey: round2(eng.heapBytesPerKey),
      maxPauseMs: round2(g.maxPauseMs!),
      policies: perPolicy,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
