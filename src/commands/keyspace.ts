/**
 * Keyspace commands, shard side: deletion, existence, expiry, type, renaming and copying, and the
 * whole-shard ones (count, keys, scan, random key, flush), which may wait for the disk and so return
 * promises.
 */
import { ErrorCode, isCairnError } from '../errors.js';
import { type Entry, type ScanPage, WRONG_TYPE } from '../store/types.js';
import { TYPE_NAMES } from '../engine/collections/types.js';
import { sameKey } from './collections.js';
import { globMatch, matchesAll } from './glob.js';
import { Fault, fail, type CommandContext, type Failure } from './types.js';

/** keys deleted; one at a time, so `DEL k k` counts k once. */
export function del(ctx: CommandContext, keys: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < keys.length; i++) if (ctx.store.delete(keys[i])) n++;
  return n;
}

/** delete only while the key's CAS is `cas` (native DEL {cas}); true when it was deleted. */
export function delIfCas(ctx: CommandContext, key: Uint8Array, cas: number): boolean {
  const seen = ctx.store.update(key, (cur) => (cur !== null && cur.cas === cas ? { op: 'delete' } : { op: 'keep' }));
  return seen !== null && seen.cas === cas;
}

/**
 * Delete only while the key holds the entry that was read from it: the same CAS (a new value) and the
 * same expiry (which changes without a new CAS). The last step of a RENAME across shards, so that a
 * write to the source after it was read is kept. true when it was deleted.
 */
export function delIfUnchanged(ctx: CommandContext, key: Uint8Array, cas: number, expiresAt: number): boolean {
  let deleted = false;
  ctx.store.update(key, (cur) => {
    if (cur === null || cur.cas !== cas || cur.expiresAt !== expiresAt) return { op: 'keep' };
    deleted = true;
    return { op: 'delete' };
  });
  return deleted;
}

/** how many of the keys exist (a key named twice counts twice, as Redis). */
export function exists(ctx: CommandContext, keys: readonly Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < keys.length; i++) if (ctx.store.exists(keys[i])) n++;
  return n;
}

/** EXPIRE conditions (Redis 7 NX/XX/GT/LT), OR-ed. A key without an expiry counts as infinite for GT/LT. */
export const ExpireIf = { ALWAYS: 0, NX: 1, XX: 2, GT: 4, LT: 8 } as const;

/**
 * Set an absolute expiry (store time, ms) when the condition holds; a time at or before now deletes
 * the key. true when the expiry was set (or the key deleted by it).
 */
export function expire(ctx: CommandContext, key: Uint8Array, at: number, cond: number): boolean {
  if (cond === ExpireIf.ALWAYS) return ctx.store.expire(key, at);
  const past = at <= ctx.now;
  let done = false;
  ctx.store.update(key, (cur) => {
    if (cur === null) return { op: 'keep' };
    const current = cur.expiresAt; // 0: none
    if (cond & ExpireIf.NX && current !== 0) return { op: 'keep' };
    if (cond & ExpireIf.XX && current === 0) return { op: 'keep' };
    if (cond & ExpireIf.GT && (current === 0 || at <= current)) return { op: 'keep' };
    if (cond & ExpireIf.LT && current !== 0 && at >= current) return { op: 'keep' };
    done = true;
    // 'expire', not a rewrite of the value: a collection stays what it is
    return past ? { op: 'delete' } : { op: 'expire', expiresAt: at };
  });
  return done;
}

/** the absolute expiry in ms; -1 when the key has none, -2 when it is missing. */
export function expireTime(ctx: CommandContext, key: Uint8Array): number {
  return ctx.store.expireTime(key);
}

/** remove the expiry; false when the key is missing or had none. */
export function persist(ctx: CommandContext, key: Uint8Array): boolean {
  return ctx.store.persist(key);
}

/** the value's type (ValueType), null for a missing key */
export function typeOf(ctx: CommandContext, key: Uint8Array): number | null {
  return ctx.store.typeOf(key);
}

/** TYPE: Redis' name of the value's type ('string', 'hash', 'list', 'set', 'zset'), 'none' for a missing key */
export function type(ctx: CommandContext, key: Uint8Array): string {
  const t = ctx.store.typeOf(key);
  return t === null ? 'none' : TYPE_NAMES[t];
}

/**
 * OBJECT ENCODING: how the value is kept. Every string is `raw`, its bytes as written, in memory or
 * on disk alike (a counter too: INCR keeps decimal text, so there is no `int` or `embstr` form); a
 * collection answers `listpack` while it is held packed, else its structure's name (`hashtable`,
 * `quicklist`, `skiplist`, `stream`). null for a missing key.
 */
export function encoding(ctx: CommandContext, key: Uint8Array): string | null {
  const t = ctx.store.typeOf(key);
  if (t === null) return null;
  if (t === 0) return 'raw';
  const c = ctx.store.readCollection(key, t);
  return c === null || c === WRONG_TYPE ? null : c.encoding;
}

/**
 * What RENAME and COPY did: moved (or copied), the source was missing, the destination exists and
 * may not be replaced, or source and destination are one key.
 */
export type MoveResult = 'done' | 'missing' | 'exists' | 'same';

/**
 * RENAME (`nx`: RENAMENX) with both keys on this shard, at once: the value, its expiry and flags move
 * to the destination (a new CAS, as any write), replacing it unless `nx`. A key renamed to itself
 * stays as it is: 'same' when it exists (RENAME answers OK, RENAMENX 0), 'missing' when it does not.
 */
export function rename(ctx: CommandContext, from: Uint8Array, to: Uint8Array, nx: boolean): MoveResult {
  const entry = ctx.store.get(from);
  if (entry === null) return 'missing';
  if (sameKey(from, to)) return 'same';
  if (!put(ctx, to, entry, nx)) return 'exists';
  ctx.store.delete(from);
  return 'done';
}

/**
 * COPY with both keys on this shard: the value, its expiry and flags copied to the destination,
 * replacing it only when `replace`. 'same' when source and destination are one key (checked first,
 * as Redis does).
 */
export function copy(ctx: CommandContext, from: Uint8Array, to: Uint8Array, replace: boolean): MoveResult {
  if (sameKey(from, to)) return 'same';
  const entry = ctx.store.get(from);
  if (entry === null) return 'missing';
  return put(ctx, to, entry, !replace) ? 'done' : 'exists';
}

/**
 * Write an entry read elsewhere (the source of a RENAME or COPY, on this shard or another) under key,
 * its value, flags and absolute expiry kept; with `nx` only when the key is missing. true when it was
 * written (an expiry already past by now writes nothing, as if the entry had been written and then
 * expired, and still counts).
 */
export function put(ctx: CommandContext, key: Uint8Array, entry: Omit<Entry, 'cas'>, nx: boolean): boolean {
  return ctx.store.set(key, entry.value, { flags: entry.flags, expiresAt: entry.expiresAt, mode: nx ? 'nx' : 'always', type: entry.type }).status === 'stored';
}

/** OBJECT FREQ: the policy's access counter; null for a missing key; NOT_LFU when the policy keeps none. */
export function frequency(ctx: CommandContext, key: Uint8Array): number | null | Failure {
  if (ctx.store.frequency === undefined) return fail(Fault.NOT_LFU);
  const f = ctx.store.frequency(key);
  if (f === null) return null;
  return f < 0 ? fail(Fault.NOT_LFU) : f;
}

/** load a key from disk into memory now; false when it is on neither tier. */
export function restore(ctx: CommandContext, key: Uint8Array): boolean {
  return ctx.store.restore(key);
}

export async function dbsize(ctx: CommandContext): Promise<number> {
  return (await ctx.store.count()).total;
}

/** every key matching a Redis glob (null: all), each once though a key may sit in both tiers. */
export async function keys(ctx: CommandContext, pattern: Uint8Array | null): Promise<Buffer[]> {
  const all = pattern === null || matchesAll(pattern);
  const found: Buffer[] = [];
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const page = await ctx.store.scan(cursor, 1000);
    for (const k of page.keys) {
      if (!all && !globMatch(pattern!, k)) continue;
      const id = k.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      found.push(k);
    }
    cursor = page.cursor;
  } while (cursor !== '0');
  return found;
}

export interface ScanArgs {
  /** this shard's cursor ('0' starts) */
  cursor: string;
  count: number;
  /** Redis glob the keys must match; null: all */
  match?: Uint8Array | null;
  /** only keys of this type (lower case); null: all */
  type?: string | null;
}

/** one page of this shard's keys; INVALID_CURSOR for a cursor it did not hand out. */
export async function scan(ctx: CommandContext, a: ScanArgs): Promise<ScanPage | Failure> {
  let page: ScanPage;
  try {
    page = await ctx.store.scan(a.cursor, a.count);
  } catch (e) {
    if (isCairnError(e) && e.code === ErrorCode.BAD_ARGUMENT) return fail(Fault.INVALID_CURSOR);
    throw e;
  }
  const pattern = a.match === undefined || a.match === null || matchesAll(a.match) ? null : a.match;
  let keys = pattern === null ? page.keys : page.keys.filter((k) => globMatch(pattern, k));
  if (a.type !== undefined && a.type !== null) {
    const want = TYPE_NAMES.indexOf(a.type);
    // a key that went between the page and now is left out, as if the page were read a moment later
    keys = want < 0 ? [] : keys.filter((k) => ctx.store.typeOf(k) === want);
  }
  return keys === page.keys ? page : { cursor: page.cursor, keys };
}

export function randomkey(ctx: CommandContext): Promise<Buffer | null> {
  return ctx.store.randomKey();
}

/** pending delayed flushes per store: memcached keeps one, and a newer flush replaces it. */
const delayedFlush = new WeakMap<object, ReturnType<typeof setTimeout>>();

/**
 * Remove every key of the shard, now or after `delayMs` (memcached flush_all <delay>: items stored
 * before the deadline become invalid at it, which a flush at that moment does). Any flush cancels a
 * pending delayed one.
 */
export async function flush(ctx: CommandContext, delayMs = 0): Promise<void> {
  const store = ctx.store;
  const pending = delayedFlush.get(store);
  if (pending !== undefined) clearTimeout(pending);
  delayedFlush.delete(store);
  if (delayMs <= 0) return store.flush();
  const timer = setTimeout(() => {
    delayedFlush.delete(store);
    store.flush().catch(() => undefined);
  }, delayMs);
  timer.unref?.();
  delayedFlush.set(store, timer);
}
