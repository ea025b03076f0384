/**
 * The store's side of large lists stored in chunks of consecutive elements
 * (src/engine/collections/list-chunks.ts): a list in memory written in chunks (whole, or the chunks
 * its tracker says changed: list-tracker.ts) or read back from them, and
 * the partial read of the chunks a command reaches (an end, or one index) on a list below memory,
 * written back as the chunks it changed and a new head.
 *
 * As for hashes (chunked.ts), the chunks on disk overlaid with those of the put queued for the key are
 * one whole list; the head lists the chunk ids that make it up, so a batch writes only the chunks its
 * head lists and removes the ids the new head no longer lists (batch.ts).
 */
import { addListChunk, decodeListHead, entryCount, entryId, type ListHead, type ListReach, ListRun, PartialList } from '../engine/collections/list-chunks.js';
import { ListValue, listSpan } from '../engine/collections/list.js';
import { ValueType } from '../engine/collections/types.js';
import type { ListTracker } from './list-tracker.js';
import { chunkedPutOp, type PutOp } from './ops.js';

/** a chunk's record, read through the put queued for the key (chunked.ts) */
export type ChunkReader = (key: Buffer, id: number, op: PutOp | undefined) => Buffer | undefined;

/** a list below memory read in part for a command, and what writing it back needs */
export interface ListPartialRead {
  readonly obj: PartialList;
  readonly run: ListRun;
  readonly flags: number;
  readonly expiresAt: number;
}

export class ChunkedLists {
  constructor(
    private readonly chunk: ChunkReader,
    /** elements per chunk */
    private readonly perChunk: number,
  ) {}

  /** the whole list of a record in chunks (`head` its value); each chunk's record bytes, in head order, pushed onto `sizes` */
  load(key: Buffer, head: Buffer, op: PutOp | undefined, sizes?: number[]): ListValue {
    const h = decodeListHead(head);
    const l = new ListValue();
    for (let p = 0; p < h.chunks; p++) {
      const bytes = this.chunk(key, entryId(h, p), op);
      sizes?.push(bytes?.length ?? 0);
      if (bytes !== undefined) addListChunk(l, bytes);
    }
    return l;
  }

  /** the put of a list in memory: the head and the chunks its tracker says changed, or all of them split again */
  put(key: Buffer, l: ListValue, t: ListTracker, flags: number, expiresAt: number, cas: number): PutOp {
    const { head, chunks, partial } = t.write(l, this.perChunk);
    return chunkedPutOp(key, head, flags, expiresAt, cas, ValueType.LIST, chunks, partial);
  }

  /** the chunks of a record in chunks below memory that `reach` needs, as a partial list */
  readPartial(key: Buffer, head: Buffer, op: PutOp | undefined, reach: ListReach, flags: number, expiresAt: number): ListPartialRead {
    const h = decodeListHead(head);
    const size = h.size;
    // the run of chunk positions [from, to) to read
    let from = 0;
    let to = 0;
    switch (reach.kind) {
      case 'size':
        break;
      case 'push': {
        // the end chunk, if it has room (a full one is left as it is: the pushes start a new chunk)
        const p = reach.left ? 0 : h.chunks - 1;
        if (h.chunks > 0 && entryCount(h, p) < this.perChunk) {
          from = p;
          to = p + 1;
        } else from = to = reach.left ? 0 : h.chunks;
        break;
      }
      case 'pop':
        [from, to] = this.popRun(h, reach.left, Math.min(reach.count, size));
        break;
      case 'trim': {
        // what it drops at one end is a pop of as many there; at both, every chunk is read (the
        // ones it keeps whole are written again with the run)
        const kept = listSpan(reach.start, reach.stop, size);
        const left = kept === null ? size : kept[0];
        const right = kept === null ? 0 : size - 1 - kept[1];
        if (left > 0 && right > 0) to = h.chunks;
        else if (left + right > 0) [from, to] = this.popRun(h, left > 0, left + right);
        break;
      }
      case 'index': {
        const i = reach.index < 0 ? size + reach.index : reach.index;
        if (i < 0 || i >= size) break;
        let start = 0;
        while (start + entryCount(h, from) <= i) start += entryCount(h, from++);
        to = from + 1;
        break;
      }
    }
    let before = 0;
    for (let p = 0; p < from; p++) before += entryCount(h, p);
    const l = new PartialList();
    const recordBytes: number[] = [];
    for (let p = from; p < to; p++) {
      const bytes = this.chunk(key, entryId(h, p), op);
      recordBytes.push(bytes?.length ?? 0);
      if (bytes !== undefined) l.fill(bytes);
    }
    l.before = before;
    l.after = size - before - l.heldCount;
    return { obj: l, run: new ListRun(h, from, to, recordBytes), flags, expiresAt };
  }

  /** the run of chunk positions [from, to) that holds the `n` elements at one end */
  private popRun(h: ListHead, left: boolean, n: number): [number, number] {
    let got = 0;
    if (left) {
      let to = 0;
      while (got < n) got += entryCount(h, to++);
      return [0, to];
    }
    let from = h.chunks;
    while (got < n) got += entryCount(h, --from);
    return [from, h.chunks];
  }

  /** the put of a partial list a command changed: the chunks of its run that changed, new ones, and a new head */
  partialPut(key: Buffer, p: ListPartialRead, cas: number): PutOp {
    const { head, chunks } = p.run.rewrite(p.obj, this.perChunk);
    return chunkedPutOp(key, head, p.flags, p.expiresAt, cas, ValueType.LIST, chunks, true);
  }
}
