/** Hot keys and value sizes of several shards' statistics joined into one view (INFO, STATS, /stats.json). */
import type { HotKeyStat, ShardStats } from './types.js';

/** hot keys listed over all shards */
export const HOT_KEYS_LISTED = 10;

/** every shard's hot keys, hottest first, at most n */
export function hottest(reports: readonly { shard: number; stats: ShardStats }[], n = HOT_KEYS_LISTED): (HotKeyStat & { shard: number })[] {
  const all = reports.flatMap((r) => (r.stats.hotKeys ?? []).map((h) => ({ ...h, shard: r.shard })));
  return all.sort((a, b) => b.count - a.count).slice(0, n);
}

/** value-size bins summed over shards */
export function valueSizes(reports: readonly { stats: ShardStats }[]): number[] {
  const sum: number[] = [];
  for (const r of reports) (r.stats.valueSizes ?? []).forEach((n, i) => (sum[i] = (sum[i] ?? 0) + n));
  return Array.from(sum, (n) => n ?? 0);
}
