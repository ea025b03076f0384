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

/** the chunk of a member among n (a power of two): FNV-1a of its bytes */
export function chunkOf(m: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < m.length; i++) h = Math.imul(h ^ m.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (n - 1);
}

/**
 * The chunks `which` (all n when null) of a collection, each in the type's encode() format, built in
 * one pass over the members.
 */
export function encodeChunks(obj: Collection, n: number, which: ReadonlySet<number> | null): Map<number, Buffer> {
  // the members of each chunk asked for, gathered before each is encoded (only those chunks' arrays)
  const parts = new Map<number, { members: string[]; values: (string | number)[] }>();
  if (which === null) for (let c = 0; c < n; c++) parts.set(c, { members: [], values: [] });
  else for (const c of which) parts.set(c, { members: [], values: [] });
  const take = (m: string, v: string | number): void => {
    const part = parts.get(chunkOf(m, n));
    if (part === undefined) return;
    part.members.push(m);
    part.values.push(v);
  };
  // a partial collection's size counts members it does not hold
  const held = 'outside' in obj ? obj.size - (obj as Partial).outside : obj.size;
  switch (obj.type) {
    case ValueType.HASH: {
      const h = obj as HashValue;
      for (let i = 0; i < held; i++) take(h.fieldAt(i), h.valueAt(i));
      break;
    }
    case ValueType.SET: {
      const s = obj as SetValue;
      for (let i = 0; i < held; i++) take(s.at(i), '');
      break;
    }
    case ValueType.ZSET:
      for (let x = (obj as ZSetValue).first(); x !== null; x = x.next) take(x.member, x.score);
      break;
    default:
      throw new Error(`no chunks for type ${obj.type}`);
  }
  const out = new Map<number, Buffer>();
  for (const [c, part] of parts) out.set(c, encodeChunk(obj.type, part.members, part.values));
  return out;
}

/** one chunk's record: the type's encode() format of these members (and values or scores) */
function encodeChunk(type: number, members: string[], values: (string | number)[]): Buffer {
  let bytes = type === ValueType.ZSET ? 8 : 4;
  for (let i = 0; i < members.length; i++) {
    bytes += strBytes(members[i]);
    if (type === ValueType.HASH) bytes += strBytes(values[i] as string);
    else if (type === ValueType.ZSET) bytes += 8;
  }
  const w = new Writer(bytes);
  if (type === ValueType.ZSET) w.u32(1); // not small: as ZSetValue.encode writes a large one
  w.u32(members.length);
  for (let i = 0; i < members.length; i++) {
    w.str(members[i]);
    if (type === ValueType.HASH) w.str(values[i] as string);
    else if (type === ValueType.ZSET) w.f64(values[i] as number);
  }
  return w.done();
}

/** adds the members of one chunk record to a collection of its type */
export function addChunk(obj: Collection, bytes: Buffer): void {
  const r = new Reader(bytes);
  switch (obj.type) {
    case ValueType.HASH: {
      const h = obj as HashValue;
      for (let n = r.u32(); n > 0; n--) h.set(r.str(), r.str());
      return;
    }
    case ValueType.SET: {
      const s = obj as SetValue;
      for (let n = r.u32(); n > 0; n--) s.add(r.str());
      return;
    }
    case ValueType.ZSET: {
      const z = obj as ZSetValue;
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
