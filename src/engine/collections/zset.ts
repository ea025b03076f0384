/**
 * A sorted set: members ordered by (score, member bytes) (PLACEHOLDER: the sorted-set work replaces
 * it with a skiplist with spans beside a member → score Map: O(log n) insert, remove and rank).
 */
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

export class ZSetValue implements Collection {
  readonly type = ValueType.ZSET;
  readonly scores = new Map<string, number>();
  private held = 0;

  get size(): number {
    return this.scores.size;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return 'skiplist';
  }

  add(m: string, score: number): void {
    if (!this.scores.has(m)) this.held += memberCost(m) + 16;
    this.scores.set(m, score);
  }

  encode(): Buffer {
    let n = 4;
    for (const m of this.scores.keys()) n += strBytes(m) + 8;
    const w = new Writer(n);
    w.u32(this.scores.size);
    for (const [m, s] of this.scores) {
      w.str(m);
      w.f64(s);
    }
    return w.done();
  }

  static decode(bytes: Buffer): ZSetValue {
    const r = new Reader(bytes);
    const z = new ZSetValue();
    for (let n = r.u32(); n > 0; n--) z.add(r.str(), r.f64());
    return z;
  }
}
