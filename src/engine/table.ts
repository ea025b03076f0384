import type { Arena } from './arena.js';
import { F_WIDE, HDR, KLEN_COMPACT_MAX, KLEN_SHIFT, layoutIndex } from './layout.js';

/**
 * The hash table: extendible hashing over small open-addressing segments.
 *
 * A directory indexed by the top G bits of the 32-bit hash points at segments; a segment of local
 * depth d owns the hashes with one d-bit prefix. Inside a segment, slots are a tag byte (0 empty,
 * 1 tombstone, 2..255 the low hash bits) and a u32 ref, 5 bytes a slot. A key's home slot is
 * floor(suffix * size / span), monotone in the hash, and collisions probe linearly forward with no
 * wrap-around (a few spare slots follow the last home, the very last one always empty). Two things
 * follow from monotone homes and no wrap-around:
 *  - scan can use a hash value as its cursor: every item with a hash >= h sits at or after home(h)
 *    in its segment, whatever the segment sizes are now, so a growth between calls loses nothing;
 *  - an empty slot ends every cluster, so a scan may stop at one knowing all earlier homes are done.
 *
 * A segment grows on its own (factor ~1.25, rehashing at most MAX_SEG slots, about a millisecond)
 * and splits in two when it would pass MAX_SEG; the table as a whole therefore stays between 72%
 * and 90% full and no single growth step rehashes more than one segment.
 */
const MIN_SEG = 8;
const MAX_SEG = 2048;
const MAX_LOAD = 0.9;
const TARGET_LOAD = 0.72;
const MAX_G = 20;
const TOMB = 1;

/**
 * Slots are stored in groups of 8: 8 tag bytes then 8 refs (40 bytes), so that a probe usually finds
 * a slot's tag and ref in one cache line. ti/ri map a slot number to its tag byte and ref word.
 */
const ti = (i: number): number => (i >>> 3) * 40 + (i & 7);
const ri = (i: number): number => (i >>> 3) * 10 + 2 + (i & 7);

/** len is a multiple of 8. */
function segBytes(len: number): number {
  return len * 5;
}

function extraFor(size: number): number {
  return 8 + (size >>> 5);
}

/** what an empty table takes: the directory and one minimal segment. */
export const MIN_TABLE_BYTES = 8 + segBytes((MIN_SEG + extraFor(MIN_SEG) + 7) & ~7);

export function tagOf(h: number): number {
  const t = h & 0xff;
  return t < 2 ? t + 2 : t;
}

export type HashFn = (bytes: Uint8Array, start: number, end: number) => number;

export class Table {
  // per-segment state in parallel arrays: a few thousand segments at most, never per-key objects
  tags: Uint8Array[] = [];
  refs: Uint32Array[] = [];
  size: number[] = [];
  len: number[] = [];
  limit: number[] = [];
  used: number[] = [];
  live: number[] = [];
  depth: number[] = [];
  lo: number[] = [];
  scale: number[] = [];
  dir: Int32Array;
  G = 1;
  dirShift = 31;
  /** bytes of all segments and the directory. */
  bytes = 0;
  /** bumps whenever slots move (a segment rebuilt): scans in flight re-seek. */
  epoch = 0;
  /** where the last successful find() found its key. */
  fSeg = 0;
  fSlot = 0;
  private scratchH = new Uint32Array(64);
  private scratchR = new Uint32Array(64);

  constructor(
    private readonly arena: Arena,
    readonly hash: HashFn,
    /** make room for `bytes` more table memory (the engine evicts); false if it cannot. */
    private readonly reserve: (bytes: number) => boolean,
  ) {
    this.dir = new Int32Array(new SharedArrayBuffer(8));
    this.bytes = 8;
    this.newSeg(0, 0, MIN_SEG, extraFor(MIN_SEG));
  }

  get segments(): number {
    return this.tags.length;
  }

  reset(): void {
    this.tags = [];
    this.refs = [];
    this.size = [];
    this.len = [];
    this.limit = [];
    this.used = [];
    this.live = [];
    this.depth = [];
    this.lo = [];
    this.scale = [];
    this.dir = new Int32Array(new SharedArrayBuffer(8));
    this.G = 1;
    this.dirShift = 31;
    this.bytes = 8;
    this.epoch++;
    this.newSeg(0, 0, MIN_SEG, extraFor(MIN_SEG));
  }

  private newSeg(lo: number, depth: number, size: number, extra: number): number {
    const s = this.tags.length;
    this.tags.push(new Uint8Array(0));
    this.refs.push(new Uint32Array(0));
    this.size.push(0);
    this.len.push(0);
    this.limit.push(0);
    this.used.push(0);
    this.live.push(0);
    this.depth.push(depth);
    this.lo.push(lo);
    this.scale.push(0);
    this.setGeometry(s, size, extra);
    return s;
  }

  private setGeometry(s: number, size: number, extra: number): void {
    const len = (size + extra + 7) & ~7;
    const sab = new SharedArrayBuffer(segBytes(len));
    this.bytes += segBytes(len) - (this.len[s] === 0 ? 0 : segBytes(this.len[s]));
    this.tags[s] = new Uint8Array(sab);
    this.refs[s] = new Uint32Array(sab);
    this.size[s] = size;
    this.len[s] = len;
    this.limit[s] = Math.floor(size * MAX_LOAD);
    this.used[s] = 0;
    this.live[s] = 0;
    this.scale[s] = size / 2 ** (32 - this.depth[s]);
  }

  /** The ref stored for `key` (0 if absent); fSeg/fSlot tell where. */
  find(key: Uint8Array, klen: number, h: number): number {
    const s = this.dir[h >>> this.dirShift];
    const tags = this.tags[s];
    const refs = this.refs[s];
    const t = tagOf(h);
    const m = this.arena.u32;
    const u8 = this.arena.u8;
    for (let i = Math.floor((h - this.lo[s]) * this.scale[s]); ; i++) {
      const tg = tags[ti(i)];
      if (tg === t) {
        const ref = refs[ri(i)];
        const w = m[ref];
        const kl = (w & F_WIDE) !== 0 ? m[ref + 4] : (w >>> KLEN_SHIFT) & KLEN_COMPACT_MAX;
        if (kl === klen) {
          const p = (ref + HDR[layoutIndex(w)]) * 4;
          let j = 0;
          while (j < klen && u8[p + j] === key[j]) j++;
          if (j === klen) {
            this.fSeg = s;
            this.fSlot = i;
            return ref;
          }
        }
      } else if (tg === 0) return 0;
    }
  }

  /** The hash of the item stored at `ref`, recomputed from its key bytes. */
  hashOf(ref: number): number {
    const m = this.arena.u32;
    const w = m[ref];
    const kl = (w & F_WIDE) !== 0 ? m[ref + 4] : (w >>> KLEN_SHIFT) & KLEN_COMPACT_MAX;
    const p = (ref + HDR[layoutIndex(w)]) * 4;
    return this.hash(this.arena.u8, p, p + kl);
  }

  /** Find the slot holding `ref`; sets fSeg/fSlot. Returns false if it is not in the table. */
  locate(ref: number): boolean {
    const h = this.hashOf(ref);
    const s = this.dir[h >>> this.dirShift];
    const tags = this.tags[s];
    const refs = this.refs[s];
    for (let i = Math.floor((h - this.lo[s]) * this.scale[s]); ; i++) {
      const tg = tags[ti(i)];
      if (tg === 0) return false;
      if (tg !== TOMB && refs[ri(i)] === ref) {
        this.fSeg = s;
        this.fSlot = i;
        return true;
      }
    }
  }

  setRef(s: number, i: number, ref: number): void {
    this.refs[s][ri(i)] = ref;
  }

  removeAt(s: number, i: number): void {
    const tags = this.tags[s];
    this.live[s]--;
    if (tags[ti(i + 1)] === 0) {
      // the cluster ends here: this slot and the tombstones before it can become empty
      tags[ti(i)] = 0;
      let n = 1;
      while (i > 0 && tags[ti(i - 1)] === TOMB) {
        tags[ti(--i)] = 0;
        n++;
      }
      this.used[s] -= n;
    } else {
      tags[ti(i)] = TOMB;
    }
  }

  /** Add a key known to be absent. */
  insert(h: number, ref: number): void {
    for (;;) {
      const s = this.dir[h >>> this.dirShift];
      if (this.used[s] >= this.limit[s] && this.grow(s, false)) continue;
      const tags = this.tags[s];
      let i = Math.floor((h - this.lo[s]) * this.scale[s]);
      let tg: number;
      while ((tg = tags[ti(i)]) > TOMB) i++;
      if (i >= this.len[s] - 1) {
        this.grow(s, true);
        continue;
      }
      if (tg === 0) this.used[s]++;
      tags[ti(i)] = tagOf(h);
      this.refs[s][ri(i)] = ref;
      this.live[s]++;
      return;
    }
  }

  /**
   * Rebuild segment s bigger (or cleaner), or split it. `force`: the probe ran into the end, so
   * something must change. Returns false when it left the segment as it was (no memory for it).
   */
  private grow(s: number, force: boolean): boolean {
    const live = this.live[s];
    const oldLen = this.len[s];
    let size = Math.max(MIN_SEG, Math.ceil((live + 1) / TARGET_LOAD));
    let extra = this.len[s] - this.size[s];
    if (force && size <= this.size[s]) extra *= 2; // pathological clustering: more run-out room
    const d = this.depth[s];
    const split = size > MAX_SEG && d < 32 && (d < this.G || this.G < MAX_G);
    if (split) size = Math.max(MIN_SEG, Math.ceil((live / 2 + 1) / TARGET_LOAD));
    const want = (split ? 2 * segBytes(size + extraFor(size) + 8) : segBytes(size + extra + 8)) - segBytes(oldLen);
    if (want > 0 && !this.reserve(want) && !force && this.used[s] < this.len[s] - 2) return false;
    // reserve() may have evicted from this very segment; gather what is left
    const n = this.gather(s);
    this.epoch++;
    if (!split) {
      this.build(s, 0, n, Math.max(MIN_SEG, Math.ceil((n + 1) / TARGET_LOAD)), extra);
      return true;
    }
    const lo = this.lo[s];
    const half = 2 ** (31 - d);
    // partition gathered items: lower half of the prefix range first
    const H = this.scratchH;
    const R = this.scratchR;
    let a = 0;
    let same = true;
    for (let k = 0; k < n; k++) {
      if (H[k] !== H[0]) same = false;
      if (H[k] - lo < half) {
        const th = H[a];
        const tr = R[a];
        H[a] = H[k];
        R[a] = R[k];
        H[k] = th;
        R[k] = tr;
        a++;
      }
    }
    if (same) {
      // identical hashes never separate (an injected or attacked hash): just grow
      this.build(s, 0, n, Math.max(MIN_SEG, Math.ceil((n + 1) / TARGET_LOAD)), extra);
      return true;
    }
    if (d === this.G) this.doubleDir();
    this.depth[s] = d + 1;
    const sizeA = Math.max(MIN_SEG, Math.ceil((a + 1) / TARGET_LOAD));
    const sizeB = Math.max(MIN_SEG, Math.ceil((n - a + 1) / TARGET_LOAD));
    this.build(s, 0, a, sizeA, extraFor(sizeA));
    const s2 = this.newSeg(lo + half, d + 1, MIN_SEG, 1);
    this.build(s2, a, n, sizeB, extraFor(sizeB));
    // the upper half of s's directory entries now point at s2
    const per = 2 ** (this.G - d);
    const first = lo / 2 ** (32 - this.G);
    for (let k = first + per / 2; k < first + per; k++) this.dir[k] = s2;
    return true;
  }

  private doubleDir(): void {
    const old = this.dir;
    const dir = new Int32Array(new SharedArrayBuffer(old.length * 8));
    for (let i = 0; i < old.length; i++) dir[2 * i] = dir[2 * i + 1] = old[i];
    this.bytes += dir.byteLength - old.byteLength;
    this.dir = dir;
    this.G++;
    this.dirShift--;
  }

  /** Copy the live items of s (hash, ref) into the scratch arrays; returns how many. */
  private gather(s: number): number {
    const live = this.live[s];
    if (this.scratchH.length < live) {
      this.scratchH = new Uint32Array(live * 2);
      this.scratchR = new Uint32Array(live * 2);
    }
    const tags = this.tags[s];
    const refs = this.refs[s];
    let n = 0;
    for (let i = 0; i < this.len[s]; i++) {
      if (tags[ti(i)] > TOMB) {
        this.scratchR[n] = refs[ri(i)];
        this.scratchH[n] = this.hashOf(refs[ri(i)]);
        n++;
      }
    }
    return n;
  }

  private build(s: number, from: number, to: number, size: number, extra: number): void {
    for (;;) {
      this.setGeometry(s, size, extra);
      if (this.fill(s, from, to)) return;
      extra *= 2;
    }
  }

  /** Place scratch items [from, to) into the empty segment s; false if one ran off the end. */
  private fill(s: number, from: number, to: number): boolean {
    const tags = this.tags[s];
    const refs = this.refs[s];
    const lo = this.lo[s];
    const scale = this.scale[s];
    const last = this.len[s] - 1;
    for (let k = from; k < to; k++) {
      const h = this.scratchH[k];
      let i = Math.floor((h - lo) * scale);
      while (tags[ti(i)] !== 0) i++;
      if (i >= last) return false;
      tags[ti(i)] = tagOf(h);
      refs[ri(i)] = this.scratchR[k];
    }
    this.used[s] = this.live[s] = to - from;
    return true;
  }

  /**
   * Visit items from hash `cursor` on, stopping at a cluster boundary once `count` were counted
   * (visit returns 1 to count an item, 0 to skip it). Returns the next cursor, 0 when done. The
   * visitor may delete entries; if it makes the table rebuild, the walk re-seeks (duplicates, no loss).
   */
  scan(cursor: number, count: number, visit: (ref: number) => number): number {
    let h = cursor;
    let seen = 0;
    outer: for (;;) {
      if (h >= 4294967296) return 0;
      const s = this.dir[h >>> this.dirShift];
      const lo = this.lo[s];
      const span = 2 ** (32 - this.depth[s]);
      const size = this.size[s];
      const tags = this.tags[s];
      const refs = this.refs[s];
      const len = this.len[s];
      const epoch = this.epoch;
      let boundary = h; // every hash below it is done
      for (let i = Math.floor((h - lo) * this.scale[s]); i < len; i++) {
        const tg = tags[ti(i)];
        if (tg === 0) {
          boundary = Math.min(lo + span, lo + Math.ceil(((i + 1) * span) / size));
          if (seen >= count && boundary < lo + span) return boundary;
          continue;
        }
        if (tg === TOMB) continue;
        seen += visit(refs[ri(i)]);
        if (this.epoch !== epoch) {
          h = boundary;
          continue outer;
        }
      }
      h = lo + span;
      if (h >= 4294967296) return 0;
      if (seen >= count) return h;
    }
  }

  /** Call fn for each live ref, walking slots from a cursor (segment index, slot); for expiry sweeps. */
  sweep(cursor: { seg: number; slot: number }, maxWork: number, fn: (ref: number, s: number, i: number) => void): void {
    let s = cursor.seg;
    let i = cursor.slot;
    if (s >= this.tags.length) {
      s = 0;
      i = 0;
    }
    for (let work = 0; work < maxWork; work++) {
      if (i >= this.len[s]) {
        s++;
        i = 0;
        if (s >= this.tags.length) s = 0;
        continue;
      }
      const epoch = this.epoch;
      if (this.tags[s][ti(i)] > TOMB) {
        fn(this.refs[s][ri(i)], s, i);
        if (epoch !== this.epoch) break;
      }
      i++;
    }
    cursor.seg = s;
    cursor.slot = i;
  }

  /** A ref found by probing a random spot, or 0 after `tries` failed probes. */
  randomRef(tries: number, ok: (ref: number) => boolean, rand: () => number = Math.random): number {
    for (let t = 0; t < tries; t++) {
      const h = (rand() * 4294967296) >>> 0;
      const s = this.dir[h >>> this.dirShift];
      const tags = this.tags[s];
      const len = this.len[s];
      let i = Math.floor(rand() * len);
      for (let k = 0; k < 32 && i < len; k++, i++) {
        if (tags[ti(i)] > TOMB && ok(this.refs[s][ri(i)])) return this.refs[s][ri(i)];
      }
    }
    return 0;
  }

  /** The first live ref accepted by `ok`, walking every slot; 0 if none (the fallback when probing fails). */
  firstRef(ok: (ref: number) => boolean): number {
    for (let s = 0; s < this.tags.length; s++) {
      const tags = this.tags[s];
      const refs = this.refs[s];
      for (let i = 0; i < this.len[s]; i++) if (tags[ti(i)] > TOMB && ok(refs[ri(i)])) return refs[ri(i)];
    }
    return 0;
  }

  /** Check segment and directory invariants; returns the number of live slots. Testing aid. */
  verify(): number {
    let total = 0;
    const G = this.G;
    for (let k = 0; k < this.dir.length; k++) {
      const s = this.dir[k];
      const d = this.depth[s];
      if (d > G) throw new Error('table: local depth above global');
      const lo = this.lo[s];
      const span = 2 ** (32 - d);
      const h = k * 2 ** (32 - G);
      if (h < lo || h >= lo + span) throw new Error(`table: dir[${k}] points at a segment not covering it`);
    }
    for (let s = 0; s < this.tags.length; s++) {
      const tags = this.tags[s];
      const refs = this.refs[s];
      let used = 0;
      let live = 0;
      if (tags[ti(this.len[s] - 1)] !== 0) throw new Error('table: sentinel slot not empty');
      for (let i = 0; i < this.len[s]; i++) {
        if (tags[ti(i)] === 0) continue;
        used++;
        if (tags[ti(i)] === TOMB) continue;
        live++;
        const h = this.hashOf(refs[ri(i)]);
        if (tagOf(h) !== tags[ti(i)]) throw new Error('table: tag mismatch');
        if (this.dir[h >>> this.dirShift] !== s) throw new Error('table: item in the wrong segment');
        const home = Math.floor((h - this.lo[s]) * this.scale[s]);
        if (home > i) throw new Error('table: item before its home');
        for (let j = home; j < i; j++) if (tags[ti(j)] === 0) throw new Error('table: gap between home and item');
      }
      if (used !== this.used[s] || live !== this.live[s]) {
        throw new Error(`table: segment ${s} counts ${this.used[s]}/${this.live[s]} != ${used}/${live}`);
      }
      total += live;
    }
    return total;
  }
}
