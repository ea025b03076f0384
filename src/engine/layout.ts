/**
 * Item layout inside the arena. Everything is addressed in 4-byte words: a ref is the word index of
 * an item's header, so a u32 ref reaches the whole 4 GiB a SharedArrayBuffer can hold.
 *
 * Compact header (16 bytes), enough for keys < 256 B, values < 128 KiB and CAS < 2^32:
 *   w0  meta: FREE(31) PREV_FREE(30) DIRTY(29) EXP(28) FLAGS(27) ATIME(26) WIDE(25) klen(24..17) vlen(16..0)
 *   w1  prev ref (LRU, towards the most recently used end)
 *   w2  next ref (LRU, towards the least recently used end)
 *   w3  CAS, low 32 bits
 * Optional words follow, present only when their bit is set, in this order:
 *   WIDE   w+0 klen u32, w+1 vlen u32, w+2 CAS high bits (21 used: CAS < 2^53) with the value's type in
 *          the top 4 (long keys, large values, CAS >= 2^32, and every collection: a string is type 0,
 *          and only a WIDE entry has room for another). Types use bits 0-2 of the nibble; bit 3
 *          (TYPE_PACKED) marks a small collection whose value is its packed bytes rather than a
 *          handle to a structure held outside the arena.
 *   EXP    2 words: absolute expiry ms, low then high
 *   FLAGS  1 word: client flags u32
 *   ATIME  2 words: last access ms, low then high (only when the engine tracks access time)
 * Then the key bytes, then the value bytes, padded to a whole word.
 *
 * A free block has FREE set in w0 with its size in words in the low 30 bits, the same word again as
 * its last word (boundary tag, so the next block can find it), and, when it is at least MIN_LISTED
 * words long, its free-list links in w1 (next) and w2 (prev).
 */
export const FREE = 1 << 31;
export const PREV_FREE = 1 << 30;
export const DIRTY = 1 << 29;
export const F_EXP = 1 << 28;
export const F_FLAGS = 1 << 27;
export const F_ATIME = 1 << 26;
export const F_WIDE = 1 << 25;
export const KLEN_SHIFT = 17;
export const KLEN_COMPACT_MAX = 0xff;
export const VLEN_MASK = 0x1ffff;
export const SIZE_MASK = 0x3fffffff;
/** Bits a rewrite of w0 must keep (they describe the neighbourhood, not the item). */
export const KEEP_BITS = PREV_FREE;

/** index into the layout tables: the four layout bits WIDE(1) ATIME(2) FLAGS(4) EXP(8). */
export const layoutIndex = (w0: number): number => (w0 >>> 25) & 15;

const mk = (f: (i: number) => number): Uint8Array => {
  const t = new Uint8Array(16);
  for (let i = 0; i < 16; i++) t[i] = f(i);
  return t;
};
const expOff = (i: number): number => 4 + (i & 1 ? 3 : 0);
const flagsOff = (i: number): number => expOff(i) + (i & 8 ? 2 : 0);
const atimeOff = (i: number): number => flagsOff(i) + (i & 4 ? 1 : 0);
/** header words (fixed + optional) for each layout. */
export const HDR = mk((i) => atimeOff(i) + (i & 2 ? 2 : 0));
export const EXP_OFF = mk(expOff);
export const FLAGS_OFF = mk(flagsOff);
export const ATIME_OFF = mk(atimeOff);

export const TWO32 = 4294967296;

export function keyLen(m: Uint32Array, ref: number): number {
  const w = m[ref];
  return (w & F_WIDE) !== 0 ? m[ref + 4] : (w >>> KLEN_SHIFT) & KLEN_COMPACT_MAX;
}

export function valLen(m: Uint32Array, ref: number): number {
  const w = m[ref];
  return (w & F_WIDE) !== 0 ? m[ref + 5] : w & VLEN_MASK;
}

/** byte offset of the key; the value follows it. */
export function keyAt(m: Uint32Array, ref: number): number {
  return (ref + HDR[layoutIndex(m[ref])]) * 4;
}

/** words an item occupies. */
export function itemWords(m: Uint32Array, ref: number): number {
  const w = m[ref];
  const idx = layoutIndex(w);
  const n = (w & F_WIDE) !== 0 ? m[ref + 4] + m[ref + 5] : ((w >>> KLEN_SHIFT) & KLEN_COMPACT_MAX) + (w & VLEN_MASK);
  return HDR[idx] + ((n + 3) >>> 2);
}

export function wordsFor(layout: number, klen: number, vlen: number): number {
  return HDR[layout] + Math.ceil((klen + vlen) / 4);
}

export function expOf(m: Uint32Array, ref: number): number {
  const w = m[ref];
  if ((w & F_EXP) === 0) return 0;
  const o = ref + EXP_OFF[layoutIndex(w)];
  return m[o + 1] * TWO32 + m[o];
}

export function flagsOf(m: Uint32Array, ref: number): number {
  const w = m[ref];
  return (w & F_FLAGS) === 0 ? 0 : m[ref + FLAGS_OFF[layoutIndex(w)]];
}

export function atimeOf(m: Uint32Array, ref: number): number {
  const w = m[ref];
  if ((w & F_ATIME) === 0) return 0;
  const o = ref + ATIME_OFF[layoutIndex(w)];
  return m[o + 1] * TWO32 + m[o];
}

/** the value type lives in the top bits of a WIDE entry's CAS-high word */
export const TYPE_SHIFT = 28;
export const CAS_HIGH_MASK = (1 << TYPE_SHIFT) - 1;

export function casOf(m: Uint32Array, ref: number): number {
  const w = m[ref];
  return (w & F_WIDE) !== 0 ? (m[ref + 6] & CAS_HIGH_MASK) * TWO32 + m[ref + 3] : m[ref + 3];
}

/**
 * The type nibble's packed bit: the entry's value is the collection's encoded bytes (it lives in the
 * arena whole) instead of a handle. Types are 0-5, so the bit is free; typeOf leaves it out.
 */
export const TYPE_PACKED = 8;
const TYPE_MASK = TYPE_PACKED - 1;

/** the value's type (ValueType): 0, a string, unless a WIDE entry says otherwise; packed or not */
export function typeOf(m: Uint32Array, ref: number): number {
  return (m[ref] & F_WIDE) !== 0 ? (m[ref + 6] >>> TYPE_SHIFT) & TYPE_MASK : 0;
}

/** the whole type nibble, packed bit included: what a rewrite of the entry keeps */
export function typeBits(m: Uint32Array, ref: number): number {
  return (m[ref] & F_WIDE) !== 0 ? m[ref + 6] >>> TYPE_SHIFT : 0;
}

/** true for a collection whose structure lives outside the arena (its value is a handle to it) */
export function heldOutside(m: Uint32Array, ref: number): boolean {
  const t = typeBits(m, ref);
  return t !== 0 && (t & TYPE_PACKED) === 0;
}
