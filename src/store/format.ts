/**
 * The on-disk format of one shard's cold tier (one LevelDB directory per shard). Every LevelDB key
 * starts with a one-byte record prefix, so each kind of record is one contiguous key range:
 *
 *   0x00 "meta"                      -> meta record (format version, shard, CAS and access-order high
 *                                       water marks, cold item and byte counts)
 *   'a' u64be(seq)       key         -> empty: access-order index, oldest first (cold limits)
 *   'c' u32be(keylen) key u32be(n) -> one chunk of a large collection (see below)
 *   'd'                  key         -> header (32 bytes) + value: the data record
 *   'e' u64be(expiresAt) key         -> empty: expiry index, soonest first (only keys with a TTL)
 *
 * Big-endian integers make LevelDB's byte order equal to numeric order, so the expiry sweep reads
 * only the due prefix of the 'e' range and cold-limit eviction reads only the oldest of the 'a' range.
 * Index records are kept exact: every batch that rewrites or deletes a data record reads the old
 * header first and removes the index records it pointed at, in the same atomic batch.
 *
 * See docs/storage.md.
 */

import { headBytes, headChunks } from '../engine/collections/chunks.js';

export const FORMAT_VERSION = 1;

export const PREFIX_META = 0x00;
export const PREFIX_ACCESS = 0x61; // 'a'
export const PREFIX_CHUNK = 0x63; // 'c'
export const PREFIX_DATA = 0x64; // 'd'
export const PREFIX_EXPIRY = 0x65; // 'e'

export const META_KEY = Buffer.from([PREFIX_META, 0x6d, 0x65, 0x74, 0x61]); // "\0meta"
/** Lower bound of everything but the meta record (used by flush). */
export const AFTER_META = Buffer.from([0x01]);
export const DATA_START = Buffer.from([PREFIX_DATA]);
export const DATA_END = Buffer.from([PREFIX_DATA + 1]);
export const EXPIRY_START = Buffer.from([PREFIX_EXPIRY]);
export const ACCESS_START = Buffer.from([PREFIX_ACCESS]);
export const ACCESS_END = Buffer.from([PREFIX_ACCESS + 1]);
export const CHUNK_START = Buffer.from([PREFIX_CHUNK]);
export const CHUNK_END = Buffer.from([PREFIX_CHUNK + 1]);

/**
 * Data record header, 32 bytes, little-endian:
 *   u8 version (1) | u8 type | u16 reserved | u32 flags | f64 expiresAt | f64 cas | f64 seq
 * `type` is the value's ValueType (src/engine/collections): 0 for a string (0 in records written
 * before collections existed), else the value is the collection's encode() bytes.
 * `seq` is the record's position in the access-order index ('a' range).
 *
 * A large hash, set or sorted set is stored in chunks (src/engine/collections/chunks.ts): its data
 * record has version 2 and its value is the chunks' head (member count, chunk count, chunk bytes);
 * chunk i is the 'c' record of the key and i. A large list too (list-chunks.ts), its head going on
 * with the ids of its chunks in list order: chunk i is then the one of id i. A batch that rewrites or
 * removes such a record reads it first, as for the index entries, and removes the chunks the new
 * record does not keep.
 */
export const HEADER_SIZE = 32;
const RECORD_VERSION = 1;
const RECORD_VERSION_CHUNKED = 2;

export interface RecordHeader {
  flags: number;
  expiresAt: number;
  cas: number;
  seq: number;
}

const TWO32 = 4294967296;

export function dataKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = PREFIX_DATA;
  out.set(key, 1);
  return out;
}

function orderedKey(prefix: number, n: number, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 9);
  out[0] = prefix;
  out.writeUInt32BE(Math.floor(n / TWO32), 1);
  out.writeUInt32BE(n >>> 0, 5);
  out.set(key, 9);
  return out;
}

export function expiryKey(expiresAt: number, key: Uint8Array): Buffer {
  return orderedKey(PREFIX_EXPIRY, expiresAt, key);
}

/** Exclusive upper bound of the expiry index entries due at `now`. */
export function expiryBound(now: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = PREFIX_EXPIRY;
  const t = now + 1;
  out.writeUInt32BE(Math.floor(t / TWO32), 1);
  out.writeUInt32BE(t >>> 0, 5);
  return out;
}

export function accessKey(seq: number, key: Uint8Array): Buffer {
  return orderedKey(PREFIX_ACCESS, seq, key);
}

/** Splits an 'e' or 'a' index key into its number and the user key (a view). */
export function parseOrderedKey(k: Buffer): { n: number; key: Buffer } {
  return { n: k.readUInt32BE(1) * TWO32 + k.readUInt32BE(5), key: k.subarray(9) };
}

/** the key of chunk `n` of a collection stored in chunks */
export function chunkKey(key: Uint8Array, n: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + 9);
  out[0] = PREFIX_CHUNK;
  out.writeUInt32BE(key.length, 1);
  out.set(key, 5);
  out.writeUInt32BE(n, 5 + key.length);
  return out;
}

/** the collection key and chunk number of a chunk record's key */
export function parseChunkKey(k: Buffer): { key: Buffer; n: number } {
  const len = k.readUInt32BE(1);
  return { key: k.subarray(5, 5 + len), n: k.readUInt32BE(5 + len) };
}

export function encodeRecord(value: Uint8Array, flags: number, expiresAt: number, cas: number, seq: number, type = 0, chunked = false): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + value.length);
  out.set(value, HEADER_SIZE);
  return writeRecordHeader(out, flags, expiresAt, cas, seq, type, chunked);
}

/** Fills in the header of a record whose value is already at HEADER_SIZE; returns the record. */
export function writeRecordHeader(out: Buffer, flags: number, expiresAt: number, cas: number, seq: number, type = 0, chunked = false): Buffer {
  out[0] = chunked ? RECORD_VERSION_CHUNKED : RECORD_VERSION;
  out[1] = type;
  out.writeUInt16LE(0, 2);
  out.writeUInt32LE(flags >>> 0, 4);
  out.writeDoubleLE(expiresAt, 8);
  out.writeDoubleLE(cas, 16);
  out.writeDoubleLE(seq, 24);
  return out;
}

export function recordType(rec: Buffer): number {
  return rec[1];
}
export function recordFlags(rec: Buffer): number {
  return rec.readUInt32LE(4);
}
export function recordExpiresAt(rec: Buffer): number {
  return rec.readDoubleLE(8);
}
export function recordCas(rec: Buffer): number {
  return rec.readDoubleLE(16);
}
export function recordSeq(rec: Buffer): number {
  return rec.readDoubleLE(24);
}
/** The value bytes of a record (a view into it). */
export function recordValue(rec: Buffer): Buffer {
  return rec.subarray(HEADER_SIZE);
}

export function checkRecord(rec: Buffer): boolean {
  return rec.length >= HEADER_SIZE && (rec[0] === RECORD_VERSION || rec[0] === RECORD_VERSION_CHUNKED);
}

/** Is the record a collection stored in chunks (its value the chunks' head)? */
export function recordChunked(rec: Buffer): boolean {
  return rec[0] === RECORD_VERSION_CHUNKED;
}

/** How many chunk records a data record has (0: its value is all of it). */
export function recordChunks(rec: Buffer): number {
  return rec[0] === RECORD_VERSION_CHUNKED ? headChunks(rec, HEADER_SIZE) : 0;
}

/** The value bytes a data record counts for in the cold tier: its value, and its chunks' if any. */
export function recordValueLength(rec: Buffer): number {
  const own = rec.length - HEADER_SIZE;
  return rec[0] === RECORD_VERSION_CHUNKED ? own + headBytes(rec, HEADER_SIZE) : own;
}

/**
 * The meta record, 64 bytes, little-endian:
 *   "CAIRNSTO" | u16 format | u16 reserved | u32 shard | f64 casHigh | f64 items | f64 bytes
 *   | f64 accessSeq | u8 cleanShutdown | u8 accessUnindexed | u8 flushing | u8 flushMarked | padding
 * It is rewritten in every batch that changes data records, so the counts and high-water marks are
 * exact after a crash too (LevelDB applies a batch atomically). The one change that is not one batch
 * is a flush (LevelDB clears a range in many batches): `flushing` is set, fsynced, before the clear
 * starts and dropped with the zero counts after it, so an open that finds it finishes the clear.
 * `flushMarked` says the writer marked its flushes so; a record without it, left by an unclean
 * shutdown, may carry the counts of a flush cut short (see docs/storage.md).
 */
export interface Meta {
  format: number;
  shard: number;
  casHigh: number;
  items: number;
  bytes: number;
  accessSeq: number;
  cleanShutdown: boolean;
  /** the access index is complete (kept while the shard has a cold limit; see docs/storage.md) */
  accessIndexed: boolean;
  /** a flush was clearing the records when this was written: the open finishes it */
  flushing: boolean;
  /** written by a build that sets `flushing` around every flush (false in older records) */
  flushMarked: boolean;
}

const META_MAGIC = Buffer.from('CAIRNSTO', 'latin1');
const META_SIZE = 64;

export function encodeMeta(m: Meta): Buffer {
  const out = Buffer.alloc(META_SIZE);
  META_MAGIC.copy(out, 0);
  out.writeUInt16LE(m.format, 8);
  out.writeUInt32LE(m.shard, 12);
  out.writeDoubleLE(m.casHigh, 16);
  out.writeDoubleLE(m.items, 24);
  out.writeDoubleLE(m.bytes, 32);
  out.writeDoubleLE(m.accessSeq, 40);
  out[48] = m.cleanShutdown ? 1 : 0;
  out[49] = m.accessIndexed ? 0 : 1; // 0 in meta records written before the flag existed: complete
  out[50] = m.flushing ? 1 : 0;
  out[51] = m.flushMarked ? 1 : 0;
  return out;
}

export function decodeMeta(buf: Buffer): Meta | null {
  if (buf.length < META_SIZE || !buf.subarray(0, 8).equals(META_MAGIC)) return null;
  return {
    format: buf.readUInt16LE(8),
    shard: buf.readUInt32LE(12),
    casHigh: buf.readDoubleLE(16),
    items: buf.readDoubleLE(24),
    bytes: buf.readDoubleLE(32),
    accessSeq: buf.readDoubleLE(40),
    cleanShutdown: buf[48] === 1,
    accessIndexed: buf[49] === 0,
    flushing: buf[50] === 1,
    flushMarked: buf[51] === 1,
  };
}

/** Bytes a data record accounts for in the cold tier's byte count: its LevelDB key and value. */
export function recordBytes(keyLength: number, valueLength: number): number {
  return 1 + keyLength + HEADER_SIZE + valueLength;
}
