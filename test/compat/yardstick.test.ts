/**
 * The one-thread Node yardsticks that bench:compare measures cairn against
 * (bench/lib/yardstick-resp.ts, yardstick-memcache.ts) answer the commands the benchmark sends
 * byte for byte as redis-server and memcached do, also when the requests arrive one byte per
 * write and when many arrive in one; and redis-benchmark runs against the RESP one without errors.
 * A yardstick that answered wrongly or dropped split requests would make every nodeBaselineRatio
 * meaningless.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMemcached, startRedisServer, startYardstick, type ServiceHandle } from '../../bench/lib/procs.js';
import { redisBenchmark } from '../../bench/lib/redis-benchmark.js';

let redis: ServiceHandle;
let memcached: ServiceHandle;
let nodeResp: ServiceHandle;
let nodeMc: ServiceHandle;

beforeAll(async () => {
  [redis, memcached, nodeResp, nodeMc] = await Promise.all([startRedisServer(), startMemcached(), startYardstick('resp'), startYardstick('memcache')]);
});

afterAll(async () => {
  await Promise.all([redis, memcached, nodeResp, nodeMc].map((h) => h?.stop()));
});

/** Sends `request` (whole, or one byte per write) and collects replies until `done` says they are all in. */
async function exchange(port: number, request: Buffer, byteByByte: boolean, done: (reply: string) => boolean): Promise<string> {
  const socket: Socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let reply = '';
  const complete = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (done(reply)) resolve(reply);
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(reply));
  });
  if (byteByByte) {
    for (const byte of request) {
      socket.write(Buffer.of(byte));
      await new Promise((r) => setImmediate(r));
    }
  } else {
    socket.write(request);
  }
  try {
    return await complete;
  } finally {
    socket.destroy();
  }
}

const resp = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;

describe('RESP yardstick', () => {
  const value = 'v'.repeat(100);
  const script = Buffer.from(
    [
      resp('CONFIG', 'GET', 'save'),
      resp('SET', 'key:000000000001', value),
      resp('GET', 'key:000000000001'),
      resp('GET', 'key:000000000002'),
      resp('SET', 'key:000000000002', ''),
      resp('GET', 'key:000000000002'),
      resp('EXISTS', 'key:000000000001', 'key:000000000003'),
      resp('DBSIZE'),
      resp('DEL', 'key:000000000001', 'key:000000000003'),
      resp('PING'),
      'PING\r\n',
      resp('DBSIZE'),
      resp('FLUSHALL'),
    ].join(''),
    'latin1',
  );
  /** the last reply is +OK from FLUSHALL, after a :1 */
  const done = (r: string): boolean => r.endsWith(':1\r\n+OK\r\n');

  it('answers like redis-server, whole and one byte per write', async () => {
    const expected = await exchange(redis.port, script, false, done);
    expect(expected).toContain(value);
    expect(await exchange(nodeResp.port, script, false, done)).toBe(expected);
    expect(await exchange(nodeResp.port, script, true, done)).toBe(expected);
  });

  it('runs redis-benchmark SET and GET, pipelined, without errors', async () => {
    const r = await redisBenchmark({
      port: nodeResp.port,
      tests: ['set', 'get'],
      requests: 20_000,
      clients: 20,
      dataSize: 100,
      keyspace: 1000,
      pipeline: 16,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.rows.map((row) => row.test)).toEqual(['SET', 'GET']);
    for (const row of r.rows) expect(row.rps).toBeGreaterThan(0);
  });
});

describe('memcached yardstick', () => {
  const value = 'x'.repeat(100);
  const script = Buffer.from(
    [
      `set key:000000000001 7 0 ${value.length}\r\n${value}\r\n`,
      'get key:000000000001\r\n',
      'get key:000000000002\r\n',
      'set key:000000000002 0 0 0 noreply\r\n\r\n',
      'get key:000000000001 key:000000000002 key:000000000003\r\n',
      'delete key:000000000001\r\n',
      'delete key:000000000001\r\n',
      'get key:000000000001\r\n',
      'flush_all\r\n',
    ].join(''),
    'latin1',
  );
  const done = (r: string): boolean => r.endsWith('NOT_FOUND\r\nEND\r\nOK\r\n');

  it('answers like memcached, whole and one byte per write', async () => {
    const expected = await exchange(memcached.port, script, false, done);
    expect(expected).toContain(value);
    expect(await exchange(nodeMc.port, script, false, done)).toBe(expected);
    expect(await exchange(nodeMc.port, script, true, done)).toBe(expected);
  });
});
