/**
 * Incremental memcached text-protocol framer (acceptor side). It cuts the stream into command lines
 * and, for storage commands (set, add, replace, append, prepend, cas), the data block that follows,
 * following memcached 1.6: lines end with `\n` (a `\r` before it is dropped), words are separated by
 * spaces, a data block is its announced length plus `\r\n`.
 *
 * Errors that memcached answers without closing come back as commands carrying `error` (the reply,
 * empty under noreply); only an over-long line closes the connection, as it does in memcached.
 * Memory stays bounded: a line without `\n` fails past maxLineLength (2048, or maxGetLineLength for
 * get/gets/gat/gats), a data block is at most maxValueSize, and a too-large block is skipped as it
 * arrives, never buffered.
 */

import { InputBuffer } from '../input-buffer.js';

const EMPTY = Buffer.alloc(0);

export interface MemcacheFramerOptions {
  /** largest value (memcached -I, item_size_max); a larger one gets SERVER_ERROR object too large for cache. */
  maxValueSize?: number;
  /** longest command line without `\n` (memcached: 2048). */
  maxLineLength?: number;
  /** longest get/gets/gat/gats line (memcached: unbounded; cairn bounds it). */
  maxGetLineLength?: number;
}

export interface MemcacheCommand {
  type: 'command';
  /** the words of the command line, name first; views of the received bytes. */
  args: Buffer[];
  /** the data block of a storage command, without its `\r\n`; null for other commands. */
  data: Buffer | null;
  /** the exact bytes: the line and, for storage commands, the data block. */
  raw: Buffer;
  /** the last word is `noreply`. */
  noreply: boolean;
  /** the reply to give instead of running the command (empty under noreply). */
  error?: Buffer;
  /** a storage command whose value exceeded maxValueSize (for set, memcached also drops the old value). */
  tooLarge?: boolean;
}

export interface MemcacheFatalError {
  type: 'error';
  reply: Buffer;
  close: true;
  reason: string;
}

export type MemcacheFrame = MemcacheCommand | MemcacheFatalError;

export const DEFAULT_MAX_VALUE = 1024 * 1024;
export const MAX_KEY_LENGTH = 250;

export const R_ERROR = Buffer.from('ERROR\r\n');
export const R_BAD_FORMAT = Buffer.from('CLIENT_ERROR bad command line format\r\n');
export const R_BAD_CHUNK = Buffer.from('CLIENT_ERROR bad data chunk\r\n');
export const R_TOO_LARGE = Buffer.from('SERVER_ERROR object too large for cache\r\n');
/** the first byte of every memcached binary protocol request */
const BINARY_MAGIC = 0x80;
export const R_BINARY = Buffer.from('SERVER_ERROR binary protocol is not supported; use the text protocol\r\n');
export const R_LINE_TOO_LONG = Buffer.from('CLIENT_ERROR line too long\r\n');

const STORAGE = new Set(['set', 'add', 'replace', 'append', 'prepend', 'cas']);

/** splits a line on spaces (runs of spaces count as one), as memcached's tokenizer. */
export function tokenize(line: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === 32) {
      if (start >= 0) out.push(line.subarray(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(line.subarray(start));
  return out;
}

/** a valid memcached key: 1 to 250 bytes, no control characters (spaces cannot occur after tokenizing). */
export function validKey(key: Uint8Array): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c < 33 || c === 127) return false;
  }
  return true;
}

/**
 * A command word as a string. `get` and `set`, most of a cache's traffic, are told from their bytes
 * and answered with constant strings, so no string is made for them per request (memcached's command
 * words are case-sensitive).
 */
export function commandWord(tok: Buffer): string {
  if (tok.length === 3 && tok[1] === 0x65 /* e */ && tok[2] === 0x74 /* t */) {
    if (tok[0] === 0x67 /* g */) return 'get';
    if (tok[0] === 0x73 /* s */) return 'set';
  }
  return tok.toString('latin1');
}

/** the decimal digits tok[from..] as a number, or -1 when one is not a digit; exact up to 15 digits. */
function digitsValue(tok: Buffer, from: number): number {
  let v = 0;
  for (let j = from; j < tok.length; j++) {
    const d = tok[j] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function parseUnsigned(tok: Buffer, max: bigint): bigint | null {
  if (tok.length === 0 || tok.length > 21) return null;
  const i = tok[0] === 43 /* + */ ? 1 : 0;
  if (i === tok.length) return null;
  for (let j = i; j < tok.length; j++) if (tok[j] < 48 || tok[j] > 57) return null;
  const v = BigInt(tok.toString('latin1', i));
  return v > max ? null : v;
}

/** memcached safe_strtoul for flags: a u32. */
export function parseU32(tok: Buffer): number | null {
  const from = tok[0] === 43 /* + */ ? 1 : 0;
  if (tok.length - from > 15 || from === tok.length) {
    // leading zeros may make a long token small: the exact (BigInt) path
    const v = parseUnsigned(tok, 0xffffffffn);
    return v === null ? null : Number(v);
  }
  const v = digitsValue(tok, from);
  return v < 0 || v > 0xffffffff ? null : v;
}

/** memcached safe_strtoull: a u64 (cas unique, incr/decr delta). */
export function parseU64(tok: Buffer): bigint | null {
  return parseUnsigned(tok, 2n ** 64n - 1n);
}

/** memcached safe_strtol: a signed 32-bit integer (exptime, byte count). */
export function parseI32(tok: Buffer): number | null {
  if (tok.length === 0 || tok.length > 12) return null;
  const i = tok[0] === 43 || tok[0] === 45 ? 1 : 0;
  if (i === tok.length) return null;
  const magnitude = digitsValue(tok, i);
  if (magnitude < 0) return null;
  const v = tok[0] === 45 ? -magnitude : magnitude;
  return v < -2147483648 || v > 2147483647 ? null : v;
}

const NOREPLY = Buffer.from('noreply');

function isNoreply(tok: Buffer | undefined): boolean {
  return tok !== undefined && tok.length === 7 && tok.equals(NOREPLY);
}

function startsWithGet(buf: Buffer, pos: number): boolean {
  let p = pos;
  while (p < buf.length && buf[p] === 32 && p - pos <= 100) p++;
  if (p - pos > 100) return false;
  const head = buf.toString('latin1', p, Math.min(buf.length, p + 5));
  return head.startsWith('get ') || head.startsWith('gets ') || head.startsWith('gat ') || head.startsWith('gats ');
}

export class MemcacheFramer {
  private readonly input = new InputBuffer();
  /** bytes (from the line's start) needed before the pending command can progress. */
  private need = 0;
  /** how far (from the line's start) the search for the pending line's `\n` went. */
  private scan = 0;
  /** bytes of a too-large data block still to skip. */
  private swallow = 0;
  private failed = false;
  private readonly maxValue: number;
  private readonly maxLine: number;
  private readonly maxGetLine: number;

  constructor(options: MemcacheFramerOptions = {}) {
    this.maxValue = options.maxValueSize ?? DEFAULT_MAX_VALUE;
    this.maxLine = options.maxLineLength ?? 2048;
    this.maxGetLine = options.maxGetLineLength ?? 1024 * 1024;
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    if (this.swallow > 0 && this.input.available === 0) {
      const skip = Math.min(this.swallow, chunk.length);
      this.swallow -= skip;
      if (skip === chunk.length) return;
      chunk = chunk.subarray(skip);
    }
    this.input.push(chunk);
  }

  get buffered(): number {
    return this.input.available;
  }

  get closed(): boolean {
    return this.failed;
  }

  /** bytes scanned for line ends plus bytes copied to join chunks, so far: O(bytes received). */
  get work(): number {
    return this.scanned + this.input.copied;
  }

  private scanned = 0;

  next(): MemcacheFrame | null {
    if (this.failed) return null;
    const input = this.input;
    if (this.swallow > 0) {
      if (input.queued) input.gather();
      const here = Math.min(this.swallow, input.bytes.length - input.pos);
      input.pos += here;
      this.swallow -= here;
      if (this.swallow > 0) return null;
    }
    const avail = input.available;
    if (avail === 0) {
      // drop the last chunk (or a large gathered buffer) rather than hold it while idle
      input.clear();
      return null;
    }
    if (avail < this.need) return null;
    input.gather();
    if (input.bytes[input.pos] === BINARY_MAGIC) {
      // memcached's binary protocol: say so and close, rather than wait for a line that never comes.
      this.failed = true;
      return { type: 'error', reply: R_BINARY, close: true, reason: 'binary protocol request' };
    }
    // null: the command is incomplete and `need` says how many bytes it waits for.
    return this.parse();
  }

  /** a frame, or null with `need` set (more bytes) or with `swallow` set (skip and go on). */
  private parse(): MemcacheFrame | null {
    const buf = this.input.bytes;
    const start = this.input.pos;
    // The search resumes where it stopped, so a long line arriving in pieces is scanned once.
    const from = start + this.scan;
    const nl = buf.indexOf(10, from);
    this.scanned += (nl < 0 ? buf.length : nl) - from;
    if (nl < 0) {
      const pending = buf.length - start;
      this.scan = pending;
      if (pending > this.maxLine && (pending > this.maxGetLine || !startsWithGet(buf, start))) {
        return this.fail(R_LINE_TOO_LONG, 'line too long');
      }
      this.need = pending + 1;
      return null;
    }
    this.scan = nl - start;
    const lineEnd = nl - start > 1 && buf[nl - 1] === 13 ? nl - 1 : nl;
    const args = tokenize(buf.subarray(start, lineEnd));
    const name = args.length > 0 ? commandWord(args[0]) : '';
    if (!STORAGE.has(name)) {
      this.taken(nl + 1);
      return { type: 'command', args, data: null, raw: buf.subarray(start, nl + 1), noreply: isNoreply(args[args.length - 1]) };
    }
    return this.storage(name, args, start, nl + 1);
  }

  /** the pending command ends at `end`: the next one starts there. */
  private taken(end: number): void {
    this.input.pos = end;
    this.need = 0;
    this.scan = 0;
  }

  private storage(name: string, args: Buffer[], start: number, bodyStart: number): MemcacheFrame | null {
    const buf = this.input.bytes;
    const line = buf.subarray(start, bodyStart);
    const isCas = name === 'cas';
    // memcached reads the line's noreply before any check but the word count.
    const lineError = (error: Buffer, noreply: boolean): MemcacheCommand => {
      this.taken(bodyStart);
      return { type: 'command', args, data: null, raw: line, noreply, error: noreply ? EMPTY : error };
    };
    if (args.length !== (isCas ? 6 : 5) && args.length !== (isCas ? 7 : 6)) return lineError(R_ERROR, false);
    const noreply = isNoreply(args[args.length - 1]);
    const vlen = parseI32(args[4]);
    // What memcached refuses on the line alone, it refuses without reading a data block: the next
    // line is read as a command, whatever it holds.
    if (
      args[1].length > MAX_KEY_LENGTH ||
      parseU32(args[2]) === null ||
      parseI32(args[3]) === null ||
      vlen === null ||
      (isCas && parseU64(args[5]) === null) ||
      vlen < 0 ||
      vlen > 2147483645
    ) {
      return lineError(R_BAD_FORMAT, noreply);
    }
    // A key memcached would take but cairn refuses (control characters), or a value too large: the
    // block is skipped (memcached reads it), so that the stream stays in step.
    const badKey = !validKey(args[1]);
    if (badKey || vlen > this.maxValue) {
      const frame = lineError(badKey ? R_BAD_FORMAT : R_TOO_LARGE, noreply);
      if (!badKey) frame.tooLarge = true;
      const total = vlen + 2;
      const here = Math.min(total, buf.length - bodyStart);
      this.swallow = total - here;
      this.input.pos = bodyStart + here;
      return frame;
    }
    const end = bodyStart + vlen + 2;
    if (end > buf.length) {
      this.need = end - start;
      return null;
    }
    this.taken(end);
    const raw = buf.subarray(start, end);
    if (buf[end - 2] !== 13 || buf[end - 1] !== 10) {
      return { type: 'command', args, data: null, raw, noreply, error: noreply ? EMPTY : R_BAD_CHUNK };
    }
    return { type: 'command', args, data: buf.subarray(bodyStart, bodyStart + vlen), raw, noreply };
  }

  private fail(reply: Buffer, reason: string): MemcacheFatalError {
    this.failed = true;
    this.input.clear();
    return { type: 'error', reply, close: true, reason };
  }
}

/** parses one forwarded command (line plus data block); null when malformed. */
export function parseMemcacheCommand(raw: Buffer): { args: Buffer[]; data: Buffer | null; noreply: boolean } | null {
  const nl = raw.indexOf(10);
  if (nl < 0) return null;
  const lineEnd = nl > 1 && raw[nl - 1] === 13 ? nl - 1 : nl;
  const args = tokenize(raw.subarray(0, lineEnd));
  const noreply = isNoreply(args[args.length - 1]);
  if (args.length > 0 && STORAGE.has(commandWord(args[0]))) {
    const vlen = args.length > 4 ? parseI32(args[4]) : null;
    if (vlen === null || vlen < 0 || nl + 1 + vlen + 2 > raw.length) return null;
    return { args, data: raw.subarray(nl + 1, nl + 1 + vlen), noreply };
  }
  return { args, data: null, noreply };
}
