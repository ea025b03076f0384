import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repairShardDir } from '../../src/store/repair.js';
import { TieredShardStore, type TieredShardStoreOptions } from '../../src/store/shard-store.js';

// The empty key is a key, as in Redis. On disk its data record is the prefix 'd' alone, the first
// record of the data range, and its index records are the bare 9-byte prefixes of the 'e' and 'a'
// ranges: each range read must still find it exactly once.

const dirs: string[] = [];
const stores: TieredShardStore[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-emptykey-'));
  dirs.push(d);
  return d;
}

async function open(opts: Partial<TieredShardStoreOptions> & { dir: string }): Promise<TieredShardStore> {
  const s = await TieredShardStore.open({ shard: 0, maxMemory: 64 << 10, sweepIntervalMs: 20, ...opts });
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const EMPTY = Buffer.alloc(0);
const k = (s: string): Buffer => Buffer.from(s);
const fill = (i: number): Buffer => Buffer.alloc(512, i & 0xff);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T0 = 1_700_000_000_000;

async function scanAll(s: TieredShardStore, count: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor = '0';
  let pages = 0;
  do {
    const page = await s.scan(cursor, count);
    for (const key of page.keys) seen.push(key.toString('latin1'));
    cursor = page.cursor;
  } while (cursor !== '0' && ++pages < 10_000);
  expect(cursor).toBe('0');
  return seen;
}

/** n filler keys of 512 bytes: with a 64 KiB budget they push every earlier entry out to disk. */
async function spill(s: TieredShardStore, n = 400): Promise<void> {
  for (let i = 0; i < n; i++) s.set(k(`f:${i}`), fill(i));
  await s.sync();
}

describe('the empty key in both tiers', () => {
  for (const durability of ['spill', 'writeback', 'sync'] as const) {
    it(`is stored, spilled, restored, counted, scanned and kept across a restart (${durability})`, async () => {
      const dir = tempDir();
      const s = await open({ dir, durability, writebackDelayMs: 5 });
      expect(s.set(EMPTY, k('empty'), { flags: 3 }).status).toBe('stored');
      expect(s.get(EMPTY)?.value.toString()).toBe('empty');
      await spill(s);
      expect(s.stats().spills).toBeGreaterThan(0);
      const restores = s.stats().restores;
      const e = s.get(EMPTY);
      expect(e?.value.toString()).toBe('empty');
      expect(e?.flags).toBe(3);
      expect(s.stats().restores).toBe(restores + 1); // it came back from disk
      await spill(s); // out again
      expect((await s.count()).total).toBe(401);
      // every page size, down to one key a page: the cold walk passes the empty key once
      for (const count of [1, 2, 7, 1000]) {
        const keys = await scanAll(s, count);
        expect(keys.filter((x) => x === '')).toHaveLength(1);
        expect(new Set(keys).size).toBe(401);
      }
      await s.verifyDisk();
      await s.close();

      const r = await open({ dir });
      expect(r.stats().hot.items).toBe(0);
      expect((await r.count()).total).toBe(401);
      expect((await scanAll(r, 1)).filter((x) => x === '')).toHaveLength(1);
      expect(r.get(EMPTY)?.value.toString()).toBe('empty');
      expect(r.delete(EMPTY)).toBe(true);
      expect(r.exists(EMPTY)).toBe(false);
      await r.sync();
      await r.verifyDisk();
      expect((await r.count()).total).toBe(400);
    });
  }

  it('is the one key RANDOMKEY can find when it is alone on disk; a flush removes it', async () => {
    const dir = tempDir();
    const s = await open({ dir, durability: 'writeback', writebackDelayMs: 5 });
    s.set(EMPTY, k('v'));
    await s.sync();
    await s.close();
    const r = await open({ dir });
    expect(r.stats().hot.items).toBe(0);
    expect(r.stats().cold.items).toBe(1);
    expect((await r.randomKey())?.length).toBe(0);
    await r.flush();
    expect(await r.count()).toEqual({ hot: 0, cold: 0, total: 0 });
    expect(r.get(EMPTY)).toBeNull();
    expect(await r.randomKey()).toBeNull();
    await r.close();
    const again = await open({ dir });
    expect(again.get(EMPTY)).toBeNull();
    expect(again.stats().cold.items).toBe(0);
  });

  it('expires from disk: refused when due, swept from the expiry index, the rest stays', async () => {
    const dir = tempDir();
    const clock = { now: T0 };
    const s = await open({ dir, clock: () => clock.now, durability: 'spill' });
    s.set(EMPTY, k('short'), { expiresAt: T0 + 1000 });
    s.set(k('\x00'), k('long'), { expiresAt: T0 + 1000 + 1 }); // the next key in both index orders
    await spill(s);
    expect(s.expireTime(EMPTY)).toBe(T0 + 1000);
    await spill(s);
    await s.verifyDisk();
    expect(s.stats().cold.items).toBe(402);
    clock.now = T0 + 1000; // due exactly now; the other one is not
    expect((await s.count()).total).toBe(401);
    expect(s.get(EMPTY)).toBeNull();
    expect(s.get(k('\x00'))?.value.toString()).toBe('long');
    const deadline = Date.now() + 10_000;
    while (s.stats().cold.items > 401 && Date.now() < deadline) await sleep(20);
    expect(s.stats().cold.items).toBe(401);
    await s.verifyDisk();
    expect((await scanAll(s, 1)).includes('')).toBe(false);
  });

  it('keeps its TTL and access record through a repair; a cold limit drops it in write order', async () => {
    const dir = tempDir();
    const s = await open({ dir, durability: 'writeback', writebackDelayMs: 5, coldMaxItems: 1000 });
    s.set(EMPTY, k('x'), { expiresAt: Date.now() + 3_600_000 });
    await spill(s, 100);
    await s.verifyDisk();
    await s.close();
    const report = await repairShardDir(dir, 0);
    expect(report.items).toBe(101);
    expect(report.badRecords).toBe(0);
    const repaired = await open({ dir });
    await repaired.verifyDisk();
    expect(repaired.expireTime(EMPTY)).toBeGreaterThan(Date.now());
    await repaired.close();
    // the oldest write goes first: the empty key
    const r = await open({ dir, durability: 'writeback', writebackDelayMs: 5, coldMaxItems: 50 });
    const deadline = Date.now() + 10_000;
    while (r.stats().cold.items > 50 && Date.now() < deadline) await sleep(20);
    expect(r.get(EMPTY)).toBeNull();
    await r.verifyDisk();
  });
});
