/**
 * The shard's collection structures (src/engine/collections) behind their engine entries. A
 * collection's engine entry, unless the collection is small enough to be held packed (its entry's
 * value is then its bytes: src/engine/collections/packed.ts), is a stub: its header carries the type,
 * its value is a 4-byte handle into this registry, and the budget charges the structure's `bytes`
 * through Engine.chargeExternal. The structure leaves with its entry: the engine calls onDropTyped
 * for every way a stub goes (eviction after its spill, expiry, delete, overwrite), and a flush drops
 * them all.
 */
import type { Collection } from '../engine/collections/types.js';

export class CollectionRegistry {
  private readonly slots: (Collection | undefined)[] = [];
  /** bytes charged to the engine for each slot's structure */
  private readonly charged: number[] = [];
  private readonly free: number[] = [];
  private readonly handle = Buffer.alloc(4);

  /** a new slot for obj; its handle as the stub's value bytes (a reused buffer: copied by the engine) */
  add(obj: Collection): Buffer {
    const h = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[h] = obj;
    this.charged[h] = 0;
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
    this.free.push(h);
    return bytes;
  }

  clear(): void {
    this.slots.length = 0;
    this.charged.length = 0;
    this.free.length = 0;
  }

  get count(): number {
    return this.slots.length - this.free.length;
  }
}
