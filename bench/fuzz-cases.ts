/**
 * Adversarial cases for `npm run bench:fuzz`, each against a fresh server with known limits, each
 * reporting the server's peak RSS against its bound: the configured limits (hot tier, connection
 * buffers, rings) plus 256 MB of runtime (three V8 isolates, LevelDB caches, code).
 *
 *  - large-reply: memcached multi-gets of ten 500 KB values on one shard, KEYS and a full SCAN with
 *    COUNT 100000 over 60,000 keys: replies larger than a shard's ring;
 *  - large-request: RESP MSET of eight 1 MB values to one shard, and a raw native MSET frame of
 *    7.7 MB: requests larger than a ring;
 *  - never-reading: one connection per protocol pipelines 5,000 GETs of a 512 KB value and never
 *    reads its replies;
 *  - streamed-command: one DEL with 800,000 one-byte arguments streamed in 64 KB pieces, while
 *    another client's GETs are timed.
 *
 * Each case ends with PING on a fresh connection: the server must still answer.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { pack } from 'msgpackr';
import { shardOf } from '../src/hash.js';
import { packageRoot } from '../src/paths.js';
import { ringBytesFor } from '../src/shards/messages.js';
import { nativeFrame, HELLO } from './fuzz-gen.js';
import { sleep, startCairn, type CairnHandle } from './lib/procs.js';

const MB = 2 ** 20;
const RUNTIME_ALLOWANCE = 256 * MB;

export interface CaseResult {
  name: string;
  ok: boolean;
  /** what the case observed, in words */
  detail: string;
  peakRssMB: number;
  boundMB: number;
  ms: number;
}

/** The limits a case runs with: every figure that bounds the server's memory by configuration. */
interface Limits {
  maxMemory: number;
  outputLimit: number;
  /** flags beyond the memory figures */
  args: string[];
}

const DEFAULT_LIMITS: Limits = { maxMemory: 128 * MB, outputLimit: 64 * MB, args: [] };

function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Rings: one request and one reply ring per front thread per shard (src/shards/pool.ts sizes). */
const RING_BYTES = ringBytesFor(MB);

function boundOf(l: Limits, shards: number): number {
  // hot tier + one connection's output allowance (each case drives one abusive connection at a time)
  // + two fronts' ring pairs per shard + the runtime
  return l.maxMemory + l.outputLimit + shards * 2 * 2 * RING_BYTES + RUNTIME_ALLOWANCE;
}

/** A socket with a reply accumulator: `until(pred)` resolves once the bytes so far satisfy it. */
class Conn {
  readonly sock: Socket;
  private chunks: Buffer[] = [];
  private size = 0;
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('error', () => undefined);
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  get bytes(): number {
    return this.size;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  take(): Buffer {
    const b = Buffer.concat(this.chunks);
    this.chunks = [];
    this.size = 0;
    return b;
  }

  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.closed) throw new Error(`${what}: connection closed by the server`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: no complete reply in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** n distinct keys that all hash to shard `shard` of `shards`. */
function keysOnShard(prefix: string, n: number, shard: number, shards: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const k = `${prefix}:${i}`;
    if (shardOf(Buffer.from(k), shards) === shard) out.push(k);
  }
  return out;
}

const bulk = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
};
const resp = (...args: (string | Buffer)[]): Buffer => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map(bulk)]);

async function ping(server: CairnHandle): Promise<boolean> {
  try {
    const c = await Conn.open(server.respPort);
    c.sock.write('PING\r\n');
    await c.until(() => c.text().includes('PONG'), 10_000, 'PING');
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** Runs `body` against a fresh two-shard server, sampling its RSS every 100 ms. */
async function runCase(name: string, limits: Limits, body: (s: CairnHandle) => Promise<string>): Promise<CaseResult> {
  const shards = 2;
  const server = await startCairn({
    root: packageRoot,
    shards,
    maxMemory: String(limits.maxMemory),
    args: ['--durability', 'spill', '--output-limit', String(limits.outputLimit), ...limits.args],
  });
  const pid = server.daemon.process.pid!;
  let peak = rss(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);
  const t0 = Date.now();
  let ok = true;
  let detail: string;
  try {
    detail = await body(server);
  } catch (err) {
    ok = false;
    detail = `FAILED: ${(err as Error).message}`;
  }
  const ms = Date.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, rss(pid));
  if (!server.daemon.alive()) {
    ok = false;
    detail += `; the server exited:\n${server.daemon.output().slice(-2000)}`;
  } else if (!(await ping(server))) {
    ok = false;
    detail += '; no PONG afterwards';
  }
  if (/internal error|uncaught/i.test(server.daemon.output())) {
    ok = false;
    detail += '; the server logged an internal error';
  }
  await server.stop();
  const bound = boundOf(limits, shards);
  if (peak > bound) ok = false;
  return { name, ok, detail, peakRssMB: Math.round(peak / MB), boundMB: Math.round(bound / MB), ms };
}

async function largeReply(s: CairnHandle): Promise<string> {
  const notes: string[] = [];
  // memcached: ten 500 KB values on one shard, fetched in one get, 20 times
  const mc = await Conn.open(s.memcachePort);
  const big = Buffer.alloc(500 * 1024, 0x61);
  const keys = keysOnShard('big', 10, 0, 2);
  for (const k of keys) mc.sock.write(Buffer.concat([Buffer.from(`set ${k} 0 0 ${big.length}\r\n`), big, Buffer.from('\r\n')]));
  await mc.until(() => mc.text().split('STORED\r\n').length - 1 === keys.length, 30_000, 'memcached sets');
  mc.take();
  for (let round = 0; round < 20; round++) {
    mc.sock.write(`get ${keys.join(' ')}\r\n`);
    await mc.until(() => mc.bytes >= keys.length * big.length && mc.text().endsWith('END\r\n'), 30_000, 'memcached multi-get');
    const got = mc.take().toString('latin1').split('VALUE ').length - 1;
    if (got !== keys.length) throw new Error(`multi-get returned ${got} of ${keys.length} values`);
  }
  mc.close();
  notes.push(`memcached get of 10 x 500 KB on one shard: 20 of 20 whole`);
  // RESP: 60,000 keys, then KEYS * and SCAN 0 COUNT 100000
  const r = await Conn.open(s.respPort);
  const N = 60_000;
  for (let i = 0; i < N; i += 1000) {
    const args: string[] = ['MSET'];
    for (let j = i; j < i + 1000; j++) args.push(`key:${j}`, `v${j}`);
    r.sock.write(resp(...args));
  }
  await r.until(() => r.text().split('+OK\r\n').length - 1 === N / 1000, 60_000, 'MSET of 60,000 keys');
  r.take();
  r.sock.write(resp('KEYS', 'key:*'));
  await r.until(() => /^\*(\d+)\r\n/.test(r.text()) && r.text().split('\r\n').length >= 2 * Number(/^\*(\d+)/.exec(r.text())![1]) + 1, 60_000, 'KEYS *');
  const keysCount = Number(/^\*(\d+)/.exec(r.take().toString('latin1'))![1]);
  if (keysCount !== N) throw new Error(`KEYS key:* returned ${keysCount} of ${N}`);
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  let returned = 0;
  do {
    r.sock.write(resp('SCAN', cursor, 'COUNT', '100000'));
    await r.until(
      () => {
        const m = /^\*2\r\n\$\d+\r\n(\d+)\r\n\*(\d+)\r\n/.exec(r.text());
        return m !== null && r.text().split('\r\n').length >= 5 + 2 * Number(m[2]);
      },
      60_000,
      'SCAN',
    );
    const lines = r.take().toString('latin1').split('\r\n');
    cursor = lines[2];
    for (let i = 5; i < lines.length; i += 2) {
      if (!lines[i].startsWith('key:')) continue;
      returned++;
      seen.add(lines[i]);
    }
    calls++;
  } while (cursor !== '0' && calls < 1000);
  r.close();
  if (seen.size !== N || returned !== N) throw new Error(`SCAN COUNT 100000 returned ${returned} keys, ${seen.size} distinct, of ${N}`);
  notes.push(`KEYS and SCAN COUNT 100000 over ${N} keys: all, once (${calls} SCAN calls)`);
  return notes.join('; ');
}

async function largeRequest(s: CairnHandle): Promise<string> {
  const notes: string[] = [];
  const keys = keysOnShard('mset', 8, 1, 2);
  const values = keys.map((_, i) => Buffer.alloc(MB, 0x30 + i));
  const r = await Conn.open(s.respPort);
  r.sock.write(resp('MSET', ...keys.flatMap((k, i) => [k, values[i]])));
  await r.until(() => r.text().length > 0, 60_000, 'RESP MSET of 8 x 1 MB');
  const reply = r.take().toString('latin1');
  if (reply !== '+OK\r\n') throw new Error(`RESP MSET answered ${JSON.stringify(reply.slice(0, 200))}`);
  r.sock.write(resp('MGET', ...keys));
  await r.until(() => r.bytes >= 8 * MB, 60_000, 'MGET');
  const back = r.take();
  for (let i = 0; i < keys.length; i++) {
    if (back.indexOf(values[i].subarray(0, 64)) < 0) throw new Error(`value ${i} did not come back`);
  }
  r.close();
  notes.push('RESP MSET of 8 x 1 MB to one shard: stored and read back');
  // native: one MSET frame of ~7.7 MB (under the 8 MiB maxFrame), all keys on one shard
  const n = await Conn.open(s.port);
  n.sock.write(HELLO);
  const nkeys = keysOnShard('nmset', 8, 0, 2);
  const body = pack([nkeys.flatMap((k, i) => [Buffer.from(k), Buffer.alloc(960 * 1024, 0x41 + i)])]);
  const frame = nativeFrame(0x21, 7, Buffer.from(nkeys[0]), body);
  n.sock.write(frame);
  // HELLO's reply, then the MSET's: a reply frame with id 7 and status 0
  await n.until(() => findNativeReply(n.text(), 7) !== null, 60_000, `native MSET frame of ${(frame.length / MB).toFixed(1)} MB`);
  const status = findNativeReply(n.text(), 7);
  n.close();
  if (status !== 0) throw new Error(`native MSET frame answered status ${status}`);
  notes.push(`native MSET frame of ${(frame.length / MB).toFixed(1)} MB: stored`);
  return notes.join('; ');
}

/** The status byte of the reply frame with this id, or null when it has not arrived. */
function findNativeReply(text: string, id: number): number | null {
  const b = Buffer.from(text, 'latin1');
  let p = 0;
  while (p + 9 <= b.length) {
    const len = b.readUInt32BE(p);
    if (p + 4 + len > b.length) return null;
    if (b.readUInt32BE(p + 5) === id) return b[p + 4];
    p += 4 + len;
  }
  return null;
}

async function neverReading(s: CairnHandle): Promise<string> {
  const notes: string[] = [];
  const value = Buffer.alloc(512 * 1024, 0x7a);
  const setup = await Conn.open(s.respPort);
  setup.sock.write(resp('SET', 'big', value));
  await setup.until(() => setup.text() === '+OK\r\n', 30_000, 'SET big');
  setup.close();
  const COUNT = 5_000;
  const requests: Record<string, { port: number; prologue: Buffer | null; one: Buffer }> = {
    resp: { port: s.respPort, prologue: null, one: resp('GET', 'big') },
    memcached: { port: s.memcachePort, prologue: null, one: Buffer.from('get big\r\n') },
    native: { port: s.port, prologue: HELLO, one: nativeFrame(0x10, 9, Buffer.from('big'), pack([])) },
  };
  for (const [name, r] of Object.entries(requests)) {
    const c = await new Promise<Socket>((resolve, reject) => {
      const sock = connect(r.port, '127.0.0.1', () => resolve(sock));
      sock.once('error', reject);
    });
    c.on('error', () => undefined);
    c.pause(); // never read: the kernel's receive buffer fills, then the server's queue
    let closed = false;
    c.on('close', () => (closed = true));
    if (r.prologue) c.write(r.prologue);
    const batch = Buffer.concat(Array.from({ length: 100 }, () => r.one));
    let sent = 0;
    const t0 = Date.now();
    while (sent < COUNT && !closed && Date.now() - t0 < 30_000) {
      if (!c.write(batch)) await Promise.race([new Promise((res) => c.once('drain', res)), sleep(200)]);
      sent += 100;
    }
    // give the server time to run whatever it accepted
    await sleep(3000);
    notes.push(`${name}: ${sent} GETs written${closed ? ', closed by the server' : ', connection held'}`);
    c.destroy();
  }
  return notes.join('; ');
}

async function streamedCommand(s: CairnHandle): Promise<string> {
  const ARGS = 800_000;
  const big = await Conn.open(s.respPort);
  const other = await Conn.open(s.respPort);
  other.sock.write(resp('SET', 'probe', 'x'));
  await other.until(() => other.text() === '+OK\r\n', 10_000, 'SET probe');
  other.take();
  const latencies: number[] = [];
  let streaming = true;
  let probeError: Error | null = null;
  const prober = (async () => {
    while (streaming && !probeError) {
      const t = process.hrtime.bigint();
      other.sock.write(resp('GET', 'probe'));
      await other.until(() => other.text().endsWith('x\r\n'), 60_000, 'GET probe');
      other.take();
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      await sleep(5);
    }
  })().catch((err: Error) => {
    probeError = err;
  });
  const t0 = Date.now();
  big.sock.write(`*${ARGS + 1}\r\n$3\r\nDEL\r\n`);
  const piece = Buffer.from('$1\r\nx\r\n'.repeat((64 * 1024) / 7));
  const per = ((64 * 1024) / 7) | 0;
  for (let sent = 0; sent < ARGS; sent += per) {
    const n = Math.min(per, ARGS - sent);
    const chunk = n === per ? piece : piece.subarray(0, n * 7);
    if (!big.sock.write(chunk)) await new Promise((r) => big.sock.once('drain', r));
    await new Promise((r) => setImmediate(r));
  }
  await big.until(() => big.text().includes('\r\n'), 120_000, 'DEL with 800,000 arguments');
  const delMs = Date.now() - t0;
  streaming = false;
  await prober;
  big.close();
  other.close();
  if (probeError) throw probeError;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return `DEL of ${ARGS} args answered ${JSON.stringify(big.text().trim())} in ${delMs} ms; other client's GET during it: ${latencies.length} calls, p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms`;
}

export const CASES: Record<string, (s: CairnHandle) => Promise<string>> = {
  'large-reply': largeReply,
  'large-request': largeRequest,
  'never-reading': neverReading,
  'streamed-command': streamedCommand,
};

export async function runCases(names: string[] = Object.keys(CASES), limits: Limits = DEFAULT_LIMITS): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for (const name of names) {
    const body = CASES[name];
    if (!body) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
    console.log(`  case ${name} ...`);
    const r = await runCase(name, limits, body);
    console.log(`case ${name}: ${r.ok ? 'ok' : 'FAILED'} in ${(r.ms / 1000).toFixed(1)} s; peak RSS ${r.peakRssMB} MB (bound ${r.boundMB} MB); ${r.detail}`);
    out.push(r);
  }
  return out;
}
