/**
 * RESP handlers of the list commands: arguments → a command core call → Redis' reply, with Redis
 * 7.0's order of checks (what is parsed before the key is looked up, and what after) and its
 * error texts. The blocking ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) answer at once when a
 * list has something, or when the message may not block (inside MULTI, a script): then with the
 * timeout's reply, as Redis does. Otherwise they wait on the shard's waiters (src/commands/
 * blocking.ts) and their reply is a promise.
 */
import * as C from '../commands/index.js';
import { ValueType } from '../engine/collections/types.js';
import { EMPTY_ARRAY, NIL, NIL_ARRAY, OK, bulk, err, integer } from './encode.js';
import { NOT_INTEGER, SYNTAX, arityError } from './errors.js';
import { served, timeoutOf } from './blocking.js';
import { type Ctx, type Handler, failure, lower } from './handler.js';

const I64_CLAMP = BigInt(Number.MAX_SAFE_INTEGER);
const NO_SUCH_KEY = err('no such key');
const OUT_OF_RANGE = err('index out of range');
const MUST_BE_POSITIVE = err('value is out of range, must be positive');

/** an i64 argument (Redis' long) as a number; one past any list's length stays past it */
function index(arg: Buffer): number | null {
  const v = C.parseI64(arg);
  if (v === null) return null;
  return v > I64_CLAMP ? Number.MAX_SAFE_INTEGER : v < -I64_CLAMP ? -Number.MAX_SAFE_INTEGER : Number(v);
}

/** a long in [min, LONG_MAX] or the given error (Redis' getRangeLongFromObjectOrReply with a message) */
function atLeast(arg: Buffer, min: number, error: Buffer): number | Buffer {
  const n = index(arg);
  return n === null || n < min ? error : n;
}

/** a member string as a bulk reply */
function bulkOf(s: string | null): Buffer {
  return s === null ? NIL : bulk(Buffer.from(s, 'latin1'));
}

/** an array of member strings, in one allocation */
function bulks(items: readonly string[]): Buffer {
  if (items.length === 0) return EMPTY_ARRAY;
  let size = 0;
  for (const s of items) size += s.length + 16;
  const out = Buffer.allocUnsafe(size + 16);
  let at = out.write(`*${items.length}\r\n`, 0, 'latin1');
  for (const s of items) {
    at += out.write(`$${s.length}\r\n`, at, 'latin1');
    at += out.write(s, at, 'latin1');
    out[at++] = 13;
    out[at++] = 10;
  }
  return out.subarray(0, at);
}

/** `*2 key element` (BLPOP) or `*2 key [elements]` (LMPOP) */
function keyed(key: Uint8Array, rest: Buffer): Buffer {
  return Buffer.concat([Buffer.from('*2\r\n'), bulk(key), rest]);
}

function side(arg: Buffer): boolean | null {
  const s = lower(arg);
  return s === 'left' ? true : s === 'right' ? false : null;
}

function reply<T>(r: T | C.Failure, cmd: string, render: (v: T) => Buffer): Buffer {
  return r instanceof C.Failure ? failure(r, cmd) : render(r);
}

function push(left: boolean, onlyIfExists: boolean, cmd: string): Handler {
  return (ctx, args) => reply(C.lpush(ctx, args[1], args.slice(2), left, onlyIfExists), cmd, integer);
}

function pop(left: boolean, cmd: string): Handler {
  return (ctx, args) => {
    if (args.length > 3) return arityError(cmd);
    let count: number | null = null;
    if (args.length === 3) {
      const n = atLeast(args[2], 0, MUST_BE_POSITIVE);
      if (typeof n !== 'number') return n;
      count = n;
    }
    const r = C.lpop(ctx, args[1], left, count);
    if (r instanceof C.Failure) return failure(r, cmd);
    if (r === null) return count === null ? NIL : NIL_ARRAY;
    return typeof r === 'string' ? bulkOf(r) : bulks(r);
  };
}

function lrange(ctx: Ctx, args: Buffer[]): Buffer {
  const start = index(args[2]);
  const stop = index(args[3]);
  if (start === null || stop === null) return NOT_INTEGER;
  return reply(C.lrange(ctx, args[1], start, stop), 'lrange', bulks);
}

function lindex(ctx: Ctx, args: Buffer[]): Buffer {
  // the key is looked up first: an absent key answers nil whatever the index
  const t = ctx.store.typeOf(args[1]);
  if (t === null) return NIL;
  if (t !== ValueType.LIST) return failure(C.fail(C.Fault.WRONG_TYPE), 'lindex');
  const i = index(args[2]);
  if (i === null) return NOT_INTEGER;
  return reply(C.lindex(ctx, args[1], i), 'lindex', bulkOf);
}

function lset(ctx: Ctx, args: Buffer[]): Buffer {
  const t = ctx.store.typeOf(args[1]);
  if (t === null) return NO_SUCH_KEY;
  if (t !== ValueType.LIST) return failure(C.fail(C.Fault.WRONG_TYPE), 'lset');
  const i = index(args[2]);
  if (i === null) return NOT_INTEGER;
  const r = C.lset(ctx, args[1], i, args[3]);
  if (r instanceof C.Failure) return failure(r, 'lset');
  return r === 'ok' ? OK : r === 'nokey' ? NO_SUCH_KEY : OUT_OF_RANGE;
}

function linsert(ctx: Ctx, args: Buffer[]): Buffer {
  const where = lower(args[2]);
  if (where !== 'before' && where !== 'after') return SYNTAX;
  return reply(C.linsert(ctx, args[1], where === 'before', args[3], args[4]), 'linsert', integer);
}

function lrem(ctx: Ctx, args: Buffer[]): Buffer {
  const n = index(args[2]);
  if (n === null) return NOT_INTEGER;
  return reply(C.lrem(ctx, args[1], n, args[3]), 'lrem', integer);
}

function ltrim(ctx: Ctx, args: Buffer[]): Buffer {
  const start = index(args[2]);
  const stop = index(args[3]);
  if (start === null || stop === null) return NOT_INTEGER;
  return reply(C.ltrim(ctx, args[1], start, stop), 'ltrim', () => OK);
}

const RANK_ZERO = err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
const COUNT_NEGATIVE = err("COUNT can't be negative");
const MAXLEN_NEGATIVE = err("MAXLEN can't be negative");

function lpos(ctx: Ctx, args: Buffer[]): Buffer {
  const a: C.LposArgs = { element: args[2], rank: 1, count: null, maxlen: 0 };
  for (let j = 3; j < args.length; j++) {
    const opt = lower(args[j]);
    const more = j < args.length - 1;
    if (opt === 'rank' && more) {
      const r = index(args[++j]);
      if (r === null) return NOT_INTEGER;
      if (r === 0) return RANK_ZERO;
      a.rank = r;
    } else if (opt === 'count' && more) {
      const n = atLeast(args[++j], 0, COUNT_NEGATIVE);
      if (typeof n !== 'number') return n;
      a.count = n;
    } else if (opt === 'maxlen' && more) {
      const n = atLeast(args[++j], 0, MAXLEN_NEGATIVE);
      if (typeof n !== 'number') return n;
      a.maxlen = n;
    } else return SYNTAX;
  }
  const r = C.lpos(ctx, args[1], a);
  if (r instanceof C.Failure) return failure(r, 'lpos');
  if (r === null) return NIL;
  if (typeof r === 'number') return integer(r);
  return Buffer.concat([Buffer.from(`*${r.length}\r\n`), ...r.map((i) => integer(i))]);
}

function lmove(ctx: Ctx, args: Buffer[]): Buffer {
  const from = side(args[3]);
  const to = side(args[4]);
  if (from === null || to === null) return SYNTAX;
  return reply(C.lmove(ctx, args[1], args[2], from, to), 'lmove', bulkOf);
}

const rpoplpush: Handler = (ctx, args) => reply(C.lmove(ctx, args[1], args[2], false, true), 'rpoplpush', bulkOf);

const NUMKEYS = err('numkeys should be greater than 0');
const COUNT_POSITIVE = err('count should be greater than 0');

interface MpopArgs {
  keys: Buffer[];
  left: boolean;
  count: number;
}

/** `numkeys key... LEFT|RIGHT [COUNT n]` from args[at] on, checked in Redis' order */
function mpopArgs(args: Buffer[], at: number): MpopArgs | Buffer {
  const numkeys = atLeast(args[at], 1, NUMKEYS);
  if (typeof numkeys !== 'number') return numkeys;
  const whereAt = at + numkeys + 1;
  if (whereAt >= args.length) return SYNTAX;
  const left = side(args[whereAt]);
  if (left === null) return SYNTAX;
  let count = -1;
  for (let j = whereAt + 1; j < args.length; j++) {
    if (count === -1 && lower(args[j]) === 'count' && j < args.length - 1) {
      const n = atLeast(args[++j], 1, COUNT_POSITIVE);
      if (typeof n !== 'number') return n;
      count = n;
    } else return SYNTAX;
  }
  return { keys: args.slice(at + 1, whereAt), left, count: count === -1 ? 1 : count };
}

function mpopReply(r: { key: Uint8Array; elements: string[] } | null): Buffer {
  return r === null ? NIL_ARRAY : keyed(r.key, bulks(r.elements));
}

function lmpop(ctx: Ctx, args: Buffer[]): Buffer {
  const a = mpopArgs(args, 1);
  if (Buffer.isBuffer(a)) return a;
  return reply(C.lmpop(ctx, a.keys, a.left, a.count), 'lmpop', mpopReply);
}

// ---------------------------------------------------------------------------------------------
// Blocking. An attempt runs when a key of the waiter became ready: it takes as the command would,
// and its reply waits for what the durability mode asks of the change, as every reply does.

/** the attempt's verdict on a key before it takes: DRAINED when absent, PASS when not a list */
function listThere(ctx: Ctx, key: Buffer): typeof C.PASS | typeof C.DRAINED | null {
  const t = ctx.store.typeOf(key);
  return t === null ? C.DRAINED : t !== ValueType.LIST ? C.PASS : null;
}

function bpop(left: boolean, cmd: string): Handler {
  return (ctx, args) => {
    const timeout = timeoutOf(args[args.length - 1]);
    if (typeof timeout !== 'number') return timeout;
    const keys = args.slice(1, -1);
    const r = C.bpop(ctx, keys, left);
    if (r instanceof C.Failure) return failure(r, cmd);
    if (r !== null) return keyed(r.key, bulkOf(r.element));
    const waiters = C.waitersOf(ctx.store);
    if (waiters.blocker === null) return NIL_ARRAY;
    return waiters.wait<Buffer | Promise<Buffer>>(
      keys,
      (key) =>
        listThere(ctx, key) ??
        served(ctx, () => {
          const got = C.bpop(ctx, [key], left);
          return got === null ? NIL_ARRAY : got instanceof C.Failure ? failure(got, cmd) : keyed(got.key, bulkOf(got.element));
        }),
      timeout,
      () => NIL_ARRAY,
    ) as Promise<Buffer>;
  };
}

function blockingMove(ctx: Ctx, args: Buffer[], from: boolean, to: boolean, timeout: number, cmd: string): Buffer | Promise<Buffer> {
  const r = C.lmove(ctx, args[1], args[2], from, to);
  if (r instanceof C.Failure) return failure(r, cmd);
  if (r !== null) return bulkOf(r);
  const waiters = C.waitersOf(ctx.store);
  if (waiters.blocker === null) return NIL;
  const destination = Buffer.from(args[2]); // the arguments are the message's bytes, gone after it
  return waiters.wait<Buffer | Promise<Buffer>>(
    [args[1]],
    (key) => listThere(ctx, key) ?? served(ctx, () => reply(C.lmove(ctx, key, destination, from, to), cmd, bulkOf)),
    timeout,
    // Redis 7.0 times every list command out with the null array, BLMOVE's too
    () => NIL_ARRAY,
  ) as Promise<Buffer>;
}

function blmove(ctx: Ctx, args: Buffer[]): Buffer | Promise<Buffer> {
  const from = side(args[3]);
  const to = side(args[4]);
  if (from === null || to === null) return SYNTAX;
  const timeout = timeoutOf(args[5]);
  if (typeof timeout !== 'number') return timeout;
  return blockingMove(ctx, args, from, to, timeout, 'blmove');
}

function brpoplpush(ctx: Ctx, args: Buffer[]): Buffer | Promise<Buffer> {
  const timeout = timeoutOf(args[3]);
  if (typeof timeout !== 'number') return timeout;
  return blockingMove(ctx, args, false, true, timeout, 'brpoplpush');
}

function blmpop(ctx: Ctx, args: Buffer[]): Buffer | Promise<Buffer> {
  const a = mpopArgs(args, 2);
  if (Buffer.isBuffer(a)) return a;
  const timeout = timeoutOf(args[1]);
  if (typeof timeout !== 'number') return timeout;
  const r = C.lmpop(ctx, a.keys, a.left, a.count);
  if (r instanceof C.Failure) return failure(r, 'blmpop');
  if (r !== null) return mpopReply(r);
  const waiters = C.waitersOf(ctx.store);
  if (waiters.blocker === null) return NIL_ARRAY;
  const { left, count } = a;
  return waiters.wait<Buffer | Promise<Buffer>>(
    a.keys,
    (key) => listThere(ctx, key) ?? served(ctx, () => reply(C.lmpop(ctx, [key], left, count), 'blmpop', mpopReply)),
    timeout,
    () => NIL_ARRAY,
  ) as Promise<Buffer>;
}

export const LIST_HANDLERS: ReadonlyArray<[string, Handler]> = [
  ['lpush', push(true, false, 'lpush')],
  ['rpush', push(false, false, 'rpush')],
  ['lpushx', push(true, true, 'lpushx')],
  ['rpushx', push(false, true, 'rpushx')],
  ['lpop', pop(true, 'lpop')],
  ['rpop', pop(false, 'rpop')],
  ['llen', (ctx, args) => reply(C.llen(ctx, args[1]), 'llen', integer)],
  ['lrange', lrange],
  ['lindex', lindex],
  ['lset', lset],
  ['linsert', linsert],
  ['lrem', lrem],
  ['ltrim', ltrim],
  ['lpos', lpos],
  ['lmove', lmove],
  ['rpoplpush', rpoplpush],
  ['lmpop', lmpop],
  ['blpop', bpop(true, 'blpop')],
  ['brpop', bpop(false, 'brpop')],
  ['blmove', blmove],
  ['brpoplpush', brpoplpush],
  ['blmpop', blmpop],
];
