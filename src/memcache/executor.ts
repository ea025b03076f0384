/**
 * memcached executor (shard side): runs one forwarded command line (with its data block) against the
 * shard's store and returns the reply bytes as memcached 1.6 words them; noreply gives an empty reply.
 * Never throws: store failures become SERVER_ERROR / CLIENT_ERROR lines.
 */
import { ErrorCode, isCairnError } from '../errors.js';
import { shardReport } from '../resp/info.js';
import type { Entry, ShardStore } from '../store/types.js';
import {
  R_BAD_FORMAT,
  R_ERROR,
  R_TOO_LARGE,
  REALTIME_MAXDELTA,
  commandWord,
  parseI32,
  parseMemcacheCommand,
  parseU32,
  parseU64,
} from './framer.js';
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

/**
 * memcached exptime to an absolute store time: 0 never expires, up to 30 days is relative, larger is
 * a Unix time, negative is already expired. The store takes 0 as "no expiry", so "expired" is 1 ms.
 */
export function exptimeToMs(exptime: number, now: number): number {
  if (exptime === 0) return 0;
  if (exptime < 0) return 1;
  if (exptime > REALTIME_MAXDELTA) return Math.max(1, exptime * 1000);
  return now + exptime * 1000;
}

/** pending delayed flush_all per store (memcached keeps one: a newer flush_all replaces it). */
const delayedFlush = new WeakMap<ShardStore, ReturnType<typeof setTimeout>>();

/**
 * Executes one forwarded command and returns its reply: at once when nothing in it waits (get/gets),
 * else as a promise. Either way the command takes effect when it is called.
 */
export function executeMemcache(store: ShardStore, raw: Buffer, options: MemcacheExecOptions = {}): Buffer | Promise<Buffer> {
  const cmd = parseMemcacheCommand(raw);
  if (cmd === null || cmd.args.length === 0) return R_ERROR;
  const now = options.now ? options.now() : Date.now();
  const before = store.changes;
  try {
    const reply = readNow(store, cmd.args) ?? run(store, cmd.args, cmd.data, now);
    if (reply instanceof Promise) {
      return reply.then(
        (r) => acknowledged(store, before, r, cmd.noreply),
        (e: unknown) => acknowledged(store, before, failure(e, cmd.noreply), cmd.noreply),
      );
    }
    return acknowledged(store, before, reply, cmd.noreply);
  } catch (e) {
    return acknowledged(store, before, failure(e, cmd.noreply), cmd.noreply);
  }
}

/** a reply to a command that changed the store goes out once the change is as durable as promised */
function acknowledged(store: ShardStore, before: number, reply: Buffer, noreply: boolean): Buffer | Promise<Buffer> {
  const out = noreply ? EMPTY : reply;
  if (store.changes === before) return out;
  const wait = store.settled();
  return wait === null ? out : wait.then(() => out, (e: unknown) => failure(e, noreply));
}

/** get / gets / bget answered without a promise, when the store can; null otherwise. */
function readNow(store: ShardStore, args: Buffer[]): Buffer | null {
  if (args.length < 2) return null;
  const name = commandWord(args[0]);
  if (name !== 'get' && name !== 'gets' && name !== 'bget') return null;
  const keys = args.slice(1);
  return values(keys.map((k) => store.get(k)), keys, name === 'gets');
}

function failure(e: unknown, noreply: boolean): Buffer {
  if (noreply) return EMPTY;
  if (isCairnError(e)) {
    if (e.code === ErrorCode.VALUE_TOO_LARGE) return R_TOO_LARGE;
    if (e.code === ErrorCode.OUT_OF_MEMORY) return OUT_OF_MEMORY;
    if (e.code === ErrorCode.KEY_TOO_LARGE || e.code === ErrorCode.BAD_ARGUMENT) return R_BAD_FORMAT;
  }
  const message = e instanceof Error ? e.message : String(e);
  return Buffer.from(`SERVER_ERROR ${message.replace(/[\r\n]/g, ' ')}\r\n`);
}

/** executes commands one after another (a shard's batch), replies in the same order. */
export async function executeMemcacheBatch(
  store: ShardStore,
  raws: readonly Buffer[],
  options: MemcacheExecOptions = {},
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const raw of raws) out.push(await executeMemcache(store, raw, options));
  return out;
}

async function run(store: ShardStore, args: Buffer[], data: Buffer | null, now: number): Promise<Buffer> {
  const name = commandWord(args[0]);
  switch (name) {
    case 'get':
    case 'bget':
      return values(await Promise.all(args.slice(1).map((k) => store.get(k))), args.slice(1), false);
    case 'gets':
      return values(await Promise.all(args.slice(1).map((k) => store.get(k))), args.slice(1), true);
    case 'gat':
    case 'gats': {
      const exptime = parseI32(args[1]);
      if (exptime === null) return INVALID_EXPTIME;
      const at = exptimeToMs(exptime, now);
      const keys = args.slice(2);
      const entries: (Entry | null)[] = [];
      for (const k of keys) entries.push(await store.touch(k, at));
      return values(entries, keys, name === 'gats');
    }
    case 'set':
    case 'add':
    case 'replace':
    case 'cas':
      return storeValue(store, name, args, data, now);
    case 'append':
    case 'prepend': {
      if (data === null) return R_ERROR;
      const n = await store.append(args[1], data, name === 'prepend', false);
      return n < 0 ? NOT_STORED : STORED;
    }
    case 'delete':
      return (await store.delete(args[1])) ? DELETED : NOT_FOUND;
    case 'incr':
    case 'decr': {
      const delta = parseU64(args[2]);
      if (delta === null) return INVALID_DELTA;
      const r = await store.incr(args[1], name === 'incr' ? delta : -delta, true, false);
      if (r.status === 'ok') return Buffer.from(`${r.value}\r\n`);
      if (r.status === 'not_found') return NOT_FOUND;
      return NON_NUMERIC;
    }
    case 'touch': {
      const exptime = parseI32(args[2]);
      if (exptime === null) return INVALID_EXPTIME;
      return (await store.touch(args[1], exptimeToMs(exptime, now))) === null ? NOT_FOUND : TOUCHED;
    }
    case 'flush_all':
      return flushAll(store, args, now);
    case MC_TOO_LARGE:
      await store.delete(args[1]);
      return R_TOO_LARGE;
    case MC_SHARD_STATS:
      return Buffer.from(JSON.stringify(await shardReport(store)) + '\r\n');
    default:
      return R_ERROR;
  }
}

async function storeValue(store: ShardStore, name: string, args: Buffer[], data: Buffer | null, now: number): Promise<Buffer> {
  const flags = parseU32(args[2]);
  const exptime = parseI32(args[3]);
  if (data === null || flags === null || exptime === null) return R_BAD_FORMAT;
  const expiresAt = exptimeToMs(exptime, now);
  if (name === 'cas') {
    const unique = parseU64(args[5]);
    if (unique === null) return R_BAD_FORMAT;
    if (unique === 0n || unique > BigInt(Number.MAX_SAFE_INTEGER)) {
      // No stored CAS is 0 or that large: the compare fails without writing.
      return (await store.exists(args[1])) ? EXISTS : NOT_FOUND;
    }
    const r = await store.set(args[1], data, { flags, expiresAt, cas: Number(unique) });
    return r.status === 'stored' ? STORED : r.status === 'exists' ? EXISTS : NOT_FOUND;
  }
  const mode = name === 'add' ? 'nx' : name === 'replace' ? 'xx' : 'always';
  const r = await store.set(args[1], data, { flags, expiresAt, mode });
  return r.status === 'stored' ? STORED : NOT_STORED;
}

async function flushAll(store: ShardStore, args: Buffer[], now: number): Promise<Buffer> {
  const noreply = args[args.length - 1].toString('latin1') === 'noreply';
  const delayArg = args.length > (noreply ? 2 : 1) ? parseI32(args[1]) : 0;
  if (delayArg === null) return INVALID_EXPTIME;
  const pending = delayedFlush.get(store);
  if (pending !== undefined) clearTimeout(pending);
  delayedFlush.delete(store);
  if (delayArg <= 0) {
    await store.flush();
    return OK;
  }
  // Items stored before the deadline become invalid at it: a flush at that moment does the same.
  const wait = Math.max(0, exptimeToMs(delayArg, now) - now);
  const timer = setTimeout(() => {
    delayedFlush.delete(store);
    store.flush().catch(() => undefined);
  }, wait);
  timer.unref?.();
  delayedFlush.set(store, timer);
  return OK;
}

/** `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n` per hit, then END, in one buffer. */
function values(entries: readonly (Entry | null)[], keys: readonly Buffer[], withCas: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === null) continue;
    const head = withCas ? ` ${e.flags} ${e.value.length} ${e.cas}\r\n` : ` ${e.flags} ${e.value.length}\r\n`;
    parts.push(Buffer.from('VALUE '), keys[i], Buffer.from(head), e.value, Buffer.from('\r\n'));
  }
  if (parts.length === 0) return END;
  parts.push(END);
  return Buffer.concat(parts);
}
