/**
 * What the store's lookup (TieredShardStore.locate) finds for a key: in memory, below it (on disk or
 * in the write queue), or absent. The store's string paths and its collection paths
 * (src/store/collection-tier.ts) both act on it.
 */
import type { Collection } from '../engine/collections/types.js';
import type { PutOp } from './ops.js';
import type { Entry } from './types.js';

/** locate(): the key is on neither tier (or its copy there has expired). */
export interface Absent {
  readonly kind: 'absent';
}
/** locate(): the key is in memory at `ref`; `restored` when this lookup brought it up from below. */
export interface InMemory {
  readonly kind: 'memory';
  ref: number;
  restored: boolean;
}
/**
 * locate(): the key lives below memory only (too large for it, or no room). A collection stored in
 * chunks is read whole only when asked: `entry.value` and belowCollection() read it.
 */
export interface BelowMemory {
  readonly kind: 'below';
  entry: Entry;
  chunked: BelowChunks | null;
}
/** a collection in chunks below memory: its head record value and the put queued for it, if any */
export interface BelowChunks {
  head: Buffer;
  op: PutOp | undefined;
  obj: Collection | null;
}
/**
 * What locate() found. An InMemory result is one object per store, rewritten by every lookup, so a
 * hot hit allocates nothing: read it before the next locate().
 */
export type Located = Absent | InMemory | BelowMemory;

export const ABSENT: Absent = { kind: 'absent' };
