/**
 * The list commands, shard side: typed arguments in, elements (member strings, src/engine/
 * collections/types.ts) or a Failure out. Indexes are already whole numbers (the codec clamps an
 * i64 past any list's length). Every command that adds to a list marks the key ready for blocked
 * clients (src/commands/blocking.ts); a list left empty is deleted by `changed`, as Redis deletes it.
 */
import { ListValue, listSpan } from '../engine/collections/list.js';
import type { ListReach } from '../engine/collections/list-chunks.js';
import { Notify } from '../events/codes.js';
import { member, ValueType } from '../engine/collections/types.js';
import { keyReady } from './blocking.js';
import { changed, readable, sameKey, writable } from './collections.js';
import { Fault, fail, type CommandContext, type Failure } from './types.js';

const LIST = ValueType.LIST;
const newList = (): ListValue => new ListValue();

// What each command reaches of a list (a large one below memory is then read in part: src/store/types.ts Reach)
const SIZE: ListReach = { kind: 'size' };
const PUSH_LEFT: ListReach = { kind: 'push', left: true };
const PUSH_RIGHT: ListReach = { kind: 'push', left: false };
const POP_LEFT: ListReach = { kind: 'pop', left: true, count: 1 };
const POP_RIGHT: ListReach = { kind: 'pop', left: false, count: 1 };

/** LPUSH / RPUSH (LPUSHX / RPUSHX with onlyIfExists): the length after, 0 when the key is absent and onlyIfExists */
export function lpush(ctx: CommandContext, key: Uint8Array, elements: readonly Uint8Array[], left: boolean, onlyIfExists = false): number | Failure {
  const l = writable<ListValue>(ctx, key, LIST, onlyIfExists ? undefined : newList, left ? PUSH_LEFT : PUSH_RIGHT);
  if (!(l instanceof ListValue)) return l ?? 0;
  for (const e of elements) l.push(member(e), left);
  changed(ctx, key, left ? Notify.LPUSH : Notify.RPUSH);
  keyReady(ctx.store, key);
  return l.size;
}

/**
 * LPOP / RPOP: one element (count null) or up to count of them; null when the key is absent.
 * count 0 answers [] for an existing list, as Redis.
 */
export function lpop(ctx: CommandContext, key: Uint8Array, left: boolean, count: number | null): string | string[] | null | Failure {
  const l = writable<ListValue>(ctx, key, LIST, undefined, { kind: 'pop', left, count: count ?? 1 });
  if (!(l instanceof ListValue)) return l;
  if (count === null) {
    const s = l.pop(left)!;
    changed(ctx, key, left ? Notify.LPOP : Notify.RPOP);
    return s;
  }
  if (count === 0) return [];
  const n = Math.min(count, l.size);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = l.pop(left)!;
  changed(ctx, key, left ? Notify.LPOP : Notify.RPOP);
  return out;
}

export function llen(ctx: CommandContext, key: Uint8Array): number | Failure {
  const l = readable<ListValue>(ctx, key, LIST, SIZE);
  return l instanceof ListValue ? l.size : (l ?? 0);
}

export function lrange(ctx: CommandContext, key: Uint8Array, start: number, stop: number): string[] | Failure {
  const l = readable<ListValue>(ctx, key, LIST);
  if (!(l instanceof ListValue)) return l ?? [];
  const s = listSpan(start, stop, l.size);
  return s === null ? [] : l.range(s[0], s[1]);
}

/** the list index of i (negative from the end), or -1 outside the list */
function position(i: number, len: number): number {
  const at = i < 0 ? len + i : i;
  return at < 0 || at >= len ? -1 : at;
}

export function lindex(ctx: CommandContext, key: Uint8Array, index: number): string | null | Failure {
  const l = readable<ListValue>(ctx, key, LIST, { kind: 'index', index });
  if (!(l instanceof ListValue)) return l;
  const at = position(index, l.size);
  return at < 0 ? null : l.at(at);
}

/** LSET: 'ok', 'no such key', or 'out of range' */
export function lset(ctx: CommandContext, key: Uint8Array, index: number, element: Uint8Array): 'ok' | 'nokey' | 'range' | Failure {
  const l = writable<ListValue>(ctx, key, LIST, undefined, { kind: 'index', index });
  if (l === null) return 'nokey';
  if (!(l instanceof ListValue)) return l;
  const at = position(index, l.size);
  if (at < 0) return 'range';
  l.set(at, member(element));
  changed(ctx, key, Notify.LSET);
  return 'ok';
}

/** LINSERT: the length after, -1 when the pivot is not found, 0 when the key is absent */
export function linsert(ctx: CommandContext, key: Uint8Array, before: boolean, pivot: Uint8Array, element: Uint8Array): number | Failure {
  const l = writable<ListValue>(ctx, key, LIST);
  if (!(l instanceof ListValue)) return l ?? 0;
  const p = member(pivot);
  for (let i = 0; i < l.size; i++) {
    if (l.at(i) !== p) continue;
    l.insert(before ? i : i + 1, member(element));
    changed(ctx, key, Notify.LINSERT);
    keyReady(ctx.store, key);
    return l.size;
  }
  return -1;
}

/** LREM: count > 0 from the head, < 0 from the tail, 0 all; how many were removed */
export function lrem(ctx: CommandContext, key: Uint8Array, count: number, element: Uint8Array): number | Failure {
  const l = writable<ListValue>(ctx, key, LIST);
  if (!(l instanceof ListValue)) return l ?? 0;
  const removed = l.remove(member(element), Math.abs(count), count < 0);
  if (removed > 0) changed(ctx, key, Notify.LREM);
  return removed;
}

export function ltrim(ctx: CommandContext, key: Uint8Array, start: number, stop: number): null | Failure {
  const l = writable<ListValue>(ctx, key, LIST, undefined, { kind: 'trim', start, stop });
  if (!(l instanceof ListValue)) return l;
  const s = listSpan(start, stop, l.size);
  if (s === null) l.clear();
  else if (s[0] === 0 && s[1] === l.size - 1) {
    // nothing to write, but Redis notifies every LTRIM of a list
    ctx.store.notifyKey(key, Notify.LTRIM);
    return null;
  } else l.trim(s[0], s[1]);
  changed(ctx, key, Notify.LTRIM);
  return null;
}

export interface LposArgs {
  element: Uint8Array;
  /** 1-based match to start from; negative searches from the tail */
  rank: number;
  /** null: one index (or null); 0: every match */
  count: number | null;
  /** elements compared at most, 0: all */
  maxlen: number;
}

/** LPOS: one index or null without COUNT; the indexes with it */
export function lpos(ctx: CommandContext, key: Uint8Array, a: LposArgs): number | null | number[] | Failure {
  const l = readable<ListValue>(ctx, key, LIST);
  if (!(l instanceof ListValue)) return l ?? (a.count === null ? null : []);
  const e = member(a.element);
  const len = l.size;
  const fromTail = a.rank < 0;
  const rank = Math.abs(a.rank);
  const out: number[] = [];
  let matches = 0;
  for (let n = 0; n < len && (a.maxlen === 0 || n < a.maxlen); n++) {
    const i = fromTail ? len - 1 - n : n;
    if (l.at(i) !== e) continue;
    matches++;
    if (matches < rank) continue;
    if (a.count === null) return i;
    out.push(i);
    if (a.count !== 0 && out.length >= a.count) break;
  }
  return a.count === null ? null : out;
}

/**
 * LMOVE / RPOPLPUSH: the element moved from one end of source to one end of destination; null when
 * source is absent; WRONG_TYPE when either holds another type (then nothing moves).
 */
export function lmove(ctx: CommandContext, source: Uint8Array, destination: Uint8Array, fromLeft: boolean, toLeft: boolean): string | null | Failure {
  // one key: one copy of it (a list below memory is read anew by each writable), which a move from
  // one end to the other reaches whole; one that puts the element back where it was (a blocking
  // move's wait on another shard's behalf) reaches that end alone
  const same = sameKey(source, destination);
  const pop = fromLeft ? POP_LEFT : POP_RIGHT;
  const from = writable<ListValue>(ctx, source, LIST, undefined, same && fromLeft !== toLeft ? undefined : pop);
  if (!(from instanceof ListValue)) return from;
  const to = same ? from : writable<ListValue>(ctx, destination, LIST, newList, toLeft ? PUSH_LEFT : PUSH_RIGHT);
  if (!(to instanceof ListValue)) return to ?? fail(Fault.INTERNAL);
  const s = from.pop(fromLeft)!;
  to.push(s, toLeft);
  // Redis notifies the push first, then the pop (and the source's del when emptied); the source is
  // still recorded first, before the destination's growth may evict it
  ctx.store.notifyKey(destination, toLeft ? Notify.LPUSH : Notify.RPUSH);
  changed(ctx, source, fromLeft ? Notify.LPOP : Notify.RPOP);
  if (!same) changed(ctx, destination, Notify.NONE);
  keyReady(ctx.store, destination);
  return s;
}

/** LMPOP and a served BLMPOP: from the first non-empty list of keys, up to count elements */
export function lmpop(
  ctx: CommandContext,
  keys: readonly Uint8Array[],
  left: boolean,
  count: number,
): { key: Uint8Array; elements: string[] } | null | Failure {
  for (const key of keys) {
    // only whether it is a list: lpop then reaches what it pops
    const l = readable<ListValue>(ctx, key, LIST, SIZE);
    if (l === null) continue;
    if (!(l instanceof ListValue)) return l;
    return { key, elements: lpop(ctx, key, left, count) as string[] };
  }
  return null;
}

/** BLPOP / BRPOP without blocking: the first non-empty list's key and element, null when none */
export function bpop(ctx: CommandContext, keys: readonly Uint8Array[], left: boolean): { key: Uint8Array; element: string } | null | Failure {
  for (const key of keys) {
    const l = readable<ListValue>(ctx, key, LIST, SIZE);
    if (l === null) continue;
    if (!(l instanceof ListValue)) return l;
    return { key, element: lpop(ctx, key, left, null) as string };
  }
  return null;
}
