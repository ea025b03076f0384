import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const cli = join(packageRoot, 'dist', 'src', 'cli.js');
const servers: TestServer[] = [];
const clients: Redis[] = [];

async function start(...args: Parameters<typeof startServer>): Promise<TestServer> {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

function redis(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1 });
  clients.push(r);
  return r;
}

/** Send text, read `lines` reply lines. */
function rawExchange(port: number, text: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(buf)}`)), 10_000);
    sock.on('data', (d) => {
      buf += d.toString();
      const got = buf.split('\r\n').filter((l) => l !== '');
      if (got.length >= lines) {
        clearTimeout(timer);
        sock.destroy();
        resolve(got.slice(0, lines));
      }
    });
    sock.on('error', reject);
    sock.write(text);
  });
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('cairn serve', () => {
  it('--help lists every option with its environment variable', () => {
    const r = spawnSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const flag of [
      '--port',
      '--bind',
      '--data',
      '--shards',
      '--max-memory',
      '--durability',
      '--password',
      '--config',
      '--resp-port',
      '--memcache-port',
      '--http-port',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('CAIRN_MAX_MEMORY');
  });

  it('refuses bad settings with a message that names them', () => {
    const bad = (args: string[], env: Record<string, string> = {}): string => {
      const r = spawnSync(process.execPath, [cli, 'serve', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
      expect(r.status).toBe(1);
      return r.stderr;
    };
    expect(bad(['--max-memory', 'lots'])).toMatch(/--max-memory.*512kb/);
    expect(bad(['--durability', 'maybe'])).toMatch(/spill, writeback or sync/);
    expect(bad(['--no-such-flag', '1'])).toMatch(/unknown option --no-such-flag/);
    expect(bad([], { CAIRN_SHARDS: 'zero' })).toMatch(/--shards/);
  });

  it('a second server on the same data directory fails at once with a clear message', async () => {
    const first = await start();
    const r = spawnSync(
      process.execPath,
      [cli, 'serve', '--data', first.dataDir, '--shards', '2', '--port', '0', '--resp-port', 'off', '--memcache-port', 'off'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/in use by process \d+/);
  });

  it('refuses a data directory created with another shard count', async () => {
    const dir = tempDir();
    const s = await start({ dataDir: dir });
    await s.stop();
    servers.length = 0;
    const r = spawnSync(process.execPath, [cli, 'serve', '--data', dir, '--shards', '3'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/holds 2 shards but 3 were asked for: start with --shards 2/);
  });

  it('SIGTERM finishes, flushes and exits 0; a restart serves every key at once (spill mode)', async () => {
    const dir = tempDir();
    const s = await start({ dataDir: dir, args: ['--durability', 'spill'] });
    const r = redis(s.respPort);
    const pipeline = r.pipeline();
    for (let i = 0; i < 2000; i++) pipeline.set(`k:${i}`, `v:${i}`, 'PX', 3_600_000);
    await pipeline.exec();
    await r.quit();
    clients.length = 0;
    expect(await s.stop()).toBe(0);
    servers.length = 0;
    expect(s.output()).toContain('closed');

    const again = await start({ dataDir: dir, args: ['--durability', 'spill'] });
    const r2 = redis(again.respPort);
    const values = await r2.mget(...Array.from({ length: 2000 }, (_, i) => `k:${i}`));
    expect(values.every((v, i) => v === `v:${i}`)).toBe(true);
    const ttl = await r2.pttl('k:7');
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it('takes settings from the environment and a config file, flags first', async () => {
    const dir = tempDir();
    const config = join(dir, 'cairn.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, JSON.stringify({ durability: 'sync', 'max-memory': '32mb', password: 'from-file' }));
    const s = await start({ args: ['--config', config, '--password', 'from-flag'], env: { CAIRN_DURABILITY: 'spill' } });
    expect(s.output()).toContain('durability spill');
    const reply = await rawExchange(s.respPort, 'GET x\r\nAUTH from-file\r\nAUTH from-flag\r\nPING\r\n', 4);
    expect(reply).toEqual(['-NOAUTH Authentication required.', '-WRONGPASS invalid username-password pair or user is disabled.', '+OK', '+PONG']);
  });

  it('holds back a client that does not read its replies at --output-limit, keeps serving others, and answers it in full once it reads', async () => {
    const s = await start({ args: ['--output-limit', '1mb'] });
    const r = redis(s.respPort);
    await r.set('big', 'x'.repeat(256 * 1024));
    const hog: Socket = connect(s.respPort, '127.0.0.1');
    await new Promise((resolve) => hog.once('connect', resolve));
    hog.pause(); // not reading
    const get = Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n');
    for (let i = 0; i < 400; i++) hog.write(get);
    // the hog's requests wait; everybody else is served meanwhile
    expect(await r.ping()).toBe('PONG');
    expect((await r.get('big'))?.length).toBe(256 * 1024);
    const one = `$${256 * 1024}\r\n`.length + 256 * 1024 + 2;
    let got = 0;
    const all = new Promise<void>((resolve) =>
      hog.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 400 * one) resolve();
      }),
    );
    hog.resume();
    await all;
    expect(got).toBe(400 * one);
    hog.destroy();
    expect(s.output()).not.toMatch(/dropped/);
  });

  it('keeps a connection after bad input and a malformed native frame closes only that connection', async () => {
    const s = await start();
    const r = redis(s.respPort);
    await expect(r.call('NOSUCHCOMMAND', 'a')).rejects.toThrow(/unknown command/);
    await expect(r.incr('k') && r.set('k', 'abc').then(() => r.incr('k'))).rejects.toThrow(/not an integer/);
    expect(await r.ping()).toBe('PONG');
    const raw = connect(s.port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    const closed = new Promise((resolve) => raw.once('close', resolve));
    raw.on('data', () => undefined);
    raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await closed;
    expect(await r.ping()).toBe('PONG');
  });

  it('tells a memcached binary-protocol client that only the text protocol is spoken, and closes', async () => {
    const s = await start();
    const sock = connect(s.memcachePort, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    const closed = new Promise((resolve) => sock.once('close', resolve));
    // a binary GET request header: magic 0x80, opcode 0x00, key length 1
    sock.write(Buffer.from([0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6b]));
    await closed;
    expect(got).toBe('SERVER_ERROR binary protocol is not supported; use the text protocol\r\n');
  });
});
