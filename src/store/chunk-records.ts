/**
 * Which chunk records a data record in chunks owns (docs/storage.md, "Large collections in chunks"):
 * a hash's, set's or sorted set's chunks 0..n-1, or the chunk ids a list's head lists (with their
 * element counts). Shared by the disk check (maintenance.ts) and the rebuild of the bookkeeping
 * (repair.ts), which removes the chunks no record owns.
 */
import { decodeListHead, entryCount, entryId } from '../engine/collections/list-chunks.js';
import { headChunks } from '../engine/collections/chunks.js';
import { ValueType } from '../engine/collections/types.js';
import { HEADER_SIZE, recordType, recordValue } from './format.js';

export interface OwnedChunks {
  /** the head's chunk count */
  chunks: number;
  /** a list's chunk ids and their element counts; null: chunks 0..chunks-1 */
  ids: Map<number, number> | null;
}

/** the chunks a data record in chunks owns */
export function ownedChunks(rec: Buffer): OwnedChunks {
  if (recordType(rec) !== ValueType.LIST) return { chunks: headChunks(rec, HEADER_SIZE), ids: null };
  const h = decodeListHead(recordValue(rec));
  const ids = new Map<number, number>();
  for (let p = 0; p < h.chunks; p++) ids.set(entryId(h, p), entryCount(h, p));
  if (ids.size !== h.chunks) throw new Error('a list head lists a chunk id twice');
  return { chunks: h.chunks, ids };
}

/** does the record own chunk n */
export function owns(o: OwnedChunks, n: number): boolean {
  return o.ids === null ? n < o.chunks : o.ids.has(n);
}
