/**
 * The shard's collection structures (src/engine/collections) behind their engine entries. A
 * collection's engine entry, unless the collection is small enough to be held packed (its entry's
 * value is then its bytes: src/engine/collections/listpack.ts), is a stub: its header carries the type,
 * its value is a 4-byte handle into this registry, and the budget charges the structure's `bytes`
 * through Engine.chargeExternal. The structure leaves with its entry: the engine calls onDropTyped
 * for every way a stub goes (eviction after its spill, expiry, delete, overwrite), and a flush drops
 * them all.
 */
import type { Collection } from '../engine/collections/types.js';

/**
 * For a collection in memory that is stored in chunks: which of its chunks changed since they were
 * last written. Changes are numbered by a store-wide generation; a write that commits clears the
 * changes it carried (those up to its generation), so a write that fails leaves them to the next one.
 * A hash, set or sorted set's chunks are numbered by member hash (ChunkTracker), a list's are runs of
 * consecutive elements named by id (ListTracker, list-tracker.ts).
 */
export class ChangeTracker {
  /** changed chunks and the generation of their last change */
  readonly dirty = new Map<number, number>();
  /** the generation from which every chunk must be written (0: none) */
  all = 0;

  /** forgets the changes a committed write of generation `gen` carried */
  written(gen: number): void {
    if (this.all !== 0 && this.all <= gen) this.all = 0;
    for (const [c, g] of this.dirty) if (g <= gen) this.dirty.delete(c);
  }
}

/** The changes of a hash, set or sorted set in chunks: the chunk count its writes build on, and each chunk's bytes. */
export class ChunkTracker extends ChangeTracker {
  /** each chunk's record bytes as last written (their sum is the head's byte count) */
  readonly sizes: Float64Array;
  constructor(readonly n: number) {
    super();
    this.sizes = new Float64Array(n);
  }

  bytes(): number {
    let sum = 0;
    for (let c = 0; c < this.n; c++) sum += this.sizes[c];
    return sum;
  }
}

export class CollectionRegistry {
  private readonly slots: (Collection | undefined)[] = [];
  /** the chunk tracker of each slot's collection, when it is stored in chunks */
  private readonly trackers: (ChangeTracker | null)[] = [];
  /** bytes charged to the engine for each slot's structure */
  private readonly charged: number[] = [];
  private readonly free: number[] = [];
  private readonly handle = Buffer.alloc(4);

  /** a new slot for obj; its handle as the stub's value bytes (a reused buffer: copied by the engine) */
  add(obj: Collection): Buffer {
    const h = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[h] = obj;
    this.charged[h] = 0;
    this.trackers[h] = null;
    this.handle.writeUInt32LE(h, 0);
    return this.handle;
  }

  /** the handle in a stub's value bytes */
  static handleOf(value: Uint8Array): number {
    return value[0] | (value[1] << 8) | (value[2] << 16) | (value[3] * 0x1000000);
  }

  get(h: number): Collection | undefined {
    return this.slots[h];
  }

  tracker(h: number): ChangeTracker | null {
    return this.trackers[h] ?? null;
  }

  setTracker(h: number, t: ChangeTracker | null): void {
    this.trackers[h] = t;
  }

  /** the change in bytes since the structure was last charged, now recorded as charged */
  recharge(h: number): number {
    const obj = this.slots[h];
    if (obj === undefined) return 0;
    const delta = obj.bytes - this.charged[h];
    this.charged[h] = obj.bytes;
    return delta;
  }

  /** frees the slot; the bytes it had charged (0 when it was free already) */
  release(h: number): number {
    if (this.slots[h] === undefined) return 0;
    const bytes = this.charged[h];
    this.slots[h] = undefined;
    this.charged[h] = 0;
    this.trackers[h] = null;
    this.free.push(h);
    return bytes;
  }

  clear(): void {
    this.slots.length = 0;
    this.charged.length = 0;
    this.trackers.length = 0;
    this.free.length = 0;
  }

  get count(): number {
    return this.slots.length - this.free.length;
  }
}
