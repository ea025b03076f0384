/**
 * Replication (docs/replication.md): a primary and a replica on loopback, writes under load, a
 * replica restart and a re-pointed link, then every key and TTL compared; read-only errors on every
 * protocol; ROLE, INFO replication, REPLICAOF NO ONE. Then the backlog: a connection cut from the
 * primary's side and a replica restart resume with a partial resync; an offset that fell out of a
 * small backlog gets a full copy.
 */
import { rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport } from '../../src/client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

let primary: TestServer;
let replica: TestServer;
const clients: { close(): unknown }[] = [];

async function sdk(server: TestServer): Promise<CairnClient> {
  const c = await new CairnClient({ host: '127.0.0.1', port: server.port, reconnect: false, transport: tcpTransport() }).connect();
  clients.push(c);
  return c;
}

/** every key with value, flags and absolute expiry */
async function dump(server: TestServer): Promise<Map<string, string>> {
  const c = await sdk(server);
  const out = new Map<string, string>();
  const keys: Uint8Array[] = [];
  for await (const key of c.scanKeys({ count: 500 })) keys.push(key);
  // pipelined reads, 500 at a time
  for (let i = 0; i < keys.length; i += 500) {
    const part = keys.slice(i, i + 500);
    const metas = await Promise.all(part.map((k) => c.getMeta(k)));
    metas.forEach((m, j) => {
      if (m) out.set(Buffer.from(part[j]).toString(), `${Buffer.from(m.value).toString()}|${m.flags}|${m.expiresAt}`);
    });
  }
  await c.close();
  return out;
}

async function inSync(): Promise<boolean> {
  return same(primary, replica);
}

async function same(x: TestServer, y: TestServer): Promise<boolean> {
  const [a, b] = await Promise.all([dump(x), dump(y)]);
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

beforeAll(async () => {
  primary = await startServer({ args: ['--shards', '2', '--max-memory', '4mb'] });
});

afterAll(async () => {
  for (const c of clients) await Promise.resolve(c.close()).catch(() => undefined);
  await replica?.stop();
  await primary?.stop();
});

describe('replication', () => {
  it('copies both tiers, follows writes under load, survives a restart, and converges', async () => {
    const p = await sdk(primary);
    // enough data that part of it is on the cold tier (4 MB hot budget)
    const big = 'x'.repeat(2000);
    for (let i = 0; i < 3000; i += 100) {
      await p.mset(Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`k${i + j}`, `${big}${i + j}`])));
    }
    await p.set('ttl-key', 'v', { ttl: 600_000, flags: 7 });
    await p.set('short', 'v', { ttl: 300 });

    replica = await startServer({ args: ['--shards', '3', '--replica-of', `127.0.0.1:${primary.port}`] });
    // writes while the copy runs
    let writing = true;
    const load = (async () => {
      let n = 0;
      while (writing) {
        const i = n++ % 4000;
        if (n % 7 === 0) await p.del(`k${i}`);
        else if (n % 11 === 0) await p.expire(`k${i}`, 900_000);
        else await p.set(`k${i}`, `v${n}`, n % 5 === 0 ? { ttl: 1_200_000, flags: n % 3 } : undefined);
      }
    })();
    await sleep(1500);
    writing = false;
    await load;
    await until('the replica equal to the primary', inSync);

    // read-only on every protocol
    const r = new Redis({ host: '127.0.0.1', port: replica.respPort });
    clients.push({ close: () => r.disconnect() });
    await expect(r.set('a', 'b')).rejects.toThrow("READONLY You can't write against a read only replica.");
    expect(await r.get('k1')).not.toBeUndefined();
    const role = (await r.call('ROLE')) as unknown[];
    expect(role.slice(0, 4)).toEqual(['slave', '127.0.0.1', primary.port, 'connected']);
    expect(await r.info('replication')).toMatch(/role:slave[\s\S]*master_link_status:up/);
    const rc = await sdk(replica);
    await expect(rc.set('a', 'b')).rejects.toMatchObject({ code: 'CAIRN_ERR_READONLY' });
    const mc = new Socket();
    await new Promise<void>((res) => mc.connect(replica.memcachePort, '127.0.0.1', () => res()));
    let mcOut = '';
    mc.on('data', (d) => (mcOut += d.toString()));
    mc.write('set a 0 0 1\r\nb\r\n');
    await until('memcached reply', async () => mcOut.includes('\r\n'));
    expect(mcOut).toBe("SERVER_ERROR You can't write against a read only replica.\r\n");
    mc.destroy();

    // a replica restart (same data directory), with writes while it is away
    r.disconnect();
    await rc.close();
    await replica.stop();
    for (let i = 0; i < 200; i++) await p.set(`away${i}`, `w${i}`);
    await p.del('k2');
    await p.flush().catch(() => undefined); // a flush while away: nothing of before may survive
    await p.set('after-flush', '1', { ttl: 500_000 });
    replica = await startServer({ dataDir: replica.dataDir, args: ['--shards', '3', '--replica-of', `127.0.0.1:${primary.port}`] });
    await until('the restarted replica equal to the primary', inSync);

    // a cut link: the replica is pointed away and back (REPLICAOF), then writes go on
    const r2 = new Redis({ host: '127.0.0.1', port: replica.respPort });
    clients.push({ close: () => r2.disconnect() });
    expect(await r2.call('REPLICAOF', 'NO', 'ONE')).toBe('OK');
    await until('promoted', async () => ((await r2.call('ROLE')) as unknown[])[0] === 'master');
    expect(await r2.set('local-write', '1')).toBe('OK'); // a promoted replica takes writes
    await p.set('while-cut', 'x');
    expect(await r2.call('REPLICAOF', '127.0.0.1', String(primary.port))).toBe('OK');
    for (let i = 0; i < 100; i++) await p.set(`late${i}`, `l${i}`, { ttl: 700_000 });
    await until('the re-pointed replica equal to the primary', inSync);
    expect(await r2.get('local-write')).toBeNull();
  });
});

/** a field of INFO replication over RESP */
async function replInfo(server: TestServer, field: string): Promise<string | undefined> {
  const r = new Redis({ host: '127.0.0.1', port: server.respPort, lazyConnect: true });
  await r.connect();
  const text = await r.info('replication');
  r.disconnect();
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim();
}

describe('replication backlog and partial resync', () => {
  let p2: TestServer;
  let r2: TestServer;
  afterAll(async () => {
    await r2?.stop();
    await p2?.stop();
    if (r2) rmSync(r2.dataDir, { recursive: true, force: true });
  });

  it('resumes from the backlog after a cut and a restart, and copies in full past it', async () => {
    // 16 KB of backlog: about 400 events of these short keys (key + 32 bytes each)
    p2 = await startServer({ args: ['--shards', '2', '--repl-backlog', '16kb'], env: { CAIRN_TEST_HOOKS: '1' } });
    const p = await sdk(p2);
    for (let i = 0; i < 400; i += 100) {
      await p.mset(Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`b${i + j}`, `v${i + j}`])));
    }
    const replicaArgs = ['--shards', '2', '--replica-of', `127.0.0.1:${p2.port}`];
    // keepData: the restarts below reuse this directory (removed in afterAll)
    r2 = await startServer({ args: replicaArgs, keepData: true });
    await until('the replica equal to the primary', () => same(p2, r2));
    await until('the replica connected', async () => (await replInfo(r2, 'master_link_status')) === 'up');
    expect(await replInfo(r2, 'cairn_repl_full_syncs')).toBe('1');
    expect(await replInfo(r2, 'cairn_repl_partial_syncs')).toBe('0');
    expect(await replInfo(p2, 'connected_slaves')).toBe('1');
    expect(Number(await replInfo(p2, 'master_repl_offset'))).toBeGreaterThanOrEqual(400);
    const pr = new Redis({ host: '127.0.0.1', port: p2.respPort });
    clients.push({ close: () => pr.disconnect() });
    const role = (await pr.call('ROLE')) as [string, number, string[][]];
    expect(role[0]).toBe('master');
    expect(role[2]).toHaveLength(1);
    expect(role[2][0][1]).toBe(String(r2.port));

    // 1. the primary drops the replica's connection; writes go on during the cut
    expect(await pr.call('CAIRN.DEBUG', 'REPL-CUT')).toBe(1);
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 0) await p.del(`b${i}`);
      else if (i % 7 === 0) await p.expire(`b${i}`, 800_000);
      else await p.set(`cut${i}`, `c${i}`, i % 3 === 0 ? { ttl: 900_000, flags: 3 } : undefined);
    }
    await until('a partial resync after the cut', async () => (await replInfo(r2, 'cairn_repl_partial_syncs')) === '1');
    await until('the replica equal after the cut', () => same(p2, r2));
    expect(await replInfo(r2, 'cairn_repl_full_syncs')).toBe('1');
    expect(await replInfo(p2, 'sync_partial_ok')).toBe('1');

    // 2. a replica restart (clean stop, same data directory) within the backlog
    await r2.stop();
    for (let i = 0; i < 200; i++) await p.set(`restart${i}`, `r${i}`, { ttl: 700_000 });
    await p.del('b1');
    r2 = await startServer({ dataDir: r2.dataDir, args: replicaArgs });
    await until('the restarted replica equal', () => same(p2, r2));
    await until('the restarted replica connected', async () => (await replInfo(r2, 'master_link_status')) === 'up');
    expect(await replInfo(r2, 'cairn_repl_partial_syncs')).toBe('1');
    expect(await replInfo(r2, 'cairn_repl_full_syncs')).toBe('0');
    expect(await replInfo(p2, 'sync_partial_ok')).toBe('2');

    // 3. away for more than the backlog holds: a full copy, still equal at the end
    await r2.stop();
    for (let i = 0; i < 800; i += 100) {
      await p.mset(Object.fromEntries(Array.from({ length: 100 }, (_, j) => [`far${i + j}`, `f${i + j}`])));
    }
    await p.del('b2');
    expect(Number(await replInfo(p2, 'repl_backlog_first_byte_offset'))).toBeGreaterThan(1000);
    r2 = await startServer({ dataDir: r2.dataDir, args: replicaArgs });
    await until('the replica equal after a full copy', () => same(p2, r2));
    await until('the replica connected after a full copy', async () => (await replInfo(r2, 'master_link_status')) === 'up');
    expect(await replInfo(r2, 'cairn_repl_full_syncs')).toBe('1');
    expect(await replInfo(r2, 'cairn_repl_partial_syncs')).toBe('0');
    expect(await replInfo(p2, 'sync_partial_err')).toBe('1');
  });
});
