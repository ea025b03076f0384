/**
 * Builds one writeback batch, without LevelDB: the queued ops and the disk records they replace in,
 * the LevelDB writes out (data records, the expiry and access index entries that point at them, the
 * meta record) together with the new cold-tier counts. The caller reads the old records, feeds the
 * ops one at a time (it may yield to the event loop between them) and writes what the sink got as
 * one atomic batch; until then the store's own counts are untouched, so a batch that fails changes
 * nothing.
 *
 * The index entries stay exact because every op knows the record it replaces: its expiry entry and
 * access position are removed with it, in the same batch.
 */
import { KeyEvent } from '../events/codes.js';
import { headBytes, headChunks } from '../engine/collections/chunks.js';
import { listHeadIds } from '../engine/collections/list-chunks.js';
import { ValueType } from '../engine/collections/types.js';
import {
  accessKey,
  checkRecord,
  chunkKey,
  encodeRecord,
  expiryKey,
  HEADER_SIZE,
  META_KEY,
  recordBytes,
  recordCas,
  recordChunked,
  recordChunks,
  recordExpiresAt,
  recordFlags,
  recordSeq,
  recordType,
  recordValue,
  recordValueLength,
  writeRecordHeader,
} from './format.js';
import { type DirtyOp, type Op, OP_DEL, OP_DIRTY, OP_DROP, OP_EXPIRE_DUE, OP_PUT, PRIOR_NONE, PRIOR_UNKNOWN, type PutOp } from './ops.js';

/** Where the writes go: a LevelDB chained batch in the store, a recorder in tests. */
export interface BatchSink {
  put(key: Buffer, value: Buffer): unknown;
  del(key: Buffer): unknown;
}

/** What the builder needs of the hot tier. */
export interface HotView {
  /** The key's live in-memory entry as a put of its current value, or null when memory no longer holds it. */
  snapshot(key: Buffer): PutOp | null;
  /** Does memory hold the key (so it was used recently)? */
  holds(key: Buffer): boolean;
}

export interface BatchRules {
  /** keep the access index (only with a cold limit) */
  indexAccess: boolean;
  /** cold-tier limits (0: none) */
  coldMaxItems: number;
  coldMaxBytes: number;
}

/** The cold tier's counts before the batch. */
export interface ColdCounts {
  items: number;
  bytes: number;
  /** the last access position handed out */
  accessSeq: number;
}

/** A key to announce once the batch is on disk. */
export interface BatchEvent {
  code: number;
  key: Buffer;
}

const ZERO = Buffer.alloc(0);
/** a rewrite of a record in chunks that leaves its chunks as they are */
const KEEP_CHUNKS: ReadonlyMap<number, Buffer> = new Map();

export function overColdLimits(rules: BatchRules, items: number, bytes: number): boolean {
  return (rules.coldMaxItems > 0 && items > rules.coldMaxItems) || (rules.coldMaxBytes > 0 && bytes > rules.coldMaxBytes);
}

export class BatchBuilder {
  /** cold items, bytes and access position once the batch commits */
  items: number;
  bytes: number;
  accessSeq: number;
  /** records removed because their expiry passed, and dropped by the cold limits */
  expired = 0;
  dropped = 0;
  /** LevelDB writes in the sink so far */
  writes = 0;
  /** the snapshots taken of dirty ops: each entry is clean once the batch commits, if unchanged since */
  readonly snapshots: PutOp[] = [];
  /** the keys the cold limits dropped (memory may have read one back from its record meanwhile) */
  readonly drops: Buffer[] = [];
  /** expirations and drops to announce once the batch commits (null: nobody listens) */
  readonly events: BatchEvent[] | null;

  // The record the current op replaces: its value length (-1: none), expiry, access position
  // (-1: not known, only when the access index is not kept) and chunk records (a list's by the ids
  // its head lists, else 0..oldChunks-1).
  private oldLen = -1;
  private oldExpiry = 0;
  private oldSeq = -1;
  private oldChunks = 0;
  private oldListIds: number[] | null = null;

  constructor(
    private readonly sink: BatchSink,
    private readonly hot: HotView,
    private readonly rules: BatchRules,
    /** the time expiries are judged at (ms since the epoch) */
    private readonly now: number,
    counts: ColdCounts,
    announce: boolean,
  ) {
    this.items = counts.items;
    this.bytes = counts.bytes;
    this.accessSeq = counts.accessSeq;
    this.events = announce ? [] : null;
  }

  /**
   * Adds the writes of one op. `dkey`: its data key. `old`: the disk record it replaces, read for the
   * ops whose prior is PRIOR_UNKNOWN (undefined: none); ignored for the others. Returns the put that
   * now stands for a dirty op (the snapshot it took), so that reads during the write can serve it;
   * null otherwise.
   */
  add(op: Op, dkey: Buffer, old: Buffer | undefined): PutOp | null {
    let raw: Buffer | undefined;
    if (op.prior === PRIOR_UNKNOWN) {
      raw = old !== undefined && checkRecord(old) ? old : undefined;
      this.oldLen = raw ? recordValueLength(raw) : -1;
      this.oldExpiry = raw ? recordExpiresAt(raw) : 0;
      this.oldSeq = raw ? recordSeq(raw) : -1;
      this.oldChunks = raw ? recordChunks(raw) : 0;
      this.oldListIds = this.oldChunks > 0 && recordType(raw!) === ValueType.LIST ? listHeadIds(raw!, HEADER_SIZE) : null;
    } else {
      // known from memory: a string's record (a collection's is always read, for its chunks)
      this.oldLen = op.prior === PRIOR_NONE ? -1 : op.prior;
      this.oldExpiry = op.prior === PRIOR_NONE ? 0 : op.priorExpiry;
      this.oldSeq = -1;
      this.oldChunks = 0;
      this.oldListIds = null;
    }
    const onDisk = this.oldLen >= 0;
    switch (op.kind) {
      case OP_DIRTY:
        return this.snapshot(op, dkey, onDisk);
      case OP_PUT:
        this.put(op.key, dkey, op.value, op.flags, op.expiresAt, op.cas, op.record, op.type, op.chunks, op.partial);
        return null;
      case OP_DEL:
        if (onDisk) this.removeOld(op.key, dkey);
        return null;
      case OP_EXPIRE_DUE:
        if (onDisk && this.oldExpiry !== 0 && this.oldExpiry <= this.now) {
          this.removeOld(op.key, dkey);
          this.expired++;
          this.events?.push({ code: KeyEvent.EXPIRE, key: op.key });
        } else if (!onDisk || this.oldExpiry !== op.expiresAt) {
          this.del(expiryKey(op.expiresAt, op.key)); // stale index entry
        }
        return null;
      case OP_DROP:
        if (!raw || recordSeq(raw) !== op.seq) return null; // rewritten since the limit scan saw it
        if (!overColdLimits(this.rules, this.items, this.bytes)) return null;
        if (this.hot.holds(op.key)) {
          // In memory, so recently used: move it to the young end instead of dropping it (a clean
          // hot entry relies on its disk copy). Its chunks, if any, stay as they are.
          const chunks = recordChunked(raw) ? KEEP_CHUNKS : null;
          this.put(op.key, dkey, recordValue(raw), recordFlags(raw), recordExpiresAt(raw), recordCas(raw), null, recordType(raw), chunks, true);
        } else {
          this.removeOld(op.key, dkey);
          this.dropped++;
          this.drops.push(op.key);
          this.events?.push({ code: KeyEvent.DROP, key: op.key });
        }
        return null;
    }
  }

  /** Ends the batch with the meta record (written only when the batch writes anything else). */
  meta(record: Buffer): void {
    this.put0(META_KEY, record);
  }

  private snapshot(op: DirtyOp, dkey: Buffer, onDisk: boolean): PutOp | null {
    const snap = this.hot.snapshot(op.key);
    if (snap === null) {
      // Gone from memory since: deleted or expired (the disk copy must go), or evicted (a newer put is
      // queued and rewrites it). Removing the disk copy is right in every case but one: a collection
      // in chunks, whose spill may be a put of its head and changed chunks that keeps the others.
      // There the newer op (a delete or that put) decides alone.
      if (onDisk && this.oldChunks === 0) this.removeOld(op.key, dkey);
      return null;
    }
    snap.prior = op.prior;
    snap.priorExpiry = op.priorExpiry;
    snap.since = op.since;
    snap.bytes = op.bytes;
    this.put(snap.key, dkey, snap.value, snap.flags, snap.expiresAt, snap.cas, snap.record, snap.type, snap.chunks, snap.partial);
    this.snapshots.push(snap);
    return snap;
  }

  /**
   * Writes a data record. `chunks`: for a collection stored in chunks (`value` its head), the chunk
   * records to write; with `partial` the others stay, else those past the new count go too. A list's
   * head lists its chunk ids: only the chunks it lists are written (a put may carry chunks of an older
   * one that the list has dropped since) and the old ones it does not list go. Without chunks, any
   * chunks of the record it replaces go.
   */
  private put(
    key: Buffer,
    dkey: Buffer,
    value: Buffer,
    flags: number,
    expiresAt: number,
    cas: number,
    record: Buffer | null,
    type: number,
    chunks: ReadonlyMap<number, Buffer> | null,
    partial: boolean,
  ): void {
    const seq = ++this.accessSeq;
    const indexAccess = this.rules.indexAccess;
    const chunked = chunks !== null;
    this.put0(
      dkey,
      record !== null ? writeRecordHeader(record, flags, expiresAt, cas, seq, type) : encodeRecord(value, flags, expiresAt, cas, seq, type, chunked),
    );
    if (indexAccess) this.put0(accessKey(seq, key), ZERO);
    if (expiresAt !== 0) this.put0(expiryKey(expiresAt, key), ZERO);
    let length = value.length;
    if (chunked && type === ValueType.LIST) {
      length += headBytes(value);
      const ids = new Set(listHeadIds(value));
      for (const [n, bytes] of chunks) if (ids.has(n)) this.put0(chunkKey(key, n), bytes);
      this.dropChunks(key, (n) => ids.has(n));
    } else if (chunked) {
      length += headBytes(value);
      for (const [n, bytes] of chunks) this.put0(chunkKey(key, n), bytes);
      if (!partial) {
        const count = headChunks(value);
        this.dropChunks(key, (n) => n < count);
      }
    } else this.dropChunks(key, null);
    if (this.oldLen >= 0) {
      if (indexAccess) this.del(accessKey(this.oldSeq, key));
      if (this.oldExpiry !== 0 && this.oldExpiry !== expiresAt) this.del(expiryKey(this.oldExpiry, key));
      this.bytes += length - this.oldLen;
    } else {
      this.items++;
      this.bytes += recordBytes(key.length, length);
    }
  }

  /** removes the replaced record's chunks but those `kept` (null: all go) */
  private dropChunks(key: Buffer, kept: ((n: number) => boolean) | null): void {
    const ids = this.oldListIds;
    if (ids !== null) {
      for (const n of ids) if (kept === null || !kept(n)) this.del(chunkKey(key, n));
    } else for (let n = 0; n < this.oldChunks; n++) if (kept === null || !kept(n)) this.del(chunkKey(key, n));
  }

  private removeOld(key: Buffer, dkey: Buffer): void {
    this.dropChunks(key, null);
    this.del(dkey);
    if (this.rules.indexAccess) this.del(accessKey(this.oldSeq, key));
    if (this.oldExpiry !== 0) this.del(expiryKey(this.oldExpiry, key));
    this.items--;
    this.bytes -= recordBytes(key.length, this.oldLen);
  }

  private put0(key: Buffer, value: Buffer): void {
    this.sink.put(key, value);
    this.writes++;
  }

  private del(key: Buffer): void {
    this.sink.del(key);
    this.writes++;
  }
}
