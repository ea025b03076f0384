/**
 * A set of members. Members sit at positions of an array, with a Map member → position beside it
 * (positions.ts: O(1) random member and pop, swap-remove, the scan cursor). Replies that list a set
 * answer in position order, which is no order Redis promises, so tests compare them as sets.
 */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

/**
 * What a member costs besides memberCost: its array slot and the rest of its Map entry, with their
 * tables' growth slack (V8's heap measured about 80 bytes per 14-byte member in total)
 */
const SLOT = 32;

export class SetValue implements Collection {
  readonly type = ValueType.SET;
  packed = false;
  private readonly index = new Map<string, number>();
  private readonly members: string[] = [];
  private held = 0;

  get size(): number {
    return this.members.length;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return this.packed ? 'listpack' : 'hashtable';
  }

  has(m: string): boolean {
    return this.index.has(m);
  }

  /** the member at a position below size */
  at(position: number): string {
    return this.members[position];
  }

  /** true when m is new */
  add(m: string): boolean {
    if (this.index.has(m)) return false;
    this.index.set(m, this.members.length);
    this.members.push(m);
    this.held += memberCost(m) + SLOT;
    return true;
  }

  delete(m: string): boolean {
    const at = this.index.get(m);
    if (at === undefined) return false;
    this.removeAt(at);
    return true;
  }

  /** removes and returns the member at a position below size */
  removeAt(at: number): string {
    const m = this.members[at];
    this.held -= memberCost(m) + SLOT;
    this.index.delete(m);
    const last = this.members.length - 1;
    if (at !== last) {
      const moved = this.members[last];
      this.members[at] = moved;
      this.index.set(moved, at);
    }
    this.members.pop();
    return m;
  }

  encode(): Buffer {
    const n = this.members.length;
    let bytes = 4;
    for (let i = 0; i < n; i++) bytes += strBytes(this.members[i]);
    const w = new Writer(bytes);
    w.u32(n);
    for (let i = 0; i < n; i++) w.str(this.members[i]);
    return w.done();
  }

  /** the positions come back as they were encoded, so a scan cursor handed out before stays good */
  static decode(bytes: Buffer): SetValue {
    const r = new Reader(bytes);
    const s = new SetValue();
    for (let n = r.u32(); n > 0; n--) s.add(r.str());
    return s;
  }
}
