/**
 * Operators' views of a running server: hot keys and value sizes in the SDK's STATS and in
 * /stats.json, each thread's JavaScript heap in INFO memory, and HEAD on the gateway's HTTP paths answered with headers and no body (read with a
 * raw socket, where a stray body shows as garbage before the next response, and with Node's client).
 */
import http from 'node:http';
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createClient, type CairnClient } from '../../src/client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let client: CairnClient;

beforeAll(async () => {
  server = await startServer();
  client = await createClient({ port: server.port });
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

/** the raw bytes a server sends back for `request` until it closes the connection */
function rawHttp(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect(server.httpPort, '127.0.0.1', () => s.write(request));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(20_000, () => {
      s.destroy();
      reject(new Error(`no end of response; so far: ${JSON.stringify(out)}`));
    });
  });
}

function nodeRequest(method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.httpPort, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hot keys and value sizes', () => {
  it('STATS over the SDK names the hottest key, per shard and in total, and bins the value sizes', async () => {
    await client.set('stats:hot', 'x'.repeat(100));
    await client.set('stats:warm', 'y'.repeat(3000));
    for (let i = 0; i < 20; i++) await client.set(`stats:cold:${i}`, '');
    for (let round = 0; round < 40; round++) {
      // 2000 reads of the hot key, 200 of the warm one: sampled 1 in 16, both show
      await Promise.all(Array.from({ length: 50 }, () => client.get('stats:hot')));
      await Promise.all(Array.from({ length: 5 }, () => client.get('stats:warm')));
    }
    const stats = await client.stats();
    const total = stats.total as { hotKeys: { key: string; count: number; shard: number }[]; valueSizes: number[]; hotKeyRate: number };
    expect(total.hotKeyRate).toBe(16);
    expect(total.hotKeys[0].key).toBe('stats:hot');
    expect(total.hotKeys[0].count).toBeGreaterThan(1000);
    expect(total.hotKeys.map((h) => h.key)).toContain('stats:warm');
    const owner = stats.shards[total.hotKeys[0].shard] as { hotKeys: { key: string }[] };
    expect(owner.hotKeys[0].key).toBe('stats:hot');
    // bin 0: the 20 empty values; bin 7 (64..127 bytes): the hot one; bin 12 (2048..4095): the warm one
    expect(total.valueSizes[0]).toBe(20);
    expect(total.valueSizes[7]).toBe(1);
    expect(total.valueSizes[12]).toBe(1);
    expect(total.valueSizes.reduce((a, b) => a + b, 0)).toBe(22);
  });

  it('/stats.json carries the joined list and bins the dashboard shows', async () => {
    const r = await nodeRequest('GET', '/stats.json');
    const json = JSON.parse(r.body.toString()) as { hotKeys: { key: string }[]; valueSizes: number[] };
    expect(json.hotKeys[0].key).toBe('stats:hot');
    expect(json.valueSizes[0]).toBe(20);
    const metrics = (await nodeRequest('GET', '/metrics')).body.toString();
    expect(metrics).toMatch(/^cairn_value_size_keys\{shard="\d+",bin="0"\} \d+$/m);
  });
});

describe('INFO memory', () => {
  it("reports the heap of the acceptor and of each shard's thread", async () => {
    const r = new Redis({ host: '127.0.0.1', port: server.respPort, lazyConnect: true });
    await r.connect();
    try {
      const text = await r.info('memory');
      const threads = [...text.matchAll(/^thread_(\w+):heap_used=(\d+),heap_total=(\d+),external=(\d+),array_buffers=(\d+)\r?$/gm)];
      expect(threads.map((m) => m[1])).toEqual(['acceptor', 'shard0', 'shard1']);
      for (const [, , used, total] of threads) {
        expect(Number(used)).toBeGreaterThan(0);
        expect(Number(used)).toBeLessThanOrEqual(Number(total));
      }
      // each shard has its own V8 heap: its figures are not the acceptor's
      expect(threads[1][2]).not.toBe(threads[0][2]);
    } finally {
      r.disconnect();
    }
  });
});

describe('HEAD', () => {
  for (const path of ['/health', '/ready', '/metrics', '/stats.json', '/', '/no-such-path']) {
    it(`HEAD ${path}: the GET's status and headers, Content-Length included, and no body`, async () => {
      const get = await nodeRequest('GET', path);
      const head = await nodeRequest('HEAD', path);
      expect(head.status).toBe(get.status);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.body.length).toBe(0);
      // /metrics and /stats.json change between two requests; their length is that of a fresh body
      if (path !== '/metrics' && path !== '/stats.json') expect(Number(head.headers['content-length'])).toBe(get.body.length);
      else expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    });
  }

  it('HEAD /metrics on a raw socket: a status line and headers, then nothing', async () => {
    const out = await rawHttp('HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+\r\n)*\r\n$/);
    expect(out).toMatch(/\r\nContent-Length: [1-9]\d*\r\n/i);
  });

  it('on one connection, HEADs then a GET: well-formed responses, nothing between them', async () => {
    const out = await rawHttp(
      'HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n' +
        'HEAD /no-such-path HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const responses = out.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(3);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+\r\n)*\r\n$/);
    expect(responses[0]).toMatch(/\r\nContent-Length: 3\r\n/i);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 404 Not Found\r\n(?:[^\r\n]+\r\n)*\r\n$/);
    expect(responses[2]).toMatch(/^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+\r\n)*\r\nok\n$/);
  });
});
