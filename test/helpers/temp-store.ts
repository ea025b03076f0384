/**
 * Real two-tier stores on temporary directories for unit tests: `openStore` opens one (1 MiB of
 * memory, a 20 ms sweep unless told otherwise) and `closeStores` (an afterEach) closes every store
 * opened and removes the directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TieredShardStore, type TieredShardStoreOptions } from '../../src/store/shard-store.js';

const dirs: string[] = [];
const stores: TieredShardStore[] = [];

export function tempDir(prefix = 'cairn-store-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export async function openStore(opts: Partial<TieredShardStoreOptions> & { dir: string }): Promise<TieredShardStore> {
  const s = await TieredShardStore.open({ shard: 0, maxMemory: 1 << 20, sweepIntervalMs: 20, ...opts });
  stores.push(s);
  return s;
}

export async function closeStores(): Promise<void> {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
