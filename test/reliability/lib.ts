/** Shared pieces of the reliability tests: servers with test hooks, keys per shard, raw sockets. */
import { connect, type Socket } from 'node:net';
import Redis from 'ioredis';
import { shardOf } from '../../src/hash.js';
import { startServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

export const servers: TestServer[] = [];
export const redisClients: Redis[] = [];

/** A server with test hooks on and no gateway (these tests do not need it); stopped by cleanup(). */
export async function start(options: TestServerOptions = {}): Promise<TestServer> {
  const s = await startServer({
    ...options,
    args: ['--http-port', 'off', ...(options.args ?? [])],
    env: { CAIRN_TEST_HOOKS: '1', ...options.env },
  });
  servers.push(s);
  return s;
}

export async function cleanup(): Promise<void> {
  for (const r of redisClients.splice(0)) r.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.kill()));
}

export function redis(port: number, extra: Record<string, unknown> = {}): Redis {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3, ...extra });
  r.on('error', () => undefined);
  redisClients.push(r);
  return r;
}

/** `n` distinct keys `${prefix}<i>` that live on `shard` of `shards`. */
export function keysOn(shard: number, shards: number, n: number, prefix = 'k'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const k = `${prefix}${i}`;
    if (shardOf(Buffer.from(k), shards) === shard) out.push(k);
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` is true, polling; throws after `ms`. */
export async function until(check: () => Promise<boolean> | boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Resolves when the hidden CAIRN.DEBUG SHARD-UP says the shard serves. */
export async function shardUp(r: Redis, shard: number): Promise<void> {
  await until(async () => (await r.call('cairn.debug', 'shard-up', String(shard))) === 1, 20_000, `shard ${shard} up`);
}

/** A raw socket that collects everything it receives. */
export interface RawConn {
  socket: Socket;
  received(): Buffer;
  closed: Promise<void>;
  isClosed(): boolean;
}

export function raw(port: number): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedFlag = false;
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        closedFlag = true;
        r();
      }),
    );
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(chunks), closed, isClosed: () => closedFlag }));
    socket.once('error', reject);
  });
}

/** Sends text and waits until the reply contains `expect` (or times out). */
export async function exchange(port: number, text: string | Buffer, expect: string | RegExp, ms = 5000): Promise<string> {
  const c = await raw(port);
  c.socket.write(text);
  try {
    let out = '';
    await until(
      () => {
        out = c.received().toString('latin1');
        return typeof expect === 'string' ? out.includes(expect) : expect.test(out);
      },
      ms,
      `reply ${String(expect)} (got ${JSON.stringify(c.received().toString('latin1').slice(0, 200))})`,
    );
    return out;
  } finally {
    c.socket.destroy();
  }
}

/** A server is alive when a fresh connection gets PONG on RESP. */
export async function respPing(port: number): Promise<boolean> {
  try {
    return (await exchange(port, 'PING\r\n', '+PONG', 5000)).includes('+PONG');
  } catch {
    return false;
  }
}

/** RSS in bytes of a process (Linux /proc). */
export async function rssOf(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
