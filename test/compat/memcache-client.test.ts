/**
 * An npm memcached client against cairn's memcached port. memjs speaks only memcached's BINARY
 * protocol, which cairn does not implement (text protocol only), so this uses the `memcached`
 * package (text protocol): set / get / getMulti / gets / cas / add / replace / append / prepend /
 * del / incr / decr / touch / flush / stats / version, its type flags (JSON, number, Buffer) and
 * binary-safe Buffer values.
 */
import Memcached from 'memcached';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './lib/raw.js';
import { REFERENCE, startTarget, type Target } from './lib/target.js';

let target: Target;
let mc: Memcached;

/** promisifies one client call: fn(...args, cb) */
// biome-ignore lint/suspicious/noExplicitAny: any of the client's callback-style methods, whatever its arguments
function call<T>(fn: (...a: any[]) => void, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    fn.call(mc, ...args, (err: unknown, data: T) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(data)));
  });
}

beforeAll(async () => {
  target = await startTarget({ resp: false });
  mc = new Memcached(`127.0.0.1:${target.memcachePort}`, { retries: 0, timeout: 3_000, reconnect: 1_000, failures: 1, idle: 10_000 });
});

afterAll(async () => {
  mc?.end();
  await target?.stop();
});

describe('npm memcached client (text protocol)', () => {
  it('version and stats', async () => {
    const versions = await call<{ version: string }[]>(mc.version);
    expect(versions[0].version).toMatch(/^\d+\.\d+\.\d+/);
    const stats = await call<Record<string, unknown>[]>(mc.stats);
    expect(stats.length).toBe(1);
    expect(stats[0]).toHaveProperty('curr_items');
    if (!REFERENCE) expect(stats[0]).toHaveProperty('cold_items');
  });

  it('set / get / getMulti / del', async () => {
    expect(await call(mc.set, 'mcc:a', 'hello', 0)).toBe(true);
    expect(await call(mc.get, 'mcc:a')).toBe('hello');
    expect(await call(mc.get, 'mcc:none')).toBeUndefined();
    expect(await call(mc.set, 'mcc:b', 'world', 100)).toBe(true);
    const many = await call<Record<string, unknown>>(mc.getMulti, ['mcc:a', 'mcc:none', 'mcc:b']);
    expect(many).toEqual({ 'mcc:a': 'hello', 'mcc:b': 'world' });
    expect(await call(mc.del, 'mcc:a')).toBe(true);
    expect(await call(mc.get, 'mcc:a')).toBeUndefined();
    expect(await call(mc.del, 'mcc:a')).toBe(false);
  });

  it('getMulti over 200 keys on every shard', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `mcc:multi:${i}`);
    await Promise.all(keys.map((k, i) => call(mc.set, k, `v${i}`, 0)));
    const got = await call<Record<string, unknown>>(mc.getMulti, keys);
    expect(Object.keys(got).length).toBe(200);
    keys.forEach((k, i) => expect(got[k]).toBe(`v${i}`));
  });

  it('add / replace', async () => {
    expect(await call(mc.add, 'mcc:add', 'one', 0)).toBe(true);
    await expect(call(mc.add, 'mcc:add', 'two', 0)).rejects.toThrow(/not stored/i);
    expect(await call(mc.replace, 'mcc:add', 'three', 0)).toBe(true);
    await expect(call(mc.replace, 'mcc:rnone', 'x', 0)).rejects.toThrow(/not stored/i);
    expect(await call(mc.get, 'mcc:add')).toBe('three');
  });

  it('append / prepend', async () => {
    expect(await call(mc.set, 'mcc:ap', 'mid', 0)).toBe(true);
    expect(await call(mc.append, 'mcc:ap', '-end')).toBe(true);
    expect(await call(mc.prepend, 'mcc:ap', 'start-')).toBe(true);
    expect(await call(mc.get, 'mcc:ap')).toBe('start-mid-end');
  });

  it('gets / cas', async () => {
    expect(await call(mc.set, 'mcc:cas', 'v1', 0)).toBe(true);
    const g = await call<{ cas: string; 'mcc:cas': string }>(mc.gets, 'mcc:cas');
    expect(g['mcc:cas']).toBe('v1');
    expect(g.cas).toMatch(/^\d+$/);
    expect(await call(mc.cas, 'mcc:cas', 'v2', g.cas, 0)).toBe(true);
    // stale cas: the client reports false (EXISTS)
    expect(await call(mc.cas, 'mcc:cas', 'v3', g.cas, 0)).toBe(false);
    expect(await call(mc.get, 'mcc:cas')).toBe('v2');
  });

  it('incr / decr', async () => {
    expect(await call(mc.set, 'mcc:n', '10', 0)).toBe(true);
    expect(await call(mc.incr, 'mcc:n', 5)).toBe(15);
    expect(await call(mc.decr, 'mcc:n', 20)).toBe(0);
    expect(await call(mc.incr, 'mcc:nnone', 1)).toBe(false);
  });

  it('touch and lifetimes', async () => {
    expect(await call(mc.set, 'mcc:t', 'x', 1)).toBe(true);
    expect(await call(mc.touch, 'mcc:t', 100)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_600));
    expect(await call(mc.get, 'mcc:t')).toBe('x');
    expect(await call(mc.set, 'mcc:t2', 'x', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 2_100));
    expect(await call(mc.get, 'mcc:t2')).toBeUndefined();
  });

  it('type flags: JSON objects, numbers and Buffers round-trip; flags visible on the wire', async () => {
    const obj = { a: 1, b: [true, null, 'x'], c: { d: 'é' } };
    expect(await call(mc.set, 'mcc:json', obj, 0)).toBe(true);
    expect(await call(mc.get, 'mcc:json')).toEqual(obj);
    expect(await call(mc.set, 'mcc:num', 12345, 0)).toBe(true);
    expect(await call(mc.get, 'mcc:num')).toBe(12345);
    const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 255));
    expect(await call(mc.set, 'mcc:bin', bin, 0)).toBe(true);
    const back = await call<Buffer>(mc.get, 'mcc:bin');
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.equals(bin)).toBe(true);
    // the client's flags (2 JSON, 8 numeric, 4 binary) as a raw get shows them
    const raw = await RawClient.connect(target.memcachePort);
    try {
      raw.send('get mcc:json mcc:num\r\n');
      const reply = await raw.readUntil('END\r\n');
      expect(reply).toMatch(/^VALUE mcc:json 2 \d+\r\n/);
      expect(reply).toContain('\r\nVALUE mcc:num 8 5\r\n12345\r\nEND\r\n');
    } finally {
      raw.close();
    }
  });

  it('a 500 KB string value', async () => {
    const big = 'x'.repeat(500 * 1024);
    expect(await call(mc.set, 'mcc:big', big, 0)).toBe(true);
    expect(await call(mc.get, 'mcc:big')).toBe(big);
  });

  it('flush', async () => {
    expect(await call(mc.set, 'mcc:f', 'x', 0)).toBe(true);
    const r = await call<boolean[]>(mc.flush);
    expect(r).toEqual([true]);
    expect(await call(mc.get, 'mcc:f')).toBeUndefined();
  });
});
