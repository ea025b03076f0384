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
