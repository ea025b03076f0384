/**
 * The store's side of collections stored in chunks (src/engine/collections/chunks.ts; the records in
 * src/store/format.ts): the puts that write a collection whole or as the chunks it changed, the
 * whole collection read back from its chunks, and the partial read of the chunks of named members
 * for a command on a collection below memory.
 *
 * The chunks on disk, overlaid with those of the put queued for the key (the writeback queue keeps
 * one per key and carries the chunks of a replaced put into its successor: ops.ts carryChunks), are
 * always one whole collection. A put of some chunks builds on that: it comes from a collection read
 * from them (its tracker) or from a partial read of them.
 */
import {
  addChunk,
  chunkable,
  chunkCount,
  chunkOf,
  emptyChunkable,
  emptyPartial,
  encodeChunks,
  encodeHead,
  headBytes,
  headChunks,
  outgrown,
  type Partial,
} from '../engine/collections/chunks.js';
import type { ListValue } from '../engine/collections/list.js';
import { type Collection, ValueType } from '../engine/collections/types.js';
import { type ChangeTracker, ChunkTracker } from './collections.js';
import { chunkKey } from './format.js';
import { ChunkedLists } from './list-chunked.js';
import { ListTracker } from './list-tracker.js';
import { chunkedPutOp, type Op, OP_PUT, type PutOp, putOp } from './ops.js';

/** what the chunks are read from */
export interface ChunkDisk {
  read(key: Buffer): Buffer | undefined;
  /** the key's op in the batch being written, if any (a put queued for the key stands in front of it) */
  writing(key: Buffer): Op | undefined;
}

/** a partial collection read for a command, and what writing it back needs */
export interface PartialRead {
  readonly obj: Partial;
  readonly type: number;
  /** the collection's chunk count */
  readonly n: number;
  /** the chunks read, with their record bytes then (0: absent) */
  readonly loaded: Map<number, number>;
  /** the head's chunk bytes */
  readonly chunkBytes: number;
  readonly flags: number;
  readonly expiresAt: number;
}

export class ChunkedCollections {
  /** the generation of the newest change to a collection in memory (ChunkTracker) */
  gen = 0;
  /** chunk records read from disk */
  reads = 0;
  /** lists in chunks (of consecutive elements, not split by member) */
  readonly lists: ChunkedLists;

  constructor(
    private readonly disk: ChunkDisk,
    /** members per chunk; a collection is stored in chunks from four times as many */
    private readonly perChunk: number,
  ) {
    this.lists = new ChunkedLists((key, id, op) => this.chunk(key, id, op), perChunk);
  }

  /**
   * chunk i of the collection at key: from the put queued for it when that carries it, else from the
   * put of the batch being written under it, else from disk. A put queued while a batch writes the
   * key does not carry that batch's chunks (they reach the disk when it commits, or are carried into
   * the queued put if it fails), so until then they are only there.
   */
  private chunk(key: Buffer, i: number, op: PutOp | undefined): Buffer | undefined {
    if (op !== undefined && op.chunks !== null) {
      const queued = op.chunks.get(i);
      if (queued !== undefined || !op.partial) return queued;
      const w = this.under(key, op);
      if (w !== undefined) {
        const writing = w.chunks!.get(i);
        if (writing !== undefined || !w.partial) return writing;
      }
    }
    this.reads++;
    return this.disk.read(chunkKey(key, i));
  }

  /** the put of chunks of the batch being written that the partial put `op` queued for key builds on */
  private under(key: Buffer, op: PutOp): PutOp | undefined {
    if (!op.partial) return undefined;
    const w = this.disk.writing(key);
    return w !== undefined && w !== op && w.kind === OP_PUT && w.chunks !== null ? w : undefined;
  }

  /**
   * The whole collection of a record in chunks (`head` its value; `op` the put queued for it, if
   * any), with the tracker it has in memory: the chunks not yet on disk count as changed, since a
   * change to it replaces the queued put with its own.
   */
  load(key: Buffer, type: number, head: Buffer, op: PutOp | undefined): { obj: Collection; tracker: ChangeTracker } {
    // the chunks of the batch being written count as changed too: if it fails, its ops are queued
    // again behind the change this collection's next write queues, which replaces them
    const w = op === undefined ? undefined : this.under(key, op);
    if (type === ValueType.LIST) return this.loadList(key, head, op, w);
    const n = headChunks(head);
    const obj = emptyChunkable(type);
    const t = new ChunkTracker(n);
    for (let i = 0; i < n; i++) {
      const bytes = this.chunk(key, i, op);
      if (bytes === undefined) continue;
      addChunk(obj, bytes);
      t.sizes[i] = bytes.length;
      if (op?.chunks?.has(i) || w?.chunks?.has(i)) t.dirty.set(i, ++this.gen);
    }
    if ((op !== undefined && op.chunks !== null && !op.partial) || (w !== undefined && !w.partial)) t.all = ++this.gen;
    return { obj, tracker: t };
  }

  /** load() of a list: its tracker starts from the head it was read with, the chunks not yet on disk changed */
  private loadList(key: Buffer, head: Buffer, op: PutOp | undefined, w: PutOp | undefined): { obj: ListValue; tracker: ListTracker } {
    const sizes: number[] = [];
    const obj = this.lists.load(key, head, op, sizes);
    const t = ListTracker.fromHead(head, sizes);
    // ids the head no longer lists are never written: marking them is harmless
    if (op !== undefined && op.chunks !== null) for (const id of op.chunks.keys()) t.dirty.set(id, ++this.gen);
    if (w !== undefined && w.chunks !== null) for (const id of w.chunks.keys()) t.dirty.set(id, ++this.gen);
    if ((op !== undefined && op.chunks !== null && !op.partial) || (w !== undefined && !w.partial)) t.all = ++this.gen;
    return { obj, tracker: t };
  }

  /**
   * The put of a collection: in one record while small, else in chunks; with a tracker (it was read
   * from its chunks, or written in them before), only the chunks it says changed. Once in chunks a
   * collection stays so down to half the size it went in at, so that one near the bound is not
   * rewritten whole by every change. Returns the tracker to keep with the collection.
   */
  put(
    key: Buffer,
    obj: Collection,
    tracker: ChangeTracker | null,
    flags: number,
    expiresAt: number,
    cas: number,
    type: number,
  ): { op: PutOp; tracker: ChangeTracker | null } {
    const min = 4 * this.perChunk;
    const list = type === ValueType.LIST;
    if (!(list || chunkable(type)) || obj.size < (tracker === null ? min : min / 2))
      return { op: putOp(key, obj.encode(), flags, expiresAt, cas, null, type), tracker: null };
    if (list) {
      let lt = tracker instanceof ListTracker ? tracker : null;
      if (lt === null) {
        // new to chunks in memory: written whole first
        lt = new ListTracker();
        lt.all = ++this.gen;
      } else if (lt.all === 0 && lt.size !== obj.size) lt.all = ++this.gen; // out of step: written whole, as if marked so
      const op = this.lists.put(key, obj as ListValue, lt, flags, expiresAt, cas);
      op.gen = this.gen;
      return { op, tracker: lt };
    }
    let t = tracker instanceof ChunkTracker ? tracker : null;
    if (t === null || outgrown(obj.size, t.n, this.perChunk)) {
      t = new ChunkTracker(chunkCount(obj.size, this.perChunk));
      t.all = ++this.gen;
    }
    const full = t.all !== 0;
    const chunks = encodeChunks(obj, t.n, full ? null : new Set(t.dirty.keys()));
    for (const [i, bytes] of chunks) t.sizes[i] = bytes.length;
    const op = chunkedPutOp(key, encodeHead({ size: obj.size, chunks: t.n, bytes: t.bytes() }), flags, expiresAt, cas, type, chunks, !full);
    op.gen = this.gen;
    return { op, tracker: t };
  }

  /** a put that changes only the expiry of a record in chunks (its head) */
  expiryPut(key: Buffer, head: Buffer, flags: number, expiresAt: number, cas: number, type: number): PutOp {
    return chunkedPutOp(key, Buffer.from(head), flags, expiresAt, cas, type, new Map(), true);
  }

  /** the chunks of `members` of a record in chunks below memory, as a partial collection */
  readPartial(key: Buffer, type: number, head: Buffer, op: PutOp | undefined, members: readonly string[], flags: number, expiresAt: number): PartialRead {
    const n = headChunks(head);
    const obj = emptyPartial(type);
    const loaded = new Map<number, number>();
    for (const m of members) {
      const i = chunkOf(m, n);
      if (loaded.has(i)) continue;
      const bytes = this.chunk(key, i, op);
      loaded.set(i, bytes?.length ?? 0);
      if (bytes !== undefined) addChunk(obj, bytes);
    }
    obj.outside = head.readUInt32LE(0) - obj.size;
    return { obj, type, n, loaded, chunkBytes: headBytes(head), flags, expiresAt };
  }

  /** the put of a partial collection a command changed: the chunks it read, rewritten, and a new head */
  partialPut(key: Buffer, p: PartialRead, cas: number): PutOp {
    const chunks = encodeChunks(p.obj, p.n, new Set(p.loaded.keys()));
    let bytes = p.chunkBytes;
    for (const [i, b] of chunks) bytes += b.length - (p.loaded.get(i) ?? 0);
    return chunkedPutOp(key, encodeHead({ size: p.obj.size, chunks: p.n, bytes }), p.flags, p.expiresAt, cas, p.type, chunks, true);
  }
}
