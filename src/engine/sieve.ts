import { DROPPED, LINK, verifyList, type EvictionName, type EvictionPolicy, type PolicyContext, type RemoveHow } from './lru.js';

/** SIEVE's visited bit: top bit of w1 (prev link). */
const VISITED = 0x80000000;

/**
 * SIEVE (Zhang et al., NSDI'24). One FIFO list (w1 prev towards the head = newest, w2 next towards
 * the tail = oldest) and a hand. A hit only sets the visited bit, no links move. To evict, the hand
 * walks from where it stopped (the tail at first) towards the head, clearing visited bits, and
 * takes the first unvisited item; past the head it wraps to the tail. The hand then rests on the
 * evicted item's newer neighbour. New items enter at the head, unvisited.
 */
export class SievePolicy implements EvictionPolicy {
  readonly name: EvictionName = 'sieve';
  readonly bytes = 0;
  head = 0;
  tail = 0;
  hand = 0;
  private m: Uint32Array;
  constructor(ctx: PolicyContext) {
    this.m = ctx.m;
  }
  setMemory(m: Uint32Array): void {
    this.m = m;
  }
  growBytes(): number {
    return 0;
  }

  private push(ref: number, bits: number): void {
    const m = this.m;
    const h = this.head;
    m[ref + 1] = bits;
    m[ref + 2] = h;
    if (h !== 0) m[h + 1] = (m[h + 1] & ~LINK) | ref;
    else this.tail = ref;
    this.head = ref;
  }

  insert(ref: number, _hash: number): void {
    this.push(ref, 0);
  }

  reinsert(ref: number, state: number): void {
    this.push(ref, state & VISITED);
  }

  access(ref: number): void {
    this.m[ref + 1] |= VISITED;
  }

  /** a write moves the item to the head (keeping its bit), as a reinsert would. */
  rewrite(ref: number): void {
    const bits = this.m[ref + 1] & VISITED;
    this.remove(ref);
    this.push(ref, bits);
  }

  remove(ref: number, _how: RemoveHow = DROPPED): number {
    const m = this.m;
    const w1 = m[ref + 1];
    const p = w1 & LINK;
    const n = m[ref + 2];
    if (this.hand === ref) this.hand = p;
    if (p !== 0) m[p + 2] = n;
    else this.head = n;
    if (n !== 0) m[n + 1] = (m[n + 1] & ~LINK) | p;
    else this.tail = p;
    return w1 & VISITED;
  }

  victim(): number {
    const m = this.m;
    let r = this.hand !== 0 ? this.hand : this.tail;
    if (r === 0) return 0;
    for (;;) {
      const w1 = m[r + 1];
      if ((w1 & VISITED) === 0) break;
      m[r + 1] = w1 & LINK;
      r = w1 & LINK;
      if (r === 0) r = this.tail;
    }
    this.hand = r;
    return r;
  }

  clear(): void {
    this.head = this.tail = this.hand = 0;
  }

  verify(count: number, check: (ref: number) => void): void {
    let handSeen = this.hand === 0;
    const n = verifyList(
      this.m,
      this,
      LINK,
      count,
      (r) => {
        if (r === this.hand) handSeen = true;
        if ((this.m[r + 2] & ~LINK) !== 0) throw new Error('sieve: flag bits set in w2');
        check(r);
      },
      this.name,
    );
    if (n !== count) throw new Error(`sieve: list length ${n} != count ${count}`);
    if (!handSeen) throw new Error('sieve: hand is not on the list');
  }

  order(): number[] {
    const out: number[] = [];
    for (let r = this.head; r !== 0; r = this.m[r + 2]) out.push(r);
    return out;
  }
}
