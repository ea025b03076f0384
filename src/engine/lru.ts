/**
 * The eviction policy seam. The engine only ever calls these five operations, so a later policy
 * (LFU, FIFO, random, TTL-first, SIEVE, S3-FIFO) is another class with the same shape; the words it
 * needs live in the item header (w1, w2 today) or in side arrays it owns.
 *
 * LRU: an intrusive doubly-linked list through header words w1 (prev, towards the most recently
 * used end) and w2 (next, towards the least recently used end). Refs are word indices; 0 is none.
 */
export interface EvictionPolicy {
  /** a new item enters (most recently used). */
  insert(ref: number): void;
  /** an item was read or written. */
  access(ref: number): void;
  /** an item leaves (deleted, expired, evicted) or is about to move. */
  remove(ref: number): void;
  /** the item to evict next, 0 when empty. */
  victim(): number;
  /** walking from the victim end: the item that would be evicted after `ref`, 0 at the end. */
  after(ref: number): number;
  /** the views over the arena changed (growth). */
  setMemory(m: Uint32Array): void;
  clear(): void;
}

export class LruPolicy implements EvictionPolicy {
  head = 0;
  tail = 0;
  constructor(private m: Uint32Array) {}

  setMemory(m: Uint32Array): void {
    this.m = m;
  }

  insert(ref: number): void {
    const m = this.m;
    const h = this.head;
    m[ref + 1] = 0;
    m[ref + 2] = h;
    if (h !== 0) m[h + 1] = ref;
    else this.tail = ref;
    this.head = ref;
  }

  access(ref: number): void {
    const h = this.head;
    if (ref === h) return;
    const m = this.m;
    // unlink (ref is not the head, so it has a prev)
    const p = m[ref + 1];
    const n = m[ref + 2];
    m[p + 2] = n;
    if (n !== 0) m[n + 1] = p;
    else this.tail = p;
    // push at head
    m[ref + 1] = 0;
    m[ref + 2] = h;
    m[h + 1] = ref;
    this.head = ref;
  }

  remove(ref: number): void {
    const m = this.m;
    const p = m[ref + 1];
    const n = m[ref + 2];
    if (p !== 0) m[p + 2] = n;
    else this.head = n;
    if (n !== 0) m[n + 1] = p;
    else this.tail = p;
  }

  victim(): number {
    return this.tail;
  }

  after(ref: number): number {
    return this.m[ref + 1];
  }

  clear(): void {
    this.head = 0;
    this.tail = 0;
  }
}
