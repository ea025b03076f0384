/**
 * The full fuzz run: `npm run bench:fuzz` (or `node dist/bench/fuzz.js [--frames N] [--seed S]
 * [--protocols native,resp,memcache,ws] [--cases all|none|name,...]`). Starts a server (its own
 * temporary data directory), sends N mutated frames per protocol (default 1,000,000; generators in
 * bench/fuzz-gen.ts; `--frames 0` skips this part), then checks the server is up (PING on fresh
 * connections), found no internal errors, and prints frames, connections and peak RSS. Then it runs
 * the adversarial cases of bench/fuzz-cases.ts (large replies and requests, a client that never
 * reads, a streamed huge command), each on a fresh server, with peak RSS against its bound, and
 * prints one JSON line. Exits 1 on any finding.
 *
 * `ws` (the gateway's WebSocket port) is included when the server has one: each batch is sent as
 * binary WebSocket messages, one frame per message.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './lib/procs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findings, HELLO, runFuzz, scanForBugs, tcpTarget, type FuzzProtocol, type FuzzTarget } from './fuzz-gen.js';
import { packageRoot } from '../src/paths.js';
import { CASES, runCases } from './fuzz-cases.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const total = Number(arg('frames', '1000000'));
const seed = Number(arg('seed', String(Date.now() % 100000)));
const protocols = arg('protocols', 'native,resp,memcache,ws').split(',') as FuzzProtocol[];
const casesArg = arg('cases', 'all');
const caseNames = casesArg === 'all' ? Object.keys(CASES) : casesArg === 'none' ? [] : casesArg.split(',');

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** WebSocket target: the same frames as binary messages, through the WebSocket the gateway serves. */
type WsCtor = new (url: string) => WebSocket;

function wsTarget(port: number, Ws: WsCtor): FuzzTarget {
  return {
    open: async () => {
      const ws = new Ws(`ws://127.0.0.1:${port}/ws`);
      ws.binaryType = 'arraybuffer';
      let got = 0;
      let closed = false;
      const closedP = new Promise<void>((r) =>
        ws.addEventListener('close', () => {
          closed = true;
          r();
        }),
      );
      ws.addEventListener('message', (e) => {
        const b = Buffer.from(e.data as ArrayBuffer);
        got += b.length;
        scanForBugs(b);
      });
      ws.addEventListener('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve());
        ws.addEventListener('error', () => reject(new Error('websocket failed to open')));
      });
      ws.send(HELLO);
      return {
        // a chunk of frames: split at frame boundaries where the length prefix is plausible, else one message
        send: (b: Buffer) => {
          if (!closed) ws.send(b);
        },
        closed: closedP,
        isClosed: () => closed,
        received: () => got,
        close: () => ws.close(),
      };
    },
  };
}

async function main(): Promise<void> {
  let failed = total > 0 ? await fuzzFrames() : false;
  const cases = await runCases(caseNames);
  if (cases.some((c) => !c.ok)) failed = true;
  console.log(
    JSON.stringify({ bench: 'fuzz', frames: total, seed, cases: cases.map(({ name, ok, peakRssMB, boundMB, ms }) => ({ name, ok, peakRssMB, boundMB, ms })) }),
  );
  process.exit(failed ? 1 : 0);
}

/** The mutated-frame run; true when something was found. */
async function fuzzFrames(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-fuzz-'));
  const ports = { native: await freePort(), resp: await freePort(), memcache: await freePort(), http: await freePort() };
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
      '128mb',
      '--port',
      String(ports.native),
      '--resp-port',
      String(ports.resp),
      '--memcache-port',
      String(ports.memcache),
      '--http-port',
      String(ports.http),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const t0 = Date.now();
  while (!out.includes('ready')) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const httpOn = /http (\d+)/.test(out) && !/http off/.test(out);
  const pid = child.pid!;
  let peak = rss(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 250);
  const targets: Partial<Record<FuzzProtocol, FuzzTarget>> = {
    native: tcpTarget(ports.native, HELLO),
    resp: tcpTarget(ports.resp),
    memcache: tcpTarget(ports.memcache),
  };
  // Node 20 has no global WebSocket; the `ws` package (present as a dependency of the tooling) stands in
  let Ws: WsCtor | null = typeof WebSocket === 'function' ? (WebSocket as unknown as WsCtor) : null;
  if (!Ws) {
    try {
      Ws = ((await import('ws' as string)) as { WebSocket: WsCtor }).WebSocket;
    } catch {
      Ws = null;
    }
  }
  if (httpOn && Ws) targets.ws = wsTarget(ports.http, Ws);
  let failed = false;
  for (const p of protocols) {
    const target = targets[p];
    if (!target) {
      console.log(`fuzz ${p}: skipped (${p === 'ws' ? 'no gateway or no global WebSocket in this Node' : 'unknown'})`);
      continue;
    }
    let lastPrint = Date.now();
    const r = await runFuzz(p, target, total, {
      seed,
      parallel: 8,
      onProgress: (n) => {
        if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          console.log(`  ${p}: ${n} frames, RSS ${(rss(pid) / 2 ** 20).toFixed(0)} MB`);
        }
      },
    });
    console.log(
      `fuzz ${p}: ${r.frames} frames, ${(r.bytes / 1e6).toFixed(1)} MB, ${r.connections} connections (${r.closedByServer} closed by the server) in ${(r.ms / 1000).toFixed(1)} s`,
    );
    if (child.exitCode !== null) {
      console.log(`the server exited (${child.exitCode}) during the ${p} run:\n${out.slice(-4000)}`);
      return true;
    }
  }
  clearInterval(sampler);
  const pong = await new Promise<boolean>((resolve) => {
    const s = connect(ports.resp, '127.0.0.1', () => s.write('PING\r\n'));
    s.on('data', (d) => resolve(d.toString().includes('PONG')));
    s.on('error', () => resolve(false));
    setTimeout(() => resolve(false), 5000);
  });
  console.log(`server up afterwards: ${pong ? 'yes (PONG)' : 'NO'}; peak RSS ${(peak / 2 ** 20).toFixed(0)} MB; seed ${seed}`);
  if (!pong) failed = true;
  if (findings.length > 0) {
    failed = true;
    console.log(`findings (replies that reveal an internal error):\n${findings.join('\n---\n')}`);
  }
  if (/internal error|uncaught/.test(out)) {
    failed = true;
    console.log(`server log shows internal errors:\n${out.slice(-4000)}`);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return failed;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
