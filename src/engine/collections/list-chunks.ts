/**
 * Large lists stored on disk in chunks of consecutive elements, in list order. A list's order is its
 * positions, not a hash of its elements, so its chunks are not found by member (chunks.ts) but from
 * its head: the element count of each chunk in order. A command that reaches only an end of the list
 * or one index (ListReach) then reads the head and the chunks it needs, and writes back those chunks
 * and a new head.
 *
 * Head (the data record's value, record version 2), little-endian: the 16 bytes every head in chunks
 * starts with (chunks.ts: element count, chunk count, chunk record bytes), then u32 nextId, then per
 * chunk in list order u32 id | u32 element count. Ids are not positions: a push past a full end chunk
 * adds a chunk with a fresh id (nextId), so no other chunk is renamed or rewritten. A chunk record
 * (chunkKey(key, id)) holds its elements in ListValue's encode() format.
 */
import { CairnError, ErrorCode } from '../../errors.js';
import { HEAD_BYTES } from './chunks.js';
import { ListValue } from './list.js';
import { strBytes, Writer } from './types.js';

/**
 * What of a list a command reaches, so that a large list below memory is read in part:
 * - size: its length alone (LLEN);
 * - push: pushes at one end (LPUSH RPUSH LPUSHX RPUSHX);
 * - pop: up to `count` elements taken from one end (LPOP RPOP);
 * - index: the element at one index, negative from the end (LINDEX LSET);
 * - trim: what LTRIM keeps, by Redis' range rule: both ends may shorten. Below memory, a trim of one
 *   end reads the chunks that end loses, as a pop of as many; a trim of both reads every chunk.
 */
export type ListReach =
  | { readonly kind: 'size' }
  | { readonly kind: 'push'; readonly left: boolean }
  | { readonly kind: 'pop'; readonly left: boolean; readonly count: number }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'trim'; readonly start: number; readonly stop: number };

/** the head's bytes before its chunk entries */
export const LIST_HEAD_BYTES = HEAD_BYTES + 4;
/** a head's bytes per chunk (id, element count) */
export const LIST_ENTRY_BYTES = 8;

/** a list head decoded: the entries are views of the head's bytes, in list order */
export interface ListHead {
  size: number;
  /** chunk record bytes, all chunks together */
  bytes: number;
  nextId: number;
  chunks: number;
  /** the head's bytes */
  raw: Buffer;
}

export function decodeListHead(raw: Buffer, at = 0): ListHead {
  return {
    size: raw.readUInt32LE(at),
    chunks: raw.readUInt32LE(at + 4),
    bytes: raw.readDoubleLE(at + 8),
    nextId: raw.readUInt32LE(at + 16),
    raw: at === 0 ? raw : raw.subarray(at),
  };
}

/** the id of the head's chunk at position p (0: the left end) */
export function entryId(h: ListHead, p: number): number {
  return h.raw.readUInt32LE(LIST_HEAD_BYTES + p * LIST_ENTRY_BYTES);
}

/** the element count of the head's chunk at position p */
export function entryCount(h: ListHead, p: number): number {
  return h.raw.readUInt32LE(LIST_HEAD_BYTES + p * LIST_ENTRY_BYTES + 4);
}

/** a head of `size` elements and `bytes` chunk bytes with these chunk entries (id, count pairs) */
export function encodeListHead(size: number, bytes: number, nextId: number, entries: Buffer): Buffer {
  const out = Buffer.allocUnsafe(LIST_HEAD_BYTES + entries.length);
  out.writeUInt32LE(size, 0);
  out.writeUInt32LE(entries.length / LIST_ENTRY_BYTES, 4);
  out.writeDoubleLE(bytes, 8);
  out.writeUInt32LE(nextId, 16);
  entries.copy(out, LIST_HEAD_BYTES);
  return out;
}

/** the chunk ids a head lists, in list order */
export function listHeadIds(raw: Buffer, at = 0): number[] {
  const h = decodeListHead(raw, at);
  const out = new Array<number>(h.chunks);
  for (let p = 0; p < h.chunks; p++) out[p] = entryId(h, p);
  return out;
}

/** one chunk record: elements from..to-1 of `get`, in ListValue's encode() format */
export function encodeListChunk(get: (i: number) => string, from: number, to: number): Buffer {
  let n = 4;
  for (let i = from; i < to; i++) n += strBytes(get(i));
  const w = new Writer(n);
  w.u32(to - from);
  for (let i = from; i < to; i++) w.str(get(i));
  return w.done();
}

/** each element of one chunk record, in order */
function eachElement(bytes: Buffer, fn: (s: string) => void): void {
  let at = 4;
  for (let n = bytes.readUInt32LE(0); n > 0; n--) {
    const len = bytes.readUInt32LE(at);
    at += 4;
    fn(bytes.toString('latin1', at, at + len));
    at += len;
  }
}

/** adds the elements of one chunk record at the right end of a list */
export function addListChunk(l: ListValue, bytes: Buffer): void {
  eachElement(bytes, (s) => l.push(s, false));
}

/** a whole list split into chunks of `perChunk` consecutive elements, ids 0.. in order */
export function splitList(l: ListValue, perChunk: number): { head: Buffer; chunks: Map<number, Buffer> } {
  const size = l.size;
  const n = Math.ceil(size / perChunk);
  const entries = Buffer.allocUnsafe(n * LIST_ENTRY_BYTES);
  const chunks = new Map<number, Buffer>();
  const get = (i: number): string => l.at(i);
  let bytes = 0;
  for (let c = 0; c < n; c++) {
    const from = c * perChunk;
    const to = Math.min(size, from + perChunk);
    const rec = encodeListChunk(get, from, to);
    chunks.set(c, rec);
    bytes += rec.length;
    entries.writeUInt32LE(c, c * LIST_ENTRY_BYTES);
    entries.writeUInt32LE(to - from, c * LIST_ENTRY_BYTES + 4);
  }
  return { head: encodeListHead(size, bytes, n, entries), chunks };
}

/**
 * A list below memory read in part: it holds one run of consecutive elements (the chunks a ListReach
 * needed), `before` and `after` count the elements outside it, and indexes are the whole list's. It
 * takes pushes and pops only at an end its run reaches, and remembers them, so that writing it back
 * (ListRun.rewrite) keeps the chunks it did not change. Its bytes are only in chunks: encode() refuses.
 */
export class PartialList extends ListValue {
  before = 0;
  after = 0;
  /** elements pushed at each end since it was read, and elements it was read with popped from each */
  addedLeft = 0;
  addedRight = 0;
  droppedLeft = 0;
  droppedRight = 0;

  override get size(): number {
    return super.size + this.before + this.after;
  }
  /** the elements it holds */
  get heldCount(): number {
    return super.size;
  }
  /** adds the elements of a chunk record after those it holds, as read (not a push) */
  fill(bytes: Buffer): void {
    eachElement(bytes, (s) => super.push(s, false));
  }
  /** its held element j (0: the first it holds) */
  heldAt(j: number): string {
    return super.at(j);
  }

  override at(i: number): string {
    return super.at(i - this.before);
  }
  override set(i: number, s: string): void {
    super.set(i - this.before, s);
  }
  override push(s: string, left: boolean): void {
    this.reaches(left);
    super.push(s, left);
    if (left) this.addedLeft++;
    else this.addedRight++;
  }
  override pop(left: boolean): string | undefined {
    this.reaches(left);
    const s = super.pop(left);
    if (s === undefined) return s;
    if (left) {
      if (this.addedLeft > 0) this.addedLeft--;
      else this.droppedLeft++;
    } else if (this.addedRight > 0) this.addedRight--;
    else this.droppedRight++;
    return s;
  }
  override encode(): Buffer {
    throw new CairnError(ErrorCode.INTERNAL, 'a list read in part has no whole encoding');
  }

  private reaches(left: boolean): void {
    if ((left ? this.before : this.after) !== 0) throw new CairnError(ErrorCode.INTERNAL, 'a list read in part changed at an end it was not read at');
  }
}

/**
 * The run of chunks a partial list was read with (positions `from`..`to`-1 of the head), and how it is
 * written back: the chunks still holding elements of it, with pushes filling the end chunk up to
 * perChunk and then new chunks (fresh ids, the outermost one partly full), and the head with the run
 * replaced. Chunks before and after the run are not touched.
 */
export class ListRun {
  constructor(
    readonly head: ListHead,
    readonly from: number,
    readonly to: number,
    /** the record bytes of each chunk of the run as read */
    readonly recordBytes: readonly number[],
  ) {}

  /** the chunks to write (by id) and the new head, for the list `l` read with this run */
  rewrite(l: PartialList, perChunk: number): { head: Buffer; chunks: Map<number, Buffer> } {
    const h = this.head;
    const ids: number[] = [];
    const counts: number[] = [];
    for (let p = this.from; p < this.to; p++) {
      ids.push(entryId(h, p));
      counts.push(entryCount(h, p));
    }
    for (let d = l.droppedLeft; d > 0; ) {
      const take = Math.min(d, counts[0]);
      counts[0] -= take;
      d -= take;
      if (counts[0] === 0) {
        counts.shift();
        ids.shift();
      }
    }
    for (let d = l.droppedRight; d > 0; ) {
      const last = counts.length - 1;
      const take = Math.min(d, counts[last]);
      counts[last] -= take;
      d -= take;
      if (counts[last] === 0) {
        counts.pop();
        ids.pop();
      }
    }
    let nextId = h.nextId;
    // pushes fill the end chunk they were pushed next to (read only when it had room), then new chunks
    let a = l.addedLeft;
    if (a > 0 && counts.length > 0) {
      const take = Math.min(a, Math.max(0, perChunk - counts[0]));
      counts[0] += take;
      a -= take;
    }
    for (; a > 0; ) {
      const c = Math.min(a, perChunk);
      ids.unshift(nextId++);
      counts.unshift(c);
      a -= c;
    }
    a = l.addedRight;
    if (a > 0 && counts.length > 0) {
      const last = counts.length - 1;
      const take = Math.min(a, Math.max(0, perChunk - counts[last]));
      counts[last] += take;
      a -= take;
    }
    for (; a > 0; ) {
      const c = Math.min(a, perChunk);
      ids.push(nextId++);
      counts.push(c);
      a -= c;
    }
    const chunks = new Map<number, Buffer>();
    const get = (j: number): string => l.heldAt(j);
    let bytes = h.bytes;
    for (const b of this.recordBytes) bytes -= b;
    const run = Buffer.allocUnsafe(ids.length * LIST_ENTRY_BYTES);
    for (let c = 0, j = 0; c < ids.length; j += counts[c], c++) {
      const rec = encodeListChunk(get, j, j + counts[c]);
      chunks.set(ids[c], rec);
      bytes += rec.length;
      run.writeUInt32LE(ids[c], c * LIST_ENTRY_BYTES);
      run.writeUInt32LE(counts[c], c * LIST_ENTRY_BYTES + 4);
    }
    const entries = Buffer.concat([
      h.raw.subarray(LIST_HEAD_BYTES, LIST_HEAD_BYTES + this.from * LIST_ENTRY_BYTES),
      run,
      h.raw.subarray(LIST_HEAD_BYTES + this.to * LIST_ENTRY_BYTES, LIST_HEAD_BYTES + h.chunks * LIST_ENTRY_BYTES),
    ]);
    return { head: encodeListHead(l.size, bytes, nextId, entries), chunks };
  }
}
