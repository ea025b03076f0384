/**
 * A list: a deque of elements in a growable ring buffer. Pushes and pops at either end are O(1)
 * amortized, reading or replacing the element at an index O(1) (LINDEX, LSET), a range O(its
 * length) (LRANGE); inserting or removing inside it moves the shorter side (LINSERT, LREM are O(n)
 * in Redis too). The buffer's length is a power of two, so an index wraps with a mask; it doubles
 * when full and halves when a quarter full (from 16 slots up), so a list that shrank gives its
 * memory back.
 */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

const MIN_SLOTS = 16;

/** Redis' range rule (LRANGE, LTRIM): negative counts from the end; [from, to] inclusive, null when empty */
export function listSpan(start: number, stop: number, len: number): [number, number] | null {
  if (start < 0) start += len;
  if (stop < 0) stop += len;
  if (start < 0) start = 0;
  if (start > stop || start >= len) return null;
  return [start, Math.min(stop, len - 1)];
}

export class ListValue implements Collection {
  readonly type = ValueType.LIST;
  packed = false;
  private slots: (string | undefined)[] = new Array<string | undefined>(MIN_SLOTS);
  private mask = MIN_SLOTS - 1;
  /** the slot of element 0 */
  private head = 0;
  private count = 0;
  private held = 0;

  get size(): number {
    return this.count;
  }
  get bytes(): number {
    // the buffer's slots count too: 8 bytes each
    return this.held + this.slots.length * 8;
  }
  get encoding(): string {
    return this.packed ? 'listpack' : 'quicklist';
  }

  push(s: string, left: boolean): void {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    if (left) {
      this.head = (this.head - 1) & this.mask;
      this.slots[this.head] = s;
    } else this.slots[(this.head + this.count) & this.mask] = s;
    this.count++;
    this.held += memberCost(s);
  }

  /** the element taken off one end; undefined when the list is empty */
  pop(left: boolean): string | undefined {
    if (this.count === 0) return undefined;
    const at = left ? this.head : (this.head + this.count - 1) & this.mask;
    const s = this.slots[at]!;
    this.slots[at] = undefined;
    if (left) this.head = (this.head + 1) & this.mask;
    this.count--;
    this.held -= memberCost(s);
    this.shrink();
    return s;
  }

  /** the element at index i (0 ≤ i < size) */
  at(i: number): string {
    return this.slots[(this.head + i) & this.mask]!;
  }

  /** replaces the element at index i (0 ≤ i < size) */
  set(i: number, s: string): void {
    const at = (this.head + i) & this.mask;
    this.held += memberCost(s) - memberCost(this.slots[at]!);
    this.slots[at] = s;
  }

  /** elements start..stop inclusive (0 ≤ start ≤ stop < size), in order or reversed */
  range(start: number, stop: number, reverse = false): string[] {
    const out = new Array<string>(stop - start + 1);
    for (let i = start; i <= stop; i++) out[reverse ? stop - i : i - start] = this.at(i);
    return out;
  }

  /** inserts s so that it becomes element i (0 ≤ i ≤ size), moving the shorter side by one */
  insert(i: number, s: string): void {
    if (i === 0) {
      this.push(s, true);
      return;
    }
    if (i === this.count) {
      this.push(s, false);
      return;
    }
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
    const m = this.mask;
    if (i < this.count - i) {
      // the elements before i move one slot left
      this.head = (this.head - 1) & m;
      for (let j = 0; j < i; j++) this.slots[(this.head + j) & m] = this.slots[(this.head + j + 1) & m];
    } else {
      for (let j = this.count; j > i; j--) this.slots[(this.head + j) & m] = this.slots[(this.head + j - 1) & m];
    }
    this.slots[(this.head + i) & m] = s;
    this.count++;
    this.held += memberCost(s);
  }

  /**
   * Removes elements equal to s, at most `limit` of them (0: all), scanning from the head, or from
   * the tail when `fromTail` (LREM); how many it removed. One pass that closes the gaps as it goes.
   */
  remove(s: string, limit: number, fromTail: boolean): number {
    const n = this.count;
    const m = this.mask;
    let removed = 0;
    if (!fromTail) {
      let w = 0;
      for (let r = 0; r < n; r++) {
        const e = this.slots[(this.head + r) & m]!;
        if (e === s && (limit === 0 || removed < limit)) removed++;
        else {
          if (w !== r) this.slots[(this.head + w) & m] = e;
          w++;
        }
      }
      for (let j = w; j < n; j++) this.slots[(this.head + j) & m] = undefined;
    } else {
      let w = n - 1;
      for (let r = n - 1; r >= 0; r--) {
        const e = this.slots[(this.head + r) & m]!;
        if (e === s && (limit === 0 || removed < limit)) removed++;
        else {
          if (w !== r) this.slots[(this.head + w) & m] = e;
          w--;
        }
      }
      for (let j = 0; j <= w; j++) this.slots[(this.head + j) & m] = undefined;
      this.head = (this.head + removed) & m;
    }
    this.count -= removed;
    this.held -= removed * memberCost(s);
    this.shrink();
    return removed;
  }

  /**
   * keeps elements start..stop (0 ≤ start ≤ stop < size) and drops the rest (LTRIM): O(elements
   * dropped), as pops at the ends (a list read in part, PartialList, takes them so)
   */
  trim(start: number, stop: number): void {
    for (let n = this.size - 1 - stop; n > 0; n--) this.pop(false);
    for (let n = start; n > 0; n--) this.pop(true);
  }

  /** drops every element */
  clear(): void {
    this.slots = new Array<string | undefined>(MIN_SLOTS);
    this.mask = MIN_SLOTS - 1;
    this.head = 0;
    this.count = 0;
    this.held = 0;
  }

  private shrink(): void {
    const cap = this.slots.length;
    if (cap > MIN_SLOTS && this.count < cap >> 2) this.resize(cap >> 1);
  }

  private resize(cap: number): void {
    const next = new Array<string | undefined>(cap);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) & this.mask];
    this.slots = next;
    this.mask = cap - 1;
    this.head = 0;
  }

  encode(): Buffer {
    let n = 4;
    for (let i = 0; i < this.count; i++) n += strBytes(this.at(i));
    const w = new Writer(n);
    w.u32(this.count);
    for (let i = 0; i < this.count; i++) w.str(this.at(i));
    return w.done();
  }

  static decode(bytes: Buffer): ListValue {
    const r = new Reader(bytes);
    const l = new ListValue();
    for (let n = r.u32(); n > 0; n--) l.push(r.str(), false);
    return l;
  }
}
