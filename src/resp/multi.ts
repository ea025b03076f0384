/**
 * Transactions, acceptor side: MULTI queues a connection's commands, EXEC runs them, DISCARD drops
 * them, WATCH records the version of keys (one round trip to their shards) that EXEC checks. Worded
 * as Redis 7.0. The shard side is src/resp/multi-exec.ts; docs/architecture.md ("Transactions")
 * says how a transaction stays atomic and isolated.
 */
import { shardOf } from '../hash.js';
import type { CommandSpec } from '../commands/table.js';
import type { ConnState, HeldPlan, LocalPlan, Plan, QueuedCommand, SplitPart, TxState, WatchedKey } from '../front/plan.js';
import { EMPTY_ARRAY, NIL_ARRAY, OK, command, err, errCode, simple } from './encode.js';
import { EXEC_COMMAND, EXEC_HELD_COMMAND, WATCH_COMMAND } from './multi-exec.js';
import { bulkElements, isErrorReply, readBulk } from './replies.js';

const QUEUED = simple('QUEUED');
const EXECABORT = errCode('EXECABORT Transaction discarded because of previous errors.');
const HOLD_EXPIRED = err('transaction timed out holding its shards; nothing ran');
/** a RELEASE that runs nothing: letting go of a shard whose transaction will not run */
const RELEASE_ONLY = command([EXEC_COMMAND, '0']);
const EMPTY_VERSION = Buffer.alloc(0);

/** the planner's routing of one command, given to EXEC for each queued one */
export type RouteCommand = (spec: CommandSpec, name: string, args: Buffer[], raw: Buffer, conn: ConnState) => Plan;

function local(reply: Buffer): LocalPlan {
  return { kind: 'local', reply };
}

function shardFor(key: Buffer, conn: ConnState): number {
  return conn.shards === 1 ? 0 : shardOf(key, conn.shards);
}

/** a command refused before it ran: inside MULTI, EXEC will abort (as Redis' flagTransaction) */
export function flagRefused(conn: ConnState): void {
  if (conn.tx !== undefined && conn.tx.queued !== null) conn.tx.dirty = true;
}

/**
 * The plan of a transaction command, or of any command while the connection is in MULTI (queued);
 * null when the command takes its ordinary route (QUIT, RESET, and anything outside MULTI).
 */
export function planTransaction(spec: CommandSpec, name: string, args: Buffer[], raw: Buffer, conn: ConnState, route: RouteCommand): Plan | null {
  let tx = conn.tx;
  if (tx === undefined) {
    if (spec.group !== 'transactions') return null;
    tx = conn.tx = { queued: null, dirty: false, watched: new Map() };
  }
  const inMulti = tx.queued !== null;
  switch (spec.name) {
    case 'multi':
      if (inMulti) return local(err('MULTI calls can not be nested'));
      tx.queued = [];
      tx.dirty = false;
      return local(OK);
    case 'exec':
      if (!inMulti) return local(err('EXEC without MULTI'));
      return planExec(tx, conn, route);
    case 'discard':
      if (!inMulti) return local(err('DISCARD without MULTI'));
      tx.queued = null;
      tx.watched.clear();
      return local(OK);
    case 'watch':
      if (inMulti) return local(err('WATCH inside MULTI is not allowed'));
      return planWatch(tx, args, conn);
    case 'unwatch':
      if (inMulti) break;
      tx.watched.clear();
      return local(OK);
    case 'reset':
      conn.tx = undefined;
      return null;
    case 'quit':
      return null;
  }
  if (!inMulti) return null;
  if (spec.flags.includes('no_multi')) {
    tx.dirty = true;
    return { kind: 'local', reply: err('Command not allowed inside a transaction'), rejected: true };
  }
  tx.queued!.push({ spec, name, args, raw });
  return local(QUEUED);
}

/** WATCH: each shard holding some of the keys tells their versions; nothing else routes meanwhile */
function planWatch(tx: TxState, args: Buffer[], conn: ConnState): Plan {
  const byShard = new Map<number, Buffer[]>();
  for (let i = 1; i < args.length; i++) {
    const shard = shardFor(args[i], conn);
    const keys = byShard.get(shard);
    if (keys === undefined) byShard.set(shard, [args[i]]);
    else keys.push(args[i]);
  }
  const parts: SplitPart[] = [];
  const groups: Buffer[][] = [];
  for (const [shard, keys] of byShard) {
    parts.push({ key: keys[0], shard, raw: command([WATCH_COMMAND, ...keys]) });
    groups.push(keys);
  }
  return {
    kind: 'chain',
    parts,
    next: (replies) => {
      for (let p = 0; p < replies.length; p++) {
        const parsed = bulkElements(replies[p]);
        if (parsed === null || parsed.items.length !== groups[p].length) {
          return local(isErrorReply(replies[p]) ? replies[p] : err('shard reply could not be joined'));
        }
        groups[p].forEach((key, i) => {
          const id = key.toString('latin1');
          // a key watched again keeps its first version, as Redis keeps the first watch
          if (!tx.watched.has(id)) tx.watched.set(id, { key, shard: parts[p].shard, version: readBulk(parsed.items[i]) });
        });
      }
      return local(OK);
    },
  };
}

/**
 * EXEC: every queued command is planned now; those answered here (PING, ECHO, ...) take their
 * replies in place. When the others and the watched keys are on one shard, they go with the watch
 * checks to that shard as one message; otherwise the shards involved are held (planHeld).
 */
function planExec(tx: TxState, conn: ConnState, route: RouteCommand): Plan {
  const queued = tx.queued!;
  const watched = [...tx.watched.values()];
  const dirty = tx.dirty;
  tx.queued = null;
  tx.dirty = false;
  tx.watched.clear();
  if (dirty) return local(EXECABORT);
  let shard = -1;
  let cross = false;
  const note = (s: number): void => {
    if (shard === -1) shard = s;
    else if (s !== shard) cross = true;
  };
  for (const w of watched) note(w.shard);
  // a queued UNWATCH (the only transaction command MULTI queues) has nothing left to forget
  conn.inExec = true;
  // a script may reach keys it did not declare (Bull and BullMQ build job keys inside theirs); unless
  // its KEYS carry a {hash tag} (whose derived keys share it), it runs held, with the transaction
  conn.held = conn.shards > 1 && queued.some(untaggedScript);
  let plans: Plan[];
  try {
    plans = queued.map((q) => (q.spec.group === 'transactions' ? local(OK) : route(q.spec, q.name, q.args, q.raw, conn)));
  } finally {
    conn.inExec = false;
    conn.held = false;
  }
  for (const plan of plans) {
    if (plan.kind === 'shard') note(plan.shard);
    else if (plan.kind !== 'local') cross = true;
  }
  if (cross) return planHeld(plans, watched, conn);
  if (shard === -1) return local(joinExec(plans, []));
  const parts: Buffer[] = [Buffer.from(EXEC_COMMAND), Buffer.from(String(watched.length))];
  for (const w of watched) parts.push(w.key, w.version ?? EMPTY_VERSION);
  for (const plan of plans) if (plan.kind === 'shard') parts.push(plan.raw);
  return {
    kind: 'one',
    shard,
    raw: command(parts),
    join: (reply) => {
      if (reply.equals(NIL_ARRAY)) return NIL_ARRAY;
      const parsed = bulkElements(reply);
      if (parsed === null) return isErrorReply(reply) ? reply : err('shard reply could not be joined');
      return joinExec(plans, parsed.items);
    },
  };
}

/** a shard's HOLD: CAIRN.EXEC carrying the watch checks of its keys and no command */
function holdOf(checks: WatchedKey[] | undefined): Buffer {
  const parts: Buffer[] = [Buffer.from(EXEC_COMMAND), Buffer.from(String(checks?.length ?? 0))];
  for (const w of checks ?? []) parts.push(w.key, w.version ?? EMPTY_VERSION);
  return command(parts);
}

/** a HOLD's reply: null when granted, else the transaction's (`*-1` when a watched key changed) */
function refusalOf(reply: Buffer): Buffer | null {
  return reply.equals(EMPTY_ARRAY) ? null : reply.equals(NIL_ARRAY) || isErrorReply(reply) ? reply : err('shard reply could not be joined');
}

/** EVAL or EVALSHA whose KEYS are not all hash-tagged (or none) */
function untaggedScript(q: QueuedCommand): boolean {
  if (q.spec.route !== 'script' || q.spec.name.startsWith('script|') || q.args.length < 3) return false;
  const n = Number(q.args[2].toString('latin1'));
  if (!Number.isInteger(n) || n < 0 || 3 + n > q.args.length) return false;
  if (n === 0) return true;
  for (let i = 3; i < 3 + n; i++) {
    const key = q.args[i];
    const open = key.indexOf(0x7b);
    if (open < 0 || key.indexOf(0x7d, open + 1) <= open + 1) return true;
  }
  return false;
}

/** one shard's share of a command: which shard and where its reply is in that shard's part */
interface Piece {
  shard: number;
  index: number;
}

/**
 * A transaction across shards: every shard with a command or a watched key is held, in ascending
 * order, its hold carrying its watch checks (CAIRN.EXEC with no command); then each shard gets its
 * commands in queued order (CAIRN.EXECHELD, each ended before the next) and lets go once they end, so a whole-shard
 * command's walk (DBSIZE, KEYS, SCAN, FLUSHALL) ends inside the hold. A command split over shards
 * (MGET, MSET, DEL ...) sends each shard its sub-command, joined as outside MULTI.
 */
function planHeld(plans: Plan[], watched: WatchedKey[], conn: ConnState): Plan {
  const commands = new Map<number, Buffer[]>();
  const checks = new Map<number, WatchedKey[]>();
  const add = (shard: number, raw: Buffer): Piece => {
    let list = commands.get(shard);
    if (list === undefined) commands.set(shard, (list = []));
    list.push(raw);
    return { shard, index: list.length - 1 };
  };
  for (const w of watched) {
    const list = checks.get(w.shard);
    if (list === undefined) checks.set(w.shard, [w]);
    else list.push(w);
  }
  const pieces: Piece[][] = [];
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i];
    switch (plan.kind) {
      case 'local':
        pieces.push([]);
        break;
      case 'shard':
      case 'one':
        pieces.push([add(plan.shard, plan.raw)]);
        break;
      case 'split':
        pieces.push(plan.parts.map((p) => add(p.shard, p.raw)));
        break;
      case 'all':
        pieces.push(Array.from({ length: conn.shards }, (_, s) => add(s, plan.raw)));
        break;
      default:
        // steps (a script across shards; MSETNX, RENAME, COPY, LMOVE across shards) cannot run inside one part per shard
        return planStepwise(plans, checks, conn);
    }
  }
  const shards = [...new Set([...commands.keys(), ...checks.keys()])].sort((a, b) => a - b);
  const holds = shards.map((s) => holdOf(checks.get(s)));
  const parts = shards.map((s) => command([EXEC_HELD_COMMAND, '0', ...(commands.get(s) ?? [])]));
  return {
    kind: 'held',
    shards,
    holds,
    parts,
    release: RELEASE_ONLY,
    refusal: refusalOf,
    expired: HOLD_EXPIRED,
    join: (replies) => {
      const byShard = new Map<number, Buffer[] | Buffer>();
      shards.forEach((s, p) => {
        const parsed = bulkElements(replies[p]);
        // a shard that failed (it died, or its hold had ended): each of its commands answers the error
        byShard.set(s, parsed === null ? (isErrorReply(replies[p]) ? replies[p] : err('shard reply could not be joined')) : parsed.items);
      });
      const replyOf = (piece: Piece): Buffer => {
        const got = byShard.get(piece.shard)!;
        if (!Array.isArray(got)) return got;
        const wrapped = got[piece.index];
        return (wrapped === undefined ? null : readBulk(wrapped)) ?? err('shard reply could not be joined');
      };
      const out: Buffer[] = [Buffer.from(`*${plans.length}\r\n`)];
      plans.forEach((plan, i) => {
        const mine = pieces[i];
        switch (plan.kind) {
          case 'local':
            out.push(plan.reply);
            break;
          case 'shard':
            out.push(replyOf(mine[0]));
            break;
          case 'one':
            out.push(plan.join ? plan.join(replyOf(mine[0])) : replyOf(mine[0]));
            break;
          case 'split':
          case 'all':
            out.push(plan.join(mine.map(replyOf)));
            break;
        }
      });
      return Buffer.concat(out);
    },
  };
}

/**
 * A transaction with a command that runs in steps: a script whose keys span shards (BullMQ queues
 * its job scripts in MULTI), or MSETNX, RENAME, COPY, LMOVE across shards. Every shard is held (a
 * script may reach any key), in ascending order, each hold carrying its watch checks; then the
 * queued commands run one after another as the holder's, each ended before the next starts, and the
 * shards are let go at the end. Isolated and atomic as the other paths, at one ring round trip per
 * command (per redis.call for a script).
 */
function planStepwise(plans: Plan[], checks: Map<number, WatchedKey[]>, conn: ConnState): HeldPlan {
  const shards = Array.from({ length: conn.shards }, (_, s) => s);
  return {
    kind: 'held',
    shards,
    holds: shards.map((s) => holdOf(checks.get(s))),
    parts: [],
    release: RELEASE_ONLY,
    refusal: refusalOf,
    expired: HOLD_EXPIRED,
    join: (replies) => replies[0],
    drive: async (send, heldSince) => {
      const out: Buffer[] = [Buffer.from(`*${plans.length}\r\n`)];
      for (const plan of plans) {
        if (plan.kind === 'local') out.push(plan.reply);
        else if (plan.kind === 'held') out.push(plan.drive === undefined ? err('shard reply could not be joined') : await plan.drive(send, heldSince));
        else out.push(await send(plan));
      }
      return Buffer.concat(out);
    },
  };
}

/** EXEC's array: the local replies in place, the shard's (each wrapped in a bulk) in between */
function joinExec(plans: Plan[], shardReplies: Buffer[]): Buffer {
  if (plans.length === 0) return EMPTY_ARRAY;
  const out: Buffer[] = [Buffer.from(`*${plans.length}\r\n`)];
  let next = 0;
  for (const plan of plans) {
    if (plan.kind === 'local') out.push(plan.reply);
    else {
      const wrapped = shardReplies[next++];
      const reply = wrapped === undefined ? null : readBulk(wrapped);
      // a script's join reads what its shard said (src/resp/scripting.ts)
      out.push(reply === null ? err('shard reply could not be joined') : plan.kind === 'one' && plan.join ? plan.join(reply) : reply);
    }
  }
  return Buffer.concat(out);
}
