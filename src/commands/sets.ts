/**
 * Set commands, shard side. Members are byte strings as latin1 JS strings (member() of the argument
 * bytes). One-member commands are O(1); the commands over several sets (SINTER, SUNION, SDIFF and
 * their STORE forms, SINTERCARD, SMOVE) find all their keys on this shard (route 'same').
 */
import { distinctPositions, randomPosition, scanPage } from '../engine/collections/positions.js';
import { SetValue } from '../engine/collections/set.js';
import { ValueType } from '../engine/collections/types.js';
import { Notify } from '../events/codes.js';
import { changed, readable, sameKey, writable } from './collections.js';
import { globMatch } from './glob.js';
import type { MemberPage } from './hashes.js';
import { Failure, type CommandContext } from './types.js';

const newSet = (): SetValue => new SetValue();

/** `members`: the command reads only these members and the size (see readable) */
function read(ctx: CommandContext, key: Uint8Array, members?: readonly string[]): SetValue | null | Failure {
  return readable<SetValue>(ctx, key, ValueType.SET, members);
}

function all(s: SetValue): string[] {
  const out = new Array<string>(s.size);
  for (let i = 0; i < out.length; i++) out[i] = s.at(i);
  return out;
}

/** SADD: how many members were new */
export function sadd(ctx: CommandContext, key: Uint8Array, members: readonly string[]): number | Failure {
  const s = writable(ctx, key, ValueType.SET, newSet, members);
  if (s instanceof Failure || s === null) return s ?? 0;
  let added = 0;
  for (const m of members) if (s.add(m)) added++;
  if (added > 0) changed(ctx, key, Notify.SADD);
  return added;
}

/** SREM: how many of the members were there (the key goes with the last one) */
export function srem(ctx: CommandContext, key: Uint8Array, members: readonly string[]): number | Failure {
  const s = writable<SetValue>(ctx, key, ValueType.SET, undefined, members);
  if (s instanceof Failure || s === null) return s ?? 0;
  let removed = 0;
  for (const m of members) if (s.delete(m)) removed++;
  if (removed > 0) changed(ctx, key, Notify.SREM);
  return removed;
}

export function smembers(ctx: CommandContext, key: Uint8Array): string[] | Failure {
  const s = read(ctx, key);
  if (s instanceof Failure) return s;
  return s === null ? [] : all(s);
}

export function sismember(ctx: CommandContext, key: Uint8Array, m: string): boolean | Failure {
  const s = read(ctx, key, [m]);
  if (s instanceof Failure || s === null) return s ?? false;
  return s.has(m);
}

export function smismember(ctx: CommandContext, key: Uint8Array, members: readonly string[]): boolean[] | Failure {
  const s = read(ctx, key, members);
  if (s instanceof Failure) return s;
  return members.map((m) => s?.has(m) === true);
}

export function scard(ctx: CommandContext, key: Uint8Array): number | Failure {
  const s = read(ctx, key, []);
  if (s instanceof Failure || s === null) return s ?? 0;
  return s.size;
}

/** SPOP without a count: one random member removed, null for a missing key */
export function spopOne(ctx: CommandContext, key: Uint8Array): string | null | Failure {
  const s = writable<SetValue>(ctx, key, ValueType.SET);
  if (s instanceof Failure || s === null) return s;
  const m = s.removeAt(randomPosition(s.size));
  changed(ctx, key, Notify.SPOP);
  return m;
}

/** SPOP with a count (≥ 0): that many distinct random members removed, all of them when count ≥ size */
export function spop(ctx: CommandContext, key: Uint8Array, count: number): string[] | Failure {
  const s = writable<SetValue>(ctx, key, ValueType.SET);
  if (s instanceof Failure || s === null) return s ?? [];
  if (count === 0) return [];
  let out: string[];
  if (count >= s.size) {
    out = all(s);
    for (let i = out.length - 1; i >= 0; i--) s.removeAt(i);
  } else {
    out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = s.removeAt(randomPosition(s.size));
  }
  changed(ctx, key, Notify.SPOP);
  return out;
}

/** SRANDMEMBER without a count: one random member, null for a missing key */
export function srandmemberOne(ctx: CommandContext, key: Uint8Array): string | null | Failure {
  const s = read(ctx, key);
  if (s instanceof Failure || s === null) return s;
  return s.at(randomPosition(s.size));
}

/**
 * SRANDMEMBER with a count: distinct members when count > 0 (the whole set when count ≥ its size),
 * |count| members with repeats when count < 0.
 */
export function srandmember(ctx: CommandContext, key: Uint8Array, count: number): string[] | Failure {
  const s = read(ctx, key);
  if (s instanceof Failure) return s;
  if (s === null || count === 0) return [];
  const size = s.size;
  if (count >= size) return all(s);
  if (count > 0) return distinctPositions(size, count).map((at) => s.at(at));
  const out = new Array<string>(-count);
  for (let i = 0; i < out.length; i++) out[i] = s.at(randomPosition(size));
  return out;
}

/**
 * SMOVE: true when the member was in the source and is now in the destination. Redis' order: a
 * missing source answers false before the destination's type is looked at.
 */
export function smove(ctx: CommandContext, src: Uint8Array, dst: Uint8Array, m: string): boolean | Failure {
  const from = writable<SetValue>(ctx, src, ValueType.SET);
  if (from === null) return false;
  if (from instanceof Failure) return from;
  // one key: one copy of it (a set below memory is read anew by each writable)
  if (sameKey(src, dst)) return from.has(m);
  const to = writable<SetValue>(ctx, dst, ValueType.SET);
  if (to instanceof Failure) return to;
  if (!from.delete(m)) return false;
  changed(ctx, src, Notify.SREM);
  const into = to ?? writable(ctx, dst, ValueType.SET, newSet);
  if (into instanceof Failure || into === null) return into ?? false;
  // a destination that already held the member is not notified (Redis)
  changed(ctx, dst, into.add(m) ? Notify.SADD : Notify.NONE);
  return true;
}

/** the sets at keys (null for a missing key), or WRONGTYPE when any key holds another type */
function sets(ctx: CommandContext, keys: readonly Uint8Array[]): (SetValue | null)[] | Failure {
  const out = new Array<SetValue | null>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const s = read(ctx, keys[i]);
    if (s instanceof Failure) return s;
    out[i] = s;
  }
  return out;
}

/**
 * The intersection of the sets, walking the smallest and probing the others; stops at `limit`
 * members when it is above 0 (SINTERCARD LIMIT). Empty when any set is missing.
 */
function intersect(found: (SetValue | null)[], limit: number): string[] {
  if (found.some((s) => s === null)) return [];
  const ordered = (found as SetValue[]).slice().sort((a, b) => a.size - b.size);
  const smallest = ordered[0];
  const out: string[] = [];
  outer: for (let i = 0; i < smallest.size; i++) {
    const m = smallest.at(i);
    for (let j = 1; j < ordered.length; j++) if (ordered[j] !== smallest && !ordered[j].has(m)) continue outer;
    out.push(m);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

export type SetOp = 'inter' | 'union' | 'diff';

/** the result of an operation over the sets at keys, as a new set */
function combine(found: (SetValue | null)[], op: SetOp): SetValue {
  const out = new SetValue();
  if (op === 'inter') {
    for (const m of intersect(found, 0)) out.add(m);
  } else if (op === 'union') {
    for (const s of found) if (s !== null) for (let i = 0; i < s.size; i++) out.add(s.at(i));
  } else {
    const first = found[0];
    if (first === null) return out;
    for (let i = 0; i < first.size; i++) {
      const m = first.at(i);
      let keep = true;
      for (let j = 1; j < found.length && keep; j++) {
        const other = found[j];
        if (other === first || other?.has(m)) keep = false;
      }
      if (keep) out.add(m);
    }
  }
  return out;
}

/** SINTER, SUNION, SDIFF: the members of the result */
export function setOp(ctx: CommandContext, op: SetOp, keys: readonly Uint8Array[]): string[] | Failure {
  const found = sets(ctx, keys);
  if (found instanceof Failure) return found;
  return op === 'inter' ? intersect(found, 0) : all(combine(found, op));
}

/** SINTERCARD: the size of the intersection, counting up to `limit` when it is above 0 */
export function sintercard(ctx: CommandContext, keys: readonly Uint8Array[], limit: number): number | Failure {
  const found = sets(ctx, keys);
  if (found instanceof Failure) return found;
  return intersect(found, limit).length;
}

/**
 * SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces whatever the destination held (any
 * type, its TTL with it); an empty result deletes the destination. Its size.
 */
export function setOpStore(ctx: CommandContext, op: SetOp, dst: Uint8Array, keys: readonly Uint8Array[]): number | Failure {
  const found = sets(ctx, keys);
  if (found instanceof Failure) return found;
  const result = combine(found, op);
  // Redis notifies a replaced destination by the command's name alone, an emptied one by `del`
  if (result.size === 0) {
    ctx.store.delete(dst);
    return 0;
  }
  ctx.store.delete(dst, Notify.NONE);
  const stored = writable(ctx, dst, ValueType.SET, () => result);
  if (stored instanceof Failure) return stored;
  changed(ctx, dst, op === 'inter' ? Notify.SINTERSTORE : op === 'union' ? Notify.SUNIONSTORE : Notify.SDIFFSTORE);
  return result.size;
}

/** SSCAN: one page from `cursor` (positions.ts says what it guarantees), members matching `match` */
export function sscan(ctx: CommandContext, key: Uint8Array, cursor: number, count: number, match: Uint8Array | null): MemberPage | Failure {
  const s = read(ctx, key);
  if (s instanceof Failure) return s;
  if (s === null) return { cursor: 0, items: [] };
  const { from, to, next } = scanPage(s.size, cursor, count);
  const items: string[] = [];
  for (let i = to - 1; i >= from; i--) {
    const m = s.at(i);
    if (match === null || globMatch(match, Buffer.from(m, 'latin1'))) items.push(m);
  }
  return { cursor: next, items };
}
