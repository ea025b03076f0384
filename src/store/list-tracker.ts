/**
 * The chunk layout of a large list in memory and which of its chunks changed since they were last
 * written, so that a spill or writeback batch writes the head and those chunks only, not the whole
 * list. The layout is what the list's head on disk holds (src/engine/collections/list-chunks.ts):
 * chunk ids with their element counts in list order, and the next free id; each chunk's record bytes
 * as last written give the head's byte count.
 *
 * A change keeps the layout in step with the list the way a list below memory is rewritten in part
 * (ListRun): pushes fill the end chunk up to `perChunk` elements and then add chunks with fresh ids,
 * pops (and a trim, a pop at each end) shrink the end chunks and drop the emptied ones, an index
 * write changes the one chunk holding it. Any other change (an insert, a removal from the middle)
 * marks the whole list (`all`): its next write splits it again evenly, ids from 0, as a list
 * written whole always is.
 */
import { type ListValue, listSpan } from '../engine/collections/list.js';
import {
  decodeListHead,
  encodeListChunk,
  encodeListHead,
  entryCount,
  entryId,
  LIST_ENTRY_BYTES,
  type ListReach,
  splitList,
} from '../engine/collections/list-chunks.js';
import { ChangeTracker } from './collections.js';

export class ListTracker extends ChangeTracker {
  /** the chunks in list order: id, element count, record bytes as last written (0 before) */
  private ids: number[] = [];
  private counts: number[] = [];
  private sizes: number[] = [];
  private nextId = 0;
  /** the elements the layout holds (the list's size while it is in step with it) */
  size = 0;

  /** the layout of a head read from disk (or from the put queued for it); `sizes`: each chunk's record bytes, in head order */
  static fromHead(head: Buffer, sizes: readonly number[]): ListTracker {
    const t = new ListTracker();
    const h = decodeListHead(head);
    for (let p = 0; p < h.chunks; p++) {
      t.ids.push(entryId(h, p));
      t.counts.push(entryCount(h, p));
      t.sizes.push(sizes[p] ?? 0);
      t.size += entryCount(h, p);
    }
    t.nextId = h.nextId;
    return t;
  }

  /** chunks in the layout */
  get chunks(): number {
    return this.ids.length;
  }

  /**
   * After a command changed the list `l` (now `l.size` elements) reaching only `reach` of it (null:
   * any of it): the chunks that changed are marked with generation `gen`, or the whole list when the
   * change is not one an end or an index explains.
   */
  changed(l: ListValue, reach: ListReach | null, perChunk: number, gen: number): void {
    const d = l.size - this.size;
    if (reach !== null) {
      if (reach.kind === 'push' && d >= 0) {
        this.pushed(d, reach.left, perChunk, gen);
        return;
      }
      if (reach.kind === 'pop' && d <= 0 && -d <= reach.count && this.popped(-d, reach.left, gen)) return;
      if (reach.kind === 'index' && d === 0) {
        const i = reach.index < 0 ? l.size + reach.index : reach.index;
        if (i >= 0 && i < l.size) this.indexed(i, gen);
        return;
      }
      if (reach.kind === 'trim') {
        // what it kept of the elements before (the layout's, while in step): both ends popped
        const kept = listSpan(reach.start, reach.stop, this.size);
        if (kept !== null && kept[1] - kept[0] + 1 === l.size && this.popped(this.size - 1 - kept[1], false, gen) && this.popped(kept[0], true, gen)) return;
      }
    }
    // the layout no longer says where the elements are: the next write splits the list again (and
    // until then what the layout says does not matter)
    this.all = gen;
  }

  private pushed(n: number, left: boolean, perChunk: number, gen: number): void {
    this.size += n;
    const end = left ? 0 : this.ids.length - 1;
    if (n > 0 && end >= 0 && this.counts[end] < perChunk) {
      const take = Math.min(n, perChunk - this.counts[end]);
      this.counts[end] += take;
      this.dirty.set(this.ids[end], gen);
      n -= take;
    }
    // new chunks, the outermost one partly full (as ListRun writes the pushes to a list below memory)
    for (; n > 0; ) {
      const c = Math.min(n, perChunk);
      const id = this.nextId++;
      if (left) {
        this.ids.unshift(id);
        this.counts.unshift(c);
        this.sizes.unshift(0);
      } else {
        this.ids.push(id);
        this.counts.push(c);
        this.sizes.push(0);
      }
      this.dirty.set(id, gen);
      n -= c;
    }
  }

  /** false when the layout holds fewer than n elements (it is not in step with the list) */
  private popped(n: number, left: boolean, gen: number): boolean {
    if (n > this.size) return false;
    this.size -= n;
    while (n > 0) {
      const end = left ? 0 : this.ids.length - 1;
      const take = Math.min(n, this.counts[end]);
      this.counts[end] -= take;
      n -= take;
      const id = this.ids[end];
      if (this.counts[end] > 0) {
        this.dirty.set(id, gen);
        continue;
      }
      // emptied: it leaves the head, and the batch deletes its record
      this.dirty.delete(id);
      if (left) {
        this.ids.shift();
        this.counts.shift();
        this.sizes.shift();
      } else {
        this.ids.pop();
        this.counts.pop();
        this.sizes.pop();
      }
    }
    return true;
  }

  private indexed(i: number, gen: number): void {
    let p = 0;
    for (let start = 0; start + this.counts[p] <= i; p++) start += this.counts[p];
    this.dirty.set(this.ids[p], gen);
  }

  /**
   * The head and the chunk records of a write of `l`: every chunk, split again evenly, when the
   * whole list is marked (or the layout is not in step with it), else the chunks that changed.
   * `partial` says which.
   */
  write(l: ListValue, perChunk: number): { head: Buffer; chunks: Map<number, Buffer>; partial: boolean } {
    if (this.all !== 0 || this.size !== l.size) return { ...this.split(l, perChunk), partial: false };
    const n = this.ids.length;
    const entries = Buffer.allocUnsafe(n * LIST_ENTRY_BYTES);
    const chunks = new Map<number, Buffer>();
    const get = (i: number): string => l.at(i);
    let bytes = 0;
    for (let p = 0, start = 0; p < n; start += this.counts[p], p++) {
      const id = this.ids[p];
      if (this.dirty.has(id)) {
        const rec = encodeListChunk(get, start, start + this.counts[p]);
        chunks.set(id, rec);
        this.sizes[p] = rec.length;
      }
      bytes += this.sizes[p];
      entries.writeUInt32LE(id, p * LIST_ENTRY_BYTES);
      entries.writeUInt32LE(this.counts[p], p * LIST_ENTRY_BYTES + 4);
    }
    return { head: encodeListHead(this.size, bytes, this.nextId, entries), chunks, partial: true };
  }

  /** the whole list split evenly, which the layout becomes */
  private split(l: ListValue, perChunk: number): { head: Buffer; chunks: Map<number, Buffer> } {
    const out = splitList(l, perChunk);
    const n = out.chunks.size;
    this.ids = new Array<number>(n);
    this.counts = new Array<number>(n);
    this.sizes = new Array<number>(n);
    for (let p = 0; p < n; p++) {
      this.ids[p] = p;
      this.counts[p] = Math.min(perChunk, l.size - p * perChunk);
      this.sizes[p] = out.chunks.get(p)!.length;
    }
    this.nextId = n;
    this.size = l.size;
    // every chunk is in this write: changes from now on are against this layout
    this.dirty.clear();
    return out;
  }
}
