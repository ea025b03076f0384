/**
 * RESP handlers of the stream commands: arguments parsed in Redis 7's order with its error texts
 * (t_stream.c), a command core call (src/commands/streams.ts), the reply in RESP2. Replies are
 * built as one latin1 string (stream members are latin1 strings) and converted once.
 */
import * as C from '../commands/index.js';
import { type StreamId, formatId, MIN_ID, nextId, parseId, prevId, SEQ_MAX, SEQ_ZERO } from '../engine/collections/stream-id.js';
import type { TrimArgs } from '../engine/collections/stream.js';
import { ValueType } from '../engine/collections/types.js';
import { err, integer, NIL, NIL_ARRAY, OK } from './encode.js';
import { NOT_INTEGER, SYNTAX, arityError, sanitize } from './errors.js';
import { served } from './blocking.js';
import { type Ctx, type Handler, failure, lower } from './handler.js';

const reply = (s: string): Buffer => Buffer.from(s, 'latin1');
const bulkStr = (s: string): string => `$${s.length}\r\n${s}\r\n`;
const idStr = (id: StreamId): string => bulkStr(formatId(id));
const str = (b: Buffer): string => b.toString('latin1');

function entryStr(e: C.StreamEntry): string {
  const vals = e[1];
  if (vals === null) return `*2\r\n${idStr(e[0])}*-1\r\n`;
  let out = `*2\r\n${idStr(e[0])}*${vals.length}\r\n`;
  for (const v of vals) out += bulkStr(v);
  return out;
}

function entriesStr(entries: readonly C.StreamEntry[]): string {
  let out = `*${entries.length}\r\n`;
  for (const e of entries) out += entryStr(e);
  return out;
}

/** a failure in Redis' words: stream errors with their own code word (NOGROUP, BUSYGROUP, UNBLOCKED) keep it */
function streamFailure(f: C.Failure, cmd: string): Buffer {
  if (f.fault === C.Fault.BAD_ARGUMENT && f.message !== '') {
    const text = sanitize(f.message);
    return /^(NOGROUP|BUSYGROUP|UNBLOCKED) /.test(text) ? reply(`-${text}\r\n`) : reply(`-ERR ${text}\r\n`);
  }
  return failure(f, cmd);
}

/** a signed 64-bit argument as a number (counts, lengths, times), null when not an integer */
function i64(arg: Buffer): number | null {
  const v = C.parseI64(arg);
  return v === null ? null : Number(v);
}

/** the argument as C sees it: up to a NUL */
function cstr(arg: Buffer): string {
  const nul = arg.indexOf(0);
  return arg.toString('latin1', 0, nul < 0 ? arg.length : nul);
}

const INVALID_ID = err(C.INVALID_ID);

// ---- XADD / XTRIM -------------------------------------------------------------------------------

interface AddOrTrim {
  trim: TrimArgs | null;
  /** XADD: where the id stands */
  idPos: number;
  id: ReturnType<typeof parseId>;
  noMkStream: boolean;
}

/** Redis' streamParseAddOrTrimArgsOrReply */
function parseAddOrTrim(args: Buffer[], xadd: boolean): AddOrTrim | Buffer {
  let strategy: 'maxlen' | 'minid' | null = null;
  let approx = false;
  let maxlen = 0;
  let minid = MIN_ID;
  let limit = 0;
  let limitGiven = false;
  let noMkStream = false;
  let id: AddOrTrim['id'] = null;
  let i = 2;
  for (; i < args.length; i++) {
    const more = args.length - 1 - i;
    const opt = lower(args[i]);
    if (xadd && cstr(args[i]) === '*') break;
    if (opt === 'maxlen' && more > 0) {
      if (strategy !== null) return err('syntax error, MAXLEN and MINID options at the same time are not compatible');
      approx = false;
      const next = cstr(args[i + 1]);
      if (more >= 2 && next === '~') {
        approx = true;
        i++;
      } else if (more >= 2 && next === '=') i++;
      const n = i64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 0) return err('The MAXLEN argument must be >= 0.');
      maxlen = n;
      i++;
      strategy = 'maxlen';
    } else if (opt === 'minid' && more > 0) {
      if (strategy !== null) return err('syntax error, MAXLEN and MINID options at the same time are not compatible');
      approx = false;
      const next = cstr(args[i + 1]);
      if (more >= 2 && next === '~') {
        approx = true;
        i++;
      } else if (more >= 2 && next === '=') i++;
      const parsed = C.strictId(str(args[i + 1]));
      if (parsed === null) return INVALID_ID;
      minid = parsed;
      i++;
      strategy = 'minid';
    } else if (opt === 'limit' && more > 0) {
      const n = i64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 0) return err('The LIMIT argument must be >= 0.');
      limit = n;
      limitGiven = true;
      i++;
    } else if (xadd && opt === 'nomkstream') {
      noMkStream = true;
    } else if (xadd) {
      id = parseId(str(args[i]), true, SEQ_ZERO, true);
      if (id === null) return INVALID_ID;
      break;
    } else return SYNTAX;
  }
  if (limit !== 0 && strategy === null) return err('syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && strategy === null) return err('syntax error, XTRIM must be called with a trimming strategy');
  if (limitGiven) {
    if (!approx) return err('syntax error, LIMIT cannot be used without the special ~ option');
  } else limit = approx ? 100 * 100 : 0;
  return { trim: strategy === null ? null : { strategy, maxlen, minid, approx, limit }, idPos: i, id, noMkStream };
}

function xadd(ctx: Ctx, args: Buffer[]): Buffer {
  const p = parseAddOrTrim(args, true);
  if (Buffer.isBuffer(p)) return p;
  const fieldPos = p.idPos + 1;
  const n = args.length - fieldPos;
  if (n < 2 || n % 2 === 1) return arityError('xadd');
  const vals = new Array<string>(n);
  for (let i = 0; i < n; i++) vals[i] = str(args[fieldPos + i]);
  const r = C.xadd(ctx, args[1], { id: p.id, noMkStream: p.noMkStream, trim: p.trim, vals });
  if (r === null) return NIL;
  if (r instanceof C.Failure) return streamFailure(r, 'xadd');
  return reply(idStr(r));
}

function xtrim(ctx: Ctx, args: Buffer[]): Buffer {
  const p = parseAddOrTrim(args, false);
  if (Buffer.isBuffer(p)) return p;
  const r = C.xtrim(ctx, args[1], p.trim!);
  return r instanceof C.Failure ? streamFailure(r, 'xtrim') : integer(r);
}

// ---- XRANGE / XREVRANGE / XLEN / XDEL -------------------------------------------------------------

/** an interval bound: `(` excludes it (strict id then), a missing seq is `missingSeq` */
function intervalId(arg: Buffer, missingSeq: string): { id: StreamId; exclusive: boolean } | null {
  const s = str(arg);
  const exclusive = s.length > 1 && s[0] === '(';
  const parsed = exclusive ? parseId(s.slice(1), true, missingSeq) : parseId(s, false, missingSeq);
  return parsed === null ? null : { id: parsed.id, exclusive };
}

/** an inclusive range start from an interval argument, or the error reply */
function rangeStart(arg: Buffer): StreamId | Buffer {
  const b = intervalId(arg, SEQ_ZERO);
  if (b === null) return INVALID_ID;
  if (!b.exclusive) return b.id;
  return nextId(b.id) ?? err('invalid start ID for the interval');
}

function rangeEnd(arg: Buffer): StreamId | Buffer {
  const b = intervalId(arg, SEQ_MAX);
  if (b === null) return INVALID_ID;
  if (!b.exclusive) return b.id;
  return prevId(b.id) ?? err('invalid end ID for the interval');
}

function xrangeOf(rev: boolean): Handler {
  const name = rev ? 'xrevrange' : 'xrange';
  return (ctx, args) => {
    const start = rangeStart(rev ? args[3] : args[2]);
    if (Buffer.isBuffer(start)) return start;
    const end = rangeEnd(rev ? args[2] : args[3]);
    if (Buffer.isBuffer(end)) return end;
    let count = -1;
    for (let j = 4; j < args.length; j++) {
      if (lower(args[j]) === 'count' && j + 1 < args.length) {
        const n = i64(args[++j]);
        if (n === null) return NOT_INTEGER;
        count = Math.max(0, n);
      } else return SYNTAX;
    }
    const r = C.xrange(ctx, args[1], start, end, rev, count);
    if (r === null) return NIL_ARRAY;
    return r instanceof C.Failure ? streamFailure(r, name) : reply(entriesStr(r));
  };
}

function xlen(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.xlen(ctx, args[1]);
  return r instanceof C.Failure ? streamFailure(r, 'xlen') : integer(r);
}

function xdel(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.xdel(ctx, args[1], args.slice(2).map(str));
  return r instanceof C.Failure ? streamFailure(r, 'xdel') : integer(r);
}

// ---- XREAD / XREADGROUP -------------------------------------------------------------------------

interface ReadArgs extends C.XReadArgs {
  /** BLOCK ms; -1 when not given */
  block: number;
}

/** Redis' xreadCommand option parsing */
function parseRead(args: Buffer[], group: boolean): ReadArgs | Buffer {
  let block = -1;
  let count = 0;
  let streamsAt = 0;
  let streamsCount = 0;
  let groupName: string | null = null;
  let consumer = '';
  let noack = false;
  for (let i = 1; i < args.length; i++) {
    const more = args.length - i - 1;
    const o = lower(args[i]);
    if (o === 'block' && more > 0) {
      i++;
      const t = i64(args[i]);
      if (t === null) return err('timeout is not an integer or out of range');
      if (t < 0) return err('timeout is negative');
      block = t;
    } else if (o === 'count' && more > 0) {
      i++;
      const n = i64(args[i]);
      if (n === null) return NOT_INTEGER;
      count = Math.max(0, n);
    } else if (o === 'streams' && more > 0) {
      streamsAt = i + 1;
      streamsCount = args.length - streamsAt;
      if (streamsCount % 2 !== 0) {
        return err("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      streamsCount /= 2;
      break;
    } else if (o === 'group' && more >= 2) {
      if (!group) return err('The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      groupName = str(args[i + 1]);
      consumer = str(args[i + 2]);
      i += 2;
    } else if (o === 'noack') {
      if (!group) return err('The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      noack = true;
    } else return SYNTAX;
  }
  if (streamsAt === 0) return SYNTAX;
  if (group && groupName === null) return err('Missing GROUP option for XREADGROUP');
  return {
    keys: args.slice(streamsAt, streamsAt + streamsCount),
    ids: args.slice(streamsAt + streamsCount).map(cstr),
    count,
    group: groupName === null ? null : { name: groupName, consumer, noack },
    block,
  };
}

function readReply(r: C.StreamReply[]): Buffer {
  let out = `*${r.length}\r\n`;
  for (const s of r) out += `*2\r\n${bulkStr(str(Buffer.from(s.key)))}${entriesStr(s.entries)}`;
  return reply(out);
}

/**
 * XREAD / XREADGROUP: what the streams have now; else, with BLOCK on a connection that may block,
 * a wait on the shard's waiters (src/commands/blocking.ts) for entries after the ids resolved now
 * (`$` is the stream's last id at this moment; `>` whatever the group has not delivered when an
 * entry comes). Without BLOCK, or where a client may not block (MULTI, a script), the null array.
 */
function xreadOf(group: boolean): Handler {
  const name = group ? 'xreadgroup' : 'xread';
  return (ctx, args) => {
    const a = parseRead(args, group);
    if (Buffer.isBuffer(a)) return a;
    const plan: C.XReadPlan = { after: [] };
    const r = C.xread(ctx, a, plan);
    if (r instanceof C.Failure) return streamFailure(r, name);
    if (r !== null) return readReply(r);
    if (a.block < 0) return NIL_ARRAY;
    const waiters = C.waitersOf(ctx.store);
    if (waiters.blocker === null) return NIL_ARRAY;
    // the arguments are the message's bytes, gone after it
    const keys = a.keys.map((k) => Buffer.from(k));
    const after = plan.after;
    const count = a.count > 0 ? a.count : C.XREAD_BLOCKED_COUNT;
    return waiters.wait<Buffer | Promise<Buffer>>(
      keys,
      (key) => {
        const i = keys.findIndex((k) => k.equals(key));
        let waits = false;
        const reply = served(ctx, () => {
          const got = C.xreadBlocked(ctx, key, after[i], a.group, count);
          if (got === null) waits = true; // nothing for it yet (nothing changed either)
          return got === null ? NIL_ARRAY : got instanceof C.Failure ? streamFailure(got, name) : readReply([{ key, entries: got }]);
        });
        return waits ? C.PASS : reply;
      },
      a.block,
      () => NIL_ARRAY,
      // a group's waiter hears of its stream deleted (or made another type), as Redis 7.0 tells it
      a.group === null ? null : (key) => ctx.store.typeOf(key) !== ValueType.STREAM,
    ) as Promise<Buffer>;
  };
}

// ---- groups -------------------------------------------------------------------------------------

/** `unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.` */
function subcommandSyntax(args: Buffer[]): Buffer {
  const text = `unknown subcommand or wrong number of arguments for '${cstr(args[1]).slice(0, 128)}'. Try ${str(args[0]).toUpperCase()} HELP.`;
  return reply(`-ERR ${sanitize(text)}\r\n`);
}

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Prints this help.',
];

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

const helpReply = (lines: string[]): Buffer => reply(`*${lines.length}\r\n${lines.map((l) => `+${l}\r\n`).join('')}`);

function xgroup(ctx: Ctx, args: Buffer[]): Buffer {
  const sub = lower(args[1]);
  if (sub === 'help') return helpReply(XGROUP_HELP);
  let mkstream = false;
  let entriesRead = -1;
  for (let i = 5; i < args.length; ) {
    const o = lower(args[i]);
    if (sub === 'create' && o === 'mkstream') {
      mkstream = true;
      i++;
    } else if ((sub === 'create' || sub === 'setid') && o === 'entriesread' && i + 1 < args.length) {
      const n = i64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 0 && n !== -1) return err('value for ENTRIESREAD must be positive or -1');
      entriesRead = n;
      i += 2;
    } else return subcommandSyntax(args);
  }
  const argc = args.length;
  const ok =
    (sub === 'create' && argc >= 5 && argc <= 8) ||
    (sub === 'setid' && (argc === 5 || argc === 7)) ||
    (sub === 'destroy' && argc === 4) ||
    ((sub === 'createconsumer' || sub === 'delconsumer') && argc === 5);
  const r = C.xgroup(ctx, args[2], {
    sub: sub as C.XGroupSub,
    group: str(args[3]),
    arg: argc > 4 ? str(args[4]) : '',
    mkstream,
    entriesRead,
    valid: ok,
  });
  if (r === 'syntax') return subcommandSyntax(args);
  if (r instanceof C.Failure) return streamFailure(r, 'xgroup');
  return r === 'OK' ? OK : integer(r);
}

function xack(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.xack(ctx, args[1], str(args[2]), args.slice(3).map(str));
  return r instanceof C.Failure ? streamFailure(r, 'xack') : integer(r);
}

function xpending(ctx: Ctx, args: Buffer[]): Buffer {
  const argc = args.length;
  if (argc !== 3 && (argc < 6 || argc > 9)) return SYNTAX;
  const group = str(args[2]);
  if (argc === 3) {
    const r = C.xpendingSummary(ctx, args[1], group);
    if (r instanceof C.Failure) return streamFailure(r, 'xpending');
    if (r.count === 0) return reply('*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n');
    let out = `*4\r\n:${r.count}\r\n${idStr(r.first!)}${idStr(r.last!)}*${r.consumers.length}\r\n`;
    for (const [name, n] of r.consumers) out += `*2\r\n${bulkStr(name)}${bulkStr(String(n))}`;
    return reply(out);
  }
  let at = 3;
  let minIdle = 0;
  if (lower(args[3]) === 'idle') {
    const n = i64(args[4]);
    if (n === null) return NOT_INTEGER;
    minIdle = n;
    if (argc < 8) return SYNTAX;
    at += 2;
  }
  const count = i64(args[at + 2]);
  if (count === null) return NOT_INTEGER;
  const start = rangeStart(args[at]);
  if (Buffer.isBuffer(start)) return start;
  const end = rangeEnd(args[at + 1]);
  if (Buffer.isBuffer(end)) return end;
  const consumer = at + 3 < argc ? str(args[at + 3]) : null;
  const r = C.xpendingRange(ctx, args[1], group, { minIdle, start, end, count: Math.max(0, count), consumer });
  if (r instanceof C.Failure) return streamFailure(r, 'xpending');
  let out = `*${r.length}\r\n`;
  for (const [id, name, idle, n] of r) out += `*4\r\n${idStr(id)}${bulkStr(name)}:${idle}\r\n:${n}\r\n`;
  return reply(out);
}

function xclaim(ctx: Ctx, args: Buffer[]): Buffer {
  const r = C.xclaim(ctx, args[1], str(args[2]), str(args[3]), args.slice(4).map(str));
  if (r instanceof C.Failure) return streamFailure(r, 'xclaim');
  if (!r.justId) return reply(entriesStr(r.entries));
  return reply(`*${r.entries.length}\r\n${r.entries.map((e) => idStr(e[0])).join('')}`);
}

function xautoclaim(ctx: Ctx, args: Buffer[]): Buffer {
  let minIdle = i64(args[4]);
  if (minIdle === null) return err('Invalid min-idle-time argument for XAUTOCLAIM');
  if (minIdle < 0) minIdle = 0;
  const start = rangeStart(args[5]);
  if (Buffer.isBuffer(start)) return start;
  let count = 100;
  let justId = false;
  for (let j = 6; j < args.length; j++) {
    const o = lower(args[j]);
    if (o === 'count' && j + 1 < args.length) {
      const n = C.parseI64(args[++j]);
      // LONG_MAX / 16: the largest COUNT Redis takes
      if (n === null || n < 1n || n > 576460752303423487n) return err('COUNT must be > 0');
      count = Number(n);
    } else if (o === 'justid') justId = true;
    else return SYNTAX;
  }
  const r = C.xautoclaim(ctx, args[1], str(args[2]), str(args[3]), minIdle, start, count, justId);
  if (r instanceof C.Failure) return streamFailure(r, 'xautoclaim');
  const claimed = justId ? `*${r.claimed.length}\r\n${r.claimed.map((e) => idStr(e[0])).join('')}` : entriesStr(r.claimed);
  return reply(`*3\r\n${idStr(r.next)}${claimed}*${r.deleted.length}\r\n${r.deleted.map(idStr).join('')}`);
}

// ---- XINFO / XSETID -----------------------------------------------------------------------------

const NO_KEY = err('no such key');

function xinfo(ctx: Ctx, args: Buffer[]): Buffer {
  const sub = lower(args[1]);
  if (sub === 'help') return args.length === 2 ? helpReply(XINFO_HELP) : subcommandSyntax(args);
  if (args.length < 3) return subcommandSyntax(args);
  const key = args[2];
  // the key is looked up before the subcommand's arguments are judged
  const r = C.xinfoStream(ctx, key);
  if (r === null) return NO_KEY;
  if (r instanceof C.Failure) return streamFailure(r, 'xinfo');
  if (sub === 'stream') {
    if (args.length > 3) return xinfoFull(ctx, args);
    const edge = (e: C.StreamEntry | null): string => (e === null ? '$-1\r\n' : entryStr(e));
    return reply(
      `*20\r\n${bulkStr('length')}:${r.length}\r\n${bulkStr('radix-tree-keys')}:${r.nodes}\r\n` +
        `${bulkStr('radix-tree-nodes')}:${treeNodes(r.nodes)}\r\n${bulkStr('last-generated-id')}${idStr(r.lastId)}` +
        `${bulkStr('max-deleted-entry-id')}${idStr(r.maxDeletedId)}${bulkStr('entries-added')}:${r.entriesAdded}\r\n` +
        `${bulkStr('recorded-first-entry-id')}${idStr(r.firstId)}${bulkStr('groups')}:${r.groups}\r\n` +
        `${bulkStr('first-entry')}${edge(r.first)}${bulkStr('last-entry')}${edge(r.last)}`,
    );
  }
  if (sub === 'groups' && args.length === 3) {
    const groups = C.xinfoGroups(ctx, key) as C.GroupInfo[];
    let out = `*${groups.length}\r\n`;
    for (const g of groups) {
      out +=
        `*12\r\n${bulkStr('name')}${bulkStr(g.name)}${bulkStr('consumers')}:${g.consumers}\r\n${bulkStr('pending')}:${g.pending}\r\n` +
        `${bulkStr('last-delivered-id')}${idStr(g.lastId)}${bulkStr('entries-read')}${optInt(g.entriesRead)}${bulkStr('lag')}${optInt(g.lag)}`;
    }
    return reply(out);
  }
  if (sub === 'consumers' && args.length === 4) {
    const c = C.xinfoConsumers(ctx, key, str(args[3]));
    if (c instanceof C.Failure) return streamFailure(c, 'xinfo');
    let out = `*${c!.length}\r\n`;
    for (const [name, pending, idle] of c!) out += `*6\r\n${bulkStr('name')}${bulkStr(name)}${bulkStr('pending')}:${pending}\r\n${bulkStr('idle')}:${idle}\r\n`;
    return reply(out);
  }
  return subcommandSyntax(args);
}

/** an integer, or a nil bulk for an unknown one (entries-read, lag) */
const optInt = (n: number | null): string => (n === null ? '$-1\r\n' : `:${n}\r\n`);

/**
 * radix-tree-nodes: the inner nodes of Redis' radix tree over the node keys, which cairn does not
 * keep (docs/commands.md); one per key plus the root stands in for it.
 */
const treeNodes = (keys: number): number => keys + 1;

/** XINFO STREAM key FULL [COUNT n], the key known to hold a stream */
function xinfoFull(ctx: Ctx, args: Buffer[]): Buffer {
  const opts = args.length - 3;
  if ((opts !== 1 && opts !== 3) || lower(args[3]) !== 'full' || (opts === 3 && lower(args[4]) !== 'count')) return subcommandSyntax(args);
  let count = 10;
  if (opts === 3) {
    const n = i64(args[5]);
    if (n === null) return NOT_INTEGER;
    count = n < 0 ? 10 : n;
  }
  const f = C.xinfoFull(ctx, args[2], count) as C.StreamFull;
  let out =
    `*18\r\n${bulkStr('length')}:${f.length}\r\n${bulkStr('radix-tree-keys')}:${f.nodes}\r\n${bulkStr('radix-tree-nodes')}:${treeNodes(f.nodes)}\r\n` +
    `${bulkStr('last-generated-id')}${idStr(f.lastId)}${bulkStr('max-deleted-entry-id')}${idStr(f.maxDeletedId)}` +
    `${bulkStr('entries-added')}:${f.entriesAdded}\r\n${bulkStr('recorded-first-entry-id')}${idStr(f.firstId)}` +
    `${bulkStr('entries')}${entriesStr(f.entries)}${bulkStr('groups')}*${f.groups.length}\r\n`;
  for (const g of f.groups) {
    out +=
      `*14\r\n${bulkStr('name')}${bulkStr(g.name)}${bulkStr('last-delivered-id')}${idStr(g.lastId)}` +
      `${bulkStr('entries-read')}${optInt(g.entriesRead)}${bulkStr('lag')}${optInt(g.lag)}` +
      `${bulkStr('pel-count')}:${g.pelCount}\r\n${bulkStr('pending')}*${g.pending.length}\r\n`;
    for (const [id, name, time, n] of g.pending) out += `*4\r\n${idStr(id)}${bulkStr(name)}:${time}\r\n:${n}\r\n`;
    out += `${bulkStr('consumers')}*${g.consumers.length}\r\n`;
    for (const c of g.consumers) {
      out += `*8\r\n${bulkStr('name')}${bulkStr(c.name)}${bulkStr('seen-time')}:${c.seenTime}\r\n${bulkStr('pel-count')}:${c.pelCount}\r\n${bulkStr('pending')}*${c.pending.length}\r\n`;
      for (const [id, time, n] of c.pending) out += `*3\r\n${idStr(id)}:${time}\r\n:${n}\r\n`;
    }
  }
  return reply(out);
}

function xsetid(ctx: Ctx, args: Buffer[]): Buffer {
  const id = C.strictId(str(args[2]));
  if (id === null) return INVALID_ID;
  let entriesAdded = -1;
  let maxDeleted = MIN_ID;
  for (let i = 3; i < args.length; ) {
    const more = args.length - 1 - i;
    const o = lower(args[i]);
    if (o === 'entriesadded' && more > 0) {
      const n = i64(args[i + 1]);
      if (n === null) return NOT_INTEGER;
      if (n < 0) return err('entries_added must be positive');
      entriesAdded = n;
      i += 2;
    } else if (o === 'maxdeletedid' && more > 0) {
      const m = C.strictId(str(args[i + 1]));
      if (m === null) return INVALID_ID;
      if (id < m) return err('The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
      maxDeleted = m;
      i += 2;
    } else return SYNTAX;
  }
  const r = C.xsetid(ctx, args[1], id, entriesAdded, maxDeleted);
  if (r === null) return NO_KEY;
  return r instanceof C.Failure ? streamFailure(r, 'xsetid') : OK;
}

export const STREAM_HANDLERS: ReadonlyArray<[string, Handler]> = [
  ['xadd', xadd],
  ['xtrim', xtrim],
  ['xlen', xlen],
  ['xdel', xdel],
  ['xrange', xrangeOf(false)],
  ['xrevrange', xrangeOf(true)],
  ['xread', xreadOf(false)],
  ['xreadgroup', xreadOf(true)],
  ['xgroup', xgroup],
  ['xack', xack],
  ['xpending', xpending],
  ['xclaim', xclaim],
  ['xautoclaim', xautoclaim],
  ['xinfo', xinfo],
  ['xsetid', xsetid],
];
