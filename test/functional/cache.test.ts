import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openCache, type Cache } from '../../src/index.js';
import { tempDir } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir('cairn-cache-');
  dirs.push(d);
  return d;
}

for (const threads of [true, false]) {
  describe(`openCache (threads: ${threads})`, () => {
    it('serves the library API over both tiers and keeps data across a reopen', async () => {
      const d = dir();
      // 2 shards × 1 MiB hot budget; ~12 MiB of values: most of them must live on disk.
      let cache: Cache = await openCache({ dir: d, shards: 2, maxMemory: 2 * 1024 * 1024, threads });
      const value = (i: number): string => `${i}:`.padEnd(1000, 'v');
      const n = 12_000;
      for (let i = 0; i < n; i += 500) {
        await cache.setMany(
          Array.from({ length: 500 }, (_, j) => [`k${i + j}`, value(i + j)] as const),
          { ttl: 3_600_000 },
        );
      }
      // evicted keys reach the disk tier in the writer's batches, which run behind the writes
      let stats = await cache.stats();
      for (const deadline = Date.now() + 30_000; stats.total.cold.items === 0 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 20));
        stats = await cache.stats();
      }
      expect(stats.total.cold.items).toBeGreaterThan(0);
      expect(stats.total.hot.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
      // every key readable, whichever tier holds it
      for (let i = 0; i < n; i += 1000) {
        const got = await cache.getMany(Array.from({ length: 1000 }, (_, j) => `k${i + j}`));
        expect(got.every((v, j) => v !== null && Buffer.from(v).toString() === value(i + j))).toBe(true);
      }
      const after = await cache.stats();
      expect(after.total.hits.cold).toBeGreaterThan(0);
      expect(after.total.restores).toBeGreaterThan(0);

      expect(await cache.has('k1')).toBe(true);
      expect(await cache.delete('k1')).toBe(true);
      expect(await cache.has('k1')).toBe(false);
      expect(await cache.deleteMany(['k2', 'k3', 'nope'])).toBe(2);
      expect(await cache.incr('counter', 5)).toBe(5);
      expect(await cache.decr('counter', 2)).toBe(3);
      expect(await cache.expire('k10', 60_000)).toBe(true);
      const ttl = await cache.ttl('k10');
      expect(ttl).toBeGreaterThan(55_000);
      expect(await cache.persist('k10')).toBe(true);
      expect(await cache.ttl('k10')).toBe(-1);
      expect(await cache.restore('k11')).toBe(true);
      expect(await cache.restore('never-written')).toBe(false);
      const expiresAt = await cache.expireTime('k12');
      await cache.close();

      cache = await openCache({ dir: d, shards: 2, maxMemory: 2 * 1024 * 1024, threads });
      expect(Buffer.from((await cache.get('k12'))!).toString()).toBe(value(12));
      expect(await cache.expireTime('k12')).toBe(expiresAt);
      expect(await cache.has('k1')).toBe(false);
      expect(await cache.getString('counter')).toBe('3');
      const counts = await cache.count();
      expect(counts.total).toBe(n - 3 + 1);
      await cache.close();
    });

    it('validates a batch whole: one bad item writes nothing', async () => {
      const cache = await openCache({ dir: dir(), shards: 2, maxMemory: 4 * 1024 * 1024, maxValueSize: 1024, threads });
      try {
        const batch: [string, string][] = Array.from({ length: 50 }, (_, i) => [`b${i}`, 'ok']);
        batch.push(['too-big', 'x'.repeat(2048)]);
        await expect(cache.setMany(batch)).rejects.toMatchObject({ code: 'CAIRN_ERR_VALUE_TOO_LARGE' });
        await expect(cache.setMany([[42 as unknown as string, 'v']])).rejects.toMatchObject({ code: 'CAIRN_ERR_BAD_ARGUMENT' });
        expect((await cache.getMany(batch.map(([k]) => k))).every((v) => v === null)).toBe(true);
        await expect(cache.set('k', 'x'.repeat(2048))).rejects.toMatchObject({ code: 'CAIRN_ERR_VALUE_TOO_LARGE' });
        await cache.set('n', 'abc');
        await expect(cache.incr('n')).rejects.toMatchObject({ code: 'CAIRN_ERR_NOT_INTEGER' });
      } finally {
        await cache.close();
      }
    });

    it('typed values: another schema version reads as a miss and is removed', async () => {
      const cache = await openCache({ dir: dir(), shards: 2, maxMemory: 4 * 1024 * 1024, threads });
      try {
        const v1 = cache.typed<{ name: string }>('user', { version: 1 });
        await v1.set('1', { name: 'ada' });
        expect(await v1.get('1')).toEqual({ name: 'ada' });
        const v2 = cache.typed<{ fullName: string }>('user', { version: 2 });
        expect(await v2.get('1')).toBeNull();
        expect(await v1.get('1')).toBeNull();
      } finally {
        await cache.close();
      }
    });
  });
}

it('rejects bad options with coded errors', async () => {
  await expect(openCache({ dir: dir(), shards: 0 })).rejects.toMatchObject({ code: 'CAIRN_ERR_BAD_ARGUMENT' });
  await expect(openCache({ dir: dir(), shards: 2, maxMemory: 1000 })).rejects.toMatchObject({ code: 'CAIRN_ERR_BAD_ARGUMENT' });
});
