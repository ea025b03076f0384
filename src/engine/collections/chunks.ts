/**
 * Large hashes, sets and sorted sets are stored on disk in chunks: the members are split by a hash of
 * the member into a power-of-two number of chunks, each chunk one disk record in the type's own
 * encode() format (so a chunk decodes as a small collection of the same type). A command that names
 * its members then reads or rewrites only their chunks, and a change to a collection in memory is
 * written as the chunks it touched, not the whole collection.
 *
 * The split is fixed for a chunk count: chunkOf(member, n). A collection's chunk count grows (by
 * rewriting all its chunks) as it grows past CHUNK_MEMBERS × 2 per chunk, like a hash table doubling;
 * a collection is stored in chunks from four times CHUNK_MEMBERS members (src/store/chunked.ts).
 */
import { HashValue } from './hash.js';
import { SetValue } from './set.js';
import { type Collection, Reader, strBytes, ValueType, Writer } from './types.js';
import { ZSetValue } from './zset.js';

/** members per chunk a collection is split for (a chunk of 64 short members is about 1-2 KB: one read and decode of it takes some 40 us) */
export const CHUNK_MEMBERS = 64;

/** the types stored in chunks when large (a list's and a stream's order is not a member hash) */
export function chunkable(type: number): boolean {
  return type === ValueType.HASH || type === ValueType.SET || type === ValueType.ZSET;
}

/** the chunk count for a collection of `size` members split `perChunk` a chunk: a power of two ≥ 2 */
export function chunkCount(size: number, perChunk = CHUNK_MEMBERS): number {
  let n = 2;
  while (n * perChunk < size) n *= 2;
  return n;
}

/** has a collection outgrown its chunk count (its chunks then average over twice perChunk)? */
export function outgrown(size: number, n: number, perChunk = CHUNK_MEMBERS): boolean {
  return size > 2 * n * perChunk;
}

/** the chunk of a member among n (a power of two): FNV-1a of its bytes, unseeded (it is on disk) */
export function chunkOf(m: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < m.length; i++) h = Math.imul(h ^ m.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (n - 1);
}

/** chunkOf of the member whose bytes are b[from, to) */
export function chunkOfBytes(b: Uint8Array, from: number, to: number, n: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h >>> 0) & (n - 1);
}

/**
 * The chunks `which` (all n when null) of a collection, each in the type's encode() format, built in
 * one pass over the members.
 */
export function encodeChunks(obj: Collection, n: number, which: ReadonlySet<number> | null): Map<number, Buffer> {
  switch (obj.type) {
    case ValueType.HASH:
      return (obj as HashValue).encodeChunks(n, which, chunkOfBytes);
    case ValueType.SET:
      return (obj as SetValue).encodeChunks(n, which, chunkOfBytes);
    case ValueType.ZSET: {
      // the members of each chunk asked for, gathered before each is encoded
      const parts = new Map<number, { members: string[]; scores: number[] }>();
      if (which === null) for (let c = 0; c < n; c++) parts.set(c, { members: [], scores: [] });
      else for (const c of which) parts.set(c, { members: [], scores: [] });
      for (let x = (obj as ZSetValue).first(); x !== null; x = x.next) {
        const part = parts.get(chunkOf(x.member, n));
        if (part === undefined) continue;
        part.members.push(x.member);
        part.scores.push(x.score);
      }
      const out = new Map<number, Buffer>();
      for (const [c, part] of parts) out.set(c, encodeZSetChunk(part.members, part.scores));
      return out;
    }
    default:
      throw new Error(`no chunks for type ${obj.type}`);
  }
}

/** a sorted set chunk's record: ZSetValue.encode()'s format for these members and scores */
function encodeZSetChunk(members: string[], scores: number[]): Buffer {
  let bytes = 8;
  for (const m of members) bytes += strBytes(m) + 8;
  const w = new Writer(bytes);
  w.u32(1); // not small: as ZSetValue.encode writes a large one
  w.u32(members.length);
  for (let i = 0; i < members.length; i++) {
    w.str(members[i]);
    w.f64(scores[i]);
  }
  return w.done();
}

/** adds the members of one chunk record to a collection of its type */
export function addChunk(obj: Collection, bytes: Buffer): void {
  switch (obj.type) {
    case ValueType.HASH:
      (obj as HashValue).addEncoded(bytes);
      return;
    case ValueType.SET:
      (obj as SetValue).addEncoded(bytes);
      return;
    case ValueType.ZSET: {
      const z = obj as ZSetValue;
      const r = new Reader(bytes);
      r.u32();
      for (let n = r.u32(); n > 0; n--) z.set(r.str(), r.f64());
      return;
    }
    default:
      throw new Error(`no chunks for type ${obj.type}`);
  }
}

/**
 * What the data record of a collection stored in chunks holds instead of its members: how many
 * members, how many chunks, and the bytes of all its chunk records (the cold tier's byte count).
 */
export interface ChunkedHead {
  size: number;
  chunks: number;
  bytes: number;
}

export const HEAD_BYTES = 16;

export function encodeHead(h: ChunkedHead): Buffer {
  const out = Buffer.allocUnsafe(HEAD_BYTES);
  out.writeUInt32LE(h.size, 0);
  out.writeUInt32LE(h.chunks, 4);
  out.writeDoubleLE(h.bytes, 8);
  return out;
}

export function decodeHead(value: Buffer, at = 0): ChunkedHead {
  return { size: value.readUInt32LE(at), chunks: headChunks(value, at), bytes: headBytes(value, at) };
}

/** the chunk count of the head at `at` */
export function headChunks(value: Buffer, at = 0): number {
  return value.readUInt32LE(at + 4);
}

/** the chunk bytes of the head at `at` */
export function headBytes(value: Buffer, at = 0): number {
  return value.readDoubleLE(at + 8);
}

/**
 * A collection below memory, read for a command that names its members: only the chunks of those
 * members are loaded, and `size` counts the members of the other chunks too (`outside`). Only the
 * commands that touch just the members they name (and ask for the size) are given one.
 */
export interface Partial extends Collection {
  outside: number;
}

export class PartialHash extends HashValue implements Partial {
  outside = 0;
  override get size(): number {
    return super.size + this.outside;
  }
}

export class PartialSet extends SetValue implements Partial {
  outside = 0;
  override get size(): number {
    return super.size + this.outside;
  }
}

export class PartialZSet extends ZSetValue implements Partial {
  outside = 0;
  constructor() {
    super(false);
  }
  override get size(): number {
    return super.size + this.outside;
  }
}

/** an empty partial collection of a chunkable type */
export function emptyPartial(type: number): Partial {
  return type === ValueType.HASH ? new PartialHash() : type === ValueType.SET ? new PartialSet() : new PartialZSet();
}

/** an empty collection of a chunkable type, to add chunks to */
export function emptyChunkable(type: number): Collection {
  return type === ValueType.HASH ? new HashValue() : type === ValueType.SET ? new SetValue() : new ZSetValue(false);
}

/** the members a chunk record holds */
export function chunkSize(bytes: Buffer, type: number): number {
  return bytes.readUInt32LE(type === ValueType.ZSET ? 4 : 0);
}
