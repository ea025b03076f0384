/**
 * A child process writing to a TieredShardStore is killed with SIGKILL mid-stream; the parent then
 * reopens the directory and checks what survived against what the child acknowledged.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TieredShardStore } from '../../src/store/shard-store.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const compiled = join(root, 'dist/src/store/shard-store.js');
const dirs: string[] = [];

function newestMtime(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.ts')) t = Math.max(t, statSync(join(dir, f)).mtimeMs);
  return t;
}

beforeAll(() => {
  // The child runs the compiled store; build it when dist/ is missing or older than the sources.
  const src = Math.max(newestMtime(join(root, 'src/store')), newestMtime(join(root, 'src/engine')));
  if (!existsSync(compiled) || statSync(compiled).mtimeMs < src) {
    spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'ignore' });
  }
  if (!existsSync(compiled)) throw new Error(`${compiled} missing: run npm run build`);
}, 120_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CHILD = `
const { TieredShardStore } = await import(process.env.CAIRN_STORE_URL);
const { acknowledge } = await import(process.env.CAIRN_STORE_URL.replace('shard-store.js', 'acknowledge.js'));
const cfg = JSON.parse(process.env.CAIRN_CRASH);
const s = await TieredShardStore.open({ shard: 0, dir: cfg.dir, maxMemory: cfg.maxMemory, durability: cfg.durability, writebackDelayMs: cfg.delay, writebackMaxLagMs: cfg.delay });
process.stdout.write('ready\\n');
let next = 0;
async function writer() {
  for (;;) {
    const n = next++;
    await acknowledge(s, () => s.set(Buffer.from('k' + n), Buffer.from('v' + n + ':' + 'x'.repeat(n % 300))));
    process.stdout.write(n + ' ' + Date.now() + '\\n');
  }
}
for (let w = 0; w < cfg.concurrency; w++) writer();
`;

interface Ack {
  n: number;
  at: number;
}

/** Runs the child until it has acknowledged `acks` writes (or `maxMs` passed), then SIGKILLs it. */
function runAndKill(cfg: Record<string, unknown>, acks: number, maxMs: number): Promise<{ acks: Ack[]; killedAt: number }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, CAIRN_STORE_URL: pathToFileURL(compiled).href, CAIRN_CRASH: JSON.stringify(cfg) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const got: Ack[] = [];
    let buf = '';
    let stderr = '';
    let killedAt = 0;
    let started = 0;
    const kill = () => {
      if (killedAt) return;
      killedAt = Date.now();
      child.kill('SIGKILL');
    };
    const timer = setTimeout(kill, maxMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') {
          started = Date.now();
          continue;
        }
        const [n, at] = line.split(' ').map(Number);
        got.push({ n, at });
      }
      if (started && got.length >= acks) kill();
    });
    child.on('close', () => {
      clearTimeout(timer);
      if (!killedAt) reject(new Error(`child exited on its own: ${stderr}`));
      else resolvePromise({ acks: got, killedAt });
    });
  });
}

describe('TieredShardStore crash safety (SIGKILL)', () => {
  it('sync mode loses no acknowledged write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-crash-sync-'));
    dirs.push(dir);
    const { acks } = await runAndKill({ dir, maxMemory: 256 << 10, durability: 'sync', delay: 100, concurrency: 32 }, 3000, 15_000);
    expect(acks.length).toBeGreaterThan(500);
    const s = await TieredShardStore.open({ shard: 0, dir, maxMemory: 1 << 20 });
    let lost = 0;
    for (const a of acks) {
      const e = await s.get(Buffer.from('k' + a.n));
      if (!e?.value.toString().startsWith(`v${a.n}:`)) lost++;
    }
    await s.close();
    expect(lost).toBe(0);
  });

  it('writeback mode loses nothing acknowledged before the writeback window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-crash-wb-'));
    dirs.push(dir);
    const delay = 50;
    const { acks, killedAt } = await runAndKill({ dir, maxMemory: 256 << 10, durability: 'writeback', delay, concurrency: 16 }, 20_000, 15_000);
    expect(acks.length).toBeGreaterThan(1000);
    const s = await TieredShardStore.open({ shard: 0, dir, maxMemory: 1 << 20 });
    // Documented window: the max lag (here the delay) plus one batch commit. Allow a generous commit time for
    // a loaded CI machine; what is older than that must be there.
    const window = delay + 500;
    let lostOld = 0;
    let lostRecent = 0;
    for (const a of acks) {
      const e = await s.get(Buffer.from('k' + a.n));
      const ok = e?.value.toString().startsWith(`v${a.n}:`);
      if (!ok) {
        if (a.at < killedAt - window) lostOld++;
        else lostRecent++;
      }
    }
    await s.close();
    expect(lostOld).toBe(0);
    expect(lostRecent).toBeLessThan(acks.length);
  });
});
