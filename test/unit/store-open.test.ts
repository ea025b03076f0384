/**
 * What a shard store trusts when it opens, and what it does when its directory goes away, with a real
 * LevelDB in a temporary directory: a flush cut short is finished, the counts of an older build's
 * unclean shutdown are rebuilt, a removed directory gives CAIRN_ERR_DISK; and a scan returns each key
 * of both tiers once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { isCairnError } from '../../src/errors.js';
import { DATA_END, DATA_START, decodeMeta, encodeMeta, META_KEY, type Meta } from '../../src/store/format.js';
import { TieredShardStore, type TieredShardStoreOptions } from '../../src/store/shard-store.js';

const dirs: string[] = [];
const stores: TieredShardStore[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-open-'));
  dirs.push(d);
  return join(d, 'shard-0');
}

async function open(opts: Partial<TieredShardStoreOptions> & { dir: string }): Promise<TieredShardStore> {
  const s = await TieredShardStore.open({ shard: 0, maxMemory: 1 << 20, sweepIntervalMs: 20, onError: () => undefined, ...opts });
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const k = (s: string | number): Buffer => Buffer.from(String(s));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A closed shard directory holding `n` keys. */
async function filled(n: number): Promise<string> {
  const dir = tempDir();
  const s = await open({ dir });
  for (let i = 0; i < n; i++) await s.set(k(i), Buffer.alloc(64, 1));
  await s.close();
  return dir;
}

/**
 * Edits a closed shard directory the way a crash part-way through a flush leaves it: the first half
 * of the data records deleted, the meta record still counting all of them.
 */
async function halfCleared(dir: string, meta: (m: Meta) => Meta): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const keys = await db.keys({ gte: DATA_START, lt: DATA_END }).all();
  const batch = db.batch();
  for (const key of keys.slice(0, keys.length / 2)) batch.del(key);
  batch.put(META_KEY, encodeMeta(meta(decodeMeta((await db.get(META_KEY))!)!)));
  await batch.write();
  await db.close();
}

describe('opening a shard', () => {
  it('finishes a flush that a crash cut short', async () => {
    const dir = await filled(2000);
    await halfCleared(dir, (m) => ({ ...m, cleanShutdown: false, flushing: true }));
    const s = await open({ dir });
    expect(s.stats().cold.items).toBe(0);
    expect(await s.count()).toEqual({ hot: 0, cold: 0, total: 0 });
    expect(await s.get(k(1999))).toBeNull();
    await s.verifyDisk();
  });

  it('rebuilds the counts of an older build that shut down uncleanly (it may have been flushing)', async () => {
    const dir = await filled(2000);
    await halfCleared(dir, (m) => ({ ...m, cleanShutdown: false, flushing: false, flushMarked: false }));
    const s = await open({ dir });
    expect(s.stats().cold.items).toBe(1000);
    expect((await s.count()).total).toBe(1000);
    await s.verifyDisk();
  });

  it('trusts the counts of an older build that shut down cleanly', async () => {
    const dir = await filled(100);
    await halfCleared(dir, (m) => ({ ...m, cleanShutdown: true, flushMarked: false }));
    const s = await open({ dir });
    // no pass over the records: the (here deliberately wrong) count is taken as it is
    expect(s.stats().cold.items).toBe(100);
  });

  it('a flush leaves no marker behind', async () => {
    const dir = await filled(500);
    const s = await open({ dir });
    await s.flush();
    await s.set(k('after'), k('1'));
    await s.close();
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const meta = decodeMeta((await db.get(META_KEY))!)!;
    await db.close();
    expect(meta).toMatchObject({ flushing: false, flushMarked: true, items: 1 });
    const again = await open({ dir });
    expect((await again.get(k('after')))?.value.toString()).toBe('1');
    await again.verifyDisk();
  });
});

describe('a shard directory removed while the store runs', () => {
  it('reads that need the disk and the close fail with CAIRN_ERR_DISK', async () => {
    const dir = tempDir();
    const s = await open({ dir, maxMemory: 64 << 10 });
    for (let i = 0; i < 600; i++) await s.set(k(i), Buffer.alloc(512, 2));
    await s.sync();
    expect(s.stats().hot.items).toBeLessThan(600);
    rmSync(dir, { recursive: true, force: true });
    let code: string | undefined;
    for (let attempt = 0; attempt < 500 && code === undefined; attempt++) {
      try {
        for (let i = 0; i < 600; i++) await s.get(k(i));
      } catch (err) {
        code = isCairnError(err) ? err.code : `uncoded: ${(err as Error).message}`;
      }
      await sleep(10);
    }
    expect(code).toBe('CAIRN_ERR_DISK');
    await s.set(k('new'), k('x'));
    const closed = await s.close().then(
      () => 'closed',
      (err: unknown) => (isCairnError(err) ? err.code : String(err)),
    );
    expect(closed).toBe('CAIRN_ERR_DISK');
  });
});

describe('scan over both tiers', () => {
  async function fullScan(s: TieredShardStore): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const page = await s.scan(cursor, 37);
      for (const key of page.keys) out.push(key.toString());
      cursor = page.cursor;
    } while (cursor !== '0');
    return out;
  }

  for (const durability of ['writeback', 'spill', 'sync'] as const) {
    it(`${durability}: each key once (on disk only, restored from disk, rewritten, in memory only)`, async () => {
      const s = await open({ dir: tempDir(), maxMemory: 64 << 10, durability, writebackDelayMs: 5 });
      const n = 600;
      for (let i = 0; i < n; i++) await s.set(k(i), Buffer.alloc(512, 3));
      await s.sync();
      // restored: in memory and clean; some of them rewritten (dirty, an older copy on disk)
      for (let i = 0; i < 40; i++) await s.get(k(i));
      for (let i = 0; i < 10; i++) await s.set(k(i), Buffer.alloc(100, 4));
      const tiers = await s.count();
      expect(tiers.hot + tiers.cold).toBeGreaterThan(n); // some keys are in both tiers
      const seen = await fullScan(s);
      expect(seen.length).toBe(n);
      expect(new Set(seen).size).toBe(n);
    });
  }
});
