/** A hash: field → value, in insertion order (as Redis' listpack and dict both answer HGETALL in some order of their own; replies that list a hash are compared as sets in tests). */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

export class HashValue implements Collection {
  readonly type = ValueType.HASH;
  readonly map = new Map<string, string>();
  private held = 0;

  get size(): number {
    return this.map.size;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return 'hashtable';
  }

  get(field: string): string | undefined {
    return this.map.get(field);
  }

  /** true when the field is new */
  set(field: string, value: string): boolean {
    const old = this.map.get(field);
    this.map.set(field, value);
    if (old === undefined) {
      this.held += memberCost(field) + memberCost(value);
      return true;
    }
    this.held += memberCost(value) - memberCost(old);
    return false;
  }

  delete(field: string): boolean {
    const old = this.map.get(field);
    if (old === undefined) return false;
    this.map.delete(field);
    this.held -= memberCost(field) + memberCost(old);
    return true;
  }

  encode(): Buffer {
    let n = 4;
    for (const [f, v] of this.map) n += strBytes(f) + strBytes(v);
    const w = new Writer(n);
    w.u32(this.map.size);
    for (const [f, v] of this.map) {
      w.str(f);
      w.str(v);
    }
    return w.done();
  }

  static decode(bytes: Buffer): HashValue {
    const r = new Reader(bytes);
    const h = new HashValue();
    for (let n = r.u32(); n > 0; n--) h.set(r.str(), r.str());
    return h;
  }
}
