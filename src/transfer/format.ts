/**
 * The cairn export file format, version 1 (docs/transfer.md is the specification).
 *
 * A file is a sequence of top-level MessagePack values, optionally gzip-compressed as a whole (any
 * number of concatenated gzip members). Every top-level value is a 4-element array written with the
 * same fixed-width 18-byte prefix, so a reader can cut the stream into items without a general
 * MessagePack decoder and hand whole blocks to worker threads:
 *
 *   0x94                        fixarray of 4
 *   0xa1 TAG                    fixstr of 1: "H" header, "B" block of records, "E" end
 *   0xce u32 COUNT              records in the item (0 for H; the total for E)
 *   0xce u32 CRC32              CRC-32 (zlib's) of BODY
 *   0xc6 u32 LENGTH  BODY       bin32: H and E carry a msgpack map, B carries COUNT records
 *
 * A record is the MessagePack map {key: bin, value: bin, flags: uint, expiresAt: uint, type?: uint},
 * with expiresAt an absolute time in ms since the Unix epoch (0 for no expiry); `type` (version 2)
 * says the value is a collection's encoding (1 hash, 2 list, 3 set, 4 zset), absent for a string. The
 * file starts with one H and ends with one E; anything after E is an error.
 *
 * Version 2 added `type`. Version 1 files (strings only) are read as before; a version-1 reader
 * refuses a version-2 file instead of taking a collection's encoding for a string.
 */
import * as zlib from 'node:zlib';

export const FORMAT_NAME = 'cairn-export';
export const FORMAT_VERSION = 2;
/** the versions this cairn reads */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

export const ITEM_PREFIX_SIZE = 18;
export const TAG_HEADER = 0x48; // 'H'
export const TAG_BLOCK = 0x42; // 'B'
export const TAG_END = 0x45; // 'E'

/** The largest body a reader accepts: a block holds at most a few thousand records of ≤ 1 MiB + 64 KiB. */
export const MAX_BODY = 1024 * 1024 * 1024;

export interface ExportHeader {
  format: typeof FORMAT_NAME;
  version: number;
  /** what wrote the file, e.g. "cairn 0.1.0 at 127.0.0.1:7379" */
  source: string;
  /** when the export started, ms since the epoch */
  createdAt: number;
  /** the server's live key count when the export started (both tiers); the record count may differ */
  keysEstimate: number;
}

export interface ExportTrailer {
  /** records in the file */
  records: number;
  /** when the export finished, ms since the epoch */
  finishedAt: number;
}

/** An error in the input file (corrupt, truncated, another version), with a message that says where. */
export class TransferError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferError';
  }
}

type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Uint32Array | null = null;
function crc32Js(data: Uint8Array, value = 0): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** zlib's CRC-32: node:zlib's native one where the Node version has it (20.15+), a table otherwise. */
export const crc32: Crc32 = typeof (zlib as { crc32?: Crc32 }).crc32 === 'function' ? (zlib as unknown as { crc32: Crc32 }).crc32 : crc32Js;

/** Writes an item prefix into `out` at `at`. */
export function writeItemPrefix(out: Uint8Array, at: number, tag: number, count: number, crc: number, length: number): void {
  const dv = new DataView(out.buffer, out.byteOffset + at, ITEM_PREFIX_SIZE);
  dv.setUint8(0, 0x94);
  dv.setUint8(1, 0xa1);
  dv.setUint8(2, tag);
  dv.setUint8(3, 0xce);
  dv.setUint32(4, count);
  dv.setUint8(8, 0xce);
  dv.setUint32(9, crc);
  dv.setUint8(13, 0xc6);
  dv.setUint32(14, length);
}

/** A whole item (prefix + body) as one new buffer. */
export function encodeItem(tag: number, count: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(ITEM_PREFIX_SIZE + body.length);
  writeItemPrefix(out, 0, tag, count, crc32(body), body.length);
  out.set(body, ITEM_PREFIX_SIZE);
  return out;
}

export interface ItemPrefix {
  tag: number;
  count: number;
  crc: number;
  length: number;
}

/** Reads an item prefix, or returns null when these 18 bytes are not one. */
export function readItemPrefix(buf: Uint8Array, at: number): ItemPrefix | null {
  if (buf[at] !== 0x94 || buf[at + 1] !== 0xa1 || buf[at + 3] !== 0xce || buf[at + 8] !== 0xce || buf[at + 13] !== 0xc6) return null;
  const tag = buf[at + 2];
  if (tag !== TAG_HEADER && tag !== TAG_BLOCK && tag !== TAG_END) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset + at, ITEM_PREFIX_SIZE);
  return { tag, count: dv.getUint32(4), crc: dv.getUint32(9), length: dv.getUint32(14) };
}

export function tagName(tag: number): string {
  return tag === TAG_HEADER ? 'header' : tag === TAG_BLOCK ? 'block' : tag === TAG_END ? 'end record' : `item 0x${tag.toString(16)}`;
}
