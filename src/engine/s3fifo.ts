import { itemWords } from './layout.js';
import { DROPPED, EVICTED, LINK, MOVING, verifyList, type EvictionName, type EvictionPolicy, type PolicyContext, type RemoveHow } from './lru.js';

/** 2-bit frequency: top two bits of w1. */
const FREQ_SHIFT = 30;
const FREQ_ONE = 1 << FREQ_SHIFT;
/** queue bit: top bit of w2, set for the main queue. */
const MAIN = 0x80000000;

/** smallest ghost (slots), and slots per cached key it grows towards (2 bytes a slot). */
export const GHOST_MIN_SLOTS = 64;
export const GHOST_SLOTS_PER_KEY = 0.75;

/**
 * The ghost queue: fingerprints of keys recently evicted from the small queue, in a fixed-size
 * table of 16-bit entries (12-bit fingerprint, 4-bit insertion time), 4 per bucket, as the S3-FIFO
 * authors suggest: membership is "the fingerprint is in the key's bucket and was inserted within
 * the last `slots` insertions", so entries age out without a FIFO of their own. A full bucket
 * drops its oldest entry. Lossy by design: a fingerprint collision admits a key to the main queue.
 */
export class Ghost {
  slots: Uint16Array;
  private nb: number;
  private unit: number;
  private inserted = 0;
  constructor(slots: number) {
    this.slots = new Uint16Array(slots);
    this.nb = slots >>> 2;
    this.unit = Math.max(1, slots >>> 3);
  }

  get size(): number {
    return this.slots.length;
  }

  private bucket(h: number): number {
    return Math.floor(((Math.imul(h, 0x9e3779b1) >>> 0) * this.nb) / 4294967296) << 2;
  }

  private tick(): number {
    return Math.floor(this.inserted / this.unit) & 15;
  }

  add(h: number): void {
    const s = this.slots;
    const b = this.bucket(h);
    const t = this.tick();
    let at = b;
    let oldest = -1;
    for (let i = b; i < b + 4; i++) {
      const e = s[i];
      if (e === 0) {
        at = i;
        break;
      }
      const age = (t - (e & 15)) & 15;
      if (age >= 8) {
        at = i;
        break;
      }
      if (age > oldest) {
        oldest = age;
        at = i;
      }
    }
    s[at] = (fp(h) << 4) | t;
    this.inserted++;
  }

  /** true (and forget it) if h was evicted recently. */
  take(h: number): boolean {
    const s = this.slots;
    const b = this.bucket(h);
    const f = fp(h);
    const t = this.tick();
    for (let i = b; i < b + 4; i++) {
      const e = s[i];
      if (e !== 0 && e >>> 4 === f && ((t - (e & 15)) & 15) < 8) {
        s[i] = 0;
        return true;
      }
    }
    return false;
  }
}

function fp(h: number): number {
  const f = h >>> 20;
  return f === 0 ? 1 : f;
}

interface Queue {
  head: number;
  tail: number;
  words: number;
}

/**
 * S3-FIFO (Yang et al., SOSP'23). Two FIFO lists through w1/w2 (prev towards the head = newest):
 * a small queue S that new keys enter, and a main queue M, plus the ghost. A hit only bumps the
 * 2-bit frequency in w1's top bits (and writes nothing once it is 3).
 *
 * Eviction, while S holds at least 10% of the cached bytes (or M is empty): the tail of S moves to
 * M if it was hit since it entered (its frequency cleared), else it is evicted and its key hash goes
 * to the ghost. Otherwise from M: a tail with frequency > 0 is reinserted at M's head with one
 * less, else evicted. A new key whose hash is in the ghost enters M directly.
 */
export class S3FifoPolicy implements EvictionPolicy {
  readonly name: EvictionName = 's3fifo';
  readonly s: Queue = { head: 0, tail: 0, words: 0 };
  readonly main: Queue = { head: 0, tail: 0, words: 0 };
  ghost: Ghost;
  private count = 0;
  private m: Uint32Array;
  constructor(private readonly ctx: PolicyContext) {
    this.m = ctx.m;
    this.ghost = new Ghost(GHOST_MIN_SLOTS);
  }

  get bytes(): number {
    return this.ghost.size * 2;
  }

  setMemory(m: Uint32Array): void {
    this.m = m;
  }

  private ghostTarget(count: number): number {
    let slots = this.ghost.size;
    while (count * GHOST_SLOTS_PER_KEY >= slots * 2) slots *= 2;
    return slots;
  }

  growBytes(): number {
    return (this.ghostTarget(this.count + 1) - this.ghost.size) * 2;
  }

  private push(q: Queue, ref: number, freq: number): void {
    const m = this.m;
    const h = q.head;
    m[ref + 1] = freq;
    m[ref + 2] = (q === this.main ? MAIN : 0) | h;
    if (h !== 0) m[h + 1] = (m[h + 1] & ~LINK) | ref;
    else q.tail = ref;
    q.head = ref;
    q.words += itemWords(m, ref);
  }

  private unlink(q: Queue, ref: number): void {
    const m = this.m;
    const p = m[ref + 1] & LINK;
    const n = m[ref + 2] & LINK;
    if (p !== 0) m[p + 2] = (m[p + 2] & ~LINK) | n;
    else q.head = n;
    if (n !== 0) m[n + 1] = (m[n + 1] & ~LINK) | p;
    else q.tail = p;
    q.words -= itemWords(m, ref);
  }

  insert(ref: number, hash: number): void {
    this.count++;
    const slots = this.ghostTarget(this.count);
    if (slots !== this.ghost.size) this.ghost = new Ghost(slots);
    this.push(this.ghost.take(hash) ? this.main : this.s, ref, 0);
  }

  reinsert(ref: number, state: number): void {
    this.count++;
    this.push((state & 1) !== 0 ? this.main : this.s, ref, state & ~LINK);
  }

  access(ref: number): void {
    const w = this.m[ref + 1];
    if (w < 3 * FREQ_ONE) this.m[ref + 1] = w + FREQ_ONE;
  }

  /** a write moves the item to the head of its queue, frequency kept (as a reinsert would). */
  rewrite(ref: number): void {
    this.reinsert(ref, this.remove(ref, MOVING));
  }

  remove(ref: number, how: RemoveHow = DROPPED): number {
    const m = this.m;
    const inMain = (m[ref + 2] & MAIN) !== 0;
    const state = (m[ref + 1] & ~LINK) | (inMain ? 1 : 0);
    this.unlink(inMain ? this.main : this.s, ref);
    this.count--;
    if (how === EVICTED && !inMain) this.ghost.add(this.ctx.hashOf(ref));
    return state;
  }

  victim(): number {
    const m = this.m;
    const s = this.s;
    const main = this.main;
    for (;;) {
      if (s.tail !== 0 && (s.words * 10 >= s.words + main.words || main.tail === 0)) {
        const t = s.tail;
        if (m[t + 1] >>> FREQ_SHIFT === 0) return t;
        this.unlink(s, t);
        this.push(main, t, 0);
        continue;
      }
      const t = main.tail;
      if (t === 0) return 0;
      const f = m[t + 1] >>> FREQ_SHIFT;
      if (f === 0) return t;
      this.unlink(main, t);
      this.push(main, t, (f - 1) << FREQ_SHIFT);
    }
  }

  clear(): void {
    this.s.head = this.s.tail = this.s.words = 0;
    this.main.head = this.main.tail = this.main.words = 0;
    this.count = 0;
    this.ghost = new Ghost(GHOST_MIN_SLOTS);
  }

  verify(count: number, check: (ref: number) => void): void {
    const m = this.m;
    let words = 0;
    const a = verifyList(
      m,
      this.s,
      LINK,
      count,
      (r) => {
        if ((m[r + 2] & ~LINK) !== 0) throw new Error('s3fifo: small-queue item flagged main');
        words += itemWords(m, r);
        check(r);
      },
      's3fifo small',
    );
    if (words !== this.s.words) throw new Error('s3fifo: small-queue bytes mismatch');
    words = 0;
    const b = verifyList(
      m,
      this.main,
      LINK,
      count,
      (r) => {
        if ((m[r + 2] & ~LINK) >>> 0 !== MAIN) throw new Error('s3fifo: main-queue item not flagged main');
        words += itemWords(m, r);
        check(r);
      },
      's3fifo main',
    );
    if (words !== this.main.words) throw new Error('s3fifo: main-queue bytes mismatch');
    if (a + b !== count || this.count !== count) throw new Error(`s3fifo: queues hold ${a}+${b}, count ${count}`);
  }

  order(): null {
    return null;
  }
}
