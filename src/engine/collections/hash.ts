/**
 * A hash: field → value. Fields and values sit at positions (packed.ts: [field][value] records in a
 * byte arena, an open-addressing table over them; positions.ts: O(1) random field, swap-remove, the
 * scan cursor). Replies that list a hash answer in position order, which is no order Redis promises
 * (its listpack and dict have their own), so tests compare them as sets.
 */
import { PackedRecords } from './packed.js';
import { type Collection, ValueType } from './types.js';

export class HashValue implements Collection {
  readonly type = ValueType.HASH;
  packed = false;
  private readonly records = new PackedRecords(true);

  get size(): number {
    return this.records.size;
  }
  get bytes(): number {
    return this.records.bytes;
  }
  get encoding(): string {
    return this.packed ? 'listpack' : 'hashtable';
  }

  get(field: string): string | undefined {
    const at = this.records.find(field);
    return at < 0 ? undefined : this.records.valueAt(at);
  }

  has(field: string): boolean {
    return this.records.find(field) >= 0;
  }

  /** the field at a position below size */
  fieldAt(at: number): string {
    return this.records.keyAt(at);
  }

  /** the value at a position below size */
  valueAt(at: number): string {
    return this.records.valueAt(at);
  }

  /** true when the field is new */
  set(field: string, value: string): boolean {
    const at = this.records.find(field);
    if (at < 0) {
      this.records.append(field, value);
      return true;
    }
    this.records.setValue(at, value);
    return false;
  }

  delete(field: string): boolean {
    const at = this.records.find(field);
    if (at < 0) return false;
    this.records.removeAt(at);
    return true;
  }

  /** u32 LE count, then per field a u32 LE length and its bytes, then its value likewise, in position order */
  encode(): Buffer {
    return this.records.encode();
  }

  /** the fields of chunks of the hash, by chunkOf of their bytes (chunks.ts encodeChunks) */
  encodeChunks(n: number, which: ReadonlySet<number> | null, chunkOf: (b: Uint8Array, from: number, to: number, n: number) => number): Map<number, Buffer> {
    return this.records.encodeChunks(n, which, chunkOf);
  }

  /** adds the fields of encode() bytes (a later copy of a field replaces its value) */
  addEncoded(bytes: Buffer): void {
    this.records.addEncoded(bytes);
  }

  /** the positions come back as they were encoded, so a scan cursor handed out before stays good */
  static decode(bytes: Buffer): HashValue {
    const h = new HashValue();
    h.addEncoded(bytes);
    return h;
  }
}
