/**
 * The empty key is a key on every path that carries keys, as in Redis: the SDK over the native
 * protocol (single-key, multi-key, scan, key subscriptions), RESP keyspace notifications,
 * replication to a replica, and export / import. Real servers on loopback.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport } from '../../src/client/index.js';
import { packageRoot } from '../../src/paths.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (v: Uint8Array | null): string | null => (v === null ? null : Buffer.from(v).toString());

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const servers: TestServer[] = [];
const closers: { close(): unknown }[] = [];

async function server(args: string[] = []): Promise<TestServer> {
  const s = await startServer({ args });
  servers.push(s);
  return s;
}

async function sdk(s: TestServer): Promise<CairnClient> {
  const c = await new CairnClient({ host: '127.0.0.1', port: s.port, reconnect: false, transport: tcpTransport() }).connect();
  closers.push(c);
  return c;
}

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot, 'dist', 'src', 'cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

let primary: TestServer;

beforeAll(async () => {
  primary = await server(['--notify-keyspace-events', 'KEA', '--max-memory', '4mb']);
});

afterAll(async () => {
  for (const c of closers) await Promise.resolve(c.close()).catch(() => undefined);
  for (const s of servers.reverse()) await s.stop();
});

describe('the empty key across protocols', () => {
  it('native SDK: single-key and multi-key opcodes, scan and a key subscription', async () => {
    const c = await sdk(primary);
    const events: string[] = [];
    await c.subscribe({ key: '' }, (e) => events.push(`${e.event}:${e.key.length}`));
    expect(await c.set('', 'v', { ttl: 3_600_000, flags: 5 })).toBe(true);
    expect(text(await c.get(''))).toBe('v');
    expect((await c.getMeta(''))?.flags).toBe(5);
    expect(await c.ttl('')).toBeGreaterThan(0);
    expect(await c.append('', 'w')).toBe(2);
    expect(
      await c.mset([
        ['', 'm'],
        ['x', '1'],
      ]),
    ).toBe(2);
    expect((await c.mget(['', 'x', 'nope'])).map(text)).toEqual(['m', '1', null]);
    const keys: string[] = [];
    for await (const k of c.scanKeys({ count: 1 })) keys.push(Buffer.from(k).toString());
    expect(keys.sort()).toEqual(['', 'x']);
    expect((await c.count()).total).toBe(2);
    await until('the key events of the empty key', async () => events.length >= 3);
    expect(events.slice(0, 3)).toEqual(['set:0', 'set:0', 'set:0']); // SET, APPEND (a set of the new value), MSET
    expect(await c.mdel(['', 'x'])).toBe(2);
    expect(await c.exists('')).toBe(false);
  });

  it('RESP: keyspace notifications name the empty key', async () => {
    const sub = new Redis({ host: '127.0.0.1', port: primary.respPort, lazyConnect: true });
    const r = new Redis({ host: '127.0.0.1', port: primary.respPort, lazyConnect: true });
    closers.push({ close: () => sub.disconnect() }, { close: () => r.disconnect() });
    await sub.connect();
    await r.connect();
    const got: string[] = [];
    sub.on('pmessage', (_p, channel, message) => got.push(`${channel}|${message}`));
    await sub.psubscribe('__key*@0__:*');
    await r.set('', 'v');
    await until('the notifications', async () => got.length >= 2);
    expect(got.sort()).toEqual(['__keyevent@0__:set|', '__keyspace@0__:|set']);
    await r.del('');
  });

  it('replication, a full copy and live: the replica follows the empty key; export / import carry it', async () => {
    const c = await sdk(primary);
    await c.set('', 'before', { flags: 9 });
    const replica = await server(['--replica-of', `127.0.0.1:${primary.port}`]);
    const rc = await sdk(replica);
    await until('the full copy', async () => text(await rc.get('')) === 'before');
    await c.set('', 'after', { ttl: 3_600_000 });
    await until('the live write', async () => text(await rc.get('')) === 'after');
    expect(await rc.ttl('')).toBeGreaterThan(0);
    await c.del('');
    await until('the delete', async () => !(await rc.exists('')));

    await c.set('', 'exported', { flags: 4 });
    const file = join(tempDir('cairn-emptykey-'), 'dump.cairn');
    const exp = await cli(['export', '--port', String(primary.port), '--out', file, '--quiet']);
    expect(exp.code, exp.out).toBe(0);
    const target = await server();
    const imp = await cli(['import', '--port', String(target.port), file, '--quiet']);
    expect(imp.code, imp.out).toBe(0);
    const tc = await sdk(target);
    const meta = await tc.getMeta('');
    expect(text(meta?.value ?? null)).toBe('exported');
    expect(meta?.flags).toBe(4);
  }, 120_000);
});
