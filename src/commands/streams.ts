/**
 * The stream commands (Redis 7): XADD, XTRIM, XLEN, XRANGE/XREVRANGE, XDEL, XREAD/XREADGROUP, XACK,
 * XPENDING, XGROUP, XINFO, XSETID, XCLAIM, XAUTOCLAIM. Arguments arrive typed (RESP parsing is
 * src/resp/streams.ts) except ids whose parse Redis orders after a key lookup, which come raw so the
 * failures come in Redis' order. Redis' own error texts are Failure messages (BAD_ARGUMENT); those
 * with their own code word (NOGROUP, BUSYGROUP) start with it.
 */
import { MAX_ID, MIN_ID, SEQ_MAX, type ParsedId, type StreamId, autoId, msPart, nextId, parseId } from '../engine/collections/stream-id.js';
import type { Consumer, Group, Nack } from '../engine/collections/stream-groups.js';
import { StreamValue, type TrimArgs } from '../engine/collections/stream.js';
import { Notify } from '../events/codes.js';
import { ValueType } from '../engine/collections/types.js';
import { keyReady } from './blocking.js';
import { changed, readable, writable } from './collections.js';
import { parseI64 } from './numbers.js';
import { type CommandContext, Failure, Fault, isFailure } from './types.js';

export type { StreamId, TrimArgs };
export { StreamValue };

/** an entry as replied: its id and flat field/value pairs; null pairs for a pending id whose entry is gone */
export type StreamEntry = readonly [id: StreamId, vals: readonly string[] | null];

export const INVALID_ID = 'Invalid stream ID specified as stream command argument';

/** a Redis error text as a failure */
export function streamError(message: string): Failure {
  return new Failure(Fault.BAD_ARGUMENT, message);
}

const BAD_ID = streamError(INVALID_ID);

/** a name as C's %s prints it: up to a NUL */
function cName(s: string | Uint8Array): string {
  const t = typeof s === 'string' ? s : Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('latin1');
  const nul = t.indexOf('\x00');
  return nul < 0 ? t : t.slice(0, nul);
}

function noGroup(key: Uint8Array, group: string, suffix = ''): Failure {
  return streamError(`NOGROUP No such key '${cName(key)}' or consumer group '${cName(group)}'${suffix}`);
}

function noGroupForKey(key: Uint8Array, group: string): Failure {
  return streamError(`NOGROUP No such consumer group '${cName(group)}' for key name '${cName(key)}'`);
}

/** a strict id (no `-`/`+`), missing seq 0 */
export function strictId(arg: string): StreamId | null {
  return parseId(arg, true, '\x00'.repeat(8))?.id ?? null;
}

const stream = (ctx: CommandContext, key: Uint8Array) => readable<StreamValue>(ctx, key, ValueType.STREAM);
const streamToWrite = (ctx: CommandContext, key: Uint8Array) => writable<StreamValue>(ctx, key, ValueType.STREAM);

// ---- XADD / XTRIM / XDEL / XLEN / XRANGE --------------------------------------------------------

export interface XAddArgs {
  /** null for `*` */
  id: ParsedId | null;
  noMkStream: boolean;
  trim: TrimArgs | null;
  /** field, value, ... */
  vals: string[];
}

/** the new entry's id; null when the key is absent and NOMKSTREAM was given */
export function xadd(ctx: CommandContext, key: Uint8Array, a: XAddArgs): StreamId | null | Failure {
  if (a.id?.seqGiven && a.id.id === MIN_ID) return streamError('The ID specified in XADD must be greater than 0-0');
  let s = streamToWrite(ctx, key);
  if (isFailure(s)) return s;
  if (s === null) {
    if (a.noMkStream) return null;
    s = writable<StreamValue>(ctx, key, ValueType.STREAM, () => new StreamValue()) as StreamValue;
  }
  if (s.lastId === MAX_ID) {
    changed(ctx, key, Notify.NONE);
    return streamError('The stream has exhausted the last possible ID, unable to add more items');
  }
  let id: StreamId | null;
  if (a.id === null) id = autoId(s.lastId, ctx.now);
  else if (a.id.seqGiven) id = a.id.id;
  else if (msPart(s.lastId) === msPart(a.id.id)) {
    // Redis fails here without setting errno, and 7.0 then answers its other XADD error
    if (s.lastId.endsWith(SEQ_MAX)) return done(ctx, key, streamError('Elements are too large to be stored'));
    id = nextId(s.lastId);
  } else id = a.id.id;
  if (id === null || id <= s.lastId) {
    changed(ctx, key, Notify.NONE);
    return streamError('The ID specified in XADD is equal or smaller than the target stream top item');
  }
  s.append(id, a.vals);
  const trimmed = a.trim !== null && s.trim(a.trim) > 0;
  changed(ctx, key, Notify.XADD);
  if (trimmed) ctx.store.notifyKey(key, Notify.XTRIM);
  // clients blocked in XREAD / XREADGROUP on the key are served after this message
  keyReady(ctx.store, key);
  return id;
}

export function xtrim(ctx: CommandContext, key: Uint8Array, trim: TrimArgs): number | Failure {
  const s = streamToWrite(ctx, key);
  if (s === null || isFailure(s)) return s ?? 0;
  const n = s.trim(trim);
  changed(ctx, key, n > 0 ? Notify.XTRIM : Notify.NONE);
  return n;
}

export function xlen(ctx: CommandContext, key: Uint8Array): number | Failure {
  const s = stream(ctx, key);
  return s === null ? 0 : isFailure(s) ? s : s.length;
}

/** every id strictly parsed (see strictId), null when one is not an id */
function strictIds(args: readonly string[]): StreamId[] | null {
  const ids: StreamId[] = [];
  for (const arg of args) {
    const id = strictId(arg);
    if (id === null) return null;
    ids.push(id);
  }
  return ids;
}

/** XDEL: ids raw, parsed after the key is found (Redis answers 0 for a missing key whatever they are) */
export function xdel(ctx: CommandContext, key: Uint8Array, idArgs: readonly string[]): number | Failure {
  const s = streamToWrite(ctx, key);
  if (s === null || isFailure(s)) return s ?? 0;
  const ids = strictIds(idArgs);
  if (ids === null) {
    changed(ctx, key, Notify.NONE);
    return BAD_ID;
  }
  let deleted = 0;
  for (const id of ids) if (s.delete(id)) deleted++;
  changed(ctx, key, deleted > 0 ? Notify.XDEL : Notify.NONE);
  return deleted;
}

/**
 * XRANGE / XREVRANGE over [start, end] (already made inclusive); count -1 for all; 0 answers a
 * null array as Redis does.
 */
export function xrange(ctx: CommandContext, key: Uint8Array, start: StreamId, end: StreamId, rev: boolean, count: number): StreamEntry[] | null | Failure {
  const s = stream(ctx, key);
  if (s === null) return [];
  if (isFailure(s)) return s;
  if (count === 0) return null;
  const out: StreamEntry[] = [];
  s.range(start, end, rev, (id, vals) => {
    out.push([id, vals]);
    return out.length !== count;
  });
  return out;
}

// ---- XREAD / XREADGROUP -------------------------------------------------------------------------

export interface XReadArgs {
  keys: readonly Uint8Array[];
  /** raw id arguments, one per key: an id, `$`, or (XREADGROUP) `>` */
  ids: readonly string[];
  /** 0: no limit */
  count: number;
  group: { name: string; consumer: string; noack: boolean } | null;
}

export interface StreamReply {
  key: Uint8Array;
  entries: StreamEntry[];
}

/** what XREAD would wait for per key when it has nothing now: entries after these ids (`>`: MAX_ID) */
export interface XReadPlan {
  after: StreamId[];
}

/**
 * XREAD / XREADGROUP served at once: the streams with something to give, in argument order; null
 * when none has (a null array, or the point to block from). `plan` gets the resolved ids (`$` as
 * the stream's last id now) for a caller that blocks.
 */
export function xread(ctx: CommandContext, a: XReadArgs, plan?: XReadPlan): StreamReply[] | null | Failure {
  const n = a.keys.length;
  const after: StreamId[] = new Array(n);
  const groups: (Group | null)[] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const s = stream(ctx, a.keys[i]);
    if (isFailure(s)) return s;
    if (a.group !== null) {
      const g = s?.groups.get(a.group.name);
      if (g === undefined) return noGroup(a.keys[i], a.group.name, ' in XREADGROUP with GROUP option');
      groups[i] = g;
    }
    const arg = a.ids[i];
    if (arg === '$') {
      if (a.group !== null) {
        return streamError(
          'The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
        );
      }
      after[i] = s === null ? MIN_ID : s.lastId;
      continue;
    }
    if (arg === '>') {
      if (a.group === null) return streamError('The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
      after[i] = MAX_ID;
      continue;
    }
    const id = strictId(arg);
    if (id === null) return BAD_ID;
    after[i] = id;
  }
  if (plan !== undefined) plan.after = after;
  let out: StreamReply[] | null = null;
  for (let i = 0; i < n; i++) {
    const entries = serveOne(ctx, a, i, after[i], groups[i]);
    if (entries !== null) (out ??= []).push({ key: a.keys[i], entries });
  }
  return out;
}

/** one stream of an XREAD(GROUP): its entries, or null when it has nothing to serve now */
export function serveOne(ctx: CommandContext, a: XReadArgs, i: number, gt: StreamId, g: Group | null): StreamEntry[] | null {
  const key = a.keys[i];
  const s = g === null ? stream(ctx, key) : streamToWrite(ctx, key);
  if (s === null || isFailure(s)) return null;
  if (g === null) {
    const last = s.length > 0 ? s.edgeId(false) : null;
    if (last === null || last <= gt) return null;
    return entriesAfter(s, gt, a.count);
  }
  const history = gt !== MAX_ID;
  if (!history) {
    const last = s.length > 0 ? s.edgeId(false) : null;
    if (last === null || last <= g.lastId) {
      changed(ctx, key, Notify.NONE);
      return null;
    }
    gt = g.lastId;
  }
  const group = a.group!;
  const existing = g.consumer(group.consumer, ctx.now);
  const consumer = existing ?? g.createConsumer(group.consumer, ctx.now)!;
  const created = existing === undefined;
  const out: StreamEntry[] = [];
  // the entry after gt: gt is a real id here (history ids are strict, `>` became the group's last id)
  const start = nextId(gt);
  if (history) {
    if (start !== null) {
      consumer.pel.from(start, (id, nack) => {
        const vals = s.get(id);
        // an entry deleted since its delivery is answered as its id and a null array
        out.push([id, vals]);
        if (vals !== null) {
          nack.deliveryTime = ctx.now;
          nack.deliveryCount++;
        }
        return out.length !== a.count;
      });
    }
  } else deliverAfter(ctx, s, g, consumer, group.noack, out, a.count);
  changed(ctx, key, created ? Notify.XGROUP_CREATECONSUMER : Notify.NONE);
  return out;
}

/** up to count entries (0: all) after gt */
function entriesAfter(s: StreamValue, gt: StreamId, count: number): StreamEntry[] {
  const out: StreamEntry[] = [];
  const start = nextId(gt);
  if (start === null) return out;
  s.range(start, MAX_ID, false, (id, vals) => {
    out.push([id, vals]);
    return out.length !== count;
  });
  return out;
}

/** `>`: up to count entries (0: all) after the group's last id, delivered to the consumer (pending unless noack) */
function deliverAfter(ctx: CommandContext, s: StreamValue, g: Group, consumer: Consumer, noack: boolean, out: StreamEntry[], count: number): void {
  const start = nextId(g.lastId);
  if (start === null) return;
  s.range(start, MAX_ID, false, (id, vals) => {
    s.advanceGroup(g, id);
    if (!noack) g.deliver(id, consumer, ctx.now);
    out.push([id, vals]);
    return out.length !== count;
  });
}

/** a blocked XREAD(GROUP) served without COUNT gets at most this many entries (Redis' XREAD_BLOCKED_DEFAULT_COUNT) */
export const XREAD_BLOCKED_COUNT = 1000;

/** a blocked XREADGROUP's answer when its group went away while it waited (Redis 7.0's words) */
const BLOCKED_NOGROUP = streamError('NOGROUP the consumer group this client was blocked on no longer exists');
/** a blocked XREADGROUP's answer when its stream was deleted (or replaced by another type) while it waited */
const BLOCKED_DELETED = streamError('UNBLOCKED the stream key no longer exists');

/**
 * A blocked XREAD(GROUP)'s turn on a key that became ready, as Redis 7.0 serves it: the entries
 * after `gt` (XREADGROUP: after the group's last id, which other consumers may have moved) once the
 * stream's last id passed it, up to count; null while there is nothing for it (it keeps waiting).
 * A group waiter whose stream or group is gone gets Redis' error; an XREAD waiter keeps waiting.
 */
export function xreadBlocked(
  ctx: CommandContext,
  key: Uint8Array,
  gt: StreamId,
  group: { name: string; consumer: string; noack: boolean } | null,
  count: number,
): StreamEntry[] | null | Failure {
  if (group === null) {
    const s = stream(ctx, key);
    if (s === null || isFailure(s) || s.lastId <= gt) return null;
    // the last id, not the last entry: an entry added and deleted since still answers, with nothing
    return entriesAfter(s, gt, count);
  }
  const seen = stream(ctx, key);
  if (seen === null || isFailure(seen)) return BLOCKED_DELETED;
  const g = seen.groups.get(group.name);
  if (g === undefined) return BLOCKED_NOGROUP;
  if (seen.lastId <= g.lastId) return null;
  const s = streamToWrite(ctx, key) as StreamValue;
  const existing = g.consumer(group.consumer, ctx.now);
  const consumer = existing ?? g.createConsumer(group.consumer, ctx.now)!;
  const created = existing === undefined;
  const out: StreamEntry[] = [];
  deliverAfter(ctx, s, g, consumer, group.noack, out, count);
  return done(ctx, key, out, created ? Notify.XGROUP_CREATECONSUMER : Notify.NONE);
}

// ---- groups -------------------------------------------------------------------------------------

export type XGroupSub = 'create' | 'setid' | 'destroy' | 'createconsumer' | 'delconsumer';

export interface XGroupArgs {
  sub: XGroupSub;
  group: string;
  /** CREATE / SETID: the id argument raw (`$` or an id); CREATECONSUMER / DELCONSUMER: the consumer */
  arg: string;
  mkstream: boolean;
  /** -1: not given (unknown) */
  entriesRead: number;
  /** false when the subcommand's argument count is wrong: judged after the key and group checks */
  valid: boolean;
}

/**
 * XGROUP CREATE/SETID/DESTROY/CREATECONSUMER/DELCONSUMER after its options parsed: 'OK' or a count;
 * 'syntax' for a wrong argument count, once the key and group passed their checks.
 */
export function xgroup(ctx: CommandContext, key: Uint8Array, a: XGroupArgs): 'OK' | 'syntax' | number | Failure {
  let s = streamToWrite(ctx, key);
  if (isFailure(s)) return s;
  let g: Group | undefined;
  if (!a.mkstream) {
    if (s === null) {
      return streamError(
        'The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.',
      );
    }
    g = s.groups.get(a.group);
    if (g === undefined && a.sub !== 'create' && a.sub !== 'destroy') return noGroupForKey(key, a.group);
  }
  const done = <T>(r: T, notify: number = Notify.NONE): T => {
    changed(ctx, key, notify);
    return r;
  };
  if (!a.valid) return s === null ? 'syntax' : done('syntax');
  switch (a.sub) {
    case 'create': {
      let id: StreamId;
      if (a.arg === '$') id = s === null ? MIN_ID : s.lastId;
      else {
        const parsed = strictId(a.arg);
        if (parsed === null) return s === null ? BAD_ID : done(BAD_ID);
        id = parsed;
      }
      s ??= writable<StreamValue>(ctx, key, ValueType.STREAM, () => new StreamValue()) as StreamValue;
      if (s.createGroup(a.group, id, a.entriesRead) === null) return done(streamError('BUSYGROUP Consumer Group name already exists'));
      return done('OK', Notify.XGROUP_CREATE);
    }
    case 'setid': {
      const st = s!;
      let id: StreamId;
      if (a.arg === '$') id = st.lastId;
      else {
        const parsed = parseId(a.arg, false, '\x00'.repeat(8));
        if (parsed === null) return done(BAD_ID);
        id = parsed.id;
      }
      g!.lastId = id;
      g!.entriesRead = a.entriesRead;
      return done('OK', Notify.XGROUP_SETID);
    }
    case 'destroy': {
      if (g === undefined || !s!.destroyGroup(a.group)) return done(0);
      // its blocked XREADGROUP clients are answered NOGROUP, as Redis 7.0 answers them
      keyReady(ctx.store, key);
      return done(1, Notify.XGROUP_DESTROY);
    }
    case 'createconsumer':
      return g!.createConsumer(a.arg, ctx.now) === null ? done(0) : done(1, Notify.XGROUP_CREATECONSUMER);
    case 'delconsumer': {
      const c = g!.consumer(a.arg);
      return c === undefined ? done(0) : done(g!.deleteConsumer(c), Notify.XGROUP_DELCONSUMER);
    }
  }
}

/** XACK: 0 for a missing key or group whatever the ids; ids parsed after that */
export function xack(ctx: CommandContext, key: Uint8Array, group: string, idArgs: readonly string[]): number | Failure {
  const s = streamToWrite(ctx, key);
  if (s === null || isFailure(s)) return s ?? 0;
  const g = s.groups.get(group);
  if (g === undefined) return done0(ctx, key);
  const ids = strictIds(idArgs);
  if (ids === null) {
    changed(ctx, key, Notify.NONE);
    return BAD_ID;
  }
  let n = 0;
  for (const id of ids) if (g.ack(id)) n++;
  // Redis publishes no notification for XACK
  changed(ctx, key, Notify.NONE);
  return n;
}

function done0(ctx: CommandContext, key: Uint8Array): number {
  changed(ctx, key, Notify.NONE);
  return 0;
}

export interface PendingSummary {
  count: number;
  first: StreamId | null;
  last: StreamId | null;
  /** consumers with pending entries, in name order, and how many each has */
  consumers: [name: string, pending: number][];
}

function groupOf(ctx: CommandContext, key: Uint8Array, group: string): Group | Failure {
  const s = stream(ctx, key);
  if (isFailure(s)) return s;
  return s?.groups.get(group) ?? noGroup(key, group);
}

export function xpendingSummary(ctx: CommandContext, key: Uint8Array, group: string): PendingSummary | Failure {
  const g = groupOf(ctx, key, group);
  if (isFailure(g)) return g;
  const consumers: [string, number][] = [];
  for (const c of g.sortedConsumers()) if (c.pel.size > 0) consumers.push([c.name, c.pel.size]);
  return { count: g.pel.size, first: g.pel.first() ?? null, last: g.pel.last() ?? null, consumers };
}

export interface PendingRange {
  minIdle: number;
  start: StreamId;
  end: StreamId;
  count: number;
  consumer: string | null;
}

export type PendingEntry = [id: StreamId, consumer: string, idle: number, deliveries: number];

export function xpendingRange(ctx: CommandContext, key: Uint8Array, group: string, r: PendingRange): PendingEntry[] | Failure {
  const g = groupOf(ctx, key, group);
  if (isFailure(g)) return g;
  let pel = g.pel;
  if (r.consumer !== null) {
    const c = g.consumer(r.consumer);
    if (c === undefined) return [];
    pel = c.pel;
  }
  const out: PendingEntry[] = [];
  if (r.count <= 0) return out;
  pel.from(r.start, (id, nack) => {
    if (id > r.end) return false;
    const idle = ctx.now - nack.deliveryTime;
    if (r.minIdle > 0 && idle < r.minIdle) return;
    out.push([id, nack.consumer.name, Math.max(0, idle), nack.deliveryCount]);
    return out.length < r.count;
  });
  return out;
}

// ---- XCLAIM / XAUTOCLAIM ------------------------------------------------------------------------

/** a signed 64-bit integer argument as a number (limits and times; exact below 2^53) */
function i64(arg: string): number | null {
  const v = parseI64(Buffer.from(arg, 'latin1'));
  return v === null ? null : Number(v);
}

/** the group's consumer, made when missing (Redis makes it at the first entry it claims) */
function consumerOf(g: Group, name: string, now: number): Consumer {
  return g.consumer(name, now) ?? g.createConsumer(name, now)!;
}

/** claims a pending entry for c as XCLAIM and XAUTOCLAIM do */
function claim(g: Group, id: StreamId, nack: Nack, c: Consumer, deliveryTime: number, retryCount: number, justId: boolean): void {
  g.reassign(id, nack, c);
  nack.deliveryTime = deliveryTime;
  if (retryCount >= 0) nack.deliveryCount = retryCount;
  else if (!justId) nack.deliveryCount++;
}

/**
 * XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID]
 * [LASTID id], from min-idle-time on as raw arguments: Redis looks the group up before it reads
 * them. Claimed entries in argument order (ids only, as null pairs, with JUSTID).
 */
export function xclaim(
  ctx: CommandContext,
  key: Uint8Array,
  group: string,
  consumerName: string,
  rest: readonly string[],
): { entries: StreamEntry[]; justId: boolean } | Failure {
  const s = streamToWrite(ctx, key);
  if (isFailure(s)) return s;
  const g = s?.groups.get(group);
  if (s === null || g === undefined) return noGroup(key, group);
  const fail = (f: Failure): Failure => done(ctx, key, f);
  const had = g.consumer(consumerName) !== undefined;
  let minIdle = i64(rest[0]);
  if (minIdle === null) return fail(streamError('Invalid min-idle-time argument for XCLAIM'));
  if (minIdle < 0) minIdle = 0;
  const ids: StreamId[] = [];
  let j = 1;
  for (; j < rest.length; j++) {
    const id = strictId(rest[j]);
    if (id === null) break;
    ids.push(id);
  }
  const now = ctx.now;
  let deliveryTime = -1;
  let retryCount = -1;
  let force = false;
  let justId = false;
  let lastId = MIN_ID;
  for (; j < rest.length; j++) {
    const more = j < rest.length - 1;
    const opt = rest[j].toLowerCase();
    if (opt === 'force') force = true;
    else if (opt === 'justid') justId = true;
    else if (opt === 'idle' && more) {
      const v = i64(rest[++j]);
      if (v === null) return fail(streamError('Invalid IDLE option argument for XCLAIM'));
      deliveryTime = now - v;
    } else if (opt === 'time' && more) {
      const v = i64(rest[++j]);
      if (v === null) return fail(streamError('Invalid TIME option argument for XCLAIM'));
      deliveryTime = v;
    } else if (opt === 'retrycount' && more) {
      const v = i64(rest[++j]);
      if (v === null) return fail(streamError('Invalid RETRYCOUNT option argument for XCLAIM'));
      retryCount = v;
    } else if (opt === 'lastid' && more) {
      const v = strictId(rest[++j]);
      if (v === null) return fail(BAD_ID);
      lastId = v;
    } else return fail(streamError(`Unrecognized XCLAIM option '${cName(rest[j])}'`));
  }
  if (lastId > g.lastId) g.lastId = lastId;
  if (deliveryTime < 0 || deliveryTime > now) deliveryTime = now;
  let consumer: Consumer | null = null;
  const entries: StreamEntry[] = [];
  for (const id of ids) {
    let nack = g.pel.get(id);
    const vals = s.get(id);
    if (vals === null) {
      // an entry deleted since: its pending record goes (Redis 7)
      if (nack !== undefined) g.ack(id);
      continue;
    }
    let fresh = false;
    if (force && nack === undefined) {
      consumer ??= consumerOf(g, consumerName, now);
      nack = { consumer, deliveryTime: now, deliveryCount: 1 };
      g.restore(id, nack);
      fresh = true;
    }
    if (nack === undefined) continue;
    if (!fresh && minIdle > 0 && now - nack.deliveryTime < minIdle) continue;
    consumer ??= consumerOf(g, consumerName, now);
    claim(g, id, nack, consumer, deliveryTime, retryCount, justId);
    entries.push([id, justId ? null : vals]);
  }
  changed(ctx, key, !had && consumer !== null ? Notify.XGROUP_CREATECONSUMER : Notify.NONE);
  return { entries, justId };
}

export interface AutoClaim {
  next: StreamId;
  claimed: StreamEntry[];
  deleted: StreamId[];
}

/**
 * XAUTOCLAIM after its arguments parsed: pending entries idle at least minIdle from start, at most
 * count, looking at no more than 10 × count; entries deleted since their delivery leave the PEL
 * and are listed.
 */
export function xautoclaim(
  ctx: CommandContext,
  key: Uint8Array,
  group: string,
  consumerName: string,
  minIdle: number,
  start: StreamId,
  count: number,
  justId: boolean,
): AutoClaim | Failure {
  const s = streamToWrite(ctx, key);
  if (isFailure(s)) return s;
  const g = s?.groups.get(group);
  if (s === null || g === undefined) return noGroup(key, group);
  const now = ctx.now;
  const had = g.consumer(consumerName) !== undefined;
  let attempts = count * 10;
  let left = count;
  let next = MIN_ID;
  const seen: [StreamId, Nack][] = [];
  // the PEL is read first, then changed: XAUTOCLAIM's walk never sees its own changes
  g.pel.from(start, (id, nack) => {
    if (attempts === 0 || left === 0) {
      next = id;
      return false;
    }
    attempts--;
    seen.push([id, nack]);
    if (s.get(id) === null || minIdle === 0 || now - nack.deliveryTime >= minIdle) left--;
  });
  let consumer: Consumer | null = null;
  const claimed: StreamEntry[] = [];
  const deleted: StreamId[] = [];
  for (const [id, nack] of seen) {
    const vals = s.get(id);
    if (vals === null) {
      g.ack(id);
      deleted.push(id);
      continue;
    }
    if (minIdle > 0 && now - nack.deliveryTime < minIdle) continue;
    consumer ??= consumerOf(g, consumerName, now);
    claim(g, id, nack, consumer, now, -1, justId);
    claimed.push([id, justId ? null : vals]);
  }
  changed(ctx, key, !had && consumer !== null ? Notify.XGROUP_CREATECONSUMER : Notify.NONE);
  return { next, claimed, deleted };
}

// ---- XINFO / XSETID -----------------------------------------------------------------------------

export interface StreamInfo {
  length: number;
  nodes: number;
  lastId: StreamId;
  maxDeletedId: StreamId;
  entriesAdded: number;
  firstId: StreamId;
  groups: number;
  first: StreamEntry | null;
  last: StreamEntry | null;
}

export function xinfoStream(ctx: CommandContext, key: Uint8Array): StreamInfo | null | Failure {
  const s = stream(ctx, key);
  if (s === null || isFailure(s)) return s;
  const edge = (rev: boolean): StreamEntry | null => {
    let e: StreamEntry | null = null;
    s.range(MIN_ID, MAX_ID, rev, (id, vals) => {
      e = [id, vals];
      return false;
    });
    return e;
  };
  return {
    length: s.length,
    nodes: s.nodeCount,
    lastId: s.lastId,
    maxDeletedId: s.maxDeletedId,
    entriesAdded: s.entriesAdded,
    firstId: s.firstId,
    groups: s.groups.size,
    first: edge(false),
    last: edge(true),
  };
}

export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastId: StreamId;
  entriesRead: number | null;
  lag: number | null;
}

export function xinfoGroups(ctx: CommandContext, key: Uint8Array): GroupInfo[] | null | Failure {
  const s = stream(ctx, key);
  if (s === null || isFailure(s)) return s;
  return s.sortedGroups().map((g) => ({
    name: g.name,
    consumers: g.consumers.size,
    pending: g.pel.size,
    lastId: g.lastId,
    entriesRead: g.entriesRead === -1 ? null : g.entriesRead,
    lag: s.lag(g),
  }));
}

export type ConsumerInfo = [name: string, pending: number, idle: number];

export function xinfoConsumers(ctx: CommandContext, key: Uint8Array, group: string): ConsumerInfo[] | null | Failure {
  const s = stream(ctx, key);
  if (s === null || isFailure(s)) return s;
  const g = s.groups.get(group);
  if (g === undefined) return noGroupForKey(key, group);
  return g.sortedConsumers().map((c) => [c.name, c.pel.size, Math.max(0, ctx.now - c.seenTime)]);
}

/** XSETID key id [ENTRIESADDED n] [MAXDELETEDID id]; entriesAdded -1 and maxDeletedId 0-0 when not given */
export function xsetid(ctx: CommandContext, key: Uint8Array, id: StreamId, entriesAdded: number, maxDeletedId: StreamId): 'OK' | null | Failure {
  const s = streamToWrite(ctx, key);
  if (s === null || isFailure(s)) return s;
  if (s.length > 0) {
    const top = s.edgeId(false)!;
    if (id < top) return done(ctx, key, streamError('The ID specified in XSETID is smaller than the target stream top item'));
    if (entriesAdded !== -1 && s.length > entriesAdded) {
      return done(ctx, key, streamError('The entries_added specified in XSETID is smaller than the target stream length'));
    }
  }
  s.lastId = id;
  if (entriesAdded !== -1) s.entriesAdded = entriesAdded;
  if (maxDeletedId !== MIN_ID) s.maxDeletedId = maxDeletedId;
  return done(ctx, key, 'OK', Notify.XSETID);
}

export interface StreamFull {
  length: number;
  nodes: number;
  lastId: StreamId;
  maxDeletedId: StreamId;
  entriesAdded: number;
  firstId: StreamId;
  entries: StreamEntry[];
  groups: {
    name: string;
    lastId: StreamId;
    entriesRead: number | null;
    lag: number | null;
    pelCount: number;
    pending: [id: StreamId, consumer: string, deliveryTime: number, deliveries: number][];
    consumers: { name: string; seenTime: number; pelCount: number; pending: [id: StreamId, deliveryTime: number, deliveries: number][] }[];
  }[];
}

/** XINFO STREAM key FULL [COUNT count]: entries and each PEL listed up to count (0: all) */
export function xinfoFull(ctx: CommandContext, key: Uint8Array, count: number): StreamFull | null | Failure {
  const s = stream(ctx, key);
  if (s === null || isFailure(s)) return s;
  const entries: StreamEntry[] = [];
  s.range(MIN_ID, MAX_ID, false, (id, vals) => {
    entries.push([id, vals]);
    return entries.length !== count;
  });
  return {
    length: s.length,
    nodes: s.nodeCount,
    lastId: s.lastId,
    maxDeletedId: s.maxDeletedId,
    entriesAdded: s.entriesAdded,
    firstId: s.firstId,
    entries,
    groups: s.sortedGroups().map((g) => {
      const pending: StreamFull['groups'][number]['pending'] = [];
      g.pel.from(MIN_ID, (id, n) => {
        if (count > 0 && pending.length >= count) return false;
        pending.push([id, n.consumer.name, n.deliveryTime, n.deliveryCount]);
      });
      return {
        name: g.name,
        lastId: g.lastId,
        entriesRead: g.entriesRead === -1 ? null : g.entriesRead,
        lag: s.lag(g),
        pelCount: g.pel.size,
        pending,
        consumers: g.sortedConsumers().map((c) => {
          const mine: [StreamId, number, number][] = [];
          c.pel.from(MIN_ID, (id, n) => {
            if (count > 0 && mine.length >= count) return false;
            mine.push([id, n.deliveryTime, n.deliveryCount]);
          });
          return { name: c.name, seenTime: c.seenTime, pelCount: c.pel.size, pending: mine };
        }),
      };
    }),
  };
}

/** a stream command's end: the change recorded, and notified as `notify` (none by default: a refusal) */
function done<T>(ctx: CommandContext, key: Uint8Array, r: T, notify: number = Notify.NONE): T {
  changed(ctx, key, notify);
  return r;
}
