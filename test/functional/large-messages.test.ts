/**
 * Requests and replies larger than a shard's ring (4 MB at the default --max-value-size) against a
 * real server: they cross the hop in parts, the shard stays up, and every key stays readable. Every
 * large message here goes to one shard, so that one ring carries all of it.
 */
import { connect, type Socket } from 'node:net';
import Redis from 'ioredis';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, createClient, webSocketTransport, type WebSocketConstructor } from '../../src/client/index.js';
import { shardOf } from '../../src/hash.js';
import { startServer, type TestServer } from '../helpers/server.js';

const SHARDS = 2;
const RING = 4 * 1024 * 1024;

/** `count` keys `${prefix}<n>` that all live on shard 0, each padded to `length` bytes. */
function keysOnShard0(prefix: string, count: number, length = 0): string[] {
  const out: string[] = [];
  for (let n = 0; out.length < count; n++) {
    const key = `${prefix}${n}`.padEnd(length, '.');
    if (shardOf(Buffer.from(key), SHARDS) === 0) out.push(key);
  }
  return out;
}

/** Bytes that differ per key and per position, so a misplaced part shows. */
function valueFor(key: string, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  const seed = key.length * 131 + key.charCodeAt(key.length - 1);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 7 + (i >>> 10)) & 0xff;
  return b;
}

/** One memcached text conversation: send a request, collect the reply until it ends with `end`. */
async function memcacheExchange(port: number, request: Buffer | string, end: string): Promise<Buffer> {
  const sock: Socket = connect({ host: '127.0.0.1', port, noDelay: true });
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => reject(new Error(`no complete reply; got ${size} bytes`)), 60_000);
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        size += d.length;
        const whole = Buffer.concat(chunks);
        chunks.length = 0;
        chunks.push(whole);
        if (whole.length >= end.length && whole.subarray(whole.length - end.length).toString('latin1') === end) {
          clearTimeout(timer);
          resolve(whole);
        }
      });
      sock.on('error', reject);
      sock.on('close', () => reject(new Error(`closed after ${size} bytes`)));
      sock.write(request);
    });
  } finally {
    sock.destroy();
  }
}

/** The values of a memcached `get` reply, by key. */
function parseValues(reply: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  for (;;) {
    const eol = reply.indexOf('\r\n', at);
    const line = reply.toString('latin1', at, eol);
    if (line === 'END') return out;
    const m = /^VALUE (\S+) \d+ (\d+)/.exec(line);
    if (!m) throw new Error(`unexpected line ${JSON.stringify(line.slice(0, 100))}`);
    const start = eol + 2;
    out.set(m[1], reply.subarray(start, start + Number(m[2])));
    at = start + Number(m[2]) + 2;
  }
}

let server: TestServer;
let redis: Redis;
let client: CairnClient;
/** small keys on both shards, written first: they must all survive everything below */
const small = Array.from({ length: 2000 }, (_, i) => `small:${i}`);

beforeAll(async () => {
  server = await startServer({ args: ['--durability', 'spill', '--max-memory', '256mb'] });
  redis = new Redis({ port: server.respPort, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  client = await createClient({ host: '127.0.0.1', port: server.port, timeoutMs: 60_000 });
  for (let i = 0; i < small.length; i += 500) {
    await redis.mset(...small.slice(i, i + 500).flatMap((k) => [k, `v-${k}`]));
  }
}, 60_000);

afterAll(async () => {
  await client?.close();
  await redis?.quit().catch(() => redis.disconnect());
  await server?.stop();
});

/** The shard never died or restarted, and every small key reads back. */
async function shardsHealthy(): Promise<void> {
  expect(server.output()).not.toMatch(/uncaught error|restarted|shard \d+ (exited|crashed)|internal error/i);
  const got = await redis.mget(...small);
  expect(got.filter((v, i) => v !== `v-${small[i]}`)).toEqual([]);
}

describe('messages larger than a ring', () => {
  it('a memcached multi-get of ten 500 KB values on one shard, repeated', async () => {
    const keys = keysOnShard0('mc:', 10);
    for (const key of keys) {
      const value = valueFor(key, 500 * 1024);
      const reply = await memcacheExchange(
        server.memcachePort,
        Buffer.concat([Buffer.from(`set ${key} 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]),
        '\r\n',
      );
      expect(reply.toString()).toBe('STORED\r\n');
    }
    for (let round = 0; round < 3; round++) {
      const reply = await memcacheExchange(server.memcachePort, `get ${keys.join(' ')}\r\n`, 'END\r\n');
      expect(reply.length).toBeGreaterThan(RING);
      const values = parseValues(reply);
      expect([...values.keys()]).toEqual(keys);
      for (const key of keys) expect(values.get(key)!.equals(valueFor(key, 500 * 1024))).toBe(true);
    }
    await shardsHealthy();
  }, 120_000);

  it('KEYS * and SCAN with a large COUNT whose reply from one shard is larger than its ring', async () => {
    // 20,000 keys of 240 bytes on shard 0: that shard's part of the reply alone is ~5 MB
    const keys = keysOnShard0('keys:', 20_000, 240);
    for (let i = 0; i < keys.length; i += 1000) {
      await redis.mset(...keys.slice(i, i + 1000).flatMap((k) => [k, '1']));
    }
    const all = await redis.keys('*');
    expect(all.length).toBe(keys.length + small.length + 10);
    const seen = new Set(all);
    expect(keys.every((k) => seen.has(k))).toBe(true);

    const scanned = new Set<string>();
    let cursor = '0';
    do {
      const [next, page] = await redis.scan(cursor, 'COUNT', 100_000);
      for (const k of page) scanned.add(k);
      cursor = next;
    } while (cursor !== '0');
    expect(keys.every((k) => scanned.has(k))).toBe(true);
    await shardsHealthy();
  }, 120_000);

  it('a RESP MSET of eight 1 MB values to one shard, then MGET of them', async () => {
    const keys = keysOnShard0('resp-big:', 8);
    const args = keys.flatMap((k) => [k, valueFor(k, 1024 * 1024)]);
    expect(await redis.mset(...args)).toBe('OK');
    const got = await redis.mgetBuffer(...keys);
    for (let i = 0; i < keys.length; i++) expect(got[i]!.equals(valueFor(keys[i], 1024 * 1024))).toBe(true);
    await shardsHealthy();
  }, 120_000);

  it('a native MSET frame larger than the ring through the SDK, then MGET of it', async () => {
    const keys = keysOnShard0('native-big:', 7);
    const size = 1024 * 1024 - 1024;
    // one shard, so one frame of ~7.2 MB
    expect(await client.mset(keys.map((k) => [k, valueFor(k, size)] as const))).toBe(7);
    const got = await client.mget(keys);
    for (let i = 0; i < keys.length; i++) expect(Buffer.from(got[i]!).equals(valueFor(keys[i], size))).toBe(true);
    // and small requests on the same connection are still answered in order around large ones
    const [a, b, c] = await Promise.all([client.getString(small[0]), client.mget(keys.slice(0, 5)), client.getString(small[1])]);
    expect([a, c]).toEqual([`v-${small[0]}`, `v-${small[1]}`]);
    expect(b.every((v, i) => v !== null && Buffer.from(v).equals(valueFor(keys[i], size)))).toBe(true);
    await shardsHealthy();
  }, 120_000);

  it('a large MSET and MGET through the WebSocket gateway, whose thread has its own rings', async () => {
    expect(server.httpPort).toBeGreaterThan(0);
    const ws = new CairnClient({
      host: '127.0.0.1',
      port: server.httpPort,
      reconnect: false,
      timeoutMs: 60_000,
      transport: webSocketTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor }),
    });
    await ws.connect();
    try {
      const keys = keysOnShard0('ws-big:', 6);
      const size = 1024 * 1024 - 1024;
      expect(await ws.mset(keys.map((k) => [k, valueFor(k, size)] as const))).toBe(6);
      const got = await ws.mget(keys);
      for (let i = 0; i < keys.length; i++) expect(Buffer.from(got[i]!).equals(valueFor(keys[i], size))).toBe(true);
    } finally {
      await ws.close();
    }
    await shardsHealthy();
  }, 120_000);
});
