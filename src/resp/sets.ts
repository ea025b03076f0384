/** RESP handlers of the set commands: arguments → a command core call → Redis' reply. */
import * as C from '../commands/index.js';
import { member } from '../engine/collections/types.js';
import { EMPTY_ARRAY, ONE, ZERO, err, integer } from './encode.js';
import { NOT_INTEGER, SYNTAX } from './errors.js';
import { type Ctx, type Handler, failure, lower } from './handler.js';
import { RANDOM_REPEATS_MAX, REPEATS_TOO_MANY, memberArgs, memberArray, memberBulk, scanHandler } from './members.js';

const MUST_BE_POSITIVE = err('value is out of range, must be positive');
const COUNT_RANGE = err('value is out of range, value must between -9223372036854775807 and 9223372036854775807');
const NUMKEYS = err('numkeys should be greater than 0');
const TOO_MANY_KEYS = err("Number of keys can't be greater than number of args");
const NEGATIVE_LIMIT = err("LIMIT can't be negative");
const LONG_MAX = 2n ** 63n - 1n;

function sadd(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.sadd(ctx, args[1], memberArgs(args, 2));
  return r instanceof C.Failure ? failure(r, 'sadd') : integer(r);
}

function srem(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.srem(ctx, args[1], memberArgs(args, 2));
  return r instanceof C.Failure ? failure(r, 'srem') : integer(r);
}

function smembers(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.smembers(ctx, args[1]);
  return r instanceof C.Failure ? failure(r, 'smembers') : memberArray(r);
}

function sismember(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.sismember(ctx, args[1], member(args[2]));
  if (r instanceof C.Failure) return failure(r, 'sismember');
  return r ? ONE : ZERO;
}

function smismember(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.smismember(ctx, args[1], memberArgs(args, 2));
  if (r instanceof C.Failure) return failure(r, 'smismember');
  return Buffer.concat([Buffer.from(`*${r.length}\r\n`), ...r.map((b) => (b ? ONE : ZERO))]);
}

function scard(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.scard(ctx, args[1]);
  return r instanceof C.Failure ? failure(r, 'scard') : integer(r);
}

/** SPOP key [count]: any count that is not an integer ≥ 0 gets Redis' "must be positive" */
function spop(ctx: Ctx, args: Buffer[]): Buffer {
  if (args.length > 3) return SYNTAX;
  if (args.length === 2) {
    const r = C.spopOne(ctx, args[1]);
    return r instanceof C.Failure ? failure(r, 'spop') : memberBulk(r);
  }
  const n = C.parseI64(args[2]);
  if (n === null || n < 0n) return MUST_BE_POSITIVE;
  const r = C.spop(ctx, args[1], n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  return r instanceof C.Failure ? failure(r, 'spop') : memberArray(r);
}

function srandmember(ctx: Ctx, args: Buffer[]): Buffer {
  if (args.length > 3) return SYNTAX;
  if (args.length === 2) {
    const r = C.srandmemberOne(ctx, args[1]);
    return r instanceof C.Failure ? failure(r, 'srandmember') : memberBulk(r);
  }
  const n = C.parseI64(args[2]);
  if (n === null) return NOT_INTEGER;
  if (n < -LONG_MAX) return COUNT_RANGE;
  if (n < -BigInt(RANDOM_REPEATS_MAX)) {
    const size = C.scard(ctx, args[1]);
    if (size instanceof C.Failure) return failure(size, 'srandmember');
    return size === 0 ? EMPTY_ARRAY : REPEATS_TOO_MANY;
  }
  const r = C.srandmember(ctx, args[1], n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  return r instanceof C.Failure ? failure(r, 'srandmember') : memberArray(r);
}

function smove(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.smove(ctx, args[1], args[2], member(args[3]));
  if (r instanceof C.Failure) return failure(r, 'smove');
  return r ? ONE : ZERO;
}

function setOp(op: C.SetOp, cmd: string): Handler {
  return (ctx, args) => {
    const r = C.setOp(ctx, op, args.slice(1));
    return r instanceof C.Failure ? failure(r, cmd) : memberArray(r);
  };
}

function setOpStore(op: C.SetOp, cmd: string): Handler {
  return (ctx, args) => {
    const r = C.setOpStore(ctx, op, args[1], args.slice(2));
    return r instanceof C.Failure ? failure(r, cmd) : integer(r);
  };
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit], checked in Redis' order */
function sintercard(ctx: Ctx, args: Buffer[]): Buffer {
  const numkeys = C.parseI64(args[1]);
  if (numkeys === null || numkeys < 1n) return NUMKEYS;
  if (numkeys > BigInt(args.length - 2)) return TOO_MANY_KEYS;
  const end = 2 + Number(numkeys);
  let limit = 0;
  for (let j = end; j < args.length; j++) {
    if (lower(args[j]) === 'limit' && j < args.length - 1) {
      const n = C.parseI64(args[++j]);
      if (n === null || n < 0n) return NEGATIVE_LIMIT;
      limit = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    } else return SYNTAX;
  }
  const r = C.sintercard(ctx, args.slice(2, end), limit);
  return r instanceof C.Failure ? failure(r, 'sintercard') : integer(r);
}

export const SET_HANDLERS: ReadonlyArray<[string, Handler]> = [
  ['sadd', sadd],
  ['srem', srem],
  ['smembers', smembers],
  ['sismember', sismember],
  ['smismember', smismember],
  ['scard', scard],
  ['spop', spop],
  ['srandmember', srandmember],
  ['smove', smove],
  ['sinter', setOp('inter', 'sinter')],
  ['sunion', setOp('union', 'sunion')],
  ['sdiff', setOp('diff', 'sdiff')],
  ['sinterstore', setOpStore('inter', 'sinterstore')],
  ['sunionstore', setOpStore('union', 'sunionstore')],
  ['sdiffstore', setOpStore('diff', 'sdiffstore')],
  ['sintercard', sintercard],
  ['sscan', scanHandler('sscan', C.scard, C.sscan)],
];
