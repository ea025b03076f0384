/**
 * A hash: field → value. Fields and values sit at positions of two parallel arrays, with a Map
 * field → position beside them (positions.ts: O(1) random field, swap-remove, the scan cursor).
 * Replies that list a hash answer in position order, which is no order Redis promises (its listpack
 * and dict have their own), so tests compare them as sets.
 */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

/**
 * What a field costs besides memberCost of it and its value: two array slots and the rest of its Map
 * entry, with their tables' growth slack (V8's heap measured about 112 bytes per 14-byte field with a
 * short value in total)
 */
const SLOTS = 24;

export class HashValue implements Collection {
  readonly type = ValueType.HASH;
  packed = false;
  private readonly index = new Map<string, number>();
  private readonly fields: string[] = [];
  private readonly values: string[] = [];
  private held = 0;

  get size(): number {
    return this.fields.length;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return this.packed ? 'listpack' : 'hashtable';
  }

  get(field: string): string | undefined {
    const at = this.index.get(field);
    return at === undefined ? undefined : this.values[at];
  }

  has(field: string): boolean {
    return this.index.has(field);
  }

  /** the field at a position below size */
  fieldAt(at: number): string {
    return this.fields[at];
  }

  /** the value at a position below size */
  valueAt(at: number): string {
    return this.values[at];
  }

  /** true when the field is new */
  set(field: string, value: string): boolean {
    const at = this.index.get(field);
    if (at === undefined) {
      this.index.set(field, this.fields.length);
      this.fields.push(field);
      this.values.push(value);
      this.held += memberCost(field) + memberCost(value) + SLOTS;
      return true;
    }
    this.held += memberCost(value) - memberCost(this.values[at]);
    this.values[at] = value;
    return false;
  }

  delete(field: string): boolean {
    const at = this.index.get(field);
    if (at === undefined) return false;
    this.held -= memberCost(field) + memberCost(this.values[at]) + SLOTS;
    this.index.delete(field);
    const last = this.fields.length - 1;
    if (at !== last) {
      const moved = this.fields[last];
      this.fields[at] = moved;
      this.values[at] = this.values[last];
      this.index.set(moved, at);
    }
    this.fields.pop();
    this.values.pop();
    return true;
  }

  encode(): Buffer {
    const n = this.fields.length;
    let bytes = 4;
    for (let i = 0; i < n; i++) bytes += strBytes(this.fields[i]) + strBytes(this.values[i]);
    const w = new Writer(bytes);
    w.u32(n);
    for (let i = 0; i < n; i++) {
      w.str(this.fields[i]);
      w.str(this.values[i]);
    }
    return w.done();
  }

  /** the positions come back as they were encoded, so a scan cursor handed out before stays good */
  static decode(bytes: Buffer): HashValue {
    const r = new Reader(bytes);
    const h = new HashValue();
    for (let n = r.u32(); n > 0; n--) h.set(r.str(), r.str());
    return h;
  }
}
