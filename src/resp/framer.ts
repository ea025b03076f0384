/**
 * Incremental RESP2 request framer (acceptor side). It cuts a byte stream into commands, multibulk
 * (`*N\r\n$len\r\n...`) or inline (`SET k v\r\n`), and returns each with its arguments as zero-copy
 * views of the received bytes and the exact bytes of the command (`raw`) for forwarding to a shard.
 *
 * Errors follow Redis 7 (networking.c): the reply is `-ERR Protocol error: ...` and the connection
 * closes after it; commands framed before the bad bytes are still returned first.
 *
 * Memory stays bounded: an unterminated header line fails at `maxInlineLength`, a bulk at
 * `maxBulkLength`, an argument count at `maxMultibulkLength`, and an incomplete command at
 * `maxQueryBuffer` bytes. A large bulk arriving in many chunks is joined once, not per chunk, and a
 * command arriving in many chunks is parsed once: each call resumes where the last one stopped, so
 * framing costs O(bytes) however a command is cut.
 *
 * Buffers passed to push() must not be modified while frames cut from them are in use.
 */

import { MAX_VALUE_LIMIT } from '../engine/index.js';
import { InputBuffer } from '../input-buffer.js';

const EMPTY = Buffer.alloc(0);

export interface RespFramerOptions {
  /** largest bulk argument (Redis proto-max-bulk-len, 512 MB); the server passes its max value size. */
  maxBulkLength?: number;
  /** most arguments in one multibulk command. */
  maxMultibulkLength?: number;
  /** longest inline command line or header line without a terminator (Redis PROTO_INLINE_MAX_SIZE). */
  maxInlineLength?: number;
  /** most bytes one incomplete command may hold (Redis client-query-buffer-limit). */
  maxQueryBuffer?: number;
  /** when it returns true, Redis' pre-auth limits apply: at most 10 arguments of 16 KB each. */
  authRequired?: () => boolean;
}

export interface RespCommand {
  type: 'command';
  /** the command name and its arguments; views of the received bytes where possible. */
  args: Buffer[];
  /** the exact bytes of the command, its terminator included. */
  raw: Buffer;
}

export interface RespProtocolError {
  type: 'error';
  /** the reply to write before closing (empty when Redis closes silently). */
  reply: Buffer;
  close: true;
  /** for logs. */
  reason: string;
}

export type RespFrame = RespCommand | RespProtocolError;

export const DEFAULT_MAX_BULK = MAX_VALUE_LIMIT;
export const DEFAULT_MAX_MULTIBULK = 1024 * 1024;
export const DEFAULT_MAX_INLINE = 64 * 1024;
export const DEFAULT_MAX_QUERY_BUFFER = 1024 * 1024 * 1024;

const OK = 0;
const SKIP = 1;
const INCOMPLETE = 2;
const ERROR = 3;
type ParseCode = typeof OK | typeof SKIP | typeof INCOMPLETE | typeof ERROR;

/**
 * Parser over a buffer. A multibulk command that is not complete yet leaves its progress here
 * (arguments parsed, where the next one starts, how far the search for a line's end went), so the
 * next call resumes where this one stopped: a command of n bytes is scanned once however many
 * chunks it arrives in. Positions are kept relative to the command's start, which may move when the
 * framer gathers chunks. Results are left in fields to avoid a result object per command.
 */
class RespParser {
  args: Buffer[] = [];
  /** index after the parsed command (OK / SKIP). */
  end = 0;
  /** buffer length needed before parsing again can progress (INCOMPLETE). */
  need = 0;
  /** the error text after `-ERR ` (ERROR). */
  error = '';
  /** arguments of the multibulk being parsed; -1 when none is under way. */
  private count = -1;
  /** the next argument to parse. */
  private index = 0;
  /** start of the next unparsed line, from the command's start. */
  private next = 0;
  /** where the search for that line's end resumes, from the command's start. */
  private scan = 0;
  /** a NUL byte came before the line's end, which Redis then never finds. */
  private blocked = false;
  private guarded = false;
  /** bytes looked at while searching for line ends, ever (framing work, for tests). */
  examined = 0;

  constructor(
    private readonly maxBulk: number,
    private readonly maxMultibulk: number,
    private readonly maxInline: number,
    private readonly authRequired: (() => boolean) | undefined,
  ) {}

  /** forgets a command under way (call before parsing a new one). */
  reset(): void {
    this.count = -1;
    this.next = 0;
    this.scan = 0;
    this.blocked = false;
  }

  parse(buf: Buffer, pos: number): ParseCode {
    if (this.count >= 0) return this.bulks(buf, pos);
    return buf[pos] === 42 /* '*' */ ? this.multibulk(buf, pos) : this.inline(buf, pos);
  }

  /**
   * The index of `term` ending the line that starts `next` bytes after base, or -1 while it is not
   * there. As Redis finds it with strchr, a NUL byte before it hides it for good (Redis then waits
   * until the line is too long and fails).
   */
  private lineEnd(buf: Buffer, base: number, term: number): number {
    if (this.blocked) return -1;
    const len = buf.length;
    const from = base + this.scan;
    let i = from;
    for (; i < len; i++) {
      const c = buf[i];
      if (c === term || c === 0) break;
    }
    this.examined += i - from;
    this.scan = i - base;
    if (i === len) return -1;
    if (buf[i] === 0) {
      this.blocked = true;
      return -1;
    }
    return i;
  }

  /** moves on to the line starting at `at`. */
  private nextLine(base: number, at: number): void {
    this.next = at - base;
    this.scan = this.next;
    this.blocked = false;
  }

  private multibulk(buf: Buffer, pos: number): ParseCode {
    const len = buf.length;
    const cr = this.lineEnd(buf, pos, 13);
    if (cr < 0 || cr + 1 >= len) {
      if (cr < 0 && len - pos > this.maxInline) return this.fail('Protocol error: too big mbulk count string');
      this.need = cr < 0 ? len + 1 : cr + 2;
      return INCOMPLETE;
    }
    const count = parseStrictInt(buf, pos + 1, cr);
    if (count === null || count > 2147483647 || count > this.maxMultibulk) {
      return this.fail('Protocol error: invalid multibulk length');
    }
    const guarded = this.authRequired?.() === true;
    if (guarded && count > 10) return this.fail('Protocol error: unauthenticated multibulk length');
    if (count <= 0) {
      this.end = cr + 2;
      this.reset();
      return SKIP;
    }
    this.guarded = guarded;
    this.count = count;
    this.index = 0;
    this.args = new Array<Buffer>(count);
    this.nextLine(pos, cr + 2);
    return this.bulks(buf, pos);
  }

  /** the bulk arguments of the multibulk at pos, from where the last call stopped. */
  private bulks(buf: Buffer, pos: number): ParseCode {
    const len = buf.length;
    const count = this.count;
    const args = this.args;
    for (let i = this.index; i < count; i++) {
      const p = pos + this.next;
      const cr = p < len ? this.lineEnd(buf, pos, 13) : -1;
      if (cr < 0 || cr + 1 >= len) {
        if (cr < 0 && len - p > this.maxInline) return this.fail('Protocol error: too big bulk count string');
        this.index = i;
        this.need = cr < 0 ? len + 1 : cr + 2;
        return INCOMPLETE;
      }
      if (buf[p] !== 36 /* '$' */) {
        return this.fail(`Protocol error: expected '$', got '${String.fromCharCode(buf[p])}'`);
      }
      const size = parseStrictInt(buf, p + 1, cr);
      if (size === null || size < 0 || size > this.maxBulk) return this.fail('Protocol error: invalid bulk length');
      if (this.guarded && size > 16384) return this.fail('Protocol error: unauthenticated bulk length');
      const start = cr + 2;
      // Like Redis, the two bytes after a bulk are skipped without being checked.
      if (start + size + 2 > len) {
        this.index = i;
        this.need = start + size + 2;
        return INCOMPLETE;
      }
      args[i] = buf.subarray(start, start + size);
      this.nextLine(pos, start + size + 2);
    }
    this.end = pos + this.next;
    this.reset();
    return OK;
  }

  private inline(buf: Buffer, pos: number): ParseCode {
    const nl = this.lineEnd(buf, pos, 10);
    if (nl < 0) {
      if (buf.length - pos > this.maxInline) return this.fail('Protocol error: too big inline request');
      this.need = buf.length + 1;
      return INCOMPLETE;
    }
    this.reset();
    const lineEnd = nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl;
    const args = splitArgs(buf, pos, lineEnd);
    if (args === null) return this.fail('Protocol error: unbalanced quotes in request');
    this.end = nl + 1;
    if (args.length === 0) return SKIP;
    this.args = args;
    return OK;
  }

  private fail(message: string): ParseCode {
    this.reset();
    this.error = message.replace(/[\r\n]/g, ' ');
    return ERROR;
  }
}

/** Redis string2ll over buf[start, end): optional '-', no '+', no leading zeros; null when invalid. */
export function parseStrictInt(buf: Uint8Array, start: number, end: number): number | null {
  let p = start;
  if (p >= end) return null;
  if (end - p === 1 && buf[p] === 48) return 0;
  let negative = false;
  if (buf[p] === 45) {
    negative = true;
    p++;
    if (p === end) return null;
  }
  if (buf[p] < 49 || buf[p] > 57) return null;
  // Beyond 15 digits a count or length exceeds every limit anyway; refuse rather than lose precision.
  if (end - p > 15) return null;
  let n = 0;
  for (; p < end; p++) {
    const c = buf[p];
    if (c < 48 || c > 57) return null;
    n = n * 10 + (c - 48);
  }
  return negative ? -n : n;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/**
 * Redis sdssplitargs over buf[start, end): blanks separate words, "double quotes" take \n \r \t \b \a
 * \xHH and \<char> escapes, 'single quotes' take \', and a closing quote must be followed by a blank.
 * A NUL byte ends the line, as in C. Unquoted words are views of buf. null: unbalanced quotes.
 */
export function splitArgs(buf: Buffer, start: number, end: number): Buffer[] | null {
  const args: Buffer[] = [];
  let p = start;
  const at = (i: number): number => (i < end ? buf[i] : 0);
  for (;;) {
    while (p < end && buf[p] !== 0 && isSpace(buf[p])) p++;
    if (p >= end || buf[p] === 0) return args;
    // Fast path: an unquoted word is a view.
    const wordStart = p;
    while (p < end) {
      const c = buf[p];
      if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0 || c === 34 || c === 39) break;
      p++;
    }
    const c = at(p);
    if (c !== 34 && c !== 39) {
      args.push(buf.subarray(wordStart, p));
      if (p < end && c !== 0) p++;
      continue;
    }
    // Slow path: quotes somewhere in the word; build it byte by byte from here.
    const out: number[] = [];
    for (let i = wordStart; i < p; i++) out.push(buf[i]);
    let inq = false;
    let insq = false;
    let done = false;
    while (!done) {
      const ch = at(p);
      if (inq) {
        if (ch === 92 && at(p + 1) === 120 && isHex(at(p + 2)) && isHex(at(p + 3))) {
          out.push(hexValue(at(p + 2)) * 16 + hexValue(at(p + 3)));
          p += 3;
        } else if (ch === 92 && at(p + 1) !== 0) {
          p++;
          const e = at(p);
          out.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
        } else if (ch === 34) {
          const next = at(p + 1);
          if (next !== 0 && !isSpace(next)) return null;
          done = true;
        } else if (ch === 0) {
          return null;
        } else {
          out.push(ch);
        }
      } else if (insq) {
        if (ch === 92 && at(p + 1) === 39) {
          p++;
          out.push(39);
        } else if (ch === 39) {
          const next = at(p + 1);
          if (next !== 0 && !isSpace(next)) return null;
          done = true;
        } else if (ch === 0) {
          return null;
        } else {
          out.push(ch);
        }
      } else if (ch === 32 || ch === 10 || ch === 13 || ch === 9 || ch === 0) {
        done = true;
      } else if (ch === 34) {
        inq = true;
      } else if (ch === 39) {
        insq = true;
      } else {
        out.push(ch);
      }
      if (at(p) !== 0) p++;
    }
    args.push(Buffer.from(out));
  }
}

export class RespFramer {
  private readonly input = new InputBuffer();
  /** bytes (from the command's start) needed before the pending command can progress. */
  private need = 0;
  private failed = false;
  private readonly parser: RespParser;
  private readonly maxQueryBuffer: number;

  constructor(options: RespFramerOptions = {}) {
    this.parser = new RespParser(
      options.maxBulkLength ?? DEFAULT_MAX_BULK,
      options.maxMultibulkLength ?? DEFAULT_MAX_MULTIBULK,
      options.maxInlineLength ?? DEFAULT_MAX_INLINE,
      options.authRequired,
    );
    this.maxQueryBuffer = options.maxQueryBuffer ?? DEFAULT_MAX_QUERY_BUFFER;
  }

  push(chunk: Buffer): void {
    if (!this.failed) this.input.push(chunk);
  }

  /** bytes received and not yet returned in a frame. */
  get buffered(): number {
    return this.input.available;
  }

  /** true once a protocol error was returned; nothing more is framed. */
  get closed(): boolean {
    return this.failed;
  }

  /** bytes scanned for line ends plus bytes copied to join chunks, so far: O(bytes received). */
  get work(): number {
    return this.parser.examined + this.input.copied;
  }

  /** the next complete command, a protocol error (then nothing more), or null when more bytes are needed. */
  next(): RespFrame | null {
    if (this.failed) return null;
    const input = this.input;
    const parser = this.parser;
    for (;;) {
      const avail = input.available;
      if (avail === 0) {
        // drop the last chunk (or a large gathered buffer) rather than hold it while idle
        input.clear();
        return null;
      }
      if (avail < this.need) return this.checkQueryLimit(avail);
      input.gather();
      const pos = input.pos;
      const code = parser.parse(input.bytes, pos);
      if (code === OK) {
        input.pos = parser.end;
        this.need = 0;
        return { type: 'command', args: parser.args, raw: input.bytes.subarray(pos, parser.end) };
      }
      if (code === SKIP) {
        input.pos = parser.end;
        this.need = 0;
        continue;
      }
      if (code === INCOMPLETE) {
        this.need = parser.need - pos;
        return this.checkQueryLimit(avail);
      }
      return this.fail(Buffer.from(`-ERR ${parser.error}\r\n`), parser.error);
    }
  }

  private checkQueryLimit(avail: number): RespFrame | null {
    if (avail <= this.maxQueryBuffer) return null;
    // Redis closes such a client without a reply.
    return this.fail(EMPTY, 'query buffer limit reached');
  }

  private fail(reply: Buffer, reason: string): RespProtocolError {
    this.failed = true;
    this.input.clear();
    return { type: 'error', reply, close: true, reason };
  }
}

const oneShot = new RespParser(Infinity, Infinity, Infinity, undefined);

/** parses one complete command (as forwarded to a shard); null when raw is not exactly one command. */
export function parseRespCommand(raw: Buffer): Buffer[] | null {
  let pos = 0;
  for (;;) {
    if (pos >= raw.length) return null;
    oneShot.reset();
    const code = oneShot.parse(raw, pos);
    if (code === SKIP) {
      pos = oneShot.end;
      continue;
    }
    if (code !== OK) return null;
    return oneShot.args;
  }
}

/** parses every command in a buffer (a batch of forwarded commands); stops at the first bad one. */
export function parseRespCommands(bytes: Buffer): { args: Buffer[]; raw: Buffer }[] {
  const out: { args: Buffer[]; raw: Buffer }[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    oneShot.reset();
    const code = oneShot.parse(bytes, pos);
    if (code === SKIP) {
      pos = oneShot.end;
      continue;
    }
    if (code !== OK) break;
    out.push({ args: oneShot.args, raw: bytes.subarray(pos, oneShot.end) });
    pos = oneShot.end;
  }
  return out;
}
