/**
 * How the data-type commands reach their collection: the store's readCollection / writeCollection
 * with a wrong type as the WRONG_TYPE failure. A command that changed a collection it got from
 * `writable` calls `changed(ctx, key, notify)` once before it returns.
 */
import type { Collection } from '../engine/collections/types.js';
import { type Reach, WRONG_TYPE } from '../store/types.js';
import { Fault, fail, type CommandContext, type Failure } from './types.js';

/**
 * the collection to read; null when the key is absent; WRONG_TYPE when it holds another type.
 * `reach`: the members the command reads (and the size), or the part of a list it reads (a large cold
 * collection is then read in part: src/store/types.ts Reach).
 */
export function readable<T extends Collection>(ctx: CommandContext, key: Uint8Array, type: number, reach?: Reach): T | null | Failure {
  const c = ctx.store.readCollection<T>(key, type, reach);
  return c === WRONG_TYPE ? fail(Fault.WRONG_TYPE) : c;
}

/**
 * the collection to change; with `create`, an absent key gets a new empty one (call `changed` after).
 * `reach`: the command reads and changes only these members, or this part of a list (see readable).
 */
export function writable<T extends Collection>(ctx: CommandContext, key: Uint8Array, type: number, create?: () => T, reach?: Reach): T | null | Failure {
  const c = ctx.store.writeCollection<T>(key, type, create, reach);
  return c === WRONG_TYPE ? fail(Fault.WRONG_TYPE) : c;
}

/**
 * after a change to a collection from `writable`: memory recounted, queued for disk, deleted when
 * empty. `notify`: the change's keyspace notification as Redis names it (Notify in
 * src/events/codes.ts; Notify.NONE where Redis publishes none).
 */
export function changed(ctx: CommandContext, key: Uint8Array, notify: number): void {
  ctx.store.collectionChanged(key, notify);
}

/** are two keys the same bytes (a command whose source and destination are one key must read it once) */
export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
