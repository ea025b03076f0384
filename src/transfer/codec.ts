/**
 * Encoding and decoding of export blocks: the CPU work that runs in the piscina pool
 * (workers/transfer-codec.ts), or inline on the calling thread with `--workers 0`. Pure functions.
 */
import { gzipSync } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import {
  FORMAT_NAME,
  ITEM_PREFIX_SIZE,
  READABLE_VERSIONS,
  TAG_BLOCK,
  TAG_END,
  TAG_HEADER,
  TransferError,
  crc32,
  encodeItem,
  writeItemPrefix,
  type ExportHeader,
  type ExportTrailer,
} from './format.js';
import { packRecords, unpackRecords, type TransferRecord } from './packed.js';
import { TYPE_NAMES } from '../engine/collections/types.js';

const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: false, int64AsType: 'number' });

export interface EncodeTask {
  /** a packed record batch (packed.ts) */
  packed: ArrayBuffer;
  /** gzip level, or -1 for none; a compressed block is a gzip member of its own */
  gzipLevel: number;
}

const K_KEY = [0xa3, 0x6b, 0x65, 0x79]; // "key"
const K_VALUE = [0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65]; // "value"
const K_FLAGS = [0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73]; // "flags"
const K_EXPIRES = [0xa9, 0x65, 0x78, 0x70, 0x69, 0x72, 0x65, 0x73, 0x41, 0x74]; // "expiresAt"
const K_TYPE = [0xa4, 0x74, 0x79, 0x70, 0x65]; // "type"
/** the highest collection type a record may carry */
const MAX_TYPE = TYPE_NAMES.length - 1;

function binHeaderSize(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function uintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n <= 0xffffffff ? 5 : 9;
}

/**
 * One block item (prefix + records) for a packed batch, gzip-compressed as its own member when asked.
 * Records are written by hand: fixed field order, the smallest msgpack int and bin forms.
 */
export function encodeBlock(task: EncodeTask): Uint8Array {
  const batch = unpackRecords(task.packed);
  let size = 0;
  for (let i = 0; i < batch.count; i++) {
    const k = batch.keys[i].length;
    const v = batch.values[i].length;
    size += 1 + 4 + binHeaderSize(k) + k + 6 + binHeaderSize(v) + v + 6 + uintSize(batch.flags[i]) + 10 + uintSize(batch.expiresAt[i]);
    if (batch.types[i] !== 0) size += 5 + 1;
  }
  const out = new Uint8Array(ITEM_PREFIX_SIZE + size);
  const dv = new DataView(out.buffer);
  let p = ITEM_PREFIX_SIZE;
  const bytes = (arr: readonly number[]): void => {
    for (let j = 0; j < arr.length; j++) out[p++] = arr[j];
  };
  const bin = (b: Uint8Array): void => {
    const n = b.length;
    if (n < 0x100) {
      out[p++] = 0xc4;
      out[p++] = n;
    } else if (n < 0x10000) {
      out[p++] = 0xc5;
      dv.setUint16(p, n);
      p += 2;
    } else {
      out[p++] = 0xc6;
      dv.setUint32(p, n);
      p += 4;
    }
    out.set(b, p);
    p += n;
  };
  const uint = (n: number): void => {
    if (n < 0x80) out[p++] = n;
    else if (n < 0x100) {
      out[p++] = 0xcc;
      out[p++] = n;
    } else if (n < 0x10000) {
      out[p++] = 0xcd;
      dv.setUint16(p, n);
      p += 2;
    } else if (n <= 0xffffffff) {
      out[p++] = 0xce;
      dv.setUint32(p, n);
      p += 4;
    } else {
      out[p++] = 0xcf;
      dv.setBigUint64(p, BigInt(n));
      p += 8;
    }
  };
  for (let i = 0; i < batch.count; i++) {
    // a string's record is version 1's; a collection's has a fifth field
    const type = batch.types[i];
    out[p++] = type === 0 ? 0x84 : 0x85;
    bytes(K_KEY);
    bin(batch.keys[i]);
    bytes(K_VALUE);
    bin(batch.values[i]);
    bytes(K_FLAGS);
    uint(batch.flags[i]);
    bytes(K_EXPIRES);
    uint(batch.expiresAt[i]);
    if (type !== 0) {
      bytes(K_TYPE);
      uint(type);
    }
  }
  const body = out.subarray(ITEM_PREFIX_SIZE);
  writeItemPrefix(out, 0, TAG_BLOCK, batch.count, crc32(body), body.length);
  return task.gzipLevel >= 0 ? gzipSync(out, { level: task.gzipLevel }) : out;
}

/** times as msgpack uint64 rather than float64, which msgpackr picks for numbers above 2^32 */
function int(n: number): number | bigint {
  return n > 0xffffffff ? BigInt(n) : n;
}

export function encodeHeader(header: ExportHeader): Uint8Array {
  return encodeItem(TAG_HEADER, 0, packr.pack({ ...header, createdAt: int(header.createdAt), keysEstimate: int(header.keysEstimate) }));
}

export function encodeTrailer(trailer: ExportTrailer): Uint8Array {
  return encodeItem(TAG_END, trailer.records, packr.pack({ records: int(trailer.records), finishedAt: int(trailer.finishedAt) }));
}

/** Reads and checks a header body; throws TransferError for another format or version. */
export function decodeHeader(body: Uint8Array, crc: number): ExportHeader {
  if (crc32(body) !== crc) throw new TransferError('the header is corrupt (checksum mismatch)');
  let h: Partial<ExportHeader> & Record<string, unknown>;
  try {
    h = unpackr.unpack(body) as typeof h;
  } catch (err) {
    throw new TransferError(`the header is corrupt: ${(err as Error).message}`);
  }
  if (!h || typeof h !== 'object' || h.format !== FORMAT_NAME) throw new TransferError('not a cairn export file (the header does not name the format)');
  if (typeof h.version !== 'number' || !READABLE_VERSIONS.includes(h.version)) {
    throw new TransferError(
      `the file is in cairn export format version ${String(h.version)}; this cairn reads versions ${READABLE_VERSIONS.join(' and ')} (use the cairn release that wrote it, or a newer one)`,
    );
  }
  return {
    format: FORMAT_NAME,
    version: h.version,
    source: typeof h.source === 'string' ? h.source : 'unknown',
    createdAt: typeof h.createdAt === 'number' ? h.createdAt : 0,
    keysEstimate: typeof h.keysEstimate === 'number' ? h.keysEstimate : 0,
  };
}

export function decodeTrailer(body: Uint8Array, crc: number): ExportTrailer {
  if (crc32(body) !== crc) throw new TransferError('the end record is corrupt (checksum mismatch)');
  try {
    const t = unpackr.unpack(body) as Partial<ExportTrailer>;
    return { records: Number(t.records ?? 0), finishedAt: Number(t.finishedAt ?? 0) };
  } catch (err) {
    throw new TransferError(`the end record is corrupt: ${(err as Error).message}`);
  }
}

export interface DecodeTask {
  /** the block's body (its records), owned by the task */
  body: ArrayBuffer;
  count: number;
  crc: number;
  /** 1-based number of the block in the file, and of its first record, for messages */
  blockNo: number;
  firstRecord: number;
  /** records with 0 < expiresAt <= now are dropped */
  now: number;
  /** the file's format version: records carry a type from version 2 on */
  version: number;
}

const MAX_KEY = 65535;

function asBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return null;
}

function recordError(n: number, what: string): TransferError {
  return new TransferError(`record ${n} is corrupt: ${what}`);
}

/**
 * Checks a block's checksum, decodes and validates its records, drops the expired ones. Returns the
 * live records packed (packed.ts), with the number dropped as expired in the batch's note.
 */
export function decodeBlock(task: DecodeTask): ArrayBuffer {
  const body = new Uint8Array(task.body);
  const last = task.firstRecord + task.count - 1;
  const where = `block ${task.blockNo} (records ${task.firstRecord}–${last})`;
  if (crc32(body) !== task.crc) throw new TransferError(`${where} is corrupt: checksum mismatch`);
  const live: TransferRecord[] = [];
  let expired = 0;
  let seen = 0;
  try {
    unpackr.unpackMultiple(body, (value: unknown) => {
      const n = task.firstRecord + seen;
      seen++;
      if (seen > task.count) throw recordError(n, `${where} holds more records than its count`);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw recordError(n, 'not a map');
      const r = value as Record<string, unknown>;
      const key = asBytes(r.key);
      const val = asBytes(r.value);
      if (key === null) throw recordError(n, 'key is missing or not bytes');
      if (key.length > MAX_KEY) throw recordError(n, `key of ${key.length} bytes (keys are 0–${MAX_KEY} bytes)`);
      if (val === null) throw recordError(n, 'value is missing or not bytes');
      const flags = r.flags ?? 0;
      if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw recordError(n, `flags ${String(flags)} is not a u32`);
      const exp = r.expiresAt ?? 0;
      if (typeof exp !== 'number' || !Number.isSafeInteger(exp) || exp < 0) throw recordError(n, `expiresAt ${String(exp)} is not a time in ms`);
      // version 1 had no type: a field of that name there is an unknown one, ignored
      const type = task.version >= 2 ? (r.type ?? 0) : 0;
      if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > MAX_TYPE) {
        throw recordError(n, `type ${String(type)} is not a value type (0 string, 1 hash, 2 list, 3 set, 4 zset)`);
      }
      if (exp !== 0 && exp <= task.now) {
        expired++;
        return;
      }
      live.push({ key, value: val, flags, expiresAt: exp, type });
    });
  } catch (err) {
    if (err instanceof TransferError) throw err;
    throw recordError(task.firstRecord + seen, `${(err as Error).message} (in ${where})`);
  }
  if (seen !== task.count) throw new TransferError(`${where} is corrupt: it holds ${seen} records, its count says ${task.count}`);
  return packRecords(live, expired);
}
