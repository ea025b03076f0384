/**
 * Member storage for hashes and sets in a few typed arrays instead of one JS string and Map entry
 * per member (a Map entry with its key string costs ~80 bytes of V8 heap; here a 13-byte member
 * costs ~35):
 *
 * - arena: a growable byte buffer of records, [len][key] for a set, [len][key][len][value] for a
 *   hash; a length below 0x80 takes one byte, a longer one four (big-endian, high bit set).
 *   A removed or rewritten record leaves a hole, which is dropped when the arena is copied to grow,
 *   or repacked once the holes pass half the arena.
 * - positions: per position, the record's offset and the key's hash (a Uint32Array of pairs). The
 *   positions are the public contract of positions.ts: a removal moves the last position into the
 *   hole (swap-remove), new members go on top.
 * - table: an open-addressing table (linear probing, power-of-two size, at most 3/4 full) of
 *   position + 1 (0: empty). A removal shifts the run after it back (no tombstones), so probes stay
 *   short after any mix of adds and removals.
 *
 * Keys and values are latin1 strings at the API (one char per byte). The hash is FNV-1a over the
 * bytes with a random per-process seed and MurmurHash3's final mix (src/hash.ts), computed the same
 * way from a string and from bytes, so decoding never builds strings. Every operation is O(1)
 * amortized (the copies on growth, shrink and repack are paid by the changes that made them
 * necessary).
 */
import { fmix32 } from '../../hash.js';

const MIN_TABLE = 4;
const MIN_POSITIONS = 2;
const MIN_ARENA = 32;
/** lengths below this take one byte in a record; longer ones four */
const SHORT = 0x80;
/** growth factor of the arena and the positions (1.5: a quarter slack on average, not a half) */
const GROW = 1.5;

const SEED = (Math.random() * 0x1_0000_0000) >>> 0;

/** the hash of a latin1 string (the same as hashBytes of its bytes) */
export function hashString(s: string): number {
  let h = 0x811c9dc5 ^ SEED;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ (s.charCodeAt(i) & 0xff), 0x01000193);
  return fmix32(h);
}

/** the hash of bytes [from, to) of b */
export function hashBytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5 ^ SEED;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return fmix32(h);
}

const headBytes = (len: number): number => (len < SHORT ? 1 : 4);

/**
 * Heap bytes of the JS objects around the arrays (the structure, three typed arrays and their
 * buffers' bookkeeping), measured on Node 20 x64: 100,000 one-member sets grew the heap 840 bytes
 * each. A Map-based set of one member took about 470, a hash about 660: the fixed cost is the price
 * of the per-member saving, left to small-collection encodings to win back.
 */
const OBJECT_BYTES = 780;

export class PackedRecords {
  private arena: Buffer = Buffer.allocUnsafeSlow(MIN_ARENA);
  /** bytes of the arena in use, holes included */
  private top = 0;
  /** bytes of removed records below top */
  private holes = 0;
  /** per position p: [2p] the record's offset, [2p + 1] the key's hash */
  private pos = new Uint32Array(2 * MIN_POSITIONS);
  private table = new Int32Array(MIN_TABLE);
  private mask = MIN_TABLE - 1;
  /** where the last missed find ended: the empty slot and the key's hash, for append */
  private missSlot = 0;
  private missHash = 0;
  size = 0;
  /** encode()'s bytes for the records: a u32 length and the bytes of each string */
  encodedBytes = 0;

  /** @param pairs records hold a value after the key (a hash) */
  constructor(private readonly pairs: boolean) {}

  /** what the structure holds: every typed array's whole capacity, slack and holes included */
  get bytes(): number {
    return OBJECT_BYTES + this.arena.byteLength + this.pos.byteLength + this.table.byteLength;
  }

  /** the key's position, or -1 (then `append` may follow at once) */
  find(key: string): number {
    const h = hashString(key);
    const table = this.table;
    const pos = this.pos;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = table[i];
      if (v === 0) {
        this.missSlot = i;
        this.missHash = h;
        return -1;
      }
      const p = v - 1;
      if (pos[2 * p + 1] === h && this.keyIs(pos[2 * p], key)) return p;
    }
  }

  /** find, for a key given as bytes [from, to) of b */
  findBytes(b: Uint8Array, from: number, to: number): number {
    const h = hashBytes(b, from, to);
    const table = this.table;
    const pos = this.pos;
    const mask = this.mask;
    const len = to - from;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = table[i];
      if (v === 0) {
        this.missSlot = i;
        this.missHash = h;
        return -1;
      }
      const p = v - 1;
      if (pos[2 * p + 1] === h) {
        const off = pos[2 * p];
        if (this.lenAt(off) === len) {
          const start = off + headBytes(len);
          if (this.arena.compare(b, from, to, start, start + len) === 0) return p;
        }
      }
    }
  }

  /** adds the key (and value) that the last find missed, at position size; its position */
  append(key: string, value: string): number {
    const klen = key.length;
    const vlen = this.pairs ? value.length : 0;
    const off = this.openRecord(klen + headBytes(klen) + (this.pairs ? vlen + headBytes(vlen) : 0));
    const at = this.putString(this.putLen(off, klen), key);
    if (this.pairs) this.putString(this.putLen(at, vlen), value);
    this.encodedBytes += 4 + klen + (this.pairs ? 4 + vlen : 0);
    return this.place(off);
  }

  /** append, for a key (and value) given as bytes of b: key [kFrom, kTo), value [vFrom, vTo) */
  appendBytes(b: Uint8Array, kFrom: number, kTo: number, vFrom: number, vTo: number): number {
    const klen = kTo - kFrom;
    const vlen = this.pairs ? vTo - vFrom : 0;
    const off = this.openRecord(klen + headBytes(klen) + (this.pairs ? vlen + headBytes(vlen) : 0));
    let at = this.putLen(off, klen);
    this.arena.set(b.subarray(kFrom, kTo), at);
    if (this.pairs) {
      at = this.putLen(at + klen, vlen);
      this.arena.set(b.subarray(vFrom, vTo), at);
    }
    this.encodedBytes += 4 + klen + (this.pairs ? 4 + vlen : 0);
    return this.place(off);
  }

  /** the key at a position below size */
  keyAt(p: number): string {
    const off = this.pos[2 * p];
    const len = this.lenAt(off);
    const start = off + headBytes(len);
    return this.arena.toString('latin1', start, start + len);
  }

  /** the value at a position below size (pairs only) */
  valueAt(p: number): string {
    const v = this.valueOffset(this.pos[2 * p]);
    const len = this.lenAt(v);
    const start = v + headBytes(len);
    return this.arena.toString('latin1', start, start + len);
  }

  /** replaces the value at a position below size (pairs only) */
  setValue(p: number, value: string): void {
    let off = this.pos[2 * p];
    const v = this.valueOffset(off);
    const old = this.lenAt(v);
    const vlen = value.length;
    this.encodedBytes += vlen - old;
    const oldSize = v + headBytes(old) + old - off;
    const keyRecord = v - off;
    const size = keyRecord + headBytes(vlen) + vlen;
    if (oldSize === size || (off + oldSize === this.top && off + size <= this.arena.length)) {
      // the same size, or the top record with room after it: rewritten where it is
      if (off + oldSize === this.top) this.top = off + size;
      this.putString(this.putLen(v, vlen), value);
      return;
    }
    const moved = this.openRecord(size);
    off = this.pos[2 * p]; // a repack moved it
    this.arena.copy(this.arena, moved, off, off + keyRecord);
    this.putString(this.putLen(moved + keyRecord, vlen), value);
    this.pos[2 * p] = moved;
    this.holes += oldSize;
    this.shrink();
  }

  /** removes the record at a position below size; the last position moves into it */
  removeAt(p: number): void {
    const pos = this.pos;
    const off = pos[2 * p];
    const size = this.recordSize(off);
    this.encodedBytes -= this.encodedSize(off);
    if (off + size === this.top) this.top = off;
    else this.holes += size;
    this.unslot(p);
    const last = this.size - 1;
    if (p !== last) {
      this.table[this.slotOf(last)] = p + 1;
      pos[2 * p] = pos[2 * last];
      pos[2 * p + 1] = pos[2 * last + 1];
    }
    this.size = last;
    if (this.size === 0) {
      this.top = 0;
      this.holes = 0;
    }
    this.shrink();
  }

  /**
   * adds the records of encode() bytes without building strings: a later copy of a hash's field
   * replaces its value, a set's member already there is skipped
   */
  addEncoded(bytes: Buffer): void {
    let at = 4;
    for (let n = bytes.readUInt32LE(0); n > 0; n--) {
      const kFrom = at + 4;
      const kTo = kFrom + bytes.readUInt32LE(at);
      let vFrom = kTo;
      at = kTo;
      if (this.pairs) {
        vFrom = kTo + 4;
        at = vFrom + bytes.readUInt32LE(kTo);
      }
      const p = this.findBytes(bytes, kFrom, kTo);
      if (p < 0) this.appendBytes(bytes, kFrom, kTo, vFrom, at);
      else if (this.pairs) this.setValue(p, bytes.toString('latin1', vFrom, at));
    }
  }

  /** the records as a hash's or set's encode() lays them out: u32 LE count, then encodeInto's bytes */
  encode(): Buffer {
    const out = Buffer.allocUnsafe(4 + this.encodedBytes);
    out.writeUInt32LE(this.size, 0);
    this.encodeInto(out, 4);
    return out;
  }

  /** writes the records in position order as encode() lays them out: u32 LE length and bytes per string */
  private encodeInto(out: Buffer, at: number): number {
    for (let p = 0; p < this.size; p++) at = this.copyEncoded(this.pos[2 * p], out, at);
    return at;
  }

  /** writes the record at off as encode() lays it out (u32 LE length and bytes per string) at `at`; the offset after it */
  private copyEncoded(off: number, out: Buffer, at: number): number {
    const arena = this.arena;
    for (let part = this.pairs ? 2 : 1; part > 0; part--) {
      const len = this.lenAt(off);
      const start = off + headBytes(len);
      out.writeUInt32LE(len, at);
      arena.copy(out, at + 4, start, start + len);
      at += 4 + len;
      off = start + len;
    }
    return at;
  }

  /**
   * The records split into n chunks by `chunkOf` of each key's bytes, the chunks in `which` only (all
   * when null), each laid out as encodeInto lays out the whole after a u32 LE count: two passes over
   * the positions, no strings built (src/engine/collections/chunks.ts).
   */
  encodeChunks(n: number, which: ReadonlySet<number> | null, chunkOf: (b: Uint8Array, from: number, to: number, n: number) => number): Map<number, Buffer> {
    const arena = this.arena;
    const pos = this.pos;
    const wanted = new Uint8Array(n);
    if (which === null) wanted.fill(1);
    else for (const c of which) wanted[c] = 1;
    const chunkAt = new Int32Array(this.size);
    const sizes = new Uint32Array(n);
    const counts = new Uint32Array(n);
    for (let p = 0; p < this.size; p++) {
      const off = pos[2 * p];
      const len = this.lenAt(off);
      const start = off + headBytes(len);
      const c = chunkOf(arena, start, start + len, n);
      if (wanted[c] === 0) chunkAt[p] = -1;
      else {
        chunkAt[p] = c;
        sizes[c] += this.encodedSize(off);
        counts[c]++;
      }
    }
    const bufs: (Buffer | undefined)[] = new Array(n);
    const at = new Uint32Array(n);
    const out = new Map<number, Buffer>();
    for (let c = 0; c < n; c++) {
      if (wanted[c] === 0) continue;
      const buf = Buffer.allocUnsafe(4 + sizes[c]);
      buf.writeUInt32LE(counts[c], 0);
      at[c] = 4;
      bufs[c] = buf;
      out.set(c, buf);
    }
    for (let p = 0; p < this.size; p++) {
      const c = chunkAt[p];
      if (c < 0) continue;
      at[c] = this.copyEncoded(pos[2 * p], bufs[c]!, at[c]);
    }
    return out;
  }

  /** the slot holding position p */
  private slotOf(p: number): number {
    const mask = this.mask;
    for (let i = this.pos[2 * p + 1] & mask; ; i = (i + 1) & mask) if (this.table[i] === p + 1) return i;
  }

  /** empties p's slot, shifting the entries after it back to where a probe still finds them */
  private unslot(p: number): void {
    const table = this.table;
    const mask = this.mask;
    let hole = this.slotOf(p);
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const v = table[j];
      if (v === 0) break;
      const home = this.pos[2 * (v - 1) + 1] & mask;
      // the entry at j may fill the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        table[hole] = v;
        hole = j;
      }
    }
    table[hole] = 0;
  }

  /** gives the record at `off` position size and a slot (the one the last find missed at) */
  private place(off: number): number {
    const p = this.size;
    if (2 * (p + 1) > this.pos.length) this.resizePositions(Math.max(MIN_POSITIONS, Math.ceil((p + 1) * GROW)));
    this.pos[2 * p] = off;
    this.pos[2 * p + 1] = this.missHash;
    this.size = p + 1;
    if (4 * this.size > 3 * this.table.length) {
      this.rehash(this.table.length * 2);
    } else {
      this.table[this.missSlot] = p + 1;
    }
    return p;
  }

  /** the offset of `n` free bytes at the top; a full arena is copied, without its holes, into one GROW times the live bytes */
  private openRecord(n: number): number {
    if (this.top + n > this.arena.length) this.repack(Math.max(MIN_ARENA, Math.ceil((this.top - this.holes + n) * GROW)));
    const off = this.top;
    this.top += n;
    return off;
  }

  /** copies every record, in position order, into a new arena of `capacity` bytes */
  private repack(capacity: number): void {
    const from = this.arena;
    const to = Buffer.allocUnsafeSlow(capacity);
    let at = 0;
    for (let p = 0; p < this.size; p++) {
      const off = this.pos[2 * p];
      const n = this.recordSize(off);
      from.copy(to, at, off, off + n);
      this.pos[2 * p] = at;
      at += n;
    }
    this.arena = to;
    this.top = at;
    this.holes = 0;
  }

  /**
   * Shrinks what removals left too large: the positions below a quarter used, the table below an
   * eighth, the arena once its holes pass its live bytes or its live bytes fall below a quarter.
   */
  private shrink(): void {
    const n = this.size;
    if (this.pos.length > 2 * MIN_POSITIONS && 8 * n < this.pos.length) this.resizePositions(Math.max(MIN_POSITIONS, 2 * n));
    if (this.table.length > MIN_TABLE && 8 * n < this.table.length) this.rehash(this.table.length / 2);
    const live = this.top - this.holes;
    if (this.arena.length > MIN_ARENA && (this.holes > live || 4 * live < this.arena.length)) this.repack(Math.max(MIN_ARENA, Math.ceil(live * GROW)));
  }

  private resizePositions(capacity: number): void {
    const next = new Uint32Array(2 * capacity);
    next.set(this.pos.subarray(0, 2 * this.size));
    this.pos = next;
  }

  private rehash(slots: number): void {
    const table = new Int32Array(slots);
    const mask = slots - 1;
    for (let p = 0; p < this.size; p++) {
      let i = this.pos[2 * p + 1] & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = p + 1;
    }
    this.table = table;
    this.mask = mask;
  }

  private lenAt(off: number): number {
    const a = this.arena;
    const b = a[off];
    return b < SHORT ? b : (((b & 0x7f) << 24) | (a[off + 1] << 16) | (a[off + 2] << 8) | a[off + 3]) >>> 0;
  }

  /** writes a length at off; the offset after it */
  private putLen(off: number, len: number): number {
    if (len < SHORT) {
      this.arena[off] = len;
      return off + 1;
    }
    this.arena.writeUInt32BE((len | 0x8000_0000) >>> 0, off);
    return off + 4;
  }

  /** writes a latin1 string's bytes at off; the offset after them */
  private putString(off: number, s: string): number {
    const n = s.length;
    if (n > 32) return off + this.arena.write(s, off, n, 'latin1');
    const a = this.arena;
    for (let i = 0; i < n; i++) a[off + i] = s.charCodeAt(i);
    return off + n;
  }

  private keyIs(off: number, key: string): boolean {
    const len = key.length;
    if (this.lenAt(off) !== len) return false;
    const a = this.arena;
    const start = off + headBytes(len);
    for (let i = 0; i < len; i++) if (a[start + i] !== (key.charCodeAt(i) & 0xff)) return false;
    return true;
  }

  private valueOffset(off: number): number {
    const klen = this.lenAt(off);
    return off + headBytes(klen) + klen;
  }

  private recordSize(off: number): number {
    const klen = this.lenAt(off);
    let n = headBytes(klen) + klen;
    if (this.pairs) {
      const vlen = this.lenAt(off + n);
      n += headBytes(vlen) + vlen;
    }
    return n;
  }

  private encodedSize(off: number): number {
    const klen = this.lenAt(off);
    if (!this.pairs) return 4 + klen;
    return 8 + klen + this.lenAt(off + headBytes(klen) + klen);
  }
}
