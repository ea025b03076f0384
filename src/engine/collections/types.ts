/**
 * Collection values: hashes, lists, sets and sorted sets. Each is one cache entry (one key in the
 * engine's table, one place in the eviction order, one TTL, one disk record when it leaves memory).
 * A small one is held packed: the engine entry's value is its `encode()` bytes (listpack.ts). A larger
 * one's members live in a JS structure owned by the shard (src/store/collections.ts), and the engine
 * entry is a small stub whose header carries the type and whose size the budget charges with the
 * structure's `bytes`.
 *
 * Members are byte strings held as latin1 JS strings (one char per byte: lossless, compact one-byte
 * strings in V8, hashed by Map and Set). `Buffer.from(s, 'latin1')` gives the bytes back.
 */

/** A value's type, as the engine header and the disk record carry it. */
export const ValueType = {
  STRING: 0,
  HASH: 1,
  LIST: 2,
  SET: 3,
  ZSET: 4,
  STREAM: 5,
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** Redis' TYPE word per type (index = type). */
export const TYPE_NAMES: readonly string[] = ['string', 'hash', 'list', 'set', 'zset', 'stream'];

/** What every collection structure offers the store. */
export interface Collection {
  readonly type: ValueType;
  /** members (hash fields, list elements, set members, sorted-set members) */
  readonly size: number;
  /**
   * Estimated bytes the structure holds (member bytes plus a per-member overhead), kept current by
   * every change in O(1): what the memory budget charges for it.
   */
  readonly bytes: number;
  /**
   * true while the structure is a copy decoded from a packed engine entry, or about to be packed
   * (listpack.ts), which the store sets: OBJECT ENCODING then answers `listpack`
   */
  packed: boolean;
  /** OBJECT ENCODING's answer for it */
  readonly encoding: string;
  /** the whole collection as bytes: its disk record, a replica's copy, a cross-shard move */
  encode(): Buffer;
}

/** bytes as a member string */
export function member(bytes: Uint8Array): string {
  return Buffer.isBuffer(bytes) ? bytes.toString('latin1') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** a member string as bytes */
export function memberBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/**
 * Estimated heap bytes of one member string in a Map or Set: the string (header + one byte per
 * char, rounded) and its share of the table's entry. Used by every structure for `bytes`.
 */
export function memberCost(s: string): number {
  return 32 + ((s.length + 7) & ~7);
}

/**
 * A plain serialization helper shared by the structures: u32 LE count, then per string u32 LE
 * length + bytes. `Writer` sizes the buffer first, so encoding allocates once.
 */
export class Writer {
  private readonly buf: Buffer;
  private at = 0;
  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafe(bytes);
  }
  u32(n: number): void {
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4;
  }
  f64(n: number): void {
    this.buf.writeDoubleLE(n, this.at);
    this.at += 8;
  }
  str(s: string): void {
    const n = s.length;
    this.u32(n);
    if (n <= 32) {
      // a short string is copied faster here than through Buffer#write's call into C++ (a packed
      // collection is encoded after every change: src/engine/collections/listpack.ts)
      const buf = this.buf;
      const at = this.at;
      for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
      this.at += n;
    } else this.at += this.buf.write(s, this.at, 'latin1');
  }
  done(): Buffer {
    return this.at === this.buf.length ? this.buf : this.buf.subarray(0, this.at);
  }
}

/** bytes `Writer.str` takes for s */
export const strBytes = (s: string): number => 4 + s.length;

export class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  u32(): number {
    const n = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return n;
  }
  f64(): number {
    const n = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return n;
  }
  str(): string {
    const n = this.u32();
    const s = this.buf.toString('latin1', this.at, this.at + n);
    this.at += n;
    return s;
  }
}
