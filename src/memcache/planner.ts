/**
 * memcached planner (acceptor side): validates a framed command the way memcached 1.6 does before
 * touching data, routes it, and joins multi-key gets. memcached commands are case-sensitive.
 */
import { MEMCACHE_COMMANDS, MEMCACHE_KEYS } from '../commands/table.js';
import { shardOf } from '../hash.js';
import { decodeReports } from '../commands/stats.js';
import { MEMCACHED_COMPAT_VERSION, memcacheStats } from './stats.js';
import type { ConnState, LocalPlan, Plan, SplitPart } from '../front/plan.js';
import { R_BAD_FORMAT, R_ERROR, R_TOO_LARGE, commandWord, parseI32, parseU32, parseU64, validKey, type MemcacheFrame } from './framer.js';

const EMPTY = Buffer.alloc(0);
const END = Buffer.from('END\r\n');
const OK = Buffer.from('OK\r\n');
const VERSION = Buffer.from(`VERSION ${MEMCACHED_COMPAT_VERSION}\r\n`);
const INVALID_EXPTIME = Buffer.from('CLIENT_ERROR invalid exptime argument\r\n');
const INVALID_DELTA = Buffer.from('CLIENT_ERROR invalid numeric delta argument\r\n');
const DELETE_USAGE = Buffer.from('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');

/** internal commands a shard answers; the planner never forwards a client's line with these names. */
export const MC_SHARD_STATS = 'cairn_shardstats';
export const MC_TOO_LARGE = 'cairn_too_large';
const SHARD_STATS_RAW = Buffer.from(`${MC_SHARD_STATS}\r\n`);

function local(reply: Buffer, close?: boolean): LocalPlan {
  return close ? { kind: 'local', reply, close: true } : { kind: 'local', reply };
}

function shardFor(key: Buffer, conn: ConnState): number {
  return conn.shards === 1 ? 0 : shardOf(key, conn.shards);
}

/** a reply, or nothing under noreply (memcached sets noreply before validating these commands). */
function quiet(reply: Buffer, noreply: boolean): LocalPlan {
  return local(noreply ? EMPTY : reply);
}

export function planMemcache(frame: MemcacheFrame, conn: ConnState): Plan {
  if (frame.type === 'error') return local(frame.reply, true);
  const { args, noreply } = frame;
  if (frame.tooLarge === true && args[0].toString('latin1') === 'set') {
    // memcached drops the old value of a set that failed for size, so a stale value is never served.
    const raw = Buffer.from(`${MC_TOO_LARGE} ${args[1].toString('latin1')}${noreply ? ' noreply' : ''}\r\n`, 'latin1');
    return { kind: 'shard', key: args[1], shard: shardFor(args[1], conn), raw };
  }
  if (frame.error !== undefined) return local(frame.error);
  if (args.length === 0 || args[0].length < 2) return local(R_ERROR);
  const name = commandWord(args[0]);
  // the data commands are the command table's memcached words; the rest are answered here
  if (!MEMCACHE_COMMANDS.has(name)) return planLocal(name, args, noreply, conn);
  const refusal = checkLine(name, args, noreply);
  if (refusal !== null) return refusal;
  const keys = MEMCACHE_KEYS.get(name);
  if (keys === undefined) {
    // flush_all: every shard
    return { kind: 'all', raw: frame.raw, join: (replies) => firstFailure(replies) ?? (noreply ? EMPTY : OK) };
  }
  if (keys.multi) return planGet(args, keys.first, frame.raw, conn);
  const key = args[keys.first];
  return { kind: 'shard', key, shard: shardFor(key, conn), raw: frame.raw };
}

/**
 * What memcached refuses on a data command's line before touching data (the storage commands' lines
 * and keys the framer checked); null when the line is good.
 */
function checkLine(name: string, args: Buffer[], noreply: boolean): LocalPlan | null {
  switch (name) {
    case 'get':
    case 'gets':
    case 'bget':
      return args.length < 2 ? local(R_ERROR) : null;
    case 'gat':
    case 'gats':
      if (args.length < 2) return local(R_ERROR);
      if (parseI32(args[1]) === null) return local(INVALID_EXPTIME);
      return args.length === 2 ? local(END) : null; // `gat <exptime>` alone: memcached answers END
    case 'delete': {
      if (args.length < 2 || args.length > 4) return local(R_ERROR);
      if (args.length > 2) {
        const holdIsZero = args[2].length === 1 && args[2][0] === 48;
        const valid = (args.length === 3 && (holdIsZero || noreply)) || (args.length === 4 && holdIsZero && noreply);
        if (!valid) return quiet(DELETE_USAGE, noreply);
      }
      return validKey(args[1]) ? null : quiet(R_BAD_FORMAT, noreply);
    }
    case 'incr':
    case 'decr':
      if (args.length !== 3 && args.length !== 4) return local(R_ERROR);
      if (!validKey(args[1])) return quiet(R_BAD_FORMAT, noreply);
      return parseU64(args[2]) === null ? quiet(INVALID_DELTA, noreply) : null;
    case 'touch':
      if (args.length !== 3 && args.length !== 4) return local(R_ERROR);
      if (!validKey(args[1])) return quiet(R_BAD_FORMAT, noreply);
      return parseI32(args[2]) === null ? quiet(INVALID_EXPTIME, noreply) : null;
    case 'flush_all':
      if (args.length > 3) return local(R_ERROR);
      return args.length !== (noreply ? 2 : 1) && parseI32(args[1]) === null ? quiet(INVALID_EXPTIME, noreply) : null;
    default:
      // set, add, replace, append, prepend, cas: the framer checked the line
      return null;
  }
}

/** the words answered on the acceptor (no data): version, verbosity, quit, stats; ERROR for any other */
function planLocal(name: string, args: Buffer[], noreply: boolean, conn: ConnState): Plan {
  switch (name) {
    case 'version':
      return local(VERSION);
    case 'verbosity':
      if (args.length !== 2 && args.length !== 3) return local(R_ERROR);
      if (parseU32(args[1]) === null) return quiet(R_BAD_FORMAT, noreply);
      return quiet(OK, noreply);
    case 'quit':
      return local(EMPTY, true);
    case 'stats':
      return planStats(args, conn);
    default:
      return local(R_ERROR);
  }
}

function firstFailure(replies: Buffer[]): Buffer | undefined {
  return replies.find((r) => r.length > 0 && !r.equals(OK));
}

/** get/gets/gat/gats: keys from args[first]; one sub-command per shard, VALUE blocks put back in key order. */
function planGet(args: Buffer[], first: number, raw: Buffer, conn: ConnState): Plan {
  const keys = args.slice(first);
  for (const k of keys) if (!validKey(k)) return local(R_BAD_FORMAT);
  const shards = keys.map((k) => shardFor(k, conn));
  if (shards.every((s) => s === shards[0])) return { kind: 'shard', key: keys[0], shard: shards[0], raw };
  const groups = new Map<number, Buffer[]>();
  for (let i = 0; i < keys.length; i++) {
    const g = groups.get(shards[i]);
    if (g === undefined) groups.set(shards[i], [keys[i]]);
    else g.push(keys[i]);
  }
  const head = args.slice(0, first);
  const parts: SplitPart[] = [];
  const partOfShard = new Map<number, number>();
  for (const [shard, ks] of groups) {
    partOfShard.set(shard, parts.length);
    const line = Buffer.concat([...[...head, ...ks].flatMap((a, i) => (i === 0 ? [a] : [Buffer.from(' '), a])), Buffer.from('\r\n')]);
    parts.push({ key: ks[0], shard, raw: line });
  }
  return {
    kind: 'split',
    parts,
    join: (replies) =>
      joinGet(
        replies,
        keys,
        shards.map((s) => partOfShard.get(s)!),
      ),
  };
}

interface ValueBlock {
  key: Buffer;
  bytes: Buffer;
}

/** the VALUE blocks of a get reply (ending in END), or null when it is something else (an error). */
export function valueBlocks(reply: Buffer): ValueBlock[] | null {
  const out: ValueBlock[] = [];
  let p = 0;
  for (;;) {
    const nl = reply.indexOf(10, p);
    if (nl < 0) return null;
    const line = reply.subarray(p, nl + 1);
    if (line.equals(END)) return p + 5 === reply.length ? out : null;
    if (!line.subarray(0, 6).equals(Buffer.from('VALUE '))) return null;
    const words = line.toString('latin1', 6, line.length - 2).split(' ');
    const len = Number(words[2]);
    if (words.length < 3 || !Number.isInteger(len) || len < 0) return null;
    const end = nl + 1 + len + 2;
    if (end > reply.length) return null;
    out.push({ key: reply.subarray(p + 6, p + 6 + Buffer.byteLength(words[0], 'latin1')), bytes: reply.subarray(p, end) });
    p = end;
  }
}

function joinGet(replies: Buffer[], keys: Buffer[], partOfKey: number[]): Buffer {
  const blocks: ValueBlock[][] = [];
  for (const r of replies) {
    const b = valueBlocks(r);
    if (b === null) return r; // a shard's error line
    blocks.push(b);
  }
  // Each part's blocks come in its keys' order, missing keys leaving no block: walk them in step.
  const cursor = new Array<number>(replies.length).fill(0);
  const out: Buffer[] = [];
  for (let i = 0; i < keys.length; i++) {
    const part = partOfKey[i];
    const next = blocks[part][cursor[part]];
    if (next?.key.equals(keys[i])) {
      out.push(next.bytes);
      cursor[part]++;
    }
  }
  out.push(END);
  return Buffer.concat(out);
}

function planStats(args: Buffer[], conn: ConnState): Plan {
  if (args.length === 1) {
    return {
      kind: 'all',
      raw: SHARD_STATS_RAW,
      join: (replies) => {
        const reports = decodeReports(replies.map((r) => (r.length > 2 ? r.subarray(0, r.length - 2) : null)));
        if (typeof reports === 'string') return Buffer.from(`SERVER_ERROR ${reports}\r\n`);
        return Buffer.from(memcacheStats(reports, conn.server) + 'END\r\n');
      },
    };
  }
  switch (args[1].toString('latin1')) {
    case 'reset':
      return local(Buffer.from('RESET\r\n'));
    case 'settings':
      return local(
        Buffer.from(
          [
            'STAT maxbytes 0',
            `STAT item_size_max ${conn.server?.itemSizeMax ?? 1024 * 1024}`,
            'STAT evictions on',
            'STAT cas_enabled yes',
            'STAT flush_enabled yes',
            `STAT tcpport ${conn.server?.port ?? 0}`,
            'END',
            '',
          ].join('\r\n'),
        ),
      );
    case 'items':
    case 'slabs':
    case 'sizes':
    case 'conns':
      return local(END);
    case 'detail':
      return local(Buffer.from('CLIENT_ERROR stats detail not allowed\r\n'));
    default:
      return local(R_ERROR);
  }
}

export { R_TOO_LARGE };
