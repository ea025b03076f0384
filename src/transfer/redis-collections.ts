/**
 * Reading a Redis hash, list, set or sorted set for `cairn import --from redis://`, into the cairn
 * structure of that type (src/engine/collections), built through its public methods, so that the
 * structure's own encoding is what goes to the target.
 *
 * Each collection is read in pages: HSCAN / SSCAN / ZSCAN (scores as Redis prints them), and LRANGE
 * for lists, PAGE members at a time. A small collection (Redis keeps it as a listpack or intset)
 * comes whole in the first page of a scan, and a list of up to PAGE elements in one LRANGE: one
 * command, atomic. A larger one takes more round trips and is read as the walk finds it, with the
 * SCAN family's guarantee: members present for the whole walk are copied; members added or removed
 * meanwhile may or may not be, and a list that changes while it is paged can have elements repeated
 * or missed.
 */
import { type Collection, HashValue, ListValue, member, SetValue, ValueType, ZSetValue } from '../engine/collections/index.js';
import { TransferError } from './format.js';
import { RespReplyError, type RespClient, type RespValue } from './resp-client.js';

/** members per page */
const PAGE = 1000;

/** Redis' TYPE word → the cairn collection type; strings and unknown types (stream, modules) are not here */
export const COLLECTION_TYPES: Readonly<Record<string, number>> = { hash: ValueType.HASH, list: ValueType.LIST, set: ValueType.SET, zset: ValueType.ZSET };

/** A page's command for a collection of `type` at `cursor` (for a list, the index of its first element). */
function pageCommand(type: number, key: Buffer, cursor: string): (string | Buffer)[] {
  switch (type) {
    case ValueType.HASH:
      return ['HSCAN', key, cursor, 'COUNT', String(PAGE)];
    case ValueType.SET:
      return ['SSCAN', key, cursor, 'COUNT', String(PAGE)];
    case ValueType.ZSET:
      return ['ZSCAN', key, cursor, 'COUNT', String(PAGE)];
    default: {
      const start = Number(cursor);
      return ['LRANGE', key, String(start), String(start + PAGE - 1)];
    }
  }
}

/** A Redis score as ZSCAN prints it: a %.17g number, or inf / -inf. */
function score(text: Buffer): number {
  const s = text.toString('latin1');
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  const n = Number(s);
  if (Number.isNaN(n)) throw new TransferError(`redis ZSCAN gave a score that is not a number: ${s}`);
  return n;
}

/** A sorted set's member with its score: the one call here that depends on the sorted set's interface. */
export function addScored(z: ZSetValue, m: string, s: number): void {
  z.set(m, s);
}

/** One collection being read: its structure, and where its walk stands. */
class Reading {
  readonly obj: Collection;
  /** the scan cursor, or a list's next index; '0' for a scan once it is complete */
  cursor = '0';
  done = false;

  constructor(
    readonly type: number,
    readonly key: Buffer,
  ) {
    this.obj =
      type === ValueType.HASH ? new HashValue() : type === ValueType.LIST ? new ListValue() : type === ValueType.SET ? new SetValue() : new ZSetValue();
  }

  /** Takes one page's reply; false when the key no longer holds this type (or any value). */
  take(reply: RespValue): boolean {
    if (reply instanceof RespReplyError) {
      if (reply.code === 'WRONGTYPE') return false;
      throw new TransferError(`redis ${String(pageCommand(this.type, this.key, this.cursor)[0])} ${this.key.toString('latin1')}: ${reply.message}`);
    }
    if (this.type === ValueType.LIST) {
      const items = reply as Buffer[];
      const l = this.obj as ListValue;
      for (const it of items) l.push(member(it), false);
      this.cursor = String(Number(this.cursor) + items.length);
      this.done = items.length < PAGE;
      return true;
    }
    const [next, items] = reply as [Buffer, Buffer[]];
    if (this.type === ValueType.HASH) {
      const h = this.obj as HashValue;
      for (let i = 0; i + 1 < items.length; i += 2) h.set(member(items[i]), member(items[i + 1]));
    } else if (this.type === ValueType.SET) {
      const s = this.obj as SetValue;
      for (const it of items) s.add(member(it));
    } else {
      const z = this.obj as ZSetValue;
      for (let i = 0; i + 1 < items.length; i += 2) addScored(z, member(items[i]), score(items[i + 1]));
    }
    this.cursor = next.toString('latin1');
    this.done = this.cursor === '0';
    return true;
  }
}

/**
 * Reads the collections `keys` (with their Redis types) from `redis`: the first pages of all of them
 * pipelined, then the rest of each large one. Returns, per key, the structure, or null when the key
 * was gone or held another type by the time it was read (Redis never keeps an empty collection).
 */
export async function readCollections(redis: RespClient, keys: readonly Buffer[], types: readonly number[]): Promise<(Collection | null)[]> {
  const readings = keys.map((k, i) => new Reading(types[i], k));
  const out: (Collection | null)[] = new Array(keys.length).fill(null);
  const firsts = await Promise.all(readings.map((r) => redis.send(pageCommand(r.type, r.key, r.cursor))));
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i];
    if (!r.take(firsts[i])) continue;
    // one large collection at a time: its pages in turn, so memory holds one large structure being built
    while (!r.done) if (!r.take(await redis.send(pageCommand(r.type, r.key, r.cursor)))) break;
    if (r.done && r.obj.size > 0) out[i] = r.obj;
  }
  return out;
}
