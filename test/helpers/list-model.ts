/**
 * What the store's list tests share: the array model they compare with (what LMOVE, the pops and
 * LTRIM do to it; a list they empty leaves the model, as the key leaves the store), random LTRIM
 * arguments, a list read back whole and a command's result unwrapped.
 */
import { Failure } from '../../src/commands/types.js';
import type { ListValue } from '../../src/engine/collections/list.js';
import { ValueType } from '../../src/engine/collections/types.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';

export type ListModel = Map<string, string[]>;

/** a command's result, or a throw with its fault */
export function ok<T>(v: T | Failure): T {
  if (v instanceof Failure) throw new Error(`command failed: ${v.fault}`);
  return v;
}

/** the list at `key` as the store has it now, whole (null: no key) */
export function readWhole(s: TieredShardStore, key: string): string[] | null {
  const c = s.readCollection<ListValue>(Buffer.from(key), ValueType.LIST);
  if (c === WRONG_TYPE) throw new Error(`${key}: wrong type`);
  return c === null ? null : c.size === 0 ? [] : c.range(0, c.size - 1);
}

/** Moves one element as LMOVE from `from` to `to` (the same key too); the element, or null when `from` is empty. */
export function modelMove(model: ListModel, from: string, to: string, fromLeft: boolean, toLeft: boolean): string | null {
  const src = model.get(from) ?? [];
  if (src.length === 0) return null;
  const e = fromLeft ? src.shift()! : src.pop()!;
  if (src.length === 0) model.delete(from);
  const dest = model.get(to) ?? [];
  if (toLeft) dest.unshift(e);
  else dest.push(e);
  model.set(to, dest);
  return e;
}

/** Pops as LPOP/RPOP with `count` (null: none given) from `key`; the expected reply: null when empty, else the element or the elements. */
export function modelPop(model: ListModel, key: string, left: boolean, count: number | null): string | string[] | null {
  const list = model.get(key) ?? [];
  if (list.length === 0) return null;
  const n = count === null ? 1 : Math.min(count, list.length);
  const taken = left ? list.splice(0, n) : list.splice(list.length - n, n).reverse();
  if (list.length === 0) model.delete(key);
  return count === null ? taken[0] : taken;
}

/**
 * Random LTRIM arguments for a list of `len` elements: up to `near` - 1 off one end or both, by
 * negative or positive indexes, now and then past an end or keeping nothing (`startNear`: the
 * share of starts counted from the left).
 */
export function randomTrim(r: () => number, len: number, near: number, startNear: number): { start: number; stop: number } {
  const int = (n: number): number => Math.floor(r() * n);
  const start = r() < startNear ? int(near) : -1 - int(len + 2);
  const stop = r() < 0.5 ? -1 - int(near) : len - 1 - int(near) + int(Math.ceil(near / 2));
  return { start, stop };
}

/** Trims `want` in place as LTRIM start stop does (Redis' range rule, written apart from the server's). */
export function modelTrim(want: string[], start: number, stop: number): void {
  const len = want.length;
  const from = Math.max(0, start < 0 ? start + len : start);
  const to = Math.min(len - 1, stop < 0 ? stop + len : stop);
  want.splice(0, len, ...(from > to ? [] : want.slice(from, to + 1)));
}
