/**
 * A value that fills a shard's memory to the byte, then given an expiry over RESP: the entry with
 * its expiry field is two words longer than memory holds, so it moves to disk. In spill mode memory
 * held the only copy of the value; it must still be there, with its TTL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
});

async function hot(r: Redis): Promise<{ items: number; bytes: number; max: number }> {
  const info = await r.info('cairn');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)![1]);
  return { items: field('hot_items'), bytes: field('hot_bytes'), max: field('hot_max_bytes') };
}

describe('a new version of an entry that does not fit in memory', () => {
  it('spill: EXPIRE on a value filling memory keeps the value, with its TTL', async () => {
    const srv = await startServer({ args: ['--shards', '1', '--max-memory', '1mb', '--durability', 'spill'] });
    servers.push(srv);
    const r = new Redis({ port: srv.respPort, host: '127.0.0.1' });
    clients.push(r);
    // grow the hash table (an empty one is so small that the engine refuses such a value before
    // trying), then leave one value alone in memory
    const fillers = Array.from({ length: 2000 }, (_, i) => `filler:${i}`);
    for (let i = 0; i < fillers.length; i += 500) await r.mset(...fillers.slice(i, i + 500).flatMap((k) => [k, 'x']));
    const first = 200_001; // with the 3-byte key: a whole number of words, as the final length
    await r.set('big', 'v'.repeat(first));
    for (let i = 0; i < fillers.length; i += 500) await r.del(...fillers.slice(i, i + 500));
    const before = await hot(r);
    expect(before.items).toBe(1);
    const value = 'v'.repeat(first + before.max - before.bytes);
    await r.set('big', value);
    const after = await hot(r);
    expect(after).toMatchObject({ items: 1, bytes: after.max }); // in memory, filling it to the byte

    expect(await r.expire('big', 100_000)).toBe(1);
    expect(await r.get('big')).toBe(value);
    const ttl = await r.ttl('big');
    expect(ttl).toBeGreaterThan(99_000);
    expect(ttl).toBeLessThanOrEqual(100_000);
  });
});
