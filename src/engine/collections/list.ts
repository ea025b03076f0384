/**
 * A list: a deque of elements (PLACEHOLDER: a plain array; the list work replaces it with a ring
 * deque whose pushes and pops at both ends are O(1)).
 */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

export class ListValue implements Collection {
  readonly type = ValueType.LIST;
  readonly items: string[] = [];
  private held = 0;

  get size(): number {
    return this.items.length;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return 'quicklist';
  }

  push(s: string, left: boolean): void {
    if (left) this.items.unshift(s);
    else this.items.push(s);
    this.held += memberCost(s);
  }

  encode(): Buffer {
    let n = 4;
    for (const m of this.items) n += strBytes(m);
    const w = new Writer(n);
    w.u32(this.items.length);
    for (const m of this.items) w.str(m);
    return w.done();
  }

  static decode(bytes: Buffer): ListValue {
    const r = new Reader(bytes);
    const l = new ListValue();
    for (let n = r.u32(); n > 0; n--) l.push(r.str(), false);
    return l;
  }
}
