/**
 * The eviction policy seam. The engine only ever calls the operations below, so every policy is a
 * class of the same shape; the state it needs lives in the item header (w1, w2) or in small side
 * arrays it owns. See docs/eviction.md for each policy and its per-key cost.
 *
 * Header words w1 and w2 belong to the policy. Refs are word indices below 2^30 (an arena is at most
 * 4 GiB), so list links take the low 30 bits and the top two bits of each word are free for flags:
 * SIEVE keeps its visited bit there, S3-FIFO its 2-bit frequency and its queue.
 */
import { F_EXP, expOf } from './layout.js';

export interface EvictionPolicy {
  readonly name: EvictionName;
  /** bytes the policy holds outside item headers (counted in the engine's budget). */
  readonly bytes: number;
  /** bytes the next insert() would add to `bytes` (a side structure growing); usually 0. */
  growBytes(): number;
  /** a new key enters; `hash` is its table hash. */
  insert(ref: number, hash: number): void;
  /** a hit: the item was read (or its expiry touched). */
  access(ref: number): void;
  /** the item was rewritten in place (same block). */
  rewrite(ref: number): void;
  /**
   * The item leaves: `how` is DROPPED (deleted, expired), EVICTED (the cache chose it) or MOVING
   * (rewritten into a new block: out of the victim's way until reinsert(), though still in the
   * table). Returns the policy state to carry over with reinsert().
   */
  remove(ref: number, how: RemoveHow): number;
  /** the same key again in a new block (rewritten with another size), with remove()'s state. */
  reinsert(ref: number, state: number): void;
  /** the item to evict next, 0 when there is none. May reorder internal queues, never evicts. */
  victim(): number;
  /** the views over the arena changed (growth). */
  setMemory(m: Uint32Array): void;
  clear(): void;
  /** check the policy's structures against the engine's count; throws on the first violation. */
  verify(count: number, check: (ref: number) => void): void;
  /** refs in eviction order, last evicted first, where the policy has one order. Testing aid. */
  order(): number[] | null;
  /** the item's access-frequency counter (Redis OBJECT FREQ), for policies that keep one. */
  frequency?(ref: number): number;
}

export const DROPPED = 0;
export const EVICTED = 1;
export const MOVING = 2;
export type RemoveHow = typeof DROPPED | typeof EVICTED | typeof MOVING;

export const EVICTION_POLICIES = ['lru', 'lfu', 'fifo', 'random', 'ttl', 'sieve', 's3fifo'] as const;
export type EvictionName = (typeof EVICTION_POLICIES)[number];

/** What a policy may ask of the engine. */
export interface PolicyContext {
  m: Uint32Array;
  clock: () => number;
  /** the table hash of a live item, recomputed from its key. */
  hashOf: (ref: number) => number;
  /** a random live item accepted by `ok` (uniform-ish, probing the table), 0 if none. */
  sample: (ok: (ref: number) => boolean) => number;
  /** uniform in [0, 1), seeded: runs are reproducible. */
  random: () => number;
}

/** link bits of w1 / w2; the top two bits are policy flags. */
export const LINK = 0x3fffffff;

/**
 * LRU: an intrusive doubly-linked list through header words w1 (prev, towards the most recently
 * used end) and w2 (next, towards the least recently used end). Refs are word indices; 0 is none.
 * The flag bits stay zero, so links are read and written whole.
 */
export class LruPolicy implements EvictionPolicy {
  readonly name: EvictionName = 'lru';
  readonly bytes = 0;
  head = 0;
  tail = 0;
  protected m: Uint32Array;
  constructor(ctx: PolicyContext) {
    this.m = ctx.m;
  }

  setMemory(m: Uint32Array): void {
    this.m = m;
  }

  growBytes(): number {
    return 0;
  }

  insert(ref: number, _hash = 0): void {
    const m = this.m;
    const h = this.head;
    m[ref + 1] = 0;
    m[ref + 2] = h;
    if (h !== 0) m[h + 1] = ref;
    else this.tail = ref;
    this.head = ref;
  }

  reinsert(ref: number, _state: number): void {
    this.insert(ref, 0);
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

  rewrite(ref: number): void {
    this.access(ref);
  }

  remove(ref: number, _how: RemoveHow = DROPPED): number {
    const m = this.m;
    const p = m[ref + 1];
    const n = m[ref + 2];
    if (p !== 0) m[p + 2] = n;
    else this.head = n;
    if (n !== 0) m[n + 1] = p;
    else this.tail = p;
    return 0;
  }

  victim(): number {
    return this.tail;
  }

  clear(): void {
    this.head = 0;
    this.tail = 0;
  }

  verify(count: number, check: (ref: number) => void): void {
    const n = verifyList(this.m, this, 0x7fffffff, count, check, this.name);
    if (n !== count) throw new Error(`${this.name}: list length ${n} != count ${count}`);
  }

  order(): number[] {
    const out: number[] = [];
    for (let r = this.head; r !== 0; r = this.m[r + 2]) out.push(r);
    return out;
  }
}

/** FIFO: the LRU list without the move on a hit. A write re-enters the queue at the head. */
export class FifoPolicy extends LruPolicy {
  override readonly name: EvictionName = 'fifo';
  override access(_ref: number): void {}
  override rewrite(ref: number): void {
    super.access(ref);
  }
}

/**
 * TTL-first (Redis volatile-ttl with an allkeys-lru fallback): each eviction samples a few live
 * entries and takes the one that expires soonest; when no sampled entry has an expiry, the LRU tail
 * goes. Costs nothing beyond the LRU list: expiry times are already in the headers.
 */
export class TtlPolicy extends LruPolicy {
  override readonly name: EvictionName = 'ttl';
  static readonly SAMPLES = 8;
  private pinned = 0;
  private readonly okFn = (ref: number): boolean => ref !== this.pinned;
  constructor(private readonly ctx: PolicyContext) {
    super(ctx);
  }

  override insert(ref: number, hash = 0): void {
    this.pinned = 0;
    super.insert(ref, hash);
  }

  override remove(ref: number, how: RemoveHow = DROPPED): number {
    if (how === MOVING) this.pinned = ref;
    return super.remove(ref, how);
  }

  override victim(): number {
    if (this.tail === 0) return 0;
    const m = this.m;
    let best = 0;
    let bestExp = Infinity;
    for (let k = 0; k < TtlPolicy.SAMPLES; k++) {
      const r = this.ctx.sample(this.okFn);
      if (r === 0) break;
      const w = m[r];
      if ((w & F_EXP) === 0) continue;
      const e = expOf(m, r);
      if (e !== 0 && e < bestExp) {
        bestExp = e;
        best = r;
      }
    }
    return best !== 0 ? best : this.tail;
  }
}

/** Walk a list (masked links), checking prev links and membership; returns its length. */
export function verifyList(m: Uint32Array, q: { head: number; tail: number }, mask: number, max: number, check: (ref: number) => void, name: string): number {
  let len = 0;
  let prev = 0;
  for (let r = q.head; r !== 0; r = m[r + 2] & mask) {
    if ((m[r + 1] & mask) !== prev) throw new Error(`${name}: prev of ${r} is ${m[r + 1] & mask}, expected ${prev}`);
    if (++len > max) throw new Error(`${name}: list longer than count (cycle?)`);
    check(r);
    prev = r;
  }
  if (prev !== q.tail) throw new Error(`${name}: tail mismatch`);
  return len;
}
