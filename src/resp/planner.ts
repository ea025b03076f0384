/**
 * RESP planner (acceptor side): decides, without touching data, where a framed command goes and how
 * the shards' replies are joined. Command lookup, arity and authentication errors are answered here,
 * in Redis' order (unknown command, then arity, then NOAUTH).
 */
import { shardOf } from '../hash.js';
import { COMMANDS, arityOk, commandName, keyIndexes, type CommandSpec } from '../commands/table.js';
import { mayBlock } from '../commands/def.js';
import { EMPTY, NIL, OK, ONE, ZERO, array, bulk, bulkString, command, err, errCode, integer } from './encode.js';
import { NOAUTH, SYNTAX, arityError, unknownCommand, unknownSubcommand } from './errors.js';
import { parseRespCommand, type RespFrame } from './framer.js';
import { cairnSection, decodeReports, infoText, type ShardReport } from './info.js';
import { planLocal } from './local.js';
import { planBlockingMoveAcross, planListMoveAcross } from './list-move.js';
import { planMoveAcross } from './move.js';
import { flagRefused, planTransaction } from './multi.js';
import { planScript } from './scripting.js';
import type { CommandCounter } from '../front/cmdstats.js';
import type { ConnState, LocalPlan, Plan, PlanStat, SplitPart } from '../front/plan.js';
import { bulkElements, isErrorReply, readArrayHeader, readBulk, readInteger } from './replies.js';

/** the internal command a shard answers with its statistics (bulk JSON); clients cannot send it. */
export const SHARD_STATS_COMMAND = 'CAIRN.SHARDSTATS';
const SHARD_STATS_RAW = command([SHARD_STATS_COMMAND]);

/** what a connection in RESP2 subscribed mode may send */
const SUBSCRIBED_MODE = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ping', 'quit', 'reset']);

function local(reply: Buffer): LocalPlan {
  return { kind: 'local', reply };
}

function shardFor(key: Buffer, conn: ConnState): number {
  return conn.shards === 1 ? 0 : shardOf(key, conn.shards);
}

/** a refusal before the command runs: counted in rejected_calls (or, without a command, errorstats only) */
function reject(reply: Buffer, stat: CommandCounter | undefined, conn: ConnState): LocalPlan & PlanStat {
  flagRefused(conn);
  return stat === undefined ? local(reply) : { kind: 'local', reply, stat, rejected: true };
}

export function planResp(frame: RespFrame, conn: ConnState): Plan {
  if (frame.type === 'error') return { kind: 'local', reply: frame.reply, close: true };
  const args = frame.args;
  const name = commandName(args[0]);
  const stats = conn.server?.commandStats;
  let spec: CommandSpec | undefined = COMMANDS.get(name);
  if (spec === undefined) {
    // Cross-protocol scripting guard, as Redis: an HTTP request is closed without a reply.
    if (name === 'post' || name === 'host:') return { kind: 'local', reply: EMPTY, close: true };
    conn.lastCommand = null;
    return reject(unknownCommand(args), stats?.unknown, conn);
  }
  if (spec.subcommands !== undefined && args.length >= 2) {
    const sub = spec.subcommands.get(commandName(args[1]));
    if (sub === undefined) {
      conn.lastCommand = null;
      return reject(unknownSubcommand(name, args[1]), stats?.unknown, conn);
    }
    spec = sub;
  }
  conn.lastCommand = spec.name;
  const stat = stats?.counter(spec.name);
  if (!arityOk(spec, args.length)) return reject(arityError(spec.name), stat, conn);
  if (conn.password !== null && !conn.authenticated && spec.noAuth !== true) return reject(NOAUTH, stat, conn);
  if (conn.pubsub?.subscribed && spec.name !== 'ping' && !SUBSCRIBED_MODE.has(spec.name)) {
    // RESP2 subscribed mode, as Redis 7
    return reject(err(`Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`), stat, conn);
  }
  if (conn.readOnly?.() && spec.flags.includes('write')) {
    return reject(errCode("READONLY You can't write against a read only replica."), stat, conn);
  }
  if (conn.tx !== undefined || spec.group === 'transactions') {
    const plan = planTransaction(spec, name, args, frame.raw, conn, route);
    if (plan !== null) {
      if (spec.group === 'transactions') plan.stat = stat;
      return plan;
    }
  }
  if (stat === undefined) return route(spec, name, args, frame.raw, conn);
  if (spec.route === 'local' || spec.route === 'pubsub' || spec.route === 'replication') {
    // answered here: timed here (a shard times what it runs)
    const t0 = performance.now();
    const plan = route(spec, name, args, frame.raw, conn);
    stat.usec += (performance.now() - t0) * 1000;
    plan.stat = stat;
    return plan;
  }
  const plan = route(spec, name, args, frame.raw, conn);
  plan.stat = stat;
  return plan;
}

/** Redis Cluster's CROSSSLOT reply, naming cairn's unit (a shard) and the way to meet the rule */
export const CROSS_SHARD = errCode("CROSSSLOT Keys in request don't hash to the same shard (use a {hash tag} to put them on one)");

function route(spec: CommandSpec, name: string, args: Buffer[], raw: Buffer, conn: ConnState): Plan {
  if (conn.pubsub?.subscribed && spec.name === 'ping') {
    return local(array([bulkString('pong'), args.length > 1 ? bulk(args[1]) : bulkString('')]));
  }
  switch (spec.route) {
    case 'replication':
      if (!conn.replication) return local(err(`'${spec.name}' is not available on this connection`));
      return local(conn.replication.run(spec.name, args));
    case 'pubsub':
      if (!conn.pubsub) return local(err(`'${spec.name}' is not available on this connection`));
      return local(conn.pubsub.run(spec.name, args, conn));
    case 'key': {
      const key = args[spec.firstKey]; // argv[1], or argv[2] for a subcommand (OBJECT FREQ key)
      return { kind: 'shard', key, shard: shardFor(key, conn), raw };
    }
    case 'keys':
      return planKeys(name, args, raw, conn, 1);
    case 'pairs':
      if ((args.length - 1) % 2 !== 0) return { ...local(arityError(spec.name)), rejected: true };
      return planKeys(name, args, raw, conn, 2);
    case 'move': {
      // RENAME, RENAMENX, COPY: at once on one shard, in steps across two (src/resp/move.ts)
      const from = shardFor(args[1], conn);
      const to = shardFor(args[2], conn);
      if (from === to) return { kind: 'shard', key: args[1], shard: from, raw };
      return planMoveAcross(name, args, from, to);
    }
    case 'all':
      return planAll(name, args, raw, conn);
    case 'scan':
      return planScan(args, conn);
    case 'local':
      return planLocal(spec, args, conn);
    case 'script':
      return planScript(spec, args, raw, conn, route);
    case 'same':
      return planSameShard(spec, args, raw, conn);
  }
}

/**
 * A command whose keys must meet on one shard (SINTER, SMOVE, LMOVE, ZUNIONSTORE, BLPOP, ...): run
 * there, or refused naming the rule ({hash tags} put related keys on one shard). A numkeys command
 * whose count is bad goes to its first argument's shard, which answers Redis' error.
 */
function planSameShard(spec: CommandSpec, args: Buffer[], raw: Buffer, conn: ConnState): Plan {
  const at = keyIndexes(spec, args.length, args);
  if (at.length === 0) return { kind: 'shard', key: args[1], shard: shardFor(args[1], conn), raw };
  const shard = shardFor(args[at[0]], conn);
  for (let i = 1; i < at.length; i++) {
    const other = shardFor(args[at[i]], conn);
    if (other === shard) continue;
    if (spec.name === 'lmove' || spec.name === 'rpoplpush') return planListMoveAcross(spec.name, args, shard, other, conn.held === true);
    if (spec.name === 'blmove' || spec.name === 'brpoplpush') return planBlockingMoveAcross(spec.name, args, shard, other, conn);
    return { ...local(CROSS_SHARD), rejected: true };
  }
  if (spec.flags.includes('blocking') && mayBlock(spec.name, args)) return { kind: 'shard', key: args[at[0]], shard, raw, blocking: true };
  return { kind: 'shard', key: args[at[0]], shard, raw };
}

/**
 * Multi-key commands: one sub-command per shard holding its keys (or key/value pairs, stride 2) in
 * their original order; join puts the replies back in the client's order.
 */
function planKeys(name: string, args: Buffer[], raw: Buffer, conn: ConnState, stride: number): Plan {
  const first = shardFor(args[1], conn);
  const count = (args.length - 1) / stride;
  const shardOfKey = new Int32Array(count);
  let single = true;
  for (let i = 0; i < count; i++) {
    const s = i === 0 ? first : shardFor(args[1 + i * stride], conn);
    shardOfKey[i] = s;
    if (s !== first) single = false;
  }
  if (single) return { kind: 'shard', key: args[1], shard: first, raw };

  const groups = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const group = groups.get(shardOfKey[i]);
    if (group === undefined) groups.set(shardOfKey[i], [i]);
    else group.push(i);
  }
  const parts: SplitPart[] = [];
  const positions: number[][] = [];
  for (const [shard, keys] of groups) {
    const sub: Buffer[] = [args[0]];
    for (const k of keys) for (let j = 0; j < stride; j++) sub.push(args[1 + k * stride + j]);
    parts.push({ key: args[1 + keys[0] * stride], shard, raw: command(sub) });
    positions.push(keys);
  }
  switch (name) {
    case 'mget':
      return { kind: 'split', parts, join: (replies) => joinMget(replies, positions, count) };
    case 'mset':
      return { kind: 'split', parts, join: joinOk };
    case 'msetnx': {
      // Across shards: first ask every shard whether any of its keys exists, then set them all.
      const exists = Buffer.from('EXISTS');
      const probes: SplitPart[] = positions.map((keys, p) => ({
        key: parts[p].key,
        shard: parts[p].shard,
        raw: command([exists, ...keys.map((k) => args[1 + k * stride])]),
      }));
      const mset = Buffer.from('MSET');
      const writes: SplitPart[] = parts.map((part) => ({ ...part, raw: command([mset, ...parseRespCommand(part.raw)!.slice(1)]) }));
      return {
        kind: 'chain',
        parts: probes,
        next: (replies) => {
          const found = joinSum(replies);
          if (isErrorReply(found)) return { kind: 'local', reply: found };
          if (!found.equals(ZERO)) return { kind: 'local', reply: ZERO };
          return { kind: 'split', parts: writes, join: (r) => (joinOk(r) === OK ? ONE : joinOk(r)) };
        },
      };
    }
    default: // del, unlink, exists
      return { kind: 'split', parts, join: joinSum };
  }
}

function joinMget(replies: Buffer[], positions: number[][], count: number): Buffer {
  const out = new Array<Buffer>(count);
  for (let p = 0; p < replies.length; p++) {
    const parsed = bulkElements(replies[p]);
    if (parsed === null || parsed.items.length !== positions[p].length) {
      return isErrorReply(replies[p]) ? replies[p] : err('shard reply could not be joined');
    }
    positions[p].forEach((pos, j) => (out[pos] = parsed.items[j]));
  }
  return Buffer.concat([Buffer.from(`*${count}\r\n`), ...out]);
}

function joinSum(replies: Buffer[]): Buffer {
  let sum = 0;
  for (const r of replies) {
    const n = readInteger(r);
    if (n === null) return isErrorReply(r) ? r : err('shard reply could not be joined');
    sum += n;
  }
  return integer(sum);
}

function joinOk(replies: Buffer[]): Buffer {
  for (const r of replies) if (!r.equals(OK)) return r;
  return OK;
}

function planAll(name: string, args: Buffer[], raw: Buffer, conn: ConnState): Plan {
  switch (name) {
    case 'dbsize':
      return { kind: 'all', raw, join: joinSum };
    case 'flushall':
    case 'flushdb': {
      if (args.length > 2) return local(SYNTAX);
      if (args.length === 2) {
        const mode = args[1].toString('latin1').toLowerCase();
        if (mode !== 'async' && mode !== 'sync') return local(SYNTAX);
      }
      return { kind: 'all', raw, join: joinOk };
    }
    case 'keys':
      return { kind: 'all', raw, join: joinArrays };
    case 'randomkey':
      return { kind: 'all', raw, join: joinRandom };
    case 'info': {
      const sections = args.slice(1).map((a) => a.toString('latin1').toLowerCase());
      return {
        kind: 'all',
        raw: SHARD_STATS_RAW,
        join: (replies) => withReports(replies, (reports) => bulkString(infoText(sections, reports, conn))),
      };
    }
    default: // cairn.info
      return {
        kind: 'all',
        raw: SHARD_STATS_RAW,
        join: (replies) => withReports(replies, (reports) => bulkString(cairnSection(reports))),
      };
  }
}

function withReports(replies: Buffer[], render: (reports: ShardReport[]) => Buffer): Buffer {
  for (const r of replies) if (isErrorReply(r)) return r;
  const reports = decodeReports(replies.map(readBulk));
  if (typeof reports === 'string') return err(reports);
  return render(reports);
}

function joinArrays(replies: Buffer[]): Buffer {
  let count = 0;
  const bodies: Buffer[] = [];
  for (const r of replies) {
    const head = readArrayHeader(r);
    if (head === null) return isErrorReply(r) ? r : err('shard reply could not be joined');
    count += head.count;
    bodies.push(r.subarray(head.bodyStart));
  }
  return Buffer.concat([Buffer.from(`*${count}\r\n`), ...bodies]);
}

function joinRandom(replies: Buffer[]): Buffer {
  const found: Buffer[] = [];
  for (const r of replies) {
    if (isErrorReply(r)) return r;
    if (!r.equals(NIL)) found.push(r);
  }
  return found.length === 0 ? NIL : found[Math.floor(Math.random() * found.length)];
}

const DIGITS = /^\d{1,20}$/;
const U64_MAX = 2n ** 64n - 1n;

/**
 * Shard cursors that are not small decimals (the tiered store's are `h<slot>` and `c<last key>`)
 * cannot be packed into the u64 cursor Redis clients expect, so the acceptor keeps them in a bounded
 * table and hands out its index instead. Cursors stay valid across connections of one server
 * process, until 65536 newer ones push them out (then SCAN answers `invalid cursor`).
 */
export class ScanCursorTable {
  private readonly entries = new Map<number, { shard: number; cursor: string }>();
  private nextId = 1;
  constructor(private readonly capacity = 65536) {}

  put(shard: number, cursor: string): number {
    const id = this.nextId++;
    this.entries.set(id, { shard, cursor });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as number);
    return id;
  }

  get(id: number): { shard: number; cursor: string } | undefined {
    return this.entries.get(id);
  }
}

export const scanCursors = new ScanCursorTable();

/**
 * SCAN visits shard 0 to N-1 in turn. A client cursor is `(c * N + shard) * 2` when shard's own
 * cursor c is a decimal, or `id * 2 + 1` for a ScanCursorTable entry. 0 starts at shard 0, and 0 is
 * returned after the last shard.
 */
function planScan(args: Buffer[], conn: ConnState): Plan {
  const text = args[1].toString('latin1');
  if (!DIGITS.test(text) || BigInt(text) > U64_MAX) return local(err('invalid cursor'));
  const cursor = BigInt(text);
  let shard: number;
  let shardCursor: string;
  if ((cursor & 1n) === 1n) {
    const entry = scanCursors.get(Number(cursor >> 1n));
    if (entry === undefined || entry.shard >= conn.shards) return local(err('invalid cursor'));
    shard = entry.shard;
    shardCursor = entry.cursor;
  } else {
    const packed = cursor >> 1n;
    const shards = BigInt(conn.shards);
    shard = Number(packed % shards);
    shardCursor = (packed / shards).toString();
  }
  const raw = command([args[0], shardCursor, ...args.slice(2)]);
  return { kind: 'one', shard, raw, join: (reply) => rewriteScanCursor(reply, shard, conn.shards) };
}

export function rewriteScanCursor(reply: Buffer, shard: number, shards: number): Buffer {
  const head = readArrayHeader(reply);
  if (head === null || head.count !== 2) return reply; // an error passes through
  const cursorReply = reply.subarray(head.bodyStart);
  const cursorBody = readBulk(cursorReply);
  if (cursorBody === null) return reply;
  const restStart = head.bodyStart + (cursorBody.byteOffset - cursorReply.byteOffset) + cursorBody.length + 2;
  const shardCursor = cursorBody.toString('latin1');
  let next: bigint;
  if (shardCursor === '0') {
    next = shard + 1 >= shards ? 0n : BigInt(shard + 1) << 1n;
  } else {
    const packed = DIGITS.test(shardCursor) ? BigInt(shardCursor) * BigInt(shards) + BigInt(shard) : -1n;
    next = packed >= 0n && packed < 2n ** 63n ? packed << 1n : (BigInt(scanCursors.put(shard, shardCursor)) << 1n) | 1n;
  }
  return Buffer.concat([Buffer.from('*2\r\n'), bulk(Buffer.from(next.toString())), reply.subarray(restStart)]);
}
