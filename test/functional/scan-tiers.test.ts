/**
 * SCAN across the two tiers. In writeback mode a key in memory usually also has its clean copy on
 * disk; a full iteration must still return it once, as Redis does for a keyspace that does not change
 * during the iteration (checked against a real redis-server with the same keys).
 */
import { afterAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { createClient } from '../../src/client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
const others: ServiceHandle[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([...servers.map((s) => s.stop()), ...others.map((o) => o.stop())]);
});

function client(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1' });
  clients.push(r);
  return r;
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => `scan:${i}`);
const VALUE = 'x'.repeat(200);

async function write(r: Redis): Promise<void> {
  for (let i = 0; i < KEYS.length; i += 1000) await r.mset(...KEYS.slice(i, i + 1000).flatMap((k) => [k, VALUE]));
}

/** Every key a full SCAN returns, duplicates kept. */
async function fullScan(r: Redis, count: number): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'COUNT', count);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

describe('SCAN over both tiers', () => {
  it('writeback: each key once, with keys in memory (clean copies on disk too) and on disk only', async () => {
    // 2 MB of memory per shard for 4 MB of values: some keys only on disk, the rest in both tiers
    const srv = await startServer({ args: ['--max-memory', '4mb', '--durability', 'writeback', '--writeback-delay', '20ms'] });
    servers.push(srv);
    const r = client(srv.respPort);
    await write(r);
    // a few keys read back from disk: in memory again, clean
    for (const k of KEYS.slice(0, 200)) expect(await r.get(k)).toBe(VALUE);
    const sdk = await createClient({ port: srv.port });
    let tiers = await sdk.count();
    // wait until the writeback has put the keys that stayed in memory on disk too
    for (let i = 0; i < 200 && tiers.hot + tiers.cold - tiers.total < tiers.hot; i++) {
      await new Promise((res) => setTimeout(res, 25));
      tiers = await sdk.count();
    }
    await sdk.close();
    expect(tiers.total).toBe(KEYS.length);
    expect(tiers.hot).toBeGreaterThan(0);
    expect(tiers.hot).toBeLessThan(tiers.total); // the rest only on disk
    expect(tiers.hot + tiers.cold - tiers.total).toBe(tiers.hot); // every hot key also on disk

    for (const count of [10, 1000]) {
      const seen = await fullScan(r, count);
      expect(seen.length).toBe(KEYS.length);
      expect(new Set(seen)).toEqual(new Set(KEYS));
    }
    const keys = (await r.keys('*')) as string[];
    expect(keys.length).toBe(KEYS.length);
    expect(await r.dbsize()).toBe(KEYS.length);
  }, 120_000);

  it('redis-server: a full SCAN of an unchanging keyspace returns each key once (the reference)', async () => {
    const ref = await startRedisServer();
    others.push(ref);
    const r = client(ref.port);
    await write(r);
    const seen = await fullScan(r, 10);
    expect(seen.length).toBe(KEYS.length);
    expect(new Set(seen)).toEqual(new Set(KEYS));
  }, 60_000);
});
