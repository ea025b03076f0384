/**
 * memcached on the shard: turns one forwarded command line (with its data block) into a typed call of
 * the command core (src/commands) and its result or failure into the reply memcached 1.6 gives;
 * noreply gives an empty reply. The acceptor (planner.ts) has validated the line already; its words
 * are read again here only because a shard must answer whatever reaches it. Never throws: store
 * failures become SERVER_ERROR / CLIENT_ERROR lines.
 */
import * as C from '../commands/index.js';
import { MAX_VALUE_LIMIT } from '../engine/index.js';
import type { Entry, ShardStore } from '../store/types.js';
import { R_BAD_FORMAT, R_ERROR, R_TOO_LARGE, commandWord, parseI32, parseMemcacheCommand, parseU32, parseU64 } from './framer.js';
import { MC_SHARD_STATS, MC_TOO_LARGE } from './planner.js';

export interface MemcacheExecOptions {
  /** the clock, ms since the epoch (tests pass a fixed one). */
  now?: () => number;
}

const EMPTY = Buffer.alloc(0);
const END = Buffer.from('END\r\n');
const STORED = Buffer.from('STORED\r\n');
const NOT_STORED = Buffer.from('NOT_STORED\r\n');
const EXISTS = Buffer.from('EXISTS\r\n');
const NOT_FOUND = Buffer.from('NOT_FOUND\r\n');
const DELETED = Buffer.from('DELETED\r\n');
const TOUCHED = Buffer.from('TOUCHED\r\n');
const OK = Buffer.from('OK\r\n');
const NON_NUMERIC = Buffer.from('CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
const INVALID_DELTA = Buffer.from('CLIENT_ERROR invalid numeric delta argument\r\n');
const INVALID_EXPTIME = Buffer.from('CLIENT_ERROR invalid exptime argument\r\n');
const OUT_OF_MEMORY = Buffer.from('SERVER_ERROR out of memory storing object\r\n');

/** one command context per store, made once (memcached commands build no values, so the core's limit is the engine's) */
const contexts = new WeakMap<ShardStore, C.CommandContext>();

function contextOf(store: ShardStore): C.CommandContext {
  let ctx = contexts.get(store);
  if (ctx === undefined) {
    ctx = C.createContext(store, MAX_VALUE_LIMIT);
    contexts.set(store, ctx);
  }
  return ctx;
}

/**
 * Executes one forwarded command and returns its reply: at once unless it waits (flush_all, stats, or
 * a change the store must make durable first). Either way the command takes effect when it is called.
 */
export function executeMemcache(store: ShardStore, raw: Buffer, options: MemcacheExecOptions = {}): Buffer | Promise<Buffer> {
  const cmd = parseMemcacheCommand(raw);
  if (cmd === null || cmd.args.length === 0) return R_ERROR;
  const ctx = contextOf(store);
  ctx.now = options.now ? options.now() : Date.now();
  const noreply = cmd.noreply;
  const before = store.changes;
  let reply: Buffer | Promise<Buffer>;
  try {
    reply = run(ctx, cmd.args, cmd.data, noreply);
  } catch (e) {
    reply = storeError(e);
  }
  if (reply instanceof Promise) {
    return reply.then(
      (r) => C.acknowledged(store, before, noreply ? EMPTY : r, noreply ? silent : storeError),
      (e: unknown) => C.acknowledged(store, before, noreply ? EMPTY : storeError(e), noreply ? silent : storeError),
    );
  }
  return C.acknowledged(store, before, noreply ? EMPTY : reply, noreply ? silent : storeError);
}

/** executes commands one after another (a shard's batch), replies in the same order. */
export async function executeMemcacheBatch(store: ShardStore, raws: readonly Buffer[], options: MemcacheExecOptions = {}): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const raw of raws) out.push(await executeMemcache(store, raw, options));
  return out;
}

function silent(): Buffer {
  return EMPTY;
}

function storeError(e: unknown): Buffer {
  return failure(C.failureOf(e));
}

/** a coded failure in memcached's words */
function failure(f: C.Failure): Buffer {
  switch (f.fault) {
    case C.Fault.VALUE_TOO_LARGE:
      return R_TOO_LARGE;
    case C.Fault.OUT_OF_MEMORY:
      return OUT_OF_MEMORY;
    case C.Fault.KEY_TOO_LARGE:
    case C.Fault.BAD_ARGUMENT:
      return R_BAD_FORMAT;
    default:
      return Buffer.from(`SERVER_ERROR ${(f.message === '' ? f.code : f.message).replace(/[\r\n]/g, ' ')}\r\n`);
  }
}

/** a key holding a collection (written over RESP) is a miss to memcached, which has no word for it */
function stringEntry(e: Entry | null | C.Failure): Entry | null {
  return e instanceof C.Failure ? null : e;
}

/** the command's reply; a promise only for the whole-shard ones */
function run(ctx: C.CommandContext, args: Buffer[], data: Buffer | null, noreply: boolean): Buffer | Promise<Buffer> {
  const name = commandWord(args[0]);
  switch (name) {
    case 'get':
    case 'bget':
    case 'gets': {
      const withCas = name === 'gets';
      // one key, most gets: no key or entry list
      if (args.length === 2) return values1(stringEntry(C.get(ctx, args[1])), args[1], withCas);
      const keys = args.slice(1);
      return values(C.mget(ctx, keys), keys, withCas);
    }
    case 'gat':
    case 'gats': {
      const exptime = args.length < 2 ? null : parseI32(args[1]);
      if (exptime === null) return INVALID_EXPTIME;
      const at = C.memcachedExpiry(exptime, ctx.now);
      const keys = args.slice(2);
      const entries = new Array<Entry | null>(keys.length);
      for (let i = 0; i < keys.length; i++) entries[i] = C.typeOf(ctx, keys[i]) ? null : C.touch(ctx, keys[i], at);
      return values(entries, keys, name === 'gats');
    }
    case 'set':
    case 'add':
    case 'replace':
    case 'cas':
      return storeValue(ctx, name, args, data);
    case 'append':
    case 'prepend':
      if (data === null) return R_ERROR;
      {
        const n = C.append(ctx, args[1], data, name === 'prepend', false);
        return n instanceof C.Failure || n < 0 ? NOT_STORED : STORED;
      }
    case 'delete':
      return C.del(ctx, [args[1]]) === 1 ? DELETED : NOT_FOUND;
    case 'incr':
    case 'decr': {
      const delta = parseU64(args[2]);
      if (delta === null) return INVALID_DELTA;
      const r = C.incrUnsigned(ctx, args[1], delta, name === 'decr');
      if (r === null) return NOT_FOUND;
      if (r instanceof C.Failure) return NON_NUMERIC; // NOT_INTEGER: not a decimal u64
      return Buffer.from(`${r}\r\n`);
    }
    case 'touch': {
      const exptime = parseI32(args[2]);
      if (exptime === null) return INVALID_EXPTIME;
      return C.touch(ctx, args[1], C.memcachedExpiry(exptime, ctx.now)) === null ? NOT_FOUND : TOUCHED;
    }
    case 'flush_all':
      return flushAll(ctx, args, noreply);
    case MC_TOO_LARGE:
      // memcached drops the old value of a set refused for size
      C.del(ctx, [args[1]]);
      return R_TOO_LARGE;
    case MC_SHARD_STATS:
      return C.stats(ctx).then((report) => Buffer.from(JSON.stringify(report) + '\r\n'));
    default:
      return R_ERROR;
  }
}

/** set / add / replace (SET with a mode) and cas (SET with a compare) */
function storeValue(ctx: C.CommandContext, name: string, args: Buffer[], data: Buffer | null): Buffer {
  const flags = parseU32(args[2]);
  const exptime = parseI32(args[3]);
  if (data === null || flags === null || exptime === null) return R_BAD_FORMAT;
  const expiresAt = C.memcachedExpiry(exptime, ctx.now);
  if (name === 'cas') {
    const unique = parseU64(args[5]);
    if (unique === null) return R_BAD_FORMAT;
    // a unique past 2^53 stays past it as a number: the core answers it without writing
    const r = C.set(ctx, { key: args[1], value: data, flags, expiresAt, cas: Number(unique) });
    return r.status === 'stored' ? STORED : r.status === 'exists' ? EXISTS : NOT_FOUND;
  }
  const mode = name === 'add' ? 'nx' : name === 'replace' ? 'xx' : 'always';
  return C.set(ctx, { key: args[1], value: data, flags, expiresAt, mode }).status === 'stored' ? STORED : NOT_STORED;
}

/** flush_all [delay] [noreply]: items stored before the deadline become invalid at it (a flush then). */
async function flushAll(ctx: C.CommandContext, args: Buffer[], noreply: boolean): Promise<Buffer> {
  const delay = args.length > (noreply ? 2 : 1) ? parseI32(args[1]) : 0;
  if (delay === null) return INVALID_EXPTIME;
  await C.flush(ctx, delay <= 0 ? 0 : Math.max(0, C.memcachedExpiry(delay, ctx.now) - ctx.now));
  return OK;
}

/** the bytes of one `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n` block */
function blockSize(key: Buffer, head: string, e: Entry): number {
  return 6 + key.length + head.length + e.value.length + 2;
}

function writeBlock(out: Buffer, at: number, key: Buffer, head: string, e: Entry): number {
  let p = at + out.write('VALUE ', at, 'latin1');
  p += key.copy(out, p);
  p += out.write(head, p, 'latin1');
  out.set(e.value, p);
  p += e.value.length;
  out[p++] = 13;
  out[p++] = 10;
  return p;
}

function headOf(e: Entry, withCas: boolean): string {
  return withCas ? ` ${e.flags} ${e.value.length} ${e.cas}\r\n` : ` ${e.flags} ${e.value.length}\r\n`;
}

/** a one-key get's reply, in one buffer */
function values1(e: Entry | null, key: Buffer, withCas: boolean): Buffer {
  if (e === null) return END;
  const head = headOf(e, withCas);
  const out = Buffer.allocUnsafe(blockSize(key, head, e) + END.length);
  END.copy(out, writeBlock(out, 0, key, head, e));
  return out;
}

/** a VALUE block per hit, then END, in one buffer */
function values(entries: readonly (Entry | null)[], keys: readonly Buffer[], withCas: boolean): Buffer {
  const heads = new Array<string | null>(entries.length);
  let size = END.length;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    heads[i] = e === null ? null : headOf(e, withCas);
    if (e !== null) size += blockSize(keys[i], heads[i]!, e);
  }
  if (size === END.length) return END;
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e !== null) p = writeBlock(out, p, keys[i], heads[i]!, e);
  }
  END.copy(out, p);
  return out;
}
