/**
 * RESP on the shard: turns one forwarded command into a typed call of the command core
 * (src/commands) and its result or failure into reply bytes, worded as Redis 7 words them. The
 * acceptor has checked the command's arity (planner.ts): a handler may read the arguments its arity
 * promises, and anything odd that reaches it anyway becomes an error reply, never a throw.
 */
import * as C from '../commands/index.js';
import { MAX_VALUE_LIMIT } from '../engine/index.js';
import type { ShardStore } from '../store/types.js';
import { ShardUsec } from '../front/cmdstats.js';
import { EMPTY, EMPTY_BULK, NIL, OK, ONE, PONG, ZERO, bulk, bulkArray, err, integer, simple } from './encode.js';
import { NOT_INTEGER, SYNTAX, arityError, unknownCommand, unsupportedOption } from './errors.js';
import { parseRespCommand } from './framer.js';
import { DEL_IF_SAME_COMMAND, ENTRY_COMMAND, NO_SUCH_KEY, PUT_COMMAND, SAME_OBJECT, copyReplace } from './move.js';
import { SHARD_STATS_COMMAND } from './planner.js';
import { EXEC_COMMAND, EXEC_HELD_COMMAND, WATCH_COMMAND, runExec, runWatch } from './multi-exec.js';
import { LuaScripts } from './lua.js';
import { type Ctx, type Handler, WRONGTYPE, failure, lower, storeError } from './handler.js';
import { HASH_HANDLERS } from './hashes.js';
import { LIST_HANDLERS } from './lists.js';
import { SET_HANDLERS } from './sets.js';
import { STREAM_HANDLERS } from './streams.js';
import { ZSET_HANDLERS } from './zsets.js';
import { SCRIPT_TIME_LIMIT_MS, type ScriptHost, checkShardScriptCall, publishFromScript, runScriptCommand } from './scripting.js';

export interface RespExecOptions {
  /** the clock, ms since the epoch (tests pass a fixed one). */
  now?: () => number;
  /** the largest string SETRANGE/APPEND may build (Redis proto-max-bulk-len). */
  maxValueSize?: number;
  /** told each command's table name as it runs ('other' for one no handler knows): the shard's metrics */
  count?: (name: string) => void;
  /** this shard's index and the shard count: a script's redis.call may touch only this shard's keys */
  shard?: number;
  shards?: number;
  /** a script running longer is stopped (Redis' lua-time-limit; docs/commands.md) */
  scriptTimeLimitMs?: number;
}

const EXEC_LOWER = EXEC_COMMAND.toLowerCase();
const WATCH_LOWER = WATCH_COMMAND.toLowerCase();
const EXEC_HELD_LOWER = EXEC_HELD_COMMAND.toLowerCase();

const TYPE_REPLIES = new Map(['none', ...C.TYPE_NAMES].map((t) => [t, simple(t)]));
const RAW = bulk(Buffer.from('raw'));
const SCAN_HEAD = Buffer.from('*2\r\n');

/** per store: the command context and the command times (INFO commandstats' usec), made once */
interface ShardState {
  ctx: Ctx;
  usec: ShardUsec;
  /** the shard's Lua interpreter, script cache and redis.call path, made at the first script */
  scripts?: ShardScriptHost;
}
const states = new WeakMap<ShardStore, ShardState>();

function stateOf(store: ShardStore, maxValueSize: number): ShardState {
  let s = states.get(store);
  if (s === undefined || s.ctx.maxValueSize !== maxValueSize) {
    s = { ctx: C.createContext(store, maxValueSize), usec: s?.usec ?? new ShardUsec(), scripts: s?.scripts };
    states.set(store, s);
  }
  return s;
}

/**
 * Executes one forwarded command (`raw`, multibulk or inline) and returns its reply: at once unless
 * it waits for the disk (a whole-shard command, or a change `sync` mode must make durable first).
 * Either way the command takes effect when it is called.
 */
export function executeResp(store: ShardStore, raw: Buffer, options: RespExecOptions = {}, blocker: number | null = null): Buffer | Promise<Buffer> {
  const args = parseRespCommand(raw);
  if (args === null) {
    options.count?.('other');
    return err('Protocol error: bad forwarded command');
  }
  let reply: Buffer | Promise<Buffer>;
  if (blocker === null) reply = executeRespArgs(store, args, options);
  else {
    // the front sent it as blocking: BLPOP and friends may wait, for this connection
    const waiters = C.waitersOf(store);
    waiters.blocker = blocker;
    try {
      reply = executeRespArgs(store, args, options);
    } finally {
      waiters.blocker = null;
    }
  }
  // clients blocked on keys this message filled take from them before the next message runs
  C.serveReady(store);
  return reply;
}

/** after a command run outside executeResp (native CALL): serve clients blocked on keys it filled */
export function serveBlocked(store: ShardStore): void {
  C.serveReady(store);
}

/** The connection closed while blocked (MessageKind.CANCEL): its waiter ends, taking nothing. */
export function cancelBlocked(store: ShardStore, conn: number): Buffer {
  C.cancelWaiter(store, conn);
  return EMPTY;
}

/** executes commands one after another (a shard's batch), replies in the same order. */
export async function executeRespBatch(store: ShardStore, raws: readonly Buffer[], options: RespExecOptions = {}): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const raw of raws) out.push(await executeResp(store, raw, options));
  return out;
}

export function executeRespArgs(store: ShardStore, args: Buffer[], options: RespExecOptions = {}): Buffer | Promise<Buffer> {
  let name = C.commandName(args[0]);
  const handler = HANDLERS.get(name);
  if (handler === undefined && name.startsWith('cairn.')) {
    if (name === EXEC_LOWER) return runExec(store, args, (command) => executeRespArgs(store, command, options));
    if (name === WATCH_LOWER) return runWatch(store, args);
    if (name === EXEC_HELD_LOWER) return runExec(store, args, (command) => executeRespArgs(store, command, options), true);
  }
  options.count?.(handler === undefined ? 'other' : name);
  if (handler === undefined) return unknownCommand(args);
  const state = stateOf(store, options.maxValueSize ?? MAX_VALUE_LIMIT);
  const ctx = state.ctx;
  ctx.now = options.now ? options.now() : Date.now();
  const t0 = performance.now();
  if (handler === object) name = `object|${lower(args[1])}`; // as the acceptor counts it
  const before = store.changes;
  let reply: Buffer | Promise<Buffer>;
  try {
    reply = handler === script ? runScript(state, name, args, options) : handler(ctx, args);
  } catch (e) {
    reply = storeError(e);
  }
  if (reply instanceof Promise) {
    return reply.catch(storeError).then((r) => {
      state.usec.add(name, t0);
      return C.acknowledged(store, before, r, storeError);
    });
  }
  state.usec.add(name, t0);
  return C.acknowledged(store, before, reply, storeError);
}

function isExpireUnit(opt: string): opt is C.ExpireUnit {
  return opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat';
}

/** an EX/PX/EXAT/PXAT argument as a store time, or the error reply */
function optionTime(arg: Buffer, unit: C.ExpireUnit, cmd: string, now: number): number | Buffer {
  const v = C.parseI64(arg);
  if (v === null) return NOT_INTEGER;
  const ms = C.optionExpiry(v, unit, now);
  return ms instanceof C.Failure ? failure(ms, cmd) : C.storeTime(ms);
}

// ---------------------------------------------------------------------------------------------
// Strings.

/** plain `SET key value`, most of a cache's writes: one reused argument object, nothing allocated */
const plainSet: C.SetArgs = { key: EMPTY_BULK, value: EMPTY_BULK };

function set(ctx: Ctx, args: Buffer[]): Buffer {
  if (args.length === 3) {
    plainSet.key = args[1];
    plainSet.value = args[2];
    const stored = C.set(ctx, plainSet).status === 'stored';
    plainSet.key = plainSet.value = EMPTY_BULK; // keep no client buffer alive
    return stored ? OK : NIL;
  }
  let nx = false;
  let xx = false;
  let getOld = false;
  let keepTtl = false;
  let unit: C.ExpireUnit | null = null;
  let expireArg: Buffer | null = null;
  for (let j = 3; j < args.length; j++) {
    const opt = lower(args[j]);
    const hasNext = j < args.length - 1;
    if (opt === 'nx' && !xx) nx = true;
    else if (opt === 'xx' && !nx) xx = true;
    else if (opt === 'get') getOld = true;
    else if (opt === 'keepttl' && unit === null) keepTtl = true;
    else if (isExpireUnit(opt) && !keepTtl && (unit === null || unit === opt) && hasNext) {
      unit = opt;
      expireArg = args[++j];
    } else return SYNTAX;
  }
  let expiresAt: number | undefined;
  if (unit !== null && expireArg !== null) {
    const at = optionTime(expireArg, unit, 'set', ctx.now);
    if (typeof at !== 'number') return at;
    expiresAt = at;
  }
  const result = C.set(ctx, { key: args[1], value: args[2], mode: nx ? 'nx' : xx ? 'xx' : 'always', keepTtl, expiresAt, returnOld: getOld });
  if (getOld) return result.status === 'wrong_type' ? WRONGTYPE : result.old ? bulk(result.old.value) : NIL;
  return result.status === 'stored' ? OK : NIL;
}

function setnx(ctx: Ctx, args: Buffer[]): Buffer {
  return C.set(ctx, { key: args[1], value: args[2], mode: 'nx' }).status === 'stored' ? ONE : ZERO;
}

function setexLike(unit: 'ex' | 'px', cmd: string): Handler {
  return (ctx, args) => {
    const at = optionTime(args[2], unit, cmd, ctx.now);
    if (typeof at !== 'number') return at;
    C.set(ctx, { key: args[1], value: args[3], expiresAt: at });
    return OK;
  };
}

function integerOr(r: number | C.Failure, cmd: string): Buffer {
  return r instanceof C.Failure ? failure(r, cmd) : integer(r);
}

function getset(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.set(ctx, { key: args[1], value: args[2], returnOld: true });
  if (r.status === 'wrong_type') return WRONGTYPE;
  return r.old ? bulk(r.old.value) : NIL;
}

function bulkOfEntry(e: C.Entry | null | C.Failure): Buffer {
  return e === null ? NIL : e instanceof C.Failure ? failure(e, 'get') : bulk(e.value);
}

function getex(ctx: Ctx, args: Buffer[]): Buffer {
  let unit: C.ExpireUnit | null = null;
  let expireArg: Buffer | null = null;
  let persist = false;
  for (let j = 2; j < args.length; j++) {
    const opt = lower(args[j]);
    const hasNext = j < args.length - 1;
    if (opt === 'persist' && unit === null) persist = true;
    else if (isExpireUnit(opt) && !persist && (unit === null || unit === opt) && hasNext) {
      unit = opt;
      expireArg = args[++j];
    } else return SYNTAX;
  }
  let at: number | undefined = persist ? 0 : undefined;
  if (unit !== null && expireArg !== null) {
    const t = optionTime(expireArg, unit, 'getex', ctx.now);
    // Redis reads the time only once it has found the key: a missing key answers nil even then
    if (typeof t !== 'number') {
      const found = C.get(ctx, args[1]);
      return found === null ? NIL : found instanceof C.Failure ? failure(found, 'getex') : t;
    }
    at = t;
  }
  return bulkOfEntry(C.getex(ctx, args[1], at));
}

function mset(ctx: Ctx, args: Buffer[]): Buffer {
  if ((args.length - 1) % 2 !== 0) return arityError('mset');
  C.mset(ctx, args.slice(1));
  return OK;
}

function msetnx(ctx: Ctx, args: Buffer[]): Buffer {
  if ((args.length - 1) % 2 !== 0) return arityError('msetnx');
  return C.msetnx(ctx, args.slice(1)) ? ONE : ZERO;
}

function incrBy(decrement: boolean, fixed: bigint | null, cmd: string): Handler {
  return (ctx, args) => {
    const delta = fixed ?? C.parseI64(args[2]);
    if (delta === null) return NOT_INTEGER;
    const r = decrement ? C.decrBy(ctx, args[1], delta) : C.incrBy(ctx, args[1], delta);
    return r instanceof C.Failure ? failure(r, cmd) : integer(r);
  };
}

function incrbyfloat(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.incrByFloat(ctx, args[1], C.parseLongDouble(args[2]));
  return r instanceof C.Failure ? failure(r, 'incrbyfloat') : bulk(r);
}

function getrange(ctx: Ctx, args: Buffer[]): Buffer {
  const s = C.parseI64(args[2]);
  const e = C.parseI64(args[3]);
  if (s === null || e === null) return NOT_INTEGER;
  const out = C.getrange(ctx, args[1], s, e);
  if (out instanceof C.Failure) return failure(out, 'getrange');
  return out.length === 0 ? EMPTY_BULK : bulk(out);
}

function setrange(ctx: Ctx, args: Buffer[]): Buffer {
  const off = C.parseI64(args[2]);
  if (off === null) return NOT_INTEGER;
  const r = C.setrange(ctx, args[1], off, args[3]);
  return r instanceof C.Failure ? failure(r, 'setrange') : integer(r);
}

// ---------------------------------------------------------------------------------------------
// Keyspace.

/** OBJECT FREQ key, OBJECT ENCODING key (the acceptor answers OBJECT HELP and unknown subcommands) */
function object(ctx: Ctx, args: Buffer[]): Buffer {
  const sub = lower(args[1]);
  if (args.length !== 3 || (sub !== 'freq' && sub !== 'encoding')) return err('OBJECT: only FREQ and ENCODING <key> reach a shard');
  if (sub === 'encoding') {
    const enc = C.encoding(ctx, args[2]);
    return enc === null ? NIL : enc === 'raw' ? RAW : bulk(Buffer.from(enc));
  }
  const f = C.frequency(ctx, args[2]);
  if (f instanceof C.Failure) return failure(f, 'object');
  return f === null ? NIL : integer(f);
}

// a Map, not an object: `constructor` or `__proto__` must not be found as an option
const EXPIRE_OPTIONS = new Map<string, number>([
  ['nx', C.ExpireIf.NX],
  ['xx', C.ExpireIf.XX],
  ['gt', C.ExpireIf.GT],
  ['lt', C.ExpireIf.LT],
]);

function expireCommand(unit: C.ExpireUnit, cmd: string): Handler {
  return (ctx, args) => {
    let cond = 0;
    for (let j = 3; j < args.length; j++) {
      const flag = EXPIRE_OPTIONS.get(lower(args[j]));
      if (flag === undefined) return unsupportedOption(args[j]);
      cond |= flag;
    }
    if (cond & C.ExpireIf.NX && cond & (C.ExpireIf.XX | C.ExpireIf.GT | C.ExpireIf.LT)) {
      return err('NX and XX, GT or LT options at the same time are not compatible');
    }
    if (cond & C.ExpireIf.GT && cond & C.ExpireIf.LT) return err('GT and LT options at the same time are not compatible');
    const v = C.parseI64(args[2]);
    if (v === null) return NOT_INTEGER;
    const when = C.expireCommandTime(v, unit, ctx.now);
    if (when instanceof C.Failure) return failure(when, cmd);
    return C.expire(ctx, args[1], C.storeTime(when), cond) ? ONE : ZERO;
  };
}

function expireTimeCommand(ms: boolean): Handler {
  return (ctx, args) => {
    const t = C.expireTime(ctx, args[1]);
    return integer(ms ? t : C.toSeconds(t));
  };
}

function ttlCommand(ms: boolean): Handler {
  return (ctx, args) => {
    const left = C.msLeft(C.expireTime(ctx, args[1]), ctx.now);
    return integer(ms ? left : C.toSeconds(left));
  };
}

async function keys(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  return bulkArray(await C.keys(ctx, args[1]));
}

/** `SCAN <shard cursor> [MATCH p] [COUNT n] [TYPE t]` on this shard; the acceptor packs the cursor. */
async function scan(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  const a: C.ScanArgs = { cursor: args[1].toString('latin1'), count: 10 };
  for (let i = 2; i < args.length; i += 2) {
    const opt = lower(args[i]);
    if (args.length - i < 2) return SYNTAX;
    if (opt === 'count') {
      const n = C.parseI64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 1n) return SYNTAX;
      a.count = n > 1000000n ? 1000000 : Number(n);
    } else if (opt === 'match') a.match = args[i + 1];
    else if (opt === 'type') a.type = args[i + 1].toString('latin1').toLowerCase();
    else return SYNTAX;
  }
  const page = await C.scan(ctx, a);
  if (page instanceof C.Failure) return failure(page, 'scan');
  return Buffer.concat([SCAN_HEAD, bulk(Buffer.from(page.cursor)), bulkArray(page.keys)]);
}

async function flush(ctx: Ctx, args: Buffer[]): Promise<Buffer> {
  if (args.length > 2) return SYNTAX;
  if (args.length === 2) {
    const mode = lower(args[1]);
    if (mode !== 'async' && mode !== 'sync') return SYNTAX;
  }
  await C.flush(ctx);
  return OK;
}

async function shardStats(ctx: Ctx): Promise<Buffer> {
  const usec = states.get(ctx.store)?.usec;
  return bulk(Buffer.from(JSON.stringify({ ...(await C.stats(ctx)), usec })));
}

const del: Handler = (ctx, args) => integer(C.del(ctx, args.slice(1)));

/** RENAME / RENAMENX with both keys on this shard (the acceptor steps through two shards itself) */
function rename(nx: boolean): Handler {
  return (ctx, args) => {
    const r = C.rename(ctx, args[1], args[2], nx);
    if (r === 'missing') return NO_SUCH_KEY;
    if (r === 'done') C.keyReady(ctx.store, args[2]); // a list renamed onto a key clients wait on
    if (nx) return r === 'done' ? ONE : ZERO;
    return OK;
  };
}

/** COPY with both keys on this shard */
function copy(ctx: Ctx, args: Buffer[]): Buffer {
  const replace = copyReplace(args);
  if (typeof replace !== 'boolean') return replace;
  const r = C.copy(ctx, args[1], args[2], replace);
  if (r === 'same') return SAME_OBJECT;
  if (r === 'done') C.keyReady(ctx.store, args[2]);
  return r === 'done' ? ONE : ZERO;
}

// The steps of RENAME and COPY across shards (src/resp/move.ts); the acceptor builds their arguments.

function entry(ctx: Ctx, args: Buffer[]): Buffer {
  const e = ctx.store.get(args[1]); // any type: a collection moves as its encoded bytes and type
  if (e === null) return NIL;
  const fields = [e.value, Buffer.from(String(e.flags)), Buffer.from(String(e.expiresAt)), Buffer.from(String(e.cas))];
  if (e.type) fields.push(Buffer.from(String(e.type)));
  return bulkArray(fields);
}

/** a u32, u53 or the like the acceptor copied from an entry; null when it is not one */
function wholeNumber(arg: Buffer | undefined, max: number): number | null {
  if (arg === undefined) return null;
  const n = C.parseSafeInt(arg);
  return n === null || n < 0 || n > max ? null : n;
}

function putEntry(ctx: Ctx, args: Buffer[]): Buffer {
  const flags = wholeNumber(args[3], 0xffffffff);
  const expiresAt = wholeNumber(args[4], Number.MAX_SAFE_INTEGER);
  const mode = args.length >= 6 ? lower(args[5]) : '';
  const type = args.length === 7 ? wholeNumber(args[6], 255) : 0;
  if (flags === null || expiresAt === null || type === null || (mode !== 'nx' && mode !== 'always')) return err(`${PUT_COMMAND}: bad arguments`);
  if (!C.put(ctx, args[1], { value: args[2], flags, expiresAt, type }, mode === 'nx')) return ZERO;
  C.keyReady(ctx.store, args[1]); // a list moved here from another shard serves clients blocked on it
  return ONE;
}

function delIfSame(ctx: Ctx, args: Buffer[]): Buffer {
  const cas = wholeNumber(args[2], Number.MAX_SAFE_INTEGER);
  const expiresAt = wholeNumber(args[3], Number.MAX_SAFE_INTEGER);
  if (cas === null || expiresAt === null) return err(`${DEL_IF_SAME_COMMAND}: bad arguments`);
  return C.delIfUnchanged(ctx, args[1], cas, expiresAt) ? ONE : ZERO;
}

// ---------------------------------------------------------------------------------------------
// Scripts: EVAL and friends run here, their redis.call through the handlers below without leaving
// the message (src/resp/scripting.ts); the script's changes are acknowledged together.

const script: Handler = () => err('script handler called directly');

function runScript(state: ShardState, name: string, args: Buffer[], options: RespExecOptions): Buffer {
  const host = state.scripts ?? new ShardScriptHost();
  state.scripts = host;
  host.ctx = state.ctx;
  host.options = options;
  host.timeLimitMs = options.scriptTimeLimitMs ?? SCRIPT_TIME_LIMIT_MS;
  return runScriptCommand(host, name, args);
}

/** the shard's script host, made once: redis.call runs through it without a closure per script */
class ShardScriptHost implements ScriptHost {
  readonly scripts = new LuaScripts();
  timeLimitMs = SCRIPT_TIME_LIMIT_MS;
  ctx: Ctx | null = null;
  options: RespExecOptions = {};
  crossed = 0;
  changesAtStart = 0;
  readonly published: Buffer[] = [];

  changes(): number {
    return this.ctx === null ? 0 : this.ctx.store.changes;
  }

  dispatch(call: Buffer[], readOnly: boolean): Buffer {
    const spec = checkShardScriptCall(this, call, readOnly, this.options.shard ?? 0, this.options.shards ?? 1);
    if (Buffer.isBuffer(spec)) return spec;
    if (spec.name === 'publish') return publishFromScript(this, call);
    const handler = HANDLERS.get(C.commandName(call[0]));
    if (handler === undefined || handler === script || this.ctx === null) return err('This Redis command is not allowed from script');
    let reply: Buffer | Promise<Buffer>;
    try {
      reply = handler(this.ctx, call);
    } catch (e) {
      reply = storeError(e);
    }
    return reply instanceof Promise ? err('This Redis command is not allowed from script') : reply;
  }
}

const HANDLERS = new Map<string, Handler>([
  ...HASH_HANDLERS,
  ...LIST_HANDLERS,
  ...SET_HANDLERS,
  ...STREAM_HANDLERS,
  ...ZSET_HANDLERS,
  ['eval', script],
  ['evalsha', script],
  ['eval_ro', script],
  ['evalsha_ro', script],
  ['script', script],
  ['get', (ctx, args) => bulkOfEntry(C.get(ctx, args[1]))],
  ['set', set],
  ['setnx', setnx],
  ['setex', setexLike('ex', 'setex')],
  ['psetex', setexLike('px', 'psetex')],
  ['getset', getset],
  ['getdel', (ctx, args) => bulkOfEntry(C.getdel(ctx, args[1]))],
  ['getex', getex],
  ['mget', (ctx, args) => bulkArray(C.mget(ctx, args.slice(1)).map((e) => (e === null ? null : e.value)))],
  ['mset', mset],
  ['msetnx', msetnx],
  ['del', del],
  ['unlink', del],
  ['exists', (ctx, args) => integer(C.exists(ctx, args.slice(1)))],
  ['expire', expireCommand('ex', 'expire')],
  ['pexpire', expireCommand('px', 'pexpire')],
  ['expireat', expireCommand('exat', 'expireat')],
  ['pexpireat', expireCommand('pxat', 'pexpireat')],
  ['expiretime', expireTimeCommand(false)],
  ['pexpiretime', expireTimeCommand(true)],
  ['ttl', ttlCommand(false)],
  ['pttl', ttlCommand(true)],
  ['persist', (ctx, args) => (C.persist(ctx, args[1]) ? ONE : ZERO)],
  ['incr', incrBy(false, 1n, 'incr')],
  ['decr', incrBy(false, -1n, 'decr')],
  ['incrby', incrBy(false, null, 'incrby')],
  ['decrby', incrBy(true, null, 'decrby')],
  ['incrbyfloat', incrbyfloat],
  ['append', (ctx, args) => integerOr(C.append(ctx, args[1], args[2], false, true), 'append')],
  ['strlen', (ctx, args) => integerOr(C.strlen(ctx, args[1]), 'strlen')],
  ['getrange', getrange],
  ['setrange', setrange],
  ['rename', rename(false)],
  ['renamenx', rename(true)],
  ['copy', copy],
  [ENTRY_COMMAND.toLowerCase(), entry],
  [PUT_COMMAND.toLowerCase(), putEntry],
  [DEL_IF_SAME_COMMAND.toLowerCase(), delIfSame],
  ['type', (ctx, args) => TYPE_REPLIES.get(C.type(ctx, args[1]))!],
  ['dbsize', async (ctx) => integer(await C.dbsize(ctx))],
  ['keys', keys],
  ['scan', scan],
  ['randomkey', async (ctx) => bulk(await C.randomkey(ctx))],
  ['flushall', flush],
  ['flushdb', flush],
  ['cairn.restore', (ctx, args) => (C.restore(ctx, args[1]) ? ONE : ZERO)],
  ['object', object],
  [SHARD_STATS_COMMAND.toLowerCase(), shardStats],
  ['ping', (_ctx, args) => (args.length === 1 ? PONG : args.length === 2 ? bulk(args[1]) : arityError('ping'))],
  ['echo', (_ctx, args) => bulk(args[1])],
]);
