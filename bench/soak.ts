/**
 * Soak: `node dist/bench/soak.js [--seconds 60] [--restart-every 10] [--workers 8] [--keys 2000]`.
 *
 * Mixed traffic (SET, GET, DEL, INCR, APPEND, EXPIRE-free) from RESP and SDK workers against a
 * server in sync mode, restarted every --restart-every seconds, alternately gracefully (SIGTERM) and
 * with SIGKILL. Each worker owns its keys, so a model knows every key's value: an acknowledged
 * write sets it; a write that failed (the server was going down) leaves the key "unsure" between its
 * old and new value until the next acknowledged write. Reads are checked against the model while it
 * runs, and at the end every key is checked after a final restart. Exits 1 on any mismatch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from './lib/procs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createClient, type CairnClient } from '../src/client/index.js';
import { packageRoot } from '../src/paths.js';

function arg(name: string, fallback: string): number {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i > 0 ? process.argv[i + 1] : fallback);
}
const seconds = arg('seconds', '60');
const restartEvery = arg('restart-every', '10');
const workers = arg('workers', '8');
const keysPerWorker = Math.ceil(arg('keys', '2000') / workers);
const json = process.argv.includes('--json');

const dir = mkdtempSync(join(tmpdir(), 'cairn-soak-'));
let ports = { native: 0, resp: 0, memcache: 0 };
let server: ChildProcess | null = null;
let log = '';

async function startServer(): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      join(packageRoot, 'dist/src/cli.js'),
      'serve',
      '--data',
      dir,
      '--shards',
      '2',
      '--max-memory',
      '16mb',
      '--durability',
      'sync',
      '--port',
      String(ports.native),
      '--resp-port',
      String(ports.resp),
      '--memcache-port',
      String(ports.memcache),
      '--http-port',
      'off',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const t0 = Date.now();
  while (!out.includes('ready')) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.once('exit', () => (log += out));
  server = child;
}

async function stopServer(kill: boolean): Promise<void> {
  const child = server!;
  server = null;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(kill ? 'SIGKILL' : 'SIGTERM');
  await exited;
}

interface KeyModel {
  value: string | null;
  /** values that may be there instead (writes in flight when the server went down) */
  unsure: (string | null)[];
}
const model = new Map<string, KeyModel>();
const stats = { ops: 0, failed: 0, readChecks: 0, mismatches: [] as string[], restarts: { graceful: 0, kill: 0 } };
let running = true;

function accepts(m: KeyModel, v: string | null): boolean {
  return v === m.value || m.unsure.includes(v);
}

type Op = { kind: 'set' | 'del' | 'incr' | 'append' | 'get'; key: string; arg: string };

function nextOp(keys: string[], n: number): Op {
  const key = keys[(n * 7919) % keys.length];
  const r = (n * 2654435761) % 100;
  if (r < 35) return { kind: 'get', key, arg: '' };
  if (r < 65) return { kind: 'set', key, arg: `v${n}` };
  if (r < 75) return { kind: 'del', key, arg: '' };
  if (r < 88) return { kind: 'append', key, arg: `+${n % 10}` };
  return { kind: 'incr', key, arg: '' };
}

/** The value after op, from the value before it (null: the op fails on that value, e.g. INCR of text). */
function apply(op: Op, before: string | null): string | null | undefined {
  switch (op.kind) {
    case 'set':
      return op.arg;
    case 'del':
      return null;
    case 'append':
      return (before ?? '') + op.arg;
    case 'incr': {
      const n = before === null ? 0 : /^-?\d+$/.test(before) ? Number(before) : NaN;
      return Number.isNaN(n) ? undefined : String(n + 1);
    }
    default:
      return before;
  }
}

interface Driver {
  run(op: Op): Promise<string | null | 'OK' | number>;
  close(): Promise<void>;
}

async function respDriver(): Promise<Driver> {
  const r = new Redis({ port: ports.resp, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => 50, enableOfflineQueue: false });
  r.on('error', () => undefined);
  return {
    run: (op) => {
      switch (op.kind) {
        case 'get':
          return r.get(op.key);
        case 'set':
          return r.set(op.key, op.arg);
        case 'del':
          return r.del(op.key);
        case 'append':
          return r.append(op.key, op.arg);
        case 'incr':
          return r.incr(op.key);
      }
    },
    close: async () => r.disconnect(),
  };
}

async function sdkDriver(): Promise<Driver> {
  let c: CairnClient | null = null;
  const client = async (): Promise<CairnClient> => (c ??= await createClient({ port: ports.native, timeoutMs: 5000, reconnect: true }));
  const text = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString());
  return {
    run: async (op) => {
      const cl = await client();
      switch (op.kind) {
        case 'get':
          return text(await cl.get(op.key));
        case 'set':
          await cl.set(op.key, op.arg);
          return 'OK';
        case 'del':
          await cl.del(op.key);
          return 1;
        case 'append':
          await cl.append(op.key, op.arg);
          return 1;
        case 'incr':
          return Number(await cl.incr(op.key));
      }
    },
    close: async () => {
      await c?.close().catch(() => undefined);
    },
  };
}

async function worker(w: number): Promise<void> {
  const keys = Array.from({ length: keysPerWorker }, (_, i) => `soak:${w}:${i}`);
  for (const k of keys) model.set(k, { value: null, unsure: [] });
  let driver: Driver | null = null;
  for (let n = w * 1_000_003; running; n++) {
    if (!server) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    try {
      driver ??= w % 4 === 3 ? await sdkDriver() : await respDriver();
    } catch {
      driver = null;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const op = nextOp(keys, n);
    const m = model.get(op.key)!;
    stats.ops++;
    try {
      const reply = await driver.run(op);
      if (op.kind === 'get') {
        stats.readChecks++;
        if (!accepts(m, reply as string | null)) stats.mismatches.push(`GET ${op.key} = ${String(reply)}, model ${m.value} / ${m.unsure.join(',')}`);
        else if (m.unsure.length > 0) {
          m.value = reply as string | null; // the read settles what survived
          m.unsure = [];
        }
      } else {
        const after = apply(op, m.value);
        if (after === undefined || m.unsure.length > 0) {
          // INCR of text errors out (a reply error, caught below); after an unsure state, ask the server
          const now = await driver.run({ kind: 'get', key: op.key, arg: '' });
          m.value = now as string | null;
          m.unsure = [];
        } else m.value = after;
      }
    } catch (err) {
      stats.failed++;
      const msg = (err as Error).message ?? '';
      if (/not an integer|CAIRN_ERR_NOT_INTEGER|value is not/i.test(msg)) continue; // INCR on text: no change
      if (op.kind !== 'get') {
        const after = apply(op, m.value);
        if (after !== undefined) m.unsure.push(after);
        // APPEND/INCR on an unsure value: anything derived is possible; settle by reading later
        if (m.unsure.length > 4) m.unsure.push(...m.unsure.map((u) => apply(op, u)).filter((u): u is string | null => u !== undefined));
      }
      await driver.close().catch(() => undefined);
      driver = null;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await driver?.close();
}

async function main(): Promise<void> {
  ports = { native: await freePort(), resp: await freePort(), memcache: await freePort() };
  await startServer();
  const t0 = Date.now();
  const load = Array.from({ length: workers }, (_, w) => worker(w));
  let kill = false;
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, Math.min(restartEvery * 1000, seconds * 1000 - (Date.now() - t0))));
    if (Date.now() - t0 >= seconds * 1000) break;
    kill = !kill;
    await stopServer(kill);
    if (kill) stats.restarts.kill++;
    else stats.restarts.graceful++;
    await startServer();
  }
  running = false;
  await Promise.all(load);
  await stopServer(false);
  await startServer();
  // final check: every key against the model
  const r = new Redis({ port: ports.resp, host: '127.0.0.1' });
  let checked = 0;
  const keys = [...model.keys()];
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const vals = await r.mget(...chunk);
    vals.forEach((v, j) => {
      checked++;
      const m = model.get(chunk[j])!;
      if (!accepts(m, v)) stats.mismatches.push(`final ${chunk[j]} = ${v}, model ${m.value} / ${m.unsure.join(',')}`);
    });
  }
  r.disconnect();
  await stopServer(false);
  rmSync(dir, { recursive: true, force: true });
  const result = {
    seconds,
    ops: stats.ops,
    failedDuringRestarts: stats.failed,
    readChecks: stats.readChecks,
    keysChecked: checked,
    restarts: stats.restarts,
    mismatches: stats.mismatches.length,
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(
      `soak: ${seconds} s, ${stats.ops} ops (${stats.failed} refused or failed while the server was down or restarting), ${stats.readChecks} reads checked, ` +
        `${stats.restarts.graceful} graceful restarts + ${stats.restarts.kill} SIGKILLs; ${checked} keys checked at the end: ` +
        `${stats.mismatches.length} mismatches`,
    );
  }
  if (stats.mismatches.length > 0) {
    console.log(stats.mismatches.slice(0, 20).join('\n'));
    process.exit(1);
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err, log.slice(-3000));
  process.exit(1);
});
