/**
 * A shard's statistics report (the internal stats command of every protocol): the acceptor joins the
 * shards' reports into INFO, CAIRN.INFO, memcached stats or the native STATS reply.
 */
import type { ShardStats, ShardStore } from '../store/types.js';
import type { CommandContext } from './types.js';

export interface ShardReport {
  shard: number;
  stats: ShardStats;
  keys: { hot: number; cold: number; total: number };
  /** RESP execution time per command on this shard, µs (INFO commandstats) */
  usec?: Record<string, number>;
  /** the JavaScript heap of the thread that runs this shard (INFO memory) */
  heap?: ThreadHeap;
}

/** one thread's V8 heap, bytes: what `process.memoryUsage()` reports for the calling thread. */
export interface ThreadHeap {
  used: number;
  total: number;
  external: number;
  arrayBuffers: number;
}

/** the calling thread's heap figures (each worker thread has its own V8 heap; RSS is the process's). */
export function threadHeap(): ThreadHeap {
  const m = process.memoryUsage();
  return { used: m.heapUsed, total: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

export async function shardReport(store: ShardStore): Promise<ShardReport> {
  const keys = await store.count();
  return { shard: store.shard, stats: store.stats(), keys, heap: threadHeap() };
}

/** the stats command: this shard's report */
export function stats(ctx: CommandContext): Promise<ShardReport> {
  return shardReport(ctx.store);
}

/** the store's own figures, without the key count (the native STATS command; the acceptor merges them) */
export function tierStats(ctx: CommandContext): ShardStats {
  return ctx.store.stats();
}

/** keys per tier (the native COUNT command) */
export function keyCount(ctx: CommandContext): Promise<{ hot: number; cold: number; total: number }> {
  return ctx.store.count();
}
export interface Totals {
  shards: number;
  keys: number;
  hotItems: number;
  hotBytes: number;
  hotMaxBytes: number;
  coldItems: number;
  coldBytes: number;
  hitsHot: number;
  hitsCold: number;
  misses: number;
  evictions: Record<string, number>;
  evictedTotal: number;
  spills: number;
  restores: number;
  expirations: number;
  writes: number;
  /** the oldest change not on disk over all shards (ms), and the unwritten changes summed */
  writebackLagMs: number;
  writebackOps: number;
  writebackBytes: number;
}

export function totals(reports: readonly ShardReport[]): Totals {
  const t: Totals = {
    shards: reports.length,
    keys: 0,
    hotItems: 0,
    hotBytes: 0,
    hotMaxBytes: 0,
    coldItems: 0,
    coldBytes: 0,
    hitsHot: 0,
    hitsCold: 0,
    misses: 0,
    evictions: {},
    evictedTotal: 0,
    spills: 0,
    restores: 0,
    expirations: 0,
    writes: 0,
    writebackLagMs: 0,
    writebackOps: 0,
    writebackBytes: 0,
  };
  for (const r of reports) {
    const s = r.stats;
    t.keys += r.keys.total;
    t.hotItems += r.keys.hot;
    t.hotBytes += s.hot.bytes;
    t.hotMaxBytes += s.hot.maxBytes;
    t.coldItems += r.keys.cold;
    t.coldBytes += s.cold.bytes;
    t.hitsHot += s.hits.hot;
    t.hitsCold += s.hits.cold;
    t.misses += s.misses;
    for (const [reason, n] of Object.entries(s.evictions)) {
      t.evictions[reason] = (t.evictions[reason] ?? 0) + n;
      t.evictedTotal += n;
    }
    t.spills += s.spills;
    t.restores += s.restores;
    t.expirations += s.expirations;
    t.writes += s.writes;
    if (s.writeback) {
      t.writebackLagMs = Math.max(t.writebackLagMs, s.writeback.lagMs);
      t.writebackOps += s.writeback.ops;
      t.writebackBytes += s.writeback.bytes;
    }
  }
  return t;
}

/** decodes the shards' JSON reports; a string when a shard failed (its error text). */
export function decodeReports(bodies: readonly (Buffer | null)[]): ShardReport[] | string {
  const out: ShardReport[] = [];
  for (const body of bodies) {
    if (body === null) return 'shard statistics unavailable';
    try {
      out.push(JSON.parse(body.toString('utf8')) as ShardReport);
    } catch {
      return 'shard statistics unavailable';
    }
  }
  return out;
}
