/**
 * RESP executor (shard side): runs one forwarded command against the shard's store and returns the
 * reply bytes, worded as Redis 7 words them. Never throws: store failures become `-ERR` replies.
 */
import { MAX_VALUE_LIMIT } from '../engine/index.js';
import { ErrorCode, isCairnError } from '../errors.js';
import type { ShardStore } from '../store/types.js';
import { COMMANDS, arityOk, commandName } from '../commands/table.js';
import {
  EMPTY_BULK,
  NIL,
  OK,
  ONE,
  PONG,
  ZERO,
  bulk,
  bulkArray,
  err,
  integer,
  simple,
} from './encode.js';
import {
  NOT_FLOAT,
  NOT_INTEGER,
  OOM,
  OVERFLOW,
  SYNTAX,
  TOO_BIG,
  arityError,
  invalidExpire,
  sanitize,
  unknownCommand,
} from './errors.js';
import { parseRespCommand } from './framer.js';
import { globMatch, matchesAll } from '../commands/glob.js';
import { ShardUsec } from './cmdstats.js';
import { shardReport } from './info.js';
import {
  addDecimals,
  decimalOverflows,
  formatDecimal,
  parseI64,
  parseLongDouble,
  type Decimal,
} from '../commands/numbers.js';
import { SHARD_STATS_COMMAND } from './planner.js';

export interface RespExecOptions {
  /** the clock, ms since the epoch (tests pass a fixed one). */
  now?: () => number;
  /** the largest string SETRANGE/APPEND may build (Redis proto-max-bulk-len). */
  maxValueSize?: number;
}

interface Ctx {
  store: ShardStore;
  now: number;
  maxValueSize: number;
}

type Handler = (ctx: Ctx, args: Buffer[]) => Promise<Buffer> | Buffer;

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const STRING = simple('string');
const NONE = simple('none');

/**
 * Executes one forwarded command (`raw`, multibulk or inline) and returns its reply: at once when
 * nothing in it waits (a GET), else as a promise. Either way the command
 * takes effect when it is called.
 */
export function executeResp(store: ShardStore, raw: Buffer, options: RespExecOptions = {}): Buffer | Promise<Buffer> {
  const args = parseRespCommand(raw);
  if (args === null) return err('Protocol error: bad forwarded command');
  return executeRespArgs(store, args, options);
}

/** executes commands one after another (a shard's batch), replies in the same order. */
export async function executeRespBatch(
  store: ShardStore,
  raws: readonly Buffer[],
  options: RespExecOptions = {},
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const raw of raws) out.push(await executeResp(store, raw, options));
  return out;
}

export function executeRespArgs(store: ShardStore, args: Buffer[], options: RespExecOptions = {}): Buffer | Promise<Buffer> {
  let name = commandName(args[0]);
  const handler = HANDLERS.get(name);
  if (handler === undefined) return unknownCommand(args);
  const spec = COMMANDS.get(name);
  if (spec !== undefined && !arityOk(spec, args.length)) return arityError(spec.name);
  const ctx: Ctx = {
    store,
    now: options.now ? options.now() : Date.now(),
    maxValueSize: options.maxValueSize ?? MAX_VALUE_LIMIT,
  };
  const t0 = performance.now();
  const usec = usecOf(store);
  if (spec?.subcommands !== undefined) name = `${name}|${lower(args[1])}`; // as the acceptor counts it
  const before = store.changes;
  try {
    const reply = handler(ctx, args);
    if (reply instanceof Promise) {
      return reply.catch(storeError).then((r) => {
        usec.add(name, t0);
        return acknowledged(store, before, r);
      });
    }
    usec.add(name, t0);
    return acknowledged(store, before, reply);
  } catch (e) {
    usec.add(name, t0);
    return acknowledged(store, before, storeError(e));
  }
}

/** a reply to a command that changed the store goes out once the change is as durable as promised */
function acknowledged(store: ShardStore, before: number, reply: Buffer): Buffer | Promise<Buffer> {
  if (store.changes === before) return reply;
  const wait = store.settled();
  return wait === null ? reply : wait.then(() => reply, storeError);
}

/** each store's command times (INFO commandstats' usec), kept beside the store, not in it */
const usecByStore = new WeakMap<ShardStore, ShardUsec>();

function usecOf(store: ShardStore): ShardUsec {
  let u = usecByStore.get(store);
  if (u === undefined) {
    u = new ShardUsec();
    usecByStore.set(store, u);
  }
  return u;
}

function storeError(e: unknown): Buffer {
  if (isCairnError(e)) {
    switch (e.code) {
      case ErrorCode.VALUE_TOO_LARGE:
        return TOO_BIG;
      case ErrorCode.OUT_OF_MEMORY:
        return OOM;
      default:
        return err(sanitize(e.message));
    }
  }
  return err(sanitize(`internal error: ${e instanceof Error ? e.message : String(e)}`));
}

function lower(arg: Buffer): string {
  return arg.length > 16 ? '' : arg.toString('latin1').toLowerCase();
}

/** a time for the store: at least 1 (0 means "no expiry" there) and a safe integer. */
function storeTime(ms: bigint): number {
  if (ms < 1n) return 1;
  if (ms > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(ms);
}

type ExpireUnit = 'ex' | 'px' | 'exat' | 'pxat';

/** Redis getExpireMillisecondsOrReply: the absolute expiry in ms, or the error reply. */
function expireMs(arg: Buffer, unit: ExpireUnit, cmd: string, now: number): bigint | Buffer {
  const v = parseI64(arg);
  if (v === null) return NOT_INTEGER;
  const seconds = unit === 'ex' || unit === 'exat';
  if (v <= 0n || (seconds && v > I64_MAX / 1000n)) return invalidExpire(cmd);
  let ms = seconds ? v * 1000n : v;
  if (unit === 'ex' || unit === 'px') ms += BigInt(now);
  if (ms > I64_MAX) return invalidExpire(cmd);
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Strings.

function get(ctx: Ctx, args: Buffer[]): Promise<Buffer> | Buffer {
  const e = ctx.store.get(args[1]);
  return e === null ? NIL : bulk(e.value);
}

async function set(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  let nx = false;
  let xx = false;
  let getOld = false;
  let keepTtl = false;
  let unit: ExpireUnit | null = null;
  let expireArg: Buffer | null = null;
  for (let j = 3; j < args.length; j++) {
    const opt = lower(args[j]);
    const hasNext = j < args.length - 1;
    if (opt === 'nx' && !xx) nx = true;
    else if (opt === 'xx' && !nx) xx = true;
    else if (opt === 'get') getOld = true;
    else if (opt === 'keepttl' && unit === null) keepTtl = true;
    else if ((opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat') && !keepTtl && (unit === null || unit === opt) && hasNext) {
      unit = opt;
      expireArg = args[++j];
    } else return SYNTAX;
  }
  let expiresAt: number | undefined;
  if (unit !== null && expireArg !== null) {
    const ms = expireMs(expireArg, unit, 'set', ctx.now);
    if (typeof ms !== 'bigint') return ms;
    expiresAt = storeTime(ms);
  }
  const result = await ctx.store.set(args[1], args[2], {
    mode: nx ? 'nx' : xx ? 'xx' : 'always',
    keepTtl,
    expiresAt,
    returnOld: getOld,
  });
  if (getOld) return result.old ? bulk(result.old.value) : NIL;
  return result.status === 'stored' ? OK : NIL;
}

async function setnx(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const r = await ctx.store.set(args[1], args[2], { mode: 'nx' });
  return r.status === 'stored' ? ONE : ZERO;
}

function setexLike(unit: 'ex' | 'px', cmd: string): Handler {
  return async (ctx, args) => {
    const ms = expireMs(args[2], unit, cmd, ctx.now);
    if (typeof ms !== 'bigint') return ms;
    await ctx.store.set(args[1], args[3], { expiresAt: storeTime(ms) });
    return OK;
  };
}

async function getset(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const r = await ctx.store.set(args[1], args[2], { returnOld: true });
  return r.old ? bulk(r.old.value) : NIL;
}

async function getdel(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const e = await ctx.store.getdel(args[1]);
  return e === null ? NIL : bulk(e.value);
}

async function getex(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  let unit: ExpireUnit | null = null;
  let expireArg: Buffer | null = null;
  let persist = false;
  for (let j = 2; j < args.length; j++) {
    const opt = lower(args[j]);
    const hasNext = j < args.length - 1;
    if (opt === 'persist' && unit === null) persist = true;
    else if ((opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat') && !persist && (unit === null || unit === opt) && hasNext) {
      unit = opt;
      expireArg = args[++j];
    } else return SYNTAX;
  }
  const store = ctx.store;
  if (unit !== null && expireArg !== null) {
    const ms = expireMs(expireArg, unit, 'getex', ctx.now);
    if (typeof ms !== 'bigint') return ms;
    // A time already past deletes the key, and the value is still returned (as Redis does).
    const e = ms <= BigInt(ctx.now) ? await store.getdel(args[1]) : await store.touch(args[1], storeTime(ms));
    return e === null ? NIL : bulk(e.value);
  }
  if (persist) {
    const seen = await store.update(args[1], (cur) =>
      cur === null || cur.expiresAt === 0
        ? { op: 'keep' }
        : { op: 'set', value: cur.value, flags: cur.flags, expiresAt: 0 },
    );
    return seen === null ? NIL : bulk(seen.value);
  }
  return get(ctx, args);
}

async function mget(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const store = ctx.store;
  const entries = await Promise.all(args.slice(1).map((k) => store.get(k)));
  return bulkArray(entries.map((e) => (e === null ? null : e.value)));
}

async function mset(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  if ((args.length - 1) % 2 !== 0) return arityError('mset');
  for (let i = 1; i < args.length; i += 2) await ctx.store.set(args[i], args[i + 1]);
  return OK;
}

/** all-or-nothing on this shard: nothing is set when any of its keys exists. */
async function msetnx(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  if ((args.length - 1) % 2 !== 0) return arityError('msetnx');
  const store = ctx.store;
  for (let i = 1; i < args.length; i += 2) if (await store.exists(args[i])) return ZERO;
  for (let i = 1; i < args.length; i += 2) await store.set(args[i], args[i + 1]);
  return ONE;
}

function incrBy(sign: 1n | -1n, fixed: bigint | null, cmd: string): Handler {
  return async (ctx, args) => {
    let delta = fixed;
    if (delta === null) {
      delta = parseI64(args[2]);
      if (delta === null) return NOT_INTEGER;
      if (sign === -1n) {
        if (delta === I64_MIN) return err('decrement would overflow');
        delta = -delta;
      }
    }
    const r = await ctx.store.incr(args[1], delta, false, true);
    switch (r.status) {
      case 'ok':
        return integer(r.value);
      case 'overflow':
        return OVERFLOW;
      case 'not_integer':
        return NOT_INTEGER;
      default:
        return err(`${cmd} failed`);
    }
  };
}

async function incrbyfloat(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const incr = parseLongDouble(args[2]);
  let reply: Buffer = NOT_FLOAT;
  await ctx.store.update(args[1], (cur) => {
    const current = cur === null ? ({ mantissa: 0n, scale: 0 } as Decimal) : parseLongDouble(cur.value);
    if (current === null || incr === null) {
      reply = NOT_FLOAT;
      return { op: 'keep' };
    }
    if (typeof current === 'string' || typeof incr === 'string') {
      reply = err('increment would produce NaN or Infinity');
      return { op: 'keep' };
    }
    const sum = addDecimals(current, incr);
    if (decimalOverflows(sum)) {
      reply = err('increment would produce NaN or Infinity');
      return { op: 'keep' };
    }
    const text = Buffer.from(formatDecimal(sum));
    reply = bulk(text);
    return { op: 'set', value: text, flags: cur?.flags ?? 0, expiresAt: cur?.expiresAt ?? 0 };
  });
  return reply;
}

async function append(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  return integer(await ctx.store.append(args[1], args[2], false, true));
}

async function strlen(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const e = await ctx.store.get(args[1]);
  return integer(e === null ? 0 : e.value.length);
}

function clampBig(v: bigint): number {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v < -max ? -max : v);
}

async function getrange(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const s = parseI64(args[2]);
  const e = parseI64(args[3]);
  if (s === null || e === null) return NOT_INTEGER;
  let start = clampBig(s);
  let end = clampBig(e);
  const entry = await ctx.store.get(args[1]);
  if (entry === null) return EMPTY_BULK;
  const len = entry.value.length;
  if (start < 0 && end < 0 && start > end) return EMPTY_BULK;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return EMPTY_BULK;
  return bulk(entry.value.subarray(start, end + 1));
}

async function setrange(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const off = parseI64(args[2]);
  if (off === null) return NOT_INTEGER;
  if (off < 0n) return err('offset is out of range');
  const value = args[3];
  let reply: Buffer = ZERO;
  await ctx.store.update(args[1], (cur) => {
    if (value.length === 0) {
      reply = integer(cur === null ? 0 : cur.value.length);
      return { op: 'keep' };
    }
    if (off + BigInt(value.length) > BigInt(ctx.maxValueSize)) {
      reply = TOO_BIG;
      return { op: 'keep' };
    }
    const offset = Number(off);
    const oldLen = cur === null ? 0 : cur.value.length;
    const out = Buffer.alloc(Math.max(oldLen, offset + value.length));
    if (cur !== null) out.set(cur.value, 0);
    out.set(value, offset);
    reply = integer(out.length);
    return { op: 'set', value: out, flags: cur?.flags ?? 0, expiresAt: cur?.expiresAt ?? 0 };
  });
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Keyspace.

async function del(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  let n = 0;
  // One key at a time, so `DEL k k` counts k once whatever the store's ordering.
  for (let i = 1; i < args.length; i++) if (await ctx.store.delete(args[i])) n++;
  return integer(n);
}

async function exists(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const store = ctx.store;
  const found = await Promise.all(args.slice(1).map((k) => store.exists(k)));
  return integer(found.filter(Boolean).length);
}

const NOT_LFU = err(
  'An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
);

/** OBJECT FREQ key (the acceptor answers OBJECT HELP and unknown subcommands) */
function object(ctx: Ctx, args: Buffer[]): Buffer {
  if (lower(args[1]) !== 'freq' || args.length !== 3) return err('OBJECT: only FREQ <key> reaches a shard');
  if (ctx.store.frequency === undefined) return NOT_LFU;
  const f = ctx.store.frequency(args[2]);
  if (f === null) return NIL;
  return f < 0 ? NOT_LFU : integer(f);
}

async function type(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  return (await ctx.store.exists(args[1])) ? STRING : NONE;
}

function expireCommand(unit: ExpireUnit, cmd: string): Handler {
  return async (ctx, args) => {
    let nx = false;
    let xx = false;
    let gt = false;
    let lt = false;
    for (let j = 3; j < args.length; j++) {
      const opt = lower(args[j]);
      if (opt === 'nx') nx = true;
      else if (opt === 'xx') xx = true;
      else if (opt === 'gt') gt = true;
      else if (opt === 'lt') lt = true;
      else return err(sanitize(`Unsupported option ${args[j].toString('latin1')}`));
    }
    if (nx && (xx || gt || lt)) return err('NX and XX, GT or LT options at the same time are not compatible');
    if (gt && lt) return err('GT and LT options at the same time are not compatible');
    const v = parseI64(args[2]);
    if (v === null) return NOT_INTEGER;
    let when = v;
    const seconds = unit === 'ex' || unit === 'exat';
    if (seconds) {
      if (when > I64_MAX / 1000n || when < I64_MIN / 1000n) return invalidExpire(cmd);
      when *= 1000n;
    }
    if (unit === 'ex' || unit === 'px') {
      if (when > I64_MAX - BigInt(ctx.now)) return invalidExpire(cmd);
      when += BigInt(ctx.now);
    }
    const at = storeTime(when);
    const past = when <= BigInt(ctx.now);
    if (!nx && !xx && !gt && !lt) return (await ctx.store.expire(args[1], at)) ? ONE : ZERO;
    let done = false;
    await ctx.store.update(args[1], (cur) => {
      if (cur === null) return { op: 'keep' };
      const current = cur.expiresAt; // 0: no expiry, i.e. infinite for GT/LT
      if (nx && current !== 0) return { op: 'keep' };
      if (xx && current === 0) return { op: 'keep' };
      if (gt && (current === 0 || at <= current)) return { op: 'keep' };
      if (lt && current !== 0 && at >= current) return { op: 'keep' };
      done = true;
      return past ? { op: 'delete' } : { op: 'set', value: cur.value, flags: cur.flags, expiresAt: at };
    });
    return done ? ONE : ZERO;
  };
}

function expireTimeCommand(ms: boolean): Handler {
  return async (ctx, args) => {
    const t = await ctx.store.expireTime(args[1]);
    if (t < 0) return integer(t);
    return integer(ms ? t : Math.floor((t + 500) / 1000));
  };
}

function ttlCommand(ms: boolean): Handler {
  return async (ctx, args) => {
    const t = await ctx.store.expireTime(args[1]);
    if (t < 0) return integer(t);
    const ttl = Math.max(0, t - ctx.now);
    return integer(ms ? ttl : Math.floor((ttl + 500) / 1000));
  };
}

async function persist(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  return (await ctx.store.persist(args[1])) ? ONE : ZERO;
}

async function dbsize(ctx: Ctx): Promise<Buffer> {
  return integer((await ctx.store.count()).total);
}

async function keys(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const pattern = args[1];
  const all = matchesAll(pattern);
  const found: Buffer[] = [];
  // A scan may return a key more than once (it can sit in both tiers); KEYS lists each once.
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const page = await ctx.store.scan(cursor, 1000);
    for (const k of page.keys) {
      if (!all && !globMatch(pattern, k)) continue;
      const id = k.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      found.push(k);
    }
    cursor = page.cursor;
  } while (cursor !== '0');
  return bulkArray(found);
}

/** `SCAN <shard cursor> [MATCH p] [COUNT n] [TYPE t]` on this shard; the acceptor packs the cursor. */
async function scan(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  let count = 10;
  let pattern: Buffer | null = null;
  let typeName: string | null = null;
  for (let i = 2; i < args.length; ) {
    const opt = lower(args[i]);
    const more = args.length - i;
    if (opt === 'count' && more >= 2) {
      const n = parseI64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 1n) return SYNTAX;
      count = n > 1000000n ? 1000000 : Number(n);
      i += 2;
    } else if (opt === 'match' && more >= 2) {
      pattern = matchesAll(args[i + 1]) ? null : args[i + 1];
      i += 2;
    } else if (opt === 'type' && more >= 2) {
      typeName = args[i + 1].toString('latin1').toLowerCase();
      i += 2;
    } else {
      return SYNTAX;
    }
  }
  let page;
  try {
    page = await ctx.store.scan(args[1].toString('latin1'), count);
  } catch (e) {
    if (isCairnError(e) && e.code === ErrorCode.BAD_ARGUMENT) return err('invalid cursor');
    throw e;
  }
  let found = page.keys;
  if (typeName !== null && typeName !== 'string') found = [];
  else if (pattern !== null) found = found.filter((k) => globMatch(pattern!, k));
  return Buffer.concat([Buffer.from('*2\r\n'), bulk(Buffer.from(page.cursor)), bulkArray(found)]);
}

async function randomkey(ctx: Ctx): Promise<Buffer> {
  return bulk(await ctx.store.randomKey());
}

async function flush(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  if (args.length > 2) return SYNTAX;
  if (args.length === 2) {
    const mode = lower(args[1]);
    if (mode !== 'async' && mode !== 'sync') return SYNTAX;
  }
  await ctx.store.flush();
  return OK;
}

async function restore(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  return (await ctx.store.restore(args[1])) ? ONE : ZERO;
}

async function shardStats(ctx: Ctx): Promise<Buffer> {
  return bulk(Buffer.from(JSON.stringify({ ...(await shardReport(ctx.store)), usec: usecOf(ctx.store) })));
}

const HANDLERS = new Map<string, Handler>([
  ['get', get],
  ['set', set],
  ['setnx', setnx],
  ['setex', setexLike('ex', 'setex')],
  ['psetex', setexLike('px', 'psetex')],
  ['getset', getset],
  ['getdel', getdel],
  ['getex', getex],
  ['mget', mget],
  ['mset', mset],
  ['msetnx', msetnx],
  ['del', del],
  ['unlink', del],
  ['exists', exists],
  ['expire', expireCommand('ex', 'expire')],
  ['pexpire', expireCommand('px', 'pexpire')],
  ['expireat', expireCommand('exat', 'expireat')],
  ['pexpireat', expireCommand('pxat', 'pexpireat')],
  ['expiretime', expireTimeCommand(false)],
  ['pexpiretime', expireTimeCommand(true)],
  ['ttl', ttlCommand(false)],
  ['pttl', ttlCommand(true)],
  ['persist', persist],
  ['incr', incrBy(1n, 1n, 'incr')],
  ['decr', incrBy(-1n, -1n, 'decr')],
  ['incrby', incrBy(1n, null, 'incrby')],
  ['decrby', incrBy(-1n, null, 'decrby')],
  ['incrbyfloat', incrbyfloat],
  ['append', append],
  ['strlen', strlen],
  ['getrange', getrange],
  ['setrange', setrange],
  ['type', type],
  ['dbsize', dbsize],
  ['keys', keys],
  ['scan', scan],
  ['randomkey', randomkey],
  ['flushall', flush],
  ['flushdb', flush],
  ['cairn.restore', restore],
  ['object', object],
  [SHARD_STATS_COMMAND.toLowerCase(), shardStats],
  ['ping', (_ctx, args) => (args.length === 1 ? PONG : args.length === 2 ? bulk(args[1]) : arityError('ping'))],
  ['echo', (_ctx, args) => bulk(args[1])],
]);

