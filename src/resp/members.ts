/**
 * What the hash and set handlers share: replies built from member strings (latin1, one char per
 * byte) in one allocation each, and the HSCAN/SSCAN arguments read as Redis reads them.
 */
import * as C from '../commands/index.js';
import { member } from '../engine/collections/types.js';
import { NIL, err } from './encode.js';
import { NOT_INTEGER, SYNTAX } from './errors.js';
import { type Handler, failure, lower } from './handler.js';

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** the arguments from `from` on as member strings */
export function memberArgs(args: Buffer[], from: number): string[] {
  const out = new Array<string>(args.length - from);
  for (let i = from; i < args.length; i++) out[i - from] = member(args[i]);
  return out;
}

/** a member as a bulk string; null as the nil bulk */
export function memberBulk(s: string | null): Buffer {
  if (s === null) return NIL;
  const head = digits(s.length) + 3;
  const out = Buffer.allocUnsafe(head + s.length + 2);
  out.write(`$${s.length}\r\n`, 0, 'latin1');
  out.write(s, head, 'latin1');
  out[head + s.length] = 13;
  out[head + s.length + 1] = 10;
  return out;
}

function arraySize(items: readonly (string | null)[]): number {
  let size = 0;
  for (const s of items) size += s === null ? 5 : digits(s.length) + s.length + 5;
  return size;
}

function writeItems(out: Buffer, at: number, items: readonly (string | null)[]): void {
  for (const s of items) {
    if (s === null) {
      at += out.write('$-1\r\n', at, 'latin1');
      continue;
    }
    at += out.write(`$${s.length}\r\n`, at, 'latin1');
    at += out.write(s, at, 'latin1');
    out[at++] = 13;
    out[at++] = 10;
  }
}

/** an array of members as bulk strings (null: the nil bulk) */
export function memberArray(items: readonly (string | null)[]): Buffer {
  const head = `*${items.length}\r\n`;
  const out = Buffer.allocUnsafe(head.length + arraySize(items));
  writeItems(out, out.write(head, 0, 'latin1'), items);
  return out;
}

/** a scan page: the next cursor as a bulk string, then the members */
export function scanReply(page: C.MemberPage): Buffer {
  const cursor = String(page.cursor);
  const head = `*2\r\n$${cursor.length}\r\n${cursor}\r\n*${page.items.length}\r\n`;
  const out = Buffer.allocUnsafe(head.length + arraySize(page.items));
  writeItems(out, out.write(head, 0, 'latin1'), page.items);
  return out;
}

const U64_MAX = 2n ** 64n - 1n;

/**
 * A scan cursor as Redis reads it (strtoul, base 10, refused when it starts with a blank, has
 * anything after the digits or overflows): null when refused. The text ends at a NUL, as in C; an
 * empty one is 0 and a negative one wraps, as strtoul makes them. Past 2^53 it is only "beyond any
 * position", which is all a cursor past the size means here.
 */
export function parseScanCursor(arg: Buffer): number | null {
  const nul = arg.indexOf(0);
  const text = arg.toString('latin1', 0, nul < 0 ? arg.length : nul);
  if (text.length === 0) return 0;
  const m = /^([+-]?)(\d+)$/.exec(text);
  if (m === null) return null;
  const magnitude = BigInt(m[2]);
  if (magnitude > U64_MAX) return null;
  if (magnitude === 0n) return 0;
  if (m[1] === '-') return Number.POSITIVE_INFINITY;
  return magnitude > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(magnitude);
}

export interface ScanOptions {
  count: number;
  match: Buffer | null;
}

/**
 * HSCAN/SSCAN options after the cursor (COUNT n, MATCH pattern; TYPE is SCAN's only), or the error
 * reply. Redis reads them only once it found the key: the caller answers a missing key's empty page
 * first.
 */
export function scanOptions(args: Buffer[], from: number): ScanOptions | Buffer {
  const o: ScanOptions = { count: 10, match: null };
  for (let i = from; i < args.length; i += 2) {
    const opt = lower(args[i]);
    if (i + 1 >= args.length) return SYNTAX;
    if (opt === 'count') {
      const n = C.parseI64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 1n) return SYNTAX;
      o.count = n > 1_000_000_000n ? 1_000_000_000 : Number(n);
    } else if (opt === 'match') {
      const p = args[i + 1];
      o.match = p.length === 1 && p[0] === 42 ? null : p;
    } else return SYNTAX;
  }
  return o;
}

const INVALID_CURSOR = err('invalid cursor');
const EMPTY_SCAN = Buffer.from('*2\r\n$1\r\n0\r\n*0\r\n');

type Size = (ctx: C.CommandContext, key: Uint8Array) => number | C.Failure;
type Page = (ctx: C.CommandContext, key: Uint8Array, cursor: number, count: number, match: Uint8Array | null) => C.MemberPage | C.Failure;

/**
 * HSCAN / SSCAN key cursor [MATCH pattern] [COUNT count], checked in Redis' order: the cursor, then
 * the key (a missing one answers an empty page whatever the options), its type, the options.
 */
export function scanHandler(cmd: string, size: Size, page: Page): Handler {
  return (ctx, args) => {
    const cursor = parseScanCursor(args[2]);
    if (cursor === null) return INVALID_CURSOR;
    const o = scanOptions(args, 3);
    if (Buffer.isBuffer(o)) {
      const n = size(ctx, args[1]);
      return n instanceof C.Failure ? failure(n, cmd) : n === 0 ? EMPTY_SCAN : o;
    }
    const r = page(ctx, args[1], cursor, o.count, o.match);
    return r instanceof C.Failure ? failure(r, cmd) : scanReply(r);
  };
}

/**
 * The most members SRANDMEMBER and HRANDFIELD answer for a negative count (members may repeat, so
 * the reply is not bounded by the collection): past it, an error instead of a reply the shard would
 * have to build whole in memory. Redis has no such bound (docs/commands.md, Known differences).
 */
export const RANDOM_REPEATS_MAX = 1_000_000;
export const REPEATS_TOO_MANY = err(`value is out of range, a negative count may ask for at most ${RANDOM_REPEATS_MAX} members`);
