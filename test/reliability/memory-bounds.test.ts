/**
 * Memory per connection and in total (docs/reliability.md, "Memory per connection"): a client that
 * pipelines thousands of GETs of a 512 KB value and never reads must not raise the server's RSS past
 * --output-limit plus a margin, on RESP, memcached, native and WebSocket; values up to Redis' 512 MB
 * work with default settings; limits that cannot work together are refused at start.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { HELLO, nativeFrame } from '../../bench/fuzz-gen.js';
import { createClient } from '../../src/client/index.js';
import { packageRoot } from '../../src/paths.js';
import { spawnDaemon, waitForPort } from '../../bench/lib/procs.js';
import { freePort, tempDir } from '../helpers/server.js';
import { cleanup, raw, redis, respPing, rssOf, sleep, start, until } from './lib.js';

afterAll(cleanup);

const VALUE = 512 * 1024;
const GETS = 2000; // 1 GB of replies if nothing held them back
const LIMIT_MB = 8;
/** RSS growth allowed beyond --output-limit: one ring's worth of replies in transit, shard-side copies, GC slack */
const MARGIN_MB = 88;

/** Highest RSS of the server while the hog's pipeline runs (sampled until it has had time to answer all of it unbounded). */
async function peakRss(pid: number, ms: number): Promise<number> {
  let peak = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    peak = Math.max(peak, await rssOf(pid));
    await sleep(20);
  }
  return peak;
}

async function serverWithBigValue(extra: string[] = []): Promise<{ srv: Awaited<ReturnType<typeof start>>; base: number }> {
  const srv = await start({ args: ['--output-limit', `${LIMIT_MB}mb`, ...extra] });
  const r = redis(srv.respPort);
  await r.set('big', Buffer.alloc(VALUE, 'b'));
  expect(await r.strlen('big')).toBe(VALUE);
  return { srv, base: await rssOf(srv.process.pid!) };
}

const MB = 1024 * 1024;

describe('memory per connection', () => {
  const cases: [string, 'respPort' | 'memcachePort' | 'port', () => Buffer][] = [
    ['RESP', 'respPort', () => Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(GETS))],
    ['memcached', 'memcachePort', () => Buffer.from('get big\r\n'.repeat(GETS))],
    [
      'native',
      'port',
      () => Buffer.concat([HELLO, ...Array.from({ length: GETS }, (_, i) => nativeFrame(0x10, i + 2, Buffer.from('big'), Buffer.from([0x90])))]),
    ],
  ];

  for (const [name, port, requests] of cases) {
    it(`${name}: ${GETS} pipelined GETs of a 512 KB value, never read, stay within --output-limit ${LIMIT_MB}mb + ${MARGIN_MB} MB`, async () => {
      const { srv, base } = await serverWithBigValue();
      const hog = await raw(srv[port]);
      hog.socket.pause(); // never read
      hog.socket.write(requests());
      const peak = await peakRss(srv.process.pid!, 4000);
      const grew = (peak - base) / MB;
      console.log(`${name}: server RSS ${Math.round(base / MB)} MB before, ${Math.round(peak / MB)} MB at the peak (+${grew.toFixed(1)} MB)`);
      expect(grew).toBeLessThan(LIMIT_MB + MARGIN_MB);
      // the hog is held back, not the server: others are served meanwhile
      expect(await respPing(srv.respPort)).toBe(true);
      expect(hog.isClosed()).toBe(false);
      hog.socket.destroy();
    }, 60_000);
  }

  it(`WebSocket: ${GETS} pipelined GETs in one message, never read, stay within the same bound`, async () => {
    const { srv, base } = await serverWithBigValue(['--http-port', '0']);
    const ws = new WebSocket(`ws://127.0.0.1:${srv.httpPort}/ws`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    (ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never read
    ws.send(cases[2][2]());
    const peak = await peakRss(srv.process.pid!, 4000);
    const grew = (peak - base) / MB;
    console.log(`WebSocket: server RSS ${Math.round(base / MB)} MB before, ${Math.round(peak / MB)} MB at the peak (+${grew.toFixed(1)} MB)`);
    expect(grew).toBeLessThan(LIMIT_MB + MARGIN_MB);
    expect(await respPing(srv.respPort)).toBe(true);
    ws.terminate();
  }, 60_000);

  it('a slow reader gets every reply, in order; a subscriber that stops reading is dropped at --output-limit', async () => {
    const srv = await start({ args: ['--output-limit', '2mb', '--max-item-size', '256kb'] });
    const r = redis(srv.respPort);
    for (let i = 0; i < 8; i++) await r.set(`v${i}`, Buffer.alloc(200 * 1024, 48 + i));
    const c = await raw(srv.respPort);
    c.socket.pause();
    let sent = '';
    for (let i = 0; i < 300; i++) sent += `*2\r\n$3\r\nGET\r\n$2\r\nv${i % 8}\r\n`;
    c.socket.write(sent);
    await sleep(300);
    c.socket.resume();
    const one = `$${200 * 1024}\r\n`.length + 200 * 1024 + 2;
    await until(() => c.received().length >= 300 * one, 30_000, 'every reply');
    const got = c.received();
    expect(got.length).toBe(300 * one);
    for (let i = 0; i < 300; i++) expect(got[i * one + `$${200 * 1024}\r\n`.length]).toBe(48 + (i % 8));
    c.socket.destroy();

    // unasked messages are not held back by anything the client sends: past the limit it is dropped
    const sub = await raw(srv.respPort);
    sub.socket.write('SUBSCRIBE news\r\n');
    await until(() => sub.received().includes('subscribe'), 5000, 'subscribed');
    sub.socket.pause();
    const message = Buffer.alloc(256 * 1024, 'n');
    for (let i = 0; i < 200 && !sub.isClosed(); i++) {
      await r.publish('news', message);
      if (i % 20 === 19) await sleep(10);
    }
    await until(() => /unread bytes exceed --output-limit and more unasked messages came/.test(srv.output()), 15_000, 'the drop');
    expect(await respPing(srv.respPort)).toBe(true);
  }, 90_000);
});

describe('value size limits', () => {
  it('ioredis SETs and GETs 5 MiB and 32 MiB values with default settings; memcached keeps its 1 MB items', async () => {
    const srv = await start();
    const r = redis(srv.respPort);
    for (const size of [5 * MB, 32 * MB]) {
      const value = Buffer.alloc(size, 'v');
      value.write('head', 0);
      value.write('tail', size - 4);
      expect(await r.set(`big${size}`, value)).toBe('OK');
      expect((await r.getBuffer(`big${size}`))!.equals(value)).toBe(true);
    }
    expect(await r.ping()).toBe('PONG');
    // the native SDK too
    const client = await createClient({ port: srv.port });
    const value = Buffer.alloc(6 * MB, 'n');
    expect(await client.set('sdk-big', value)).toBe(true);
    expect(Buffer.from((await client.get('sdk-big'))!).equals(value)).toBe(true);
    await client.close();
    // memcached -I 1m: a 2 MB item is refused, as by memcached
    const mc = await raw(srv.memcachePort);
    mc.socket.write(Buffer.concat([Buffer.from(`set mc 0 0 ${2 * MB}\r\n`), Buffer.alloc(2 * MB, 'm'), Buffer.from('\r\nget big5242880\r\n')]));
    await until(() => mc.received().includes('END\r\n'), 15_000, 'memcached replies');
    const text = mc.received().toString('latin1');
    expect(text.startsWith('SERVER_ERROR object too large for cache\r\n')).toBe(true);
    expect(text).toContain(`VALUE big5242880 0 ${5 * MB}\r\n`);
    mc.socket.destroy();
  }, 120_000);

  it("memcached's stats settings report --max-item-size as item_size_max, as memcached -I does", async () => {
    const port = await freePort();
    const daemon = spawnDaemon('memcached', 'memcached', ['-U', '0', '-l', '127.0.0.1', '-p', String(port), '-I', '2m', '-u', 'root']);
    try {
      await waitForPort(port, 10_000, daemon.alive);
      const srv = await start({ args: ['--max-item-size', '2mb'] });
      const itemSizeMax = async (p: number): Promise<string | undefined> => {
        const c = await raw(p);
        c.socket.write('stats settings\r\n');
        await until(() => c.received().includes('END\r\n'), 15_000, 'stats settings');
        c.socket.destroy();
        return /STAT item_size_max (\d+)\r\n/.exec(c.received().toString('latin1'))?.[1];
      };
      expect(await itemSizeMax(srv.memcachePort)).toBe(await itemSizeMax(port));
      expect(await itemSizeMax(port)).toBe(String(2 * MB));
    } finally {
      await daemon.stop();
    }
  });

  async function refused(args: string[]): Promise<string> {
    const child = spawn(
      process.execPath,
      [
        join(packageRoot, 'dist', 'src', 'cli.js'),
        'serve',
        '--data',
        tempDir(),
        '--port',
        '0',
        '--resp-port',
        '0',
        '--memcache-port',
        '0',
        '--http-port',
        'off',
        ...args,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // a server that starts instead of refusing is stopped, and the test fails on its exit code
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(out).not.toMatch(/ready/);
    return out;
  }

  it('refuses at start a combination of limits that cannot work', async () => {
    expect(await refused(['--max-value-size', '1mb', '--max-item-size', '2mb'])).toMatch(/--max-item-size 2097152 is larger than --max-value-size 1048576/);
    expect(await refused(['--output-limit', '512kb'])).toMatch(
      /--output-limit 524288 is smaller than --max-item-size 1048576: a client could not receive one value from memory/,
    );
    expect(await refused(['--output-limit-total', '32mb'])).toMatch(/--output-limit-total 33554432 is smaller than --output-limit 67108864/);
    expect(await refused(['--max-value-size', '1gb'])).toMatch(/--max-value-size 1073741824 is over the largest value cairn \(and Redis\) can hold, 512mb/);
  }, 60_000);
});
