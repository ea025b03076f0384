/**
 * The pending disk ops of the writeback queue: one per key, a newer op for a key replaces the older
 * one. Only a put carries a value; the others say what to do with whatever the disk holds.
 */

/** the hot copy is newer than disk: snapshot it when the batch is built */
export const OP_DIRTY = 0;
/** write this snapshot (an evicted dirty entry, a value too large for memory, a disk-only expiry change) */
export const OP_PUT = 1;
/** remove the key from disk */
export const OP_DEL = 2;
/** sweep: remove the disk record if its expiry has passed */
export const OP_EXPIRE_DUE = 3;
/** cold limit: remove the disk record if it is still at access position `seq` */
export const OP_DROP = 4;

/** `prior`: the disk record is not known from memory; the batch reads it. */
export const PRIOR_UNKNOWN = -1;
/** `prior`: there is no disk record. */
export const PRIOR_NONE = -2;

interface OpBase {
  key: Buffer;
  /**
   * The disk record this op replaces when it commits, if known without reading it: PRIOR_NONE (there
   * is none) or its value length, with its expiry in priorExpiry. PRIOR_UNKNOWN: the batch reads it.
   */
  prior: number;
  priorExpiry: number;
  /** when the oldest change this op carries was queued (performance.now()): a rewrite keeps it */
  since: number;
  /** what the op holds for the lag's byte bound (set when queued) */
  bytes: number;
}

export interface DirtyOp extends OpBase {
  kind: typeof OP_DIRTY;
}

export interface PutOp extends OpBase {
  kind: typeof OP_PUT;
  value: Buffer;
  flags: number;
  expiresAt: number;
  cas: number;
  /** the value's type (ValueType): 0 a string, else a collection's encoded bytes */
  type: number;
  /**
   * The data record the value was copied into (`value` is its bytes from HEADER_SIZE on), or null:
   * the batch then fills in the header instead of copying the value a second time.
   */
  record: Buffer | null;
  /**
   * A collection stored in chunks (`value` is then the chunks' head): the chunk records this put
   * writes, by number, or null for a value in one record.
   */
  chunks: Map<number, Buffer> | null;
  /** with chunks: only these chunks changed, the others on disk stay (false: these are all of them) */
  partial: boolean;
  /** a snapshot of a collection in memory: its chunk tracker's generation when taken (0: none) */
  gen: number;
}

export interface DelOp extends OpBase {
  kind: typeof OP_DEL;
}

export interface ExpireDueOp extends OpBase {
  kind: typeof OP_EXPIRE_DUE;
  /** the expiry-index entry that was found due */
  expiresAt: number;
}

export interface DropOp extends OpBase {
  kind: typeof OP_DROP;
  /** the access position the limit scan saw */
  seq: number;
}

export type Op = DirtyOp | PutOp | DelOp | ExpireDueOp | DropOp;

// Every op is built here, with its fields in one order, so the queue sees few object shapes.

export function dirtyOp(key: Buffer, prior: number, priorExpiry: number): DirtyOp {
  return { kind: OP_DIRTY, key, prior, priorExpiry, since: 0, bytes: 0 };
}

export function putOp(key: Buffer, value: Buffer, flags: number, expiresAt: number, cas: number, record: Buffer | null = null, type = 0): PutOp {
  return {
    kind: OP_PUT,
    key,
    prior: PRIOR_UNKNOWN,
    priorExpiry: 0,
    since: 0,
    bytes: 0,
    value,
    flags,
    expiresAt,
    cas,
    type,
    record,
    chunks: null,
    partial: false,
    gen: 0,
  };
}

/** a put of a collection stored in chunks: its head as the value, and the chunks it writes */
export function chunkedPutOp(
  key: Buffer,
  head: Buffer,
  flags: number,
  expiresAt: number,
  cas: number,
  type: number,
  chunks: Map<number, Buffer>,
  partial: boolean,
): PutOp {
  const op = putOp(key, head, flags, expiresAt, cas, null, type);
  op.chunks = chunks;
  op.partial = partial;
  return op;
}

/**
 * When a put of some chunks replaces an older put of the same collection's chunks that never
 * committed, the older one's chunks that the newer does not rewrite must still reach the disk: they
 * are carried into the newer put (which then writes all chunks if the older one did). The older
 * put is dropped, so its map is reused: the cost is the newer put's chunks, not all that piled up.
 */
export function carryChunks(older: Op, newer: Op): void {
  if (newer.kind !== OP_PUT || !newer.partial || newer.chunks === null) return;
  if (older.kind !== OP_PUT || older.chunks === null) return;
  const all = older.chunks;
  for (const [n, bytes] of newer.chunks) all.set(n, bytes);
  newer.chunks = all;
  newer.partial = older.partial;
}

export function delOp(key: Buffer): DelOp {
  return { kind: OP_DEL, key, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0 };
}

export function expireDueOp(key: Buffer, expiresAt: number): ExpireDueOp {
  return { kind: OP_EXPIRE_DUE, key, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0, expiresAt };
}

export function dropOp(key: Buffer, seq: number): DropOp {
  return { kind: OP_DROP, key, prior: PRIOR_UNKNOWN, priorExpiry: 0, since: 0, bytes: 0, seq };
}
