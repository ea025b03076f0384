/** A set of members, in insertion order. */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

export class SetValue implements Collection {
  readonly type = ValueType.SET;
  readonly set = new Set<string>();
  private held = 0;

  get size(): number {
    return this.set.size;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return 'hashtable';
  }

  has(m: string): boolean {
    return this.set.has(m);
  }

  /** true when m is new */
  add(m: string): boolean {
    if (this.set.has(m)) return false;
    this.set.add(m);
    this.held += memberCost(m);
    return true;
  }

  delete(m: string): boolean {
    if (!this.set.delete(m)) return false;
    this.held -= memberCost(m);
    return true;
  }

  encode(): Buffer {
    let n = 4;
    for (const m of this.set) n += strBytes(m);
    const w = new Writer(n);
    w.u32(this.set.size);
    for (const m of this.set) w.str(m);
    return w.done();
  }

  static decode(bytes: Buffer): SetValue {
    const r = new Reader(bytes);
    const s = new SetValue();
    for (let n = r.u32(); n > 0; n--) s.add(r.str());
    return s;
  }
}
