/** RESP handlers of the hash commands: arguments → a command core call → Redis' reply. */
import * as C from '../commands/index.js';
import { member } from '../engine/collections/types.js';
import { EMPTY_ARRAY, OK, ONE, ZERO, err, integer } from './encode.js';
import { NOT_INTEGER, SYNTAX, arityError } from './errors.js';
import { type Ctx, type Handler, failure, lower } from './handler.js';
import { RANDOM_REPEATS_MAX, REPEATS_TOO_MANY, memberArgs, memberArray, memberBulk, scanHandler } from './members.js';

const COUNT_RANGE = err('value is out of range, value must between -9223372036854775807 and 9223372036854775807');
const WITHVALUES_RANGE = err('value is out of range');
const LONG_MAX = 2n ** 63n - 1n;

function hset(cmd: 'hset' | 'hmset'): Handler {
  return (ctx, args) => {
    if (args.length % 2 === 1) return arityError(cmd);
    const r = C.hset(ctx, args[1], memberArgs(args, 2));
    if (r instanceof C.Failure) return failure(r, cmd);
    return cmd === 'hmset' ? OK : integer(r);
  };
}

function hsetnx(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hsetnx(ctx, args[1], member(args[2]), member(args[3]));
  if (r instanceof C.Failure) return failure(r, 'hsetnx');
  return r ? ONE : ZERO;
}

function hget(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hget(ctx, args[1], member(args[2]));
  return r instanceof C.Failure ? failure(r, 'hget') : memberBulk(r);
}

function hmget(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hmget(ctx, args[1], memberArgs(args, 2));
  return r instanceof C.Failure ? failure(r, 'hmget') : memberArray(r);
}

function hgetall(part: 'all' | 'fields' | 'values', cmd: string): Handler {
  return (ctx, args) => {
    const r = C.hgetall(ctx, args[1], part);
    return r instanceof C.Failure ? failure(r, cmd) : memberArray(r);
  };
}

function hdel(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hdel(ctx, args[1], memberArgs(args, 2));
  return r instanceof C.Failure ? failure(r, 'hdel') : integer(r);
}

function hexists(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hexists(ctx, args[1], member(args[2]));
  if (r instanceof C.Failure) return failure(r, 'hexists');
  return r ? ONE : ZERO;
}

function hlen(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hlen(ctx, args[1]);
  return r instanceof C.Failure ? failure(r, 'hlen') : integer(r);
}

function hstrlen(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hstrlen(ctx, args[1], member(args[2]));
  return r instanceof C.Failure ? failure(r, 'hstrlen') : integer(r);
}

function hincrby(ctx: Ctx, args: Buffer[]): Buffer {
  const delta = C.parseI64(args[3]);
  if (delta === null) return NOT_INTEGER;
  const r = C.hincrby(ctx, args[1], member(args[2]), delta);
  return r instanceof C.Failure ? failure(r, 'hincrby') : integer(r);
}

function hincrbyfloat(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.hincrbyfloat(ctx, args[1], member(args[2]), C.parseLongDouble(args[3]));
  return r instanceof C.Failure ? failure(r, 'hincrbyfloat') : memberBulk(r);
}

/** HRANDFIELD key [count [WITHVALUES]], checked in Redis' order: count, the option, its range */
function hrandfield(ctx: Ctx, args: Buffer[]): Buffer {
  if (args.length === 2) {
    const r = C.hrandfieldOne(ctx, args[1]);
    return r instanceof C.Failure ? failure(r, 'hrandfield') : memberBulk(r);
  }
  const n = C.parseI64(args[2]);
  if (n === null) return NOT_INTEGER;
  if (n < -LONG_MAX) return COUNT_RANGE;
  if (args.length > 4 || (args.length === 4 && lower(args[3]) !== 'withvalues')) return SYNTAX;
  const withValues = args.length === 4;
  if (withValues && (n < -LONG_MAX / 2n || n > LONG_MAX / 2n)) return WITHVALUES_RANGE;
  if (n < -BigInt(RANDOM_REPEATS_MAX)) {
    const size = C.hlen(ctx, args[1]);
    if (size instanceof C.Failure) return failure(size, 'hrandfield');
    return size === 0 ? EMPTY_ARRAY : REPEATS_TOO_MANY;
  }
  const r = C.hrandfield(ctx, args[1], Number(n), withValues);
  return r instanceof C.Failure ? failure(r, 'hrandfield') : memberArray(r);
}

export const HASH_HANDLERS: ReadonlyArray<[string, Handler]> = [
  ['hset', hset('hset')],
  ['hmset', hset('hmset')],
  ['hsetnx', hsetnx],
  ['hget', hget],
  ['hmget', hmget],
  ['hgetall', hgetall('all', 'hgetall')],
  ['hkeys', hgetall('fields', 'hkeys')],
  ['hvals', hgetall('values', 'hvals')],
  ['hdel', hdel],
  ['hexists', hexists],
  ['hlen', hlen],
  ['hstrlen', hstrlen],
  ['hincrby', hincrby],
  ['hincrbyfloat', hincrbyfloat],
  ['hrandfield', hrandfield],
  ['hscan', scanHandler('hscan', C.hlen, C.hscan)],
];
