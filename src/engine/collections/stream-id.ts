/**
 * Stream entry ids (`ms-seq`, two unsigned 64-bit numbers) as 16-char latin1 strings: ms then seq,
 * each big-endian. JS string order is then id order, a Map keys them, and both halves are exact to
 * 2^64-1 without a BigInt per id (one is made only to print a half at or past 2^53).
 */

export type StreamId = string;

export const MIN_ID: StreamId = '\x00'.repeat(16);
export const MAX_ID: StreamId = '\xff'.repeat(16);
const ZERO8 = '\x00'.repeat(8);
const MAX8 = '\xff'.repeat(8);
const TWO32 = 2 ** 32;

function u32Chars(n: number): string {
  return String.fromCharCode((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function u32At(s: string, at: number): number {
  return ((s.charCodeAt(at) << 24) | (s.charCodeAt(at + 1) << 16) | (s.charCodeAt(at + 2) << 8) | s.charCodeAt(at + 3)) >>> 0;
}

/** a u64 half from a number below 2^53 */
function u64Chars(n: number): string {
  const hi = Math.floor(n / TWO32);
  return u32Chars(hi) + u32Chars(n - hi * TWO32);
}

/** the id ms-seq of two numbers below 2^53 */
export function idOf(ms: number, seq: number): StreamId {
  return u64Chars(ms) + u64Chars(seq);
}

/** the ms half (8 chars) */
export function msPart(id: StreamId): string {
  return id.slice(0, 8);
}

/** the id made of an 8-char ms half and an 8-char seq half */
export function joinId(ms: string, seq: string): StreamId {
  return ms + seq;
}

export const SEQ_ZERO = ZERO8;
export const SEQ_MAX = MAX8;

/** a u64 half as decimal */
function formatHalf(id: string, at: number): string {
  const hi = u32At(id, at);
  const lo = u32At(id, at + 4);
  if (hi < 0x200000) return String(hi * TWO32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** `ms-seq` as Redis prints an id */
export function formatId(id: StreamId): string {
  return `${formatHalf(id, 0)}-${formatHalf(id, 8)}`;
}

/** the ms half as a number (exact below 2^53; ids of real clocks are) */
export function msNumber(id: StreamId): number {
  return u32At(id, 0) * TWO32 + u32At(id, 4);
}

/** the id after this one; null after the largest */
export function nextId(id: StreamId): StreamId | null {
  if (id === MAX_ID) return null;
  let i = 15;
  while (id.charCodeAt(i) === 0xff) i--;
  return id.slice(0, i) + String.fromCharCode(id.charCodeAt(i) + 1) + ZERO8.repeat(2).slice(0, 15 - i);
}

/** the id before this one; null before the smallest */
export function prevId(id: StreamId): StreamId | null {
  if (id === MIN_ID) return null;
  let i = 15;
  while (id.charCodeAt(i) === 0) i--;
  return id.slice(0, i) + String.fromCharCode(id.charCodeAt(i) - 1) + MAX8.repeat(2).slice(0, 15 - i);
}

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * A u64 half from text as C's strtoull reads it (Redis' string2ull falls back to it): leading
 * white space, a sign (a minus negates modulo 2^64), at least one digit, nothing after, no
 * overflow. Null when invalid.
 */
export function parseHalf(text: string): string | null {
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') {
    negative = text[i] === '-';
    i++;
  }
  if (i >= text.length) return null;
  let hi = 0;
  let lo = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    lo = lo * 10 + d;
    const carry = Math.floor(lo / TWO32);
    lo -= carry * TWO32;
    hi = hi * 10 + carry;
    if (hi >= TWO32) return null;
  }
  if (negative && (hi !== 0 || lo !== 0)) {
    // two's complement of the 64-bit value
    lo = TWO32 - lo;
    hi = TWO32 - 1 - hi;
    if (lo === TWO32) {
      lo = 0;
      hi = (hi + 1) % TWO32;
    }
  }
  return u32Chars(hi) + u32Chars(lo);
}

/** A parsed id argument: the id, and whether its sequence was given (`ms-*` leaves it open). */
export interface ParsedId {
  id: StreamId;
  seqGiven: boolean;
}

/**
 * An id argument as Redis' streamGenericParseIDOrReply reads it: `-` and `+` (unless strict), `ms`
 * (seq = missingSeq), `ms-seq`, and with `allowAutoSeq` `ms-*`. At most 127 bytes, read up to a
 * NUL as C does. Null when invalid ("Invalid stream ID specified as stream command argument").
 */
export function parseId(arg: string, strict: boolean, missingSeq: string, allowAutoSeq = false): ParsedId | null {
  if (arg.length > 127) return null;
  const nul = arg.indexOf('\x00');
  const text = nul < 0 ? arg : arg.slice(0, nul);
  if (text === '-' || text === '+') {
    if (strict) return null;
    return { id: text === '-' ? MIN_ID : MAX_ID, seqGiven: true };
  }
  const dash = text.indexOf('-');
  const ms = parseHalf(dash < 0 ? text : text.slice(0, dash));
  if (ms === null) return null;
  if (dash < 0) return { id: ms + missingSeq, seqGiven: true };
  const rest = text.slice(dash + 1);
  if (allowAutoSeq && rest === '*') return { id: ms + ZERO8, seqGiven: false };
  const seq = parseHalf(rest);
  return seq === null ? null : { id: ms + seq, seqGiven: true };
}

/** the id of the current time: (now, 0) when now passes the last id's ms, else the last id + 1 */
export function autoId(last: StreamId, now: number): StreamId | null {
  const ms = u64Chars(Math.max(0, Math.floor(now)));
  if (ms > msPart(last)) return ms + ZERO8;
  return nextId(last);
}
