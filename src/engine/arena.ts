import { FREE, PREV_FREE, SIZE_MASK } from './layout.js';

/**
 * The byte arena: one growable SharedArrayBuffer, carved into word-aligned blocks by a two-level
 * segregated-fit allocator (TLSF-like). Small sizes (< 64 words) each have an exact free list, so
 * a cache full of same-shaped items reuses holes with no waste; larger sizes fall into 16 sub-classes
 * per power of two, which bounds the waste of a good fit to 1/16. Frees coalesce with both
 * neighbours through boundary tags, and a free block that touches the top gives its space back to
 * the wilderness. Alloc and free are O(1): a class lookup, a bitmap scan of 15 words, list splices.
 *
 * The arena never moves an item, which keeps refs and the LRU links stable.
 */
export const START = 8; // words 0..7 are reserved so that ref 0 means "none"
const MIN_LISTED = 4; // a listed free block needs header, next, prev, footer
const EXACT = 64;
const SUB = 16;
export const NCLASS = EXACT + (31 - 6) * SUB;
const NBITS = Math.ceil(NCLASS / 32);
/** bytes the allocator's own bookkeeping takes (class heads, bitmap, reserved words). */
export const ARENA_FIXED_BYTES = NCLASS * 4 + NBITS * 4 + START * 4;
const PAGE = 65536;
/** SharedArrayBuffer cannot exceed 4 GiB; one shard's arena is bounded by that. */
export const MAX_ARENA_BYTES = 4294967296 - PAGE;

function classOf(size: number): number {
  if (size < EXACT) return size;
  const fl = 31 - Math.clz32(size);
  return EXACT + (fl - 6) * SUB + ((size >>> (fl - 4)) & (SUB - 1));
}

export class Arena {
  sab!: SharedArrayBuffer;
  u8!: Uint8Array;
  u32!: Uint32Array;
  buf!: Buffer;
  /** first word past the last block. */
  top = START;
  /** words held by free blocks below top (holes). */
  freeWords = 0;
  reserveBytes: number;
  private readonly heads = new Uint32Array(new SharedArrayBuffer(NCLASS * 4));
  private readonly bits = new Uint32Array(new SharedArrayBuffer(NBITS * 4));
  /** called after the views change (growth), so holders of `u32` can refresh. */
  onViews: () => void = () => {};

  constructor(reserveBytes: number) {
    this.reserveBytes = Arena.roundReserve(reserveBytes);
    const init = Math.min(this.reserveBytes, PAGE);
    this.setBuffer(new SharedArrayBuffer(init, { maxByteLength: this.reserveBytes }));
  }

  static roundReserve(bytes: number): number {
    return Math.min(MAX_ARENA_BYTES, Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE));
  }

  private setBuffer(sab: SharedArrayBuffer): void {
    this.sab = sab;
    // Fixed-length views: length-tracking views over a growable buffer are several times slower in V8 11.
    this.u8 = new Uint8Array(sab, 0, sab.byteLength);
    this.u32 = new Uint32Array(sab, 0, sab.byteLength >>> 2);
    this.buf = Buffer.from(sab, 0, sab.byteLength);
    this.onViews();
  }

  get liveWords(): number {
    return this.top - START - this.freeWords;
  }

  get committedBytes(): number {
    return this.sab.byteLength;
  }

  /** A block of `words`, or 0 when no hole fits and the top may not pass `capWords`. */
  alloc(words: number, capWords: number): number {
    const m = this.u32;
    let c = classOf(words);
    let b = this.heads[c];
    if (b !== 0 && (m[b] & SIZE_MASK) < words) b = 0; // a sub-class head may be smaller than asked
    if (b === 0) {
      c = this.firstClassAbove(c);
      if (c >= 0) b = this.heads[c];
    }
    if (b !== 0) {
      const size = m[b] & SIZE_MASK;
      this.unlist(b, size);
      const rest = size - words;
      if (rest > 0) {
        const r = b + words;
        m[r] = FREE | rest;
        m[r + rest - 1] = FREE | rest;
        if (rest >= MIN_LISTED) this.list(r, rest);
        // the block after r still has PREV_FREE set: it followed a free block before, too
      } else {
        const n = b + size;
        m[n] = m[n] & ~PREV_FREE;
      }
      this.freeWords -= words;
      return b;
    }
    const t = this.top;
    if (t + words > capWords) return 0;
    if ((t + words) * 4 > this.sab.byteLength && !this.growTo((t + words) * 4)) return 0;
    this.top = t + words;
    return t;
  }

  free(ref: number, words: number): void {
    const m = this.u32;
    let start = ref;
    let size = words;
    if ((m[ref] & PREV_FREE) !== 0) {
      const psz = m[ref - 1] & SIZE_MASK;
      start = ref - psz;
      if (psz >= MIN_LISTED) this.unlist(start, psz);
      size += psz;
      this.freeWords -= psz;
    }
    const next = ref + words;
    if (next === this.top) {
      this.top = start; // back to the wilderness
      return;
    }
    const nw = m[next];
    if ((nw & FREE) !== 0) {
      const nsz = nw & SIZE_MASK;
      if (nsz >= MIN_LISTED) this.unlist(next, nsz);
      size += nsz;
      this.freeWords -= nsz;
    } else {
      m[next] = nw | PREV_FREE;
    }
    m[start] = FREE | size;
    m[start + size - 1] = FREE | size;
    if (size >= MIN_LISTED) this.list(start, size);
    this.freeWords += size;
  }

  reset(): void {
    this.top = START;
    this.freeWords = 0;
    this.heads.fill(0);
    this.bits.fill(0);
  }

  /** Move to a buffer that may grow to `reserveBytes` (a budget raised past the reservation). */
  relocate(reserveBytes: number): void {
    const r = Arena.roundReserve(reserveBytes);
    if (r <= this.reserveBytes) return;
    const old = this.u8;
    const len = Math.min(r, Math.max(old.length, PAGE));
    const sab = new SharedArrayBuffer(len, { maxByteLength: r });
    new Uint8Array(sab).set(old.subarray(0, this.top * 4));
    this.reserveBytes = r;
    this.setBuffer(sab);
  }

  private growTo(bytes: number): boolean {
    if (bytes > this.reserveBytes) return false;
    const cur = this.sab.byteLength;
    // Small steps keep committed-but-unused memory low; the views are rebuilt once per step.
    const step = Math.max(4 * PAGE, Math.min(64 * PAGE, Math.floor(cur / 64)));
    const want = Math.min(this.reserveBytes, Math.ceil(Math.max(bytes, cur + step) / PAGE) * PAGE);
    this.sab.grow(want);
    this.setBuffer(this.sab);
    return true;
  }

  private firstClassAbove(c: number): number {
    const i = c + 1;
    if (i >= NCLASS) return -1;
    let wi = i >>> 5;
    let bits = this.bits[wi] & (~0 << (i & 31));
    while (bits === 0) {
      if (++wi >= NBITS) return -1;
      bits = this.bits[wi];
    }
    return (wi << 5) + 31 - Math.clz32(bits & -bits);
  }

  private list(b: number, size: number): void {
    const m = this.u32;
    const c = classOf(size);
    const h = this.heads[c];
    m[b + 1] = h;
    m[b + 2] = 0;
    if (h !== 0) m[h + 2] = b;
    else this.bits[c >>> 5] |= 1 << (c & 31);
    this.heads[c] = b;
  }

  private unlist(b: number, size: number): void {
    const m = this.u32;
    const c = classOf(size);
    const n = m[b + 1];
    const p = m[b + 2];
    if (p !== 0) m[p + 1] = n;
    else {
      this.heads[c] = n;
      if (n === 0) this.bits[c >>> 5] &= ~(1 << (c & 31));
    }
    if (n !== 0) m[n + 2] = p;
  }

  /** Check the block structure: contiguous blocks, boundary tags, free lists. Testing aid. */
  verify(itemWords: (ref: number) => number): { items: number; liveWords: number } {
    const m = this.u32;
    let p = START;
    let prevFree = false;
    let items = 0;
    let live = 0;
    let free = 0;
    const listed = new Set<number>();
    while (p < this.top) {
      const w = m[p];
      if ((w & FREE) !== 0) {
        const size = w & SIZE_MASK;
        if (size === 0) throw new Error(`arena: zero-size free block at ${p}`);
        if (prevFree) throw new Error(`arena: two free blocks in a row at ${p}`);
        if (m[p + size - 1] !== m[p]) throw new Error(`arena: bad footer at ${p}`);
        if (size >= MIN_LISTED) listed.add(p);
        free += size;
        prevFree = true;
        p += size;
      } else {
        if (((w & PREV_FREE) !== 0) !== prevFree) throw new Error(`arena: PREV_FREE wrong at ${p}`);
        const size = itemWords(p);
        items++;
        live += size;
        prevFree = false;
        p += size;
      }
    }
    if (p !== this.top) throw new Error('arena: blocks overrun top');
    if (prevFree) throw new Error('arena: free block touches top');
    if (free !== this.freeWords) throw new Error(`arena: freeWords ${this.freeWords} != ${free}`);
    let inLists = 0;
    for (let c = 0; c < NCLASS; c++) {
      const set = (this.bits[c >>> 5] & (1 << (c & 31))) !== 0;
      if (set !== (this.heads[c] !== 0)) throw new Error(`arena: bitmap wrong for class ${c}`);
      let prev = 0;
      for (let b = this.heads[c]; b !== 0; b = m[b + 1]) {
        if (!listed.has(b)) throw new Error(`arena: listed block ${b} is not free`);
        if (classOf(m[b] & SIZE_MASK) !== c) throw new Error(`arena: block ${b} in wrong class`);
        if (m[b + 2] !== prev) throw new Error(`arena: bad prev link at ${b}`);
        prev = b;
        inLists++;
      }
    }
    if (inLists !== listed.size) throw new Error('arena: free block missing from lists');
    return { items, liveWords: live };
  }
}
