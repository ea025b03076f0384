/**
 * ioredis 5 against cairn's RESP port: its ready check (INFO), the string / TTL command set of issue
 * 5 through `call` and through its typed API, pipelines of well over 1,000 commands across shards,
 * auto-pipelining, scanStream, CAIRN.INFO / CAIRN.RESTORE with a hot tier too small for the data, and
 * AUTH with --password.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, show } from './lib/raw.js';
import { stringSuite } from './lib/string-suite.js';
import { REFERENCE, startTarget, type Target } from './lib/target.js';

let target: Target;
let redis: Redis;
const extra: Redis[] = [];

function client(port: number, options: RedisOptions = {}): Redis {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 5_000,
    commandTimeout: 15_000,
    ...options,
  });
  c.on('error', () => {
    /* failures show up in the commands' rejections */
  });
  extra.push(c);
  return c;
}

beforeAll(async () => {
  target = await startTarget({ memcache: false });
  redis = client(target.respPort, { connectionName: 'ioredis-compat' });
  await redis.connect(); // the ready check sends INFO and waits for loading:0
});

afterAll(async () => {
  for (const c of extra) c.disconnect();
  await target?.stop();
});

describe('ioredis: connecting', () => {
  it('connection name from the connect options (CLIENT SETNAME at connect)', async () => {
    expect(await redis.client('GETNAME')).toBe('ioredis-compat');
  });
});

describe('ioredis: string and TTL commands through call()', () => {
  stringSuite('io', () => (args) => redis.call(String(args[0]), ...args.slice(1)));
});

describe('ioredis: typed API', () => {
  it('set with options, get, getex, getdel, getrange, setrange, incrbyfloat, append, strlen, expiretime', async () => {
    expect(await redis.set('iot:a', 'hello', 'EX', 100)).toBe('OK');
    expect(await redis.ttl('iot:a')).toBeGreaterThanOrEqual(99);
    expect(await redis.set('iot:a', 'bye', 'NX')).toBeNull();
    expect(await redis.set('iot:a', 'world', 'KEEPTTL', 'GET')).toBe('hello');
    expect(await redis.ttl('iot:a')).toBeGreaterThanOrEqual(99);
    expect(await redis.set('iot:b', 'v', 'PX', 100_000, 'XX')).toBeNull();
    const at = Math.floor(Date.now() / 1000) + 777;
    expect(await redis.set('iot:b', 'v', 'EXAT', at)).toBe('OK');
    expect(await redis.expiretime('iot:b')).toBe(at);
    expect(await redis.set('iot:b', 'v', 'PXAT', at * 1000)).toBe('OK');
    expect(await redis.pexpiretime('iot:b')).toBe(at * 1000);
    expect(await redis.getex('iot:a', 'PERSIST')).toBe('world');
    expect(await redis.ttl('iot:a')).toBe(-1);
    expect(await redis.getex('iot:a', 'EX', 50)).toBe('world');
    expect(await redis.getdel('iot:a')).toBe('world');
    expect(await redis.get('iot:a')).toBeNull();
    expect(await redis.set('iot:r', 'Hello World')).toBe('OK');
    expect(await redis.getrange('iot:r', -5, -1)).toBe('World');
    expect(await redis.setrange('iot:r', 6, 'cairn')).toBe(11);
    expect(await redis.get('iot:r')).toBe('Hello cairn');
    expect(await redis.incrbyfloat('iot:f', 2.5)).toBe('2.5');
    expect(await redis.incrbyfloat('iot:f', -0.5)).toBe('2');
    expect(await redis.append('iot:r', '!')).toBe(12);
    expect(await redis.strlen('iot:r')).toBe(12);
    expect(await redis.incr('iot:n')).toBe(1);
    expect(await redis.incrby('iot:n', 9)).toBe(10);
    expect(await redis.decrby('iot:n', 3)).toBe(7);
    expect(await redis.decr('iot:n')).toBe(6);
    expect(await redis.mset({ 'iot:m1': 'a', 'iot:m2': 'b', 'iot:m3': 'c' })).toBe('OK');
    expect(await redis.mget('iot:m3', 'iot:nope', 'iot:m1', 'iot:m2')).toEqual(['c', null, 'a', 'b']);
    const buf = await redis.getBuffer('iot:m1');
    expect(Buffer.isBuffer(buf) && buf.toString()).toBe('a');
    await expect(redis.incr('iot:r')).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('a binary value of every byte survives a round trip', async () => {
    const value = Buffer.alloc(256 * 4);
    for (let i = 0; i < value.length; i++) value[i] = i & 255;
    expect(await redis.set('iot:bin', value)).toBe('OK');
    expect((await redis.getBuffer('iot:bin'))!.equals(value)).toBe(true);
    const big = Buffer.alloc(512 * 1024, 7);
    expect(await redis.set('iot:big', big)).toBe('OK');
    expect((await redis.getBuffer('iot:big'))!.equals(big)).toBe(true);
  });
});

describe('ioredis: pipelines and SCAN', () => {
  it('a pipeline of 2,400 commands with keys interleaved across shards answers in order', async () => {
    const n = 600;
    const p = redis.pipeline();
    for (let i = 0; i < n; i++) {
      p.set(`iop:${i}`, `value-${i}`);
      p.get(`iop:${(i * 7919) % (i + 1)}`); // a key written earlier in this pipeline (or this one)
      p.incr(`iop:counter:${i % 5}`);
      p.get(`iop:absent:${i}`);
    }
    const replies = await p.exec();
    expect(replies).not.toBeNull();
    expect(replies!.length).toBe(4 * n);
    const counters = [0, 0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const [set, get, incr, absent] = replies!.slice(4 * i, 4 * i + 4);
      expect(set).toEqual([null, 'OK']);
      expect(get).toEqual([null, `value-${(i * 7919) % (i + 1)}`]);
      counters[i % 5]++;
      expect(incr).toEqual([null, counters[i % 5]]);
      expect(absent).toEqual([null, null]);
    }
  });

  it('a pipeline with an error in the middle: the error in its place, the rest answered', async () => {
    const p = redis.pipeline();
    p.set('iop:e', 'text');
    p.incr('iop:e');
    p.get('iop:e');
    const r = await p.exec();
    expect(r![0]).toEqual([null, 'OK']);
    expect(r![1][0]).toBeInstanceOf(Error);
    expect((r![1][0] as Error).message).toBe('ERR value is not an integer or out of range');
    expect(r![2]).toEqual([null, 'text']);
  });

  it('auto-pipelining 3,000 concurrent commands (MULTI-free)', async () => {
    const auto = client(target.respPort, { enableAutoPipelining: true });
    await auto.connect();
    const sets = await Promise.all(Array.from({ length: 1500 }, (_, i) => auto.set(`ioa:${i}`, String(i))));
    expect(sets.every((s) => s === 'OK')).toBe(true);
    const gets = await Promise.all(Array.from({ length: 1500 }, (_, i) => auto.get(`ioa:${i}`)));
    expect(gets).toEqual(Array.from({ length: 1500 }, (_, i) => String(i)));
  });

  it('scanStream sees every key', async () => {
    const keys = Array.from({ length: 700 }, (_, i) => `ios:${i}`);
    const p = redis.pipeline();
    for (const key of keys) p.set(key, '1');
    await p.exec();
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const stream = redis.scanStream({ match: 'ios:*', count: 25 });
      stream.on('data', (batch: string[]) => batch.forEach((k) => seen.add(k)));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(seen.size).toBe(keys.length);
    expect([...seen].sort()).toEqual([...keys].sort());
    // without MATCH too
    let cursor = '0';
    const all = new Set<string>();
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 100);
      batch.forEach((k) => all.add(k));
      cursor = next;
    } while (cursor !== '0');
    for (const key of keys) expect(all.has(key)).toBe(true);
    expect(all.size).toBe(await redis.dbsize());
    const typed = await redis.keys('ios:1*');
    expect(typed.sort()).toEqual(keys.filter((k) => k.startsWith('ios:1')).sort());
  });
});

describe('ioredis: the disk tier (CAIRN.INFO, CAIRN.RESTORE)', () => {
  let small: Target;
  let c: Redis;
  beforeAll(async () => {
    if (REFERENCE) return;
    small = await startTarget({ memcache: false, args: ['--max-memory', '2mb'] });
    c = client(small.respPort);
    await c.connect();
  });
  afterAll(async () => {
    await small?.stop();
  });

  it('keys evicted from a 2 MB hot tier come back with their values and TTLs', async () => {
    if (REFERENCE) return;
    const value = (i: number): string => `${i}:`.padEnd(8 * 1024, String.fromCharCode(97 + (i % 26)));
    expect(await c.set('tier:ttl', 'keep me', 'EX', 1000)).toBe('OK');
    const n = 800; // 6.4 MB of values
    for (let start = 0; start < n; start += 100) {
      const p = c.pipeline();
      for (let i = start; i < start + 100; i++) p.set(`tier:${i}`, value(i));
      const r = await p.exec();
      expect(r!.every(([e, v]) => e === null && v === 'OK')).toBe(true);
    }
    const info = (await c.call('CAIRN.INFO')) as string;
    expect(info.startsWith('# Cairn')).toBe(true);
    const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    expect(field('shards')).toBe(2);
    expect(field('keys')).toBe(n + 1);
    expect(field('hot_items')).toBeLessThan(n);
    expect(field('hot_bytes')).toBeLessThanOrEqual(field('hot_max_bytes'));
    expect(field('evictions')).toBeGreaterThan(0);
    expect(info).toMatch(/^shard0:keys=\d+/m);
    expect(info).toMatch(/^shard1:keys=\d+/m);

    // the first keys were evicted; they read back from disk
    expect(await c.ttl('tier:ttl')).toBeGreaterThan(990);
    expect(await c.get('tier:ttl')).toBe('keep me');
    expect(await c.call('CAIRN.RESTORE', 'tier:0')).toBe(1);
    expect(await c.get('tier:0')).toBe(value(0));
    expect(await c.call('CAIRN.RESTORE', 'tier:none')).toBe(0);
    await expect(c.call('CAIRN.RESTORE')).rejects.toThrow("ERR wrong number of arguments for 'cairn.restore' command");
    for (let start = 0; start < n; start += 200) {
      const keys = Array.from({ length: 200 }, (_, j) => `tier:${start + j}`);
      const got = await c.mget(...keys);
      got.forEach((v, j) => expect(v, keys[j]).toBe(value(start + j)));
    }
    const after = (await c.call('CAIRN.INFO')) as string;
    expect(Number(/^hits_cold:(\d+)/m.exec(after)?.[1])).toBeGreaterThan(0);
    const full = await c.info();
    expect(full).toContain('# Cairn');
  });
});

describe('ioredis: AUTH with --password', () => {
  let locked: Target;
  beforeAll(async () => {
    locked = await startTarget({ memcache: false, password: 's3cret pass' });
  });
  afterAll(async () => {
    await locked?.stop();
  });

  it('NOAUTH before AUTH, WRONGPASS for a bad password, OK after', async () => {
    const raw = await RawClient.connect(locked.respPort);
    try {
      const want = (s: string) => s;
      let got = await raw.exchange('*2\r\n$3\r\nGET\r\n$1\r\nx\r\n', '-NOAUTH Authentication required.\r\n');
      expect(show(got)).toBe(show(want('-NOAUTH Authentication required.\r\n')));
      got = await raw.exchange('*1\r\n$4\r\nPING\r\n', '-NOAUTH Authentication required.\r\n');
      expect(show(got)).toBe(show('-NOAUTH Authentication required.\r\n'));
      got = await raw.exchange('*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n', '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
      expect(show(got)).toBe(show('-WRONGPASS invalid username-password pair or user is disabled.\r\n'));
      got = await raw.exchange('*2\r\n$4\r\nAUTH\r\n$11\r\ns3cret pass\r\n', '+OK\r\n');
      expect(show(got)).toBe(show('+OK\r\n'));
      got = await raw.exchange('*2\r\n$3\r\nGET\r\n$1\r\nx\r\n', '$-1\r\n');
      expect(show(got)).toBe(show('$-1\r\n'));
      got = await raw.exchange('*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$11\r\ns3cret pass\r\n', '+OK\r\n');
      expect(show(got)).toBe(show('+OK\r\n'));
    } finally {
      raw.close();
    }
  });

  it('ioredis with the password works; without it, NOAUTH', async () => {
    const good = client(locked.respPort, { password: 's3cret pass' });
    await good.connect();
    expect(await good.set('auth:k', 'v')).toBe('OK');
    expect(await good.get('auth:k')).toBe('v');
    const bad = client(locked.respPort, { enableReadyCheck: false });
    await bad.connect();
    await expect(bad.get('auth:k')).rejects.toThrow('NOAUTH Authentication required.');
    const wrong = client(locked.respPort, { password: 'nope', enableReadyCheck: false });
    await wrong.connect().catch(() => undefined);
    await expect(wrong.get('auth:k')).rejects.toThrow(/WRONGPASS|NOAUTH|Connection is closed/);
  });

  it('AUTH on a server without a password is an error, as Redis words it', async () => {
    await expect(redis.call('AUTH', 'x')).rejects.toThrow(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  });
});
