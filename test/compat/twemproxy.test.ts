/**
 * twemproxy (Debian nutcracker) in front of three cairn instances: one `redis: true` pool over their
 * RESP ports and one pool over their memcached ports (fnv1a_64, ketama, no auto-eject). 300 keys
 * written through the proxy with ioredis and 300 with the memcached text protocol all read back
 * through the proxy, and every cairn instance holds a non-empty share of them; with `hash_tag: "{}"`
 * keys that share a hash tag land on one instance.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { freePort, requireProgram, run, spawnDaemon, tempDir, waitForPort, type Daemon } from '../../bench/lib/procs.js';
import { RawClient, show } from './lib/raw.js';
import { startTarget, type Target } from './lib/target.js';

const N = 300;
/*
 * twemproxy's fnv1a_64 + ketama spreads keys that differ only in their last characters badly (it is
 * mostly the last byte that picks the server). With the server names cairn0..cairn2 (names, not
 * ports, place servers on the ring, so this is deterministic) these prefixes spread 300 keys
 * 100/100/100 and 120/90/90; others such as "tw:m:" leave a server empty, with redis-server and
 * memcached behind the proxy too.
 */
const RESP_PREFIX = 'tw:r:';
const MC_PREFIX = 'tw:memcache:';
let instances: Target[] = [];
let proxy: Daemon | null = null;
let dir = '';
let respProxyPort = 0;
let mcProxyPort = 0;
const redisClients: Redis[] = [];
const raws: RawClient[] = [];

function redis(port: number): Redis {
  // twemproxy closes the connection on commands it does not proxy, CLIENT SETINFO among them
  const r = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableReadyCheck: false,
    disableClientInfo: true,
  });
  r.on('error', () => undefined);
  redisClients.push(r);
  return r;
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  raws.push(c);
  return c;
}

beforeAll(async () => {
  const nutcracker = requireProgram('nutcracker');
  instances = await Promise.all([0, 1, 2].map(() => startTarget()));
  dir = tempDir('cairn-twemproxy-');
  // nutcracker takes its ports from a probe (it cannot bind port 0 and report it); should another
  // process take one first, nutcracker exits at once, and the start is retried on new ports.
  for (let attempt = 1; ; attempt++) {
    respProxyPort = await freePort();
    mcProxyPort = await freePort();
    const statsPort = await freePort();
    const pool = (name: string, listen: number, ports: number[], isRedis: boolean): string =>
      [
        `${name}:`,
        `  listen: 127.0.0.1:${listen}`,
        '  hash: fnv1a_64',
        '  distribution: ketama',
        `  redis: ${isRedis}`,
        // keys with one hash tag go to one instance (test below); keys without braces are hashed whole
        ...(isRedis ? ['  hash_tag: "{}"'] : []),
        '  auto_eject_hosts: false',
        '  timeout: 5000',
        '  preconnect: true',
        '  servers:',
        ...ports.map((p, i) => `    - 127.0.0.1:${p}:1 cairn${i}`),
      ].join('\n');
    const conf = join(dir, 'nutcracker.yml');
    writeFileSync(
      conf,
      `${pool(
        'cairn_resp',
        respProxyPort,
        instances.map((t) => t.respPort),
        true,
      )}\n\n${pool(
        'cairn_memcache',
        mcProxyPort,
        instances.map((t) => t.memcachePort),
        false,
      )}\n`,
    );
    const check = await run(nutcracker, ['-t', '-c', conf], { timeoutMs: 10_000 });
    expect(check.code, `nutcracker -t: ${check.stdout}${check.stderr}`).toBe(0);
    proxy = spawnDaemon('nutcracker', nutcracker, [
      '-c',
      conf,
      '-s',
      String(statsPort),
      '-a',
      '127.0.0.1',
      '-p',
      join(dir, 'nutcracker.pid'),
      '-o',
      join(dir, 'nutcracker.log'),
      '-v',
      '4',
    ]);
    try {
      await waitForPort(respProxyPort, 10_000, proxy.alive);
      await waitForPort(mcProxyPort, 10_000, proxy.alive);
      await waitForPort(statsPort, 10_000, proxy.alive);
      await new Promise((r) => setTimeout(r, 100)); // a failed bind ends it within milliseconds
      if (proxy.alive()) break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
    if (attempt >= 3) throw new Error(`nutcracker exited after starting:\n${proxy.output()}`);
    await proxy.stop();
  }
});

afterAll(async () => {
  for (const r of redisClients) r.disconnect();
  for (const c of raws) c.close();
  await proxy?.stop();
  await Promise.all(instances.map((t) => t.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The proxy's log and each instance's output, printed when a test fails. */
function explain(): void {
  onTestFailed(() => {
    let log = '';
    try {
      log = readFileSync(join(dir, 'nutcracker.log'), 'utf8');
    } catch {
      log = '(no nutcracker.log)';
    }
    const tail = (s: string): string => s.split('\n').slice(-60).join('\n');
    console.log(`nutcracker:\n${tail(proxy?.output() ?? '')}\n${tail(log)}`);
    instances.forEach((t, i) => console.log(`cairn${i} (resp ${t.respPort}, memcache ${t.memcachePort}):\n${tail(t.output())}`));
  });
}

describe('twemproxy (nutcracker) in front of three cairn instances', () => {
  it('RESP pool: 300 keys through the proxy with ioredis, read back through it, spread over all three', async () => {
    explain();
    const p = redis(respProxyPort);
    await p.connect();
    const keys = Array.from({ length: N }, (_, i) => `${RESP_PREFIX}${i}`);
    const pipe = p.pipeline();
    keys.forEach((k, i) => pipe.set(k, `value-${i}`));
    const sets = await pipe.exec();
    const failed = sets!.flatMap(([e, v], i) => (e === null && v === 'OK' ? [] : [`${keys[i]}: ${e ? e.message : String(v)}`]));
    expect(failed, `${failed.length} of ${N} SETs failed`).toEqual([]);
    // single reads
    const gets = await Promise.all(keys.map((k) => p.get(k)));
    expect(gets).toEqual(keys.map((_, i) => `value-${i}`));
    // MGET fans out over the three instances in the proxy and is joined there
    expect(await p.mget(...keys)).toEqual(keys.map((_, i) => `value-${i}`));
    // other commands through the proxy
    expect(await p.incr('tw:counter')).toBe(1);
    expect(await p.set('tw:ttl', 'x', 'EX', 100)).toBe('OK');
    expect(await p.ttl('tw:ttl')).toBeGreaterThanOrEqual(99);
    expect(await p.del('tw:counter', 'tw:ttl')).toBe(2);

    // each instance holds a non-empty share, and together exactly the keys written
    const shares: number[] = [];
    const seen = new Set<string>();
    for (const t of instances) {
      const d = redis(t.respPort);
      await d.connect();
      const size = await d.dbsize();
      const mine = await d.keys(`${RESP_PREFIX}*`);
      shares.push(mine.length);
      expect(size).toBe(mine.length);
      for (const k of mine) {
        expect(seen.has(k), `${k} on two instances`).toBe(false);
        seen.add(k);
      }
      if (mine.length) expect(await d.get(mine[0])).toBe(`value-${keys.indexOf(mine[0])}`);
    }
    expect(
      shares.every((s) => s > 0),
      `keys per instance: ${shares.join(', ')}`,
    ).toBe(true);
    expect(seen.size).toBe(N);
  });

  it('memcached pool: 300 keys through the proxy, read back through it, spread over all three', async () => {
    explain();
    const c = await raw(mcProxyPort);
    const keys = Array.from({ length: N }, (_, i) => `${MC_PREFIX}${i}`);
    let req = '';
    let want = '';
    keys.forEach((k, i) => {
      const v = `mc-${i}`;
      req += `set ${k} ${i} 0 ${v.length}\r\n${v}\r\n`;
      want += 'STORED\r\n';
    });
    const stored = await c.exchange(req, want, 15_000);
    expect(show(stored)).toBe(show(want));
    // one multi-key get through the proxy (it splits it by server and joins the replies)
    c.send(`get ${keys.join(' ')}\r\n`);
    const reply = await c.readUntil('END\r\n', 15_000);
    const found = new Map<string, string>();
    const re = /VALUE (\S+) (\d+) (\d+)\r\n([^\r]*)\r\n/g;
    for (let m = re.exec(reply); m; m = re.exec(reply)) {
      found.set(m[1], m[4]);
      expect(m[2]).toBe(String(keys.indexOf(m[1])));
    }
    expect(found.size, show(reply.slice(0, 500))).toBe(N);
    keys.forEach((k, i) => expect(found.get(k)).toBe(`mc-${i}`));
    // single gets, deletes and counters through the proxy
    for (const i of [0, 150, 299]) {
      const got = await c.exchange(`get ${keys[i]}\r\n`, `VALUE ${keys[i]} ${i} ${`mc-${i}`.length}\r\nmc-${i}\r\nEND\r\n`);
      expect(show(got)).toBe(show(`VALUE ${keys[i]} ${i} ${`mc-${i}`.length}\r\nmc-${i}\r\nEND\r\n`));
    }
    expect(await c.exchange('set tw:n 0 0 1\r\n5\r\nincr tw:n 10\r\n', 'STORED\r\n15\r\n')).toBe('STORED\r\n15\r\n');
    expect(await c.exchange('delete tw:n\r\n', 'DELETED\r\n')).toBe('DELETED\r\n');

    // every key is on exactly one instance, and every instance has some
    const shares: number[] = [];
    const seen = new Set<string>();
    for (const t of instances) {
      const d = await raw(t.memcachePort);
      d.send(`get ${keys.join(' ')}\r\n`);
      const r = await d.readUntil('END\r\n', 15_000);
      const mine = [...r.matchAll(/VALUE (\S+) /g)].map((m) => m[1]);
      shares.push(mine.length);
      for (const k of mine) {
        expect(seen.has(k), `${k} on two instances`).toBe(false);
        seen.add(k);
      }
    }
    expect(
      shares.every((s) => s > 0),
      `keys per instance: ${shares.join(', ')}`,
    ).toBe(true);
    expect(seen.size).toBe(N);
  });

  it('RESP pool with hash_tag "{}": keys of one tag land on one instance', async () => {
    explain();
    const p = redis(respProxyPort);
    await p.connect();
    // varied last bytes: fnv1a_64 + ketama spreads tags that differ only in a counter badly (see N)
    const tags = Array.from({ length: 20 }, (_, i) => `u${(Math.imul(i + 1, 2654435761) >>> 0).toString(36)}`);
    const keys = tags.flatMap((t) => Array.from({ length: 5 }, (_, j) => `tag{${t}}:${j}`));
    const pipe = p.pipeline();
    for (const k of keys) pipe.set(k, k);
    const sets = await pipe.exec();
    expect(sets!.every(([e, v]) => e === null && v === 'OK')).toBe(true);
    expect(await p.mget(...keys)).toEqual(keys);
    const home = new Map<string, Set<number>>();
    for (const [i, t] of instances.entries()) {
      const d = redis(t.respPort);
      await d.connect();
      for (const k of await d.keys('tag{*')) {
        const tag = /\{(\w+)\}/.exec(k)![1];
        home.set(tag, (home.get(tag) ?? new Set()).add(i));
      }
    }
    expect(home.size).toBe(tags.length);
    for (const [tag, where] of home) expect(where.size, `tag ${tag} on instances ${[...where].join(', ')}`).toBe(1);
    // the tags themselves still spread over the instances
    expect(new Set([...home.values()].map((w) => [...w][0])).size).toBeGreaterThan(1);
    expect(await p.del(...keys)).toBe(keys.length);
  });

  it('the proxy reports no server errors', async () => {
    explain();
    const log = `${proxy!.output()}${readFileSync(join(dir, 'nutcracker.log'), 'utf8')}`;
    expect(log).not.toMatch(/unsupported|failed|error|eof/i);
  });
});
