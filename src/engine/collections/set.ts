/**
 * A set of members. Members sit at positions (packed.ts: records in a byte arena, an open-addressing
 * table over them; positions.ts: O(1) random member and pop, swap-remove, the scan cursor). Replies
 * that list a set answer in position order, which is no order Redis promises, so tests compare them
 * as sets.
 */
import { PackedRecords } from './packed.js';
import { type Collection, ValueType } from './types.js';

export class SetValue implements Collection {
  readonly type = ValueType.SET;
  packed = false;
  private readonly records = new PackedRecords(false);

  get size(): number {
    return this.records.size;
  }
  get bytes(): number {
    return this.records.bytes;
  }
  get encoding(): string {
    return this.packed ? 'listpack' : 'hashtable';
  }

  has(m: string): boolean {
    return this.records.find(m) >= 0;
  }

  /** the member at a position below size */
  at(position: number): string {
    return this.records.keyAt(position);
  }

  /** true when m is new */
  add(m: string): boolean {
    if (this.records.find(m) >= 0) return false;
    this.records.append(m, '');
    return true;
  }

  delete(m: string): boolean {
    const at = this.records.find(m);
    if (at < 0) return false;
    this.records.removeAt(at);
    return true;
  }

  /** removes and returns the member at a position below size */
  removeAt(at: number): string {
    const m = this.records.keyAt(at);
    this.records.removeAt(at);
    return m;
  }

  /** u32 LE count, then per member a u32 LE length and its bytes, in position order */
  encode(): Buffer {
    return this.records.encode();
  }

  /** the members of chunks of the set, by chunkOf of their bytes (chunks.ts encodeChunks) */
  encodeChunks(n: number, which: ReadonlySet<number> | null, chunkOf: (b: Uint8Array, from: number, to: number, n: number) => number): Map<number, Buffer> {
    return this.records.encodeChunks(n, which, chunkOf);
  }

  /** adds the members of encode() bytes */
  addEncoded(bytes: Buffer): void {
    this.records.addEncoded(bytes);
  }

  /** the positions come back as they were encoded, so a scan cursor handed out before stays good */
  static decode(bytes: Buffer): SetValue {
    const s = new SetValue();
    s.addEncoded(bytes);
    return s;
  }
}
