/**
 * node-redis 5 (npm `redis`) against cairn's RESP port: its connect handshake (CLIENT SETINFO, AUTH),
 * the string / TTL command set of issue 5 through sendCommand and through its typed API, pipelines of
 * well over 1,000 commands across shards, scanIterator, and AUTH with --password.
 */
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringSuite } from './lib/string-suite.js';
import { REFERENCE, startTarget, type Target } from './lib/target.js';

type Client = ReturnType<typeof createClient>;

let target: Target;
let redis: Client;
const clients: Client[] = [];

async function connect(port: number, options: Parameters<typeof createClient>[0] = {}): Promise<Client> {
  const c = createClient({
    socket: { host: '127.0.0.1', port, connectTimeout: 5_000, reconnectStrategy: false },
    ...options,
  });
  c.on('error', () => {
    /* failures show up in the commands' rejections */
  });
  clients.push(c);
  await c.connect();
  return c;
}

beforeAll(async () => {
  target = await startTarget({ memcache: false });
  redis = await connect(target.respPort, { name: 'node-redis-compat' });
});

afterAll(async () => {
  for (const c of clients) {
    if (c.isOpen) c.destroy();
  }
  await target?.stop();
});

describe('node-redis: connecting', () => {
  it('connection name from the options (CLIENT SETNAME at connect)', async () => {
    expect(await redis.clientGetName()).toBe('node-redis-compat');
    expect(await redis.ping()).toBe('PONG');
  });
});

describe('node-redis: string and TTL commands through sendCommand()', () => {
  stringSuite('nr', () => (args) => redis.sendCommand(args));
});

describe('node-redis: typed API', () => {
  it('SET options objects, GETEX, GETDEL, GETRANGE, SETRANGE, INCRBYFLOAT, APPEND, STRLEN, EXPIRETIME', async () => {
    expect(await redis.set('nrt:a', 'hello', { expiration: { type: 'EX', value: 100 } })).toBe('OK');
    expect(await redis.ttl('nrt:a')).toBeGreaterThanOrEqual(99);
    expect(await redis.set('nrt:a', 'x', { condition: 'NX' })).toBeNull();
    expect(await redis.set('nrt:a', 'world', { expiration: 'KEEPTTL', GET: true })).toBe('hello');
    expect(await redis.ttl('nrt:a')).toBeGreaterThanOrEqual(99);
    expect(await redis.set('nrt:missing', 'x', { condition: 'XX' })).toBeNull();
    const at = Math.floor(Date.now() / 1000) + 321;
    expect(await redis.set('nrt:b', 'v', { expiration: { type: 'EXAT', value: at } })).toBe('OK');
    expect(await redis.expireTime('nrt:b')).toBe(at);
    expect(await redis.set('nrt:b', 'v', { expiration: { type: 'PXAT', value: at * 1000 + 9 } })).toBe('OK');
    expect(await redis.pExpireTime('nrt:b')).toBe(at * 1000 + 9);
    expect(await redis.set('nrt:c', 'v', { expiration: { type: 'PX', value: 90_000 } })).toBe('OK');
    expect(await redis.pTTL('nrt:c')).toBeGreaterThan(88_000);
    expect(await redis.getEx('nrt:a', { type: 'PERSIST' })).toBe('world');
    expect(await redis.ttl('nrt:a')).toBe(-1);
    expect(await redis.getEx('nrt:a', { type: 'EX', value: 40 })).toBe('world');
    expect(await redis.ttl('nrt:a')).toBeGreaterThanOrEqual(39);
    expect(await redis.getDel('nrt:a')).toBe('world');
    expect(await redis.exists('nrt:a')).toBe(0);
    expect(await redis.set('nrt:r', 'Hello World')).toBe('OK');
    expect(await redis.getRange('nrt:r', 0, 4)).toBe('Hello');
    expect(await redis.setRange('nrt:r', 6, 'there')).toBe(11);
    expect(await redis.get('nrt:r')).toBe('Hello there');
    expect(await redis.incrByFloat('nrt:f', 1.25)).toBe('1.25');
    expect(await redis.append('nrt:r', '!')).toBe(12);
    expect(await redis.strLen('nrt:r')).toBe(12);
    expect(await redis.mSet({ 'nrt:m1': '1', 'nrt:m2': '2' })).toBe('OK');
    expect(await redis.mGet(['nrt:m2', 'nrt:zz', 'nrt:m1'])).toEqual(['2', null, '1']);
    expect(await redis.incrBy('nrt:m1', 41)).toBe(42);
    expect(await redis.expire('nrt:m1', 100)).toBe(1);
    expect(await redis.persist('nrt:m1')).toBe(1);
    await expect(redis.incr('nrt:r')).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('binary values as Buffers', async () => {
    const value = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 31) & 255));
    expect(await redis.set('nrt:bin', value)).toBe('OK');
    const back = await redis.withTypeMapping({ 36 /* blob string */: Buffer }).get('nrt:bin');
    expect(Buffer.isBuffer(back) && back.equals(value)).toBe(true);
  });
});

describe('node-redis: pipelines and SCAN', () => {
  it('multi-free pipeline (execAsPipeline) of 2,000 commands across shards answers in order', async () => {
    const n = 500;
    const p = redis.multi();
    for (let i = 0; i < n; i++) {
      p.set(`nrp:${i}`, `v${i}`);
      p.get(`nrp:${Math.floor(i / 2)}`);
      p.incr(`nrp:c:${i % 3}`);
      p.exists(`nrp:${i + 1}`);
    }
    const replies = await p.execAsPipeline();
    expect(replies.length).toBe(4 * n);
    const counters = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      expect(replies[4 * i]).toBe('OK');
      expect(replies[4 * i + 1]).toBe(`v${Math.floor(i / 2)}`);
      expect(replies[4 * i + 2]).toBe(++counters[i % 3]);
      expect(replies[4 * i + 3]).toBe(0);
    }
  });

  it('2,000 concurrent commands on one connection (implicit pipelining)', async () => {
    const sets = await Promise.all(Array.from({ length: 1000 }, (_, i) => redis.set(`nrc:${i}`, `x${i}`)));
    expect(sets.every((s) => s === 'OK')).toBe(true);
    const gets = await Promise.all(Array.from({ length: 1000 }, (_, i) => redis.get(`nrc:${i}`)));
    expect(gets).toEqual(Array.from({ length: 1000 }, (_, i) => `x${i}`));
  });

  it('scanIterator sees every key', async () => {
    const keys = Array.from({ length: 600 }, (_, i) => `nrs:${i}`);
    await redis.mSet(Object.fromEntries(keys.map((k) => [k, '1'])));
    const seen = new Set<string>();
    for await (const batch of redis.scanIterator({ MATCH: 'nrs:*', COUNT: 30 })) {
      for (const k of batch) seen.add(k);
    }
    expect([...seen].sort()).toEqual([...keys].sort());
    const listed = await redis.keys('nrs:*');
    expect(listed.length).toBe(600);
    expect(await redis.dbSize()).toBeGreaterThanOrEqual(600);
  });

  it('CAIRN.INFO and CAIRN.RESTORE through sendCommand', async () => {
    if (REFERENCE) return;
    const info = (await redis.sendCommand(['CAIRN.INFO'])) as string;
    expect(info).toMatch(/^# Cairn\r\n/);
    expect(info).toMatch(/^hot_items:\d+\r?$/m);
    await redis.set('nrs:restore', 'v');
    expect(await redis.sendCommand(['CAIRN.RESTORE', 'nrs:restore'])).toBe(1);
    expect(await redis.sendCommand(['CAIRN.RESTORE', 'nrs:never'])).toBe(0);
  });
});

describe('node-redis: AUTH with --password', () => {
  let locked: Target;
  beforeAll(async () => {
    locked = await startTarget({ memcache: false, password: 'hunter2' });
  });
  afterAll(async () => {
    await locked?.stop();
  });

  it('the password option authenticates; without it, NOAUTH', async () => {
    const good = await connect(locked.respPort, { password: 'hunter2' });
    expect(await good.set('nra:k', 'v')).toBe('OK');
    expect(await good.get('nra:k')).toBe('v');
    const none = await connect(locked.respPort);
    await expect(none.get('nra:k')).rejects.toThrow('NOAUTH Authentication required.');
    expect(await none.sendCommand(['AUTH', 'hunter2'])).toBe('OK');
    expect(await none.get('nra:k')).toBe('v');
    await expect(connect(locked.respPort, { password: 'wrong' })).rejects.toThrow('WRONGPASS invalid username-password pair or user is disabled.');
  });

  it('HELLO 2 AUTH default <password> authenticates too', async () => {
    const c = await connect(locked.respPort, { disableClientInfo: true });
    const hello = (await c.sendCommand(['HELLO', '2', 'AUTH', 'default', 'hunter2'])) as unknown[];
    expect(Array.isArray(hello)).toBe(true);
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < hello.length; i += 2) fields.set(hello[i], hello[i + 1]);
    expect(fields.get('proto')).toBe(2);
    expect(fields.get('server')).toBeDefined();
    expect(await c.get('nra:k')).toBe('v');
  });
});
