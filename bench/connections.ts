/**
 * Many concurrent connections: `node dist/bench/connections.js [--connections 10000] [--json]`.
 *
 * Starts a server with a raised file-descriptor limit (through `bash -c 'ulimit -n ...; exec node'`,
 * since the limit is per process), raises its own limit the same way (it re-runs itself), opens the
 * connections (a third each on the native, RESP and memcached ports; native ones complete the HELLO
 * handshake), holds them all open, measures the server's RSS before and after (memory per idle
 * connection), then sends one request on every connection and checks every one is answered.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { freePort } from './lib/procs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from 'msgpackr';
import { packageRoot } from '../src/paths.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const total = Number(arg('connections', '10000'));
const json = process.argv.includes('--json');
const FD_LIMIT = Math.max(4096, total * 2 + 1024);

function softLimit(): number {
  const r = spawnSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  return r.stdout.trim() === 'unlimited' ? Infinity : Number(r.stdout.trim());
}

/** `ulimit -n N` as high as this user may go (hard limit for non-root), then exec. */
function ulimitPrefix(): string {
  return `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n $(ulimit -Hn)`;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function frame(opcode: number, id: number, body: unknown[]): Buffer {
  const b = pack(body);
  const out = Buffer.alloc(13 + b.length);
  out.writeUInt32BE(9 + b.length, 0);
  out[4] = opcode;
  out.writeUInt32BE(id, 5);
  out.writeUInt32BE(0, 9);
  b.copy(out, 13);
  return out;
}

interface Held {
  socket: Socket;
  proto: 'native' | 'resp' | 'memcache';
  got: number;
}

function open(port: number, proto: Held['proto']): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const h: Held = { socket, proto, got: 0 };
    socket.on('data', (d: Buffer) => (h.got += d.length));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      if (proto === 'native') socket.write(frame(0x01, 1, [{ version: 1 }]));
      resolve(h);
    });
  });
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

async function main(): Promise<void> {
  if (softLimit() < FD_LIMIT && !process.env.CAIRN_CONNECTIONS_CHILD) {
    // re-run with a raised limit (the client side needs one descriptor per connection too)
    const r = spawnSync('bash', ['-c', `${ulimitPrefix()}; exec "$0" "$@"`, process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, CAIRN_CONNECTIONS_CHILD: '1' },
    });
    process.exit(r.status ?? 1);
  }
  const limit = softLimit();
  if (limit < total + 512) throw new Error(`file-descriptor limit ${limit} is too low for ${total} connections (and cannot be raised here)`);

  const dir = mkdtempSync(join(tmpdir(), 'cairn-conns-'));
  const ports = { native: await freePort(), resp: await freePort(), memcache: await freePort() };
  const cli = join(packageRoot, 'dist/src/cli.js');
  const child = spawn(
    'bash',
    [
      '-c',
      `${ulimitPrefix()}; exec "$0" "$@"`,
      process.execPath,
      cli,
      'serve',
      '--data',
      dir,
      '--shards',
      '2',
      '--max-memory',
      '64mb',
      '--port',
      String(ports.native),
      '--resp-port',
      String(ports.resp),
      '--memcache-port',
      String(ports.memcache),
      '--http-port',
      'off',
      '--max-connections',
      String(total + 100),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  if (!(await waitFor(() => out.includes('ready') || child.exitCode !== null, 30_000)) || child.exitCode !== null) {
    throw new Error(`server did not start:\n${out}`);
  }
  const pid = child.pid!;
  await new Promise((r) => setTimeout(r, 500));
  const before = rss(pid);
  const held: Held[] = [];
  const protos: Held['proto'][] = ['native', 'resp', 'memcache'];
  const t0 = Date.now();
  for (let i = 0; i < total; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(total, i + 200); j++) {
      const p = protos[j % 3];
      batch.push(open(ports[p], p));
    }
    held.push(...(await Promise.all(batch)));
  }
  const openMs = Date.now() - t0;
  // native HELLOs answered
  await waitFor(() => held.every((h) => h.proto !== 'native' || h.got > 0), 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const idle = rss(pid);
  // one request on every connection
  for (const h of held) h.got = 0;
  const t1 = Date.now();
  for (const h of held) {
    if (h.proto === 'native') h.socket.write(frame(0x02, 2, []));
    else if (h.proto === 'resp') h.socket.write('PING\r\n');
    else h.socket.write('version\r\n');
  }
  const allAnswered = await waitFor(() => held.every((h) => h.got > 0), 60_000);
  const answered = held.filter((h) => h.got > 0).length;
  const serveMs = Date.now() - t1;
  const open_ = held.filter((h) => !h.socket.destroyed).length;
  const perConn = (idle - before) / total;
  const result = {
    connections: total,
    open: open_,
    answered,
    openMs,
    serveMs,
    rssBeforeMb: +(before / 2 ** 20).toFixed(1),
    rssIdleMb: +(idle / 2 ** 20).toFixed(1),
    bytesPerIdleConnection: Math.round(perConn),
  };
  for (const h of held) h.socket.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`${total} connections opened in ${openMs} ms and held (${open_} open); one request on each: ${answered} answered in ${serveMs} ms`);
    console.log(
      `server RSS ${result.rssBeforeMb} MB before, ${result.rssIdleMb} MB with every connection idle: ~${(perConn / 1024).toFixed(1)} KiB per idle connection`,
    );
  }
  process.exit(allAnswered && open_ === total ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
