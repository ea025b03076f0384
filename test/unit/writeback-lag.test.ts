/**
 * The writeback lag bound (docs/reliability.md, "Writeback lag"): writes are acknowledged from memory
 * while the oldest change not on disk is younger than the max lag and the unwritten changes are under
 * the byte bound, whatever the writer's batching delay; over the bound they wait for the writer on a
 * healthy disk and get CAIRN_ERR_DISK while batches fail. Real LevelDB in temporary directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/errors.js';
import { acknowledge } from '../../src/store/acknowledge.js';
import { TieredShardStore, type TieredShardStoreOptions } from '../../src/store/shard-store.js';

const dirs: string[] = [];
const stores: TieredShardStore[] = [];

async function open(opts: Partial<TieredShardStoreOptions>): Promise<TieredShardStore> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-lag-'));
  dirs.push(dir);
  const s = await TieredShardStore.open({ shard: 0, dir, maxMemory: 8 << 20, onError: () => undefined, ...opts });
  stores.push(s);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) {
    s.injectDiskFault(null);
    await s.close().catch(() => {});
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const k = (s: string | number): Buffer => Buffer.from(String(s));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Whether the write was refused with CAIRN_ERR_DISK (anything else fails the test). */
async function refused(run: () => unknown): Promise<boolean> {
  try {
    await acknowledge(stores[stores.length - 1], run);
    return false;
  } catch (err) {
    if (isCairnError(err) && err.code === ErrorCode.DISK) return true;
    throw err;
  }
}

describe('writeback lag bound', () => {
  it('acknowledges from memory past the batching delay while under the max lag, refuses over it while batches fail', async () => {
    let failures = 0;
    const s = await open({ durability: 'writeback', writebackDelayMs: 20, writebackMaxLagMs: 1500, onError: () => failures++ });
    s.injectDiskFault('injected: no space left on device');
    await s.set(k('first'), k('1'));
    await until(() => failures > 0, 10_000, 'a failed batch');
    // The oldest unwritten write is past the delay and a batch failed: still under the max lag, so
    // acknowledged (it was refused here when the delay was the bound).
    expect(await refused(() => s.set(k('second'), k('2')))).toBe(false);
    expect(s.writebackLag().lagMs).toBeLessThan(1500);
    expect(s.writebackLag().ops).toBe(2);
    expect(s.writebackLag().lagMs).toBeGreaterThan(0);
    // Past the max lag: refused, and at once (no batch of its own).
    await until(() => s.writebackLag().lagMs > 1500, 10_000, 'the lag to pass the bound');
    expect(await refused(() => s.set(k('third'), k('3')))).toBe(true);
    // The disk recovers: everything, the refused write too, reaches it, and the lag is zero again.
    s.injectDiskFault(null);
    await until(() => s.writebackLag().ops === 0, 10_000, 'the queue to drain');
    expect(s.writebackLag()).toEqual({ lagMs: 0, ops: 0, bytes: 0 });
    expect(s.stats().cold.items).toBe(3);
    expect(s.stats().writeback).toEqual({ lagMs: 0, ops: 0, bytes: 0 });
  }, 30_000);

  it('after a fault clears, the queue is written even when writes stop (rewrites of one key included)', async () => {
    // Refused writes of one key coalesce into its queued op and schedule nothing; the writer's own
    // retries must carry on, also when a batch attempt comes a little before the retry time.
    let failures = 0;
    const s = await open({ durability: 'writeback', writebackDelayMs: 5, writebackMaxLagMs: 5, onError: () => failures++ });
    for (let round = 0; round < 4; round++) {
      s.injectDiskFault('injected: no space left on device');
      const before = failures;
      const stopAt = Date.now() + 1500;
      while (Date.now() < stopAt || failures === before) {
        await refused(() => s.set(k('probe'), k(round)));
        await sleep(1);
      }
      s.injectDiskFault(null);
      await until(() => s.writebackLag().ops === 0, 15_000, `the queue to drain after fault ${round + 1}`);
    }
    expect((await s.get(k('probe')))?.value.toString()).toBe('3');
  }, 90_000);

  it('over the byte bound a write waits for the writer, long before the batching delay', async () => {
    const s = await open({ durability: 'writeback', writebackDelayMs: 60_000, writebackMaxLagMs: 60_000, writebackMaxBytes: 16 << 10 });
    const value = Buffer.alloc(1000, 7);
    for (let i = 0; i < 100; i++) await acknowledge(s, () => s.set(k(`big${i}`), value));
    // 100 KB written with a 16 KB bound: batches ran although the delay (a minute) never passed, and
    // what is left unwritten is within the bound.
    expect(s.ioStats().batches).toBeGreaterThan(0);
    expect(s.stats().cold.items).toBeGreaterThan(50);
    expect(s.writebackLag().bytes).toBeLessThanOrEqual(16 << 10);
  });

  it('rewrites of one key while it is queued are one put', async () => {
    const s = await open({ durability: 'writeback', writebackDelayMs: 200 });
    const before = s.ioStats();
    for (let i = 0; i < 1000; i++) await s.set(k('hot'), k(`v${i}`));
    expect(s.writebackLag().ops).toBe(1);
    await s.sync();
    const after = s.ioStats();
    expect(after.batches - before.batches).toBe(1);
    // one data record and the meta record
    expect(after.batchOps - before.batchOps).toBe(2);
    expect((await s.get(k('hot')))?.value.toString()).toBe('v999');
  });
});
