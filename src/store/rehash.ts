/**
 * Moves the keys of a data directory written before hash tags to the shards this version routes
 * them to. Earlier versions hashed every key whole; now a key with a hash tag (`{user1}:a`) hashes
 * only the tag (src/hash.ts), so a key with braces may sit on another shard than the one a request
 * for it goes to. Run at start, before any shard serves, on a claimed directory.
 *
 * Crash safety: a key is written to its new shard, and that write committed (fsynced), before it is
 * deleted from its old one; the directory records the new scheme (cairn.json's `keyHash`) only after
 * every shard has been walked and every store closed. A crash midway leaves some keys in both shards
 * (the same entry twice: nothing serves in between) and the scheme unrecorded, so the next start
 * walks again and finishes: a key left behind is copied again and deleted.
 */
import { join } from 'node:path';
import { shardOf } from '../hash.js';
import { KEY_HASH, keyHashOf, recordKeyHash } from '../datadir.js';
import { TieredShardStore, type TieredShardStoreOptions } from './shard-store.js';

/** keys per scan page, moved together: their copies are committed with one fsync per target shard */
const PAGE = 1000;
/** a progress line at least this often on a long shard, besides the line at its end */
const PROGRESS_MS = 5000;

export interface RehashOptions {
  /** the claimed data directory and its shard count */
  dir: string;
  shards: number;
  /** each shard's store settings, as its shard worker would open it */
  store: Omit<TieredShardStoreOptions, 'shard' | 'dir'>;
  log?: (line: string) => void;
  /**
   * Called after each page's copies are committed and before their old copies are deleted, with the
   * keys moved so far; a throw stops the move there, as a crash would (tests of the rerun).
   */
  beforeDelete?: (moved: number) => void;
}

export interface RehashReport {
  /** keys examined, summed over the shards (a moved key is examined again on its new shard), and keys moved */
  scanned: number;
  moved: number;
}

/**
 * Brings a data directory to this version's key hashing: nothing to do when it records it already;
 * a one-shard directory only records it; otherwise every tagged key whose shard changed is moved
 * (see the file's comment), then the scheme is recorded. Returns null when no move was needed.
 */
export async function rehashDataDir(o: RehashOptions): Promise<RehashReport | null> {
  if (keyHashOf(o.dir) === KEY_HASH) return null;
  if (o.shards === 1) {
    recordKeyHash(o.dir);
    return null;
  }
  const log = o.log ?? (() => undefined);
  log(`${o.dir} was written before hash tags: moving keys with {braces} to their shards (${o.shards} shards)`);
  const report = await moveTaggedKeys(o, log);
  recordKeyHash(o.dir);
  log(`hash tags: ${report.moved} keys moved; ${o.dir} now records keyHash "${KEY_HASH}"`);
  return report;
}

async function moveTaggedKeys(o: RehashOptions, log: (line: string) => void): Promise<RehashReport> {
  const stores: TieredShardStore[] = [];
  const report: RehashReport = { scanned: 0, moved: 0 };
  try {
    for (let i = 0; i < o.shards; i++) {
      // sync: each page's copies are on disk (fsynced) before the originals are deleted; no cold
      // limits or idle eviction while keys move (a shard holds some keys twice for a moment)
      const settings = { ...o.store, durability: 'sync' as const, coldMaxItems: undefined, coldMaxBytes: undefined, idleMs: undefined };
      stores.push(await TieredShardStore.open({ ...settings, shard: i, dir: join(o.dir, `shard-${i}`) }));
    }
    for (let from = 0; from < o.shards; from++) {
      const source = stores[from];
      let scanned = 0;
      let moved = 0;
      let lastLine = performance.now();
      let cursor = '0';
      do {
        const page = await source.scan(cursor, PAGE);
        cursor = page.cursor;
        scanned += page.keys.length;
        const leaving: Buffer[] = [];
        const targets = new Set<TieredShardStore>();
        for (const key of page.keys) {
          if (key.indexOf(0x7b) < 0) continue;
          const to = shardOf(key, o.shards);
          if (to === from) continue;
          const entry = source.get(key);
          if (entry !== null) {
            stores[to].set(key, entry.value, { flags: entry.flags, expiresAt: entry.expiresAt });
            targets.add(stores[to]);
          }
          leaving.push(key);
        }
        if (leaving.length === 0) continue;
        for (const target of targets) await target.sync();
        o.beforeDelete?.(report.moved + moved);
        for (const key of leaving) source.delete(key);
        await source.sync();
        moved += leaving.length;
        if (performance.now() - lastLine >= PROGRESS_MS) {
          lastLine = performance.now();
          log(`hash tags: shard ${from}: ${scanned} keys scanned, ${moved} moved so far`);
        }
      } while (cursor !== '0');
      report.scanned += scanned;
      report.moved += moved;
      log(`hash tags: shard ${from}: ${scanned} keys scanned, ${moved} moved to other shards`);
    }
  } catch (err) {
    // a graceful close writes whatever is queued, so a stop midway loses nothing either
    await Promise.allSettled(stores.map((s) => s.close()));
    throw err;
  }
  // a store that cannot close leaves the move unfinished (this throws): the scheme is not recorded
  await Promise.all(stores.map((s) => s.close()));
  return report;
}
