/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the acceptor's routing and the shard's side.
 *
 * A script whose KEYS are on one shard (shard 0 without keys) runs there (the shard path): by the
 * shard's Lua interpreter, lua.ts, with redis.call running commands through the shard's own command
 * path, synchronously, inside the ring message that carried the script: atomic as one command.
 * A script whose KEYS span shards, or that was seen reaching a key of another shard, runs held: the
 * acceptor holds every shard (as a transaction across shards does, src/front/text-router.ts) and
 * runs the script on its own interpreter as a coroutine, each redis.call sent to the key's shard as
 * the holder's command. docs/architecture.md, "Scripting", says why both are atomic.
 */
import { shardOf } from '../hash.js';
import { COMMANDS, arityOk, commandName, keyIndexes, type CommandSpec } from '../commands/table.js';
import type { ConnState, HeldPlan, OnePlan, Plan } from '../front/plan.js';
import { HOLD_TIMEOUT_MS } from '../shards/hold.js';
import { EMPTY_ARRAY, OK, array, bulkArray, command, err, errCode, integer } from './encode.js';
import { mayBlock } from '../commands/def.js';
import { SYNTAX } from './errors.js';
import { LuaScripts, type ScriptCaller, type ScriptRun, sha1hex } from './lua.js';
import { EXEC_COMMAND } from './multi-exec.js';
import { bulkElements, isErrorReply, readArrayHeader, readBulk } from './replies.js';

export const NOSCRIPT = errCode('NOSCRIPT No matching script. Please use EVAL.');
const NEGATIVE_KEYS = err("Number of keys can't be negative");
const TOO_MANY_KEYS = err("Number of keys can't be greater than number of args");
const NOT_INTEGER = err('value is not an integer or out of range');
/** Redis' lua-time-limit default: a script running longer is stopped (docs/commands.md) */
export const SCRIPT_TIME_LIMIT_MS = 5000;
/**
 * The longest a held script runs, from its first HOLD: well inside the shards' hold bound, so every
 * command it sends finds its shard still held (one that does not is refused, never run unheld).
 */
export const HELD_SCRIPT_MS = (HOLD_TIMEOUT_MS * 4) / 5;

/**
 * A shard's reply, never a client's: the script met a key of another shard before it changed
 * anything, and ran nothing more; the acceptor runs it again held.
 */
const RETRY_HELD = Buffer.from('-CAIRN.RETRYHELD\r\n');
/** A shard's reply prefix, never a client's: the script reached another shard's key after it wrote (the script's reply follows). */
const CROSSED = Buffer.from('+CAIRN.CROSSED\r\n');
/**
 * A shard's reply prefix, never a client's: the script called PUBLISH; an array of channel and
 * message pairs follows, then the rest of the reply. The acceptor publishes them (the bus is its).
 */
const PUBLISHED = Buffer.from('+CAIRN.PUBLISHED\r\n');
const PUBLISH = Buffer.from('PUBLISH');
const NOT_RETRIED = err(
  'Script attempted to access a key of another shard than its KEYS before it wrote; nothing ran. Send it again: it runs across shards from now on (docs/commands.md)',
);
const NOT_ALLOWED_HELD = err('This Redis command is not allowed from script');
const READONLY_REPLICA = errCode("READONLY You can't write against a read only replica.");
const NOTBUSY = errCode('NOTBUSY No scripts in execution right now.');
const UNKILLABLE = errCode(
  'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.',
);
const KILLED = 'ERR Script killed by user with SCRIPT KILL...';
const HOLD_EXPIRED = err('script timed out holding its shards; nothing ran');
/** HOLD's payload (a watch check of nothing: `*0`) and the RELEASE that runs nothing */
const HOLD_ONLY = command([EXEC_COMMAND, '0']);

/** the planner's routing of one command: a held script's redis.call is routed as a client's */
export type RouteCommand = (spec: CommandSpec, name: string, args: Buffer[], raw: Buffer, conn: ConnState) => Plan;

/** numkeys of an EVAL-like command, or the error reply */
function numKeys(args: Buffer[]): number | Buffer {
  const text = args[2].toString('latin1');
  if (!/^-?\d{1,18}$/.test(text)) return NOT_INTEGER;
  const n = Number(text);
  if (n < 0) return NEGATIVE_KEYS;
  if (n > args.length - 3) return TOO_MANY_KEYS;
  return n;
}

// ------------------------------------------------------------------------------------------------
// Acceptor.

/**
 * The scripts the acceptor has seen (EVAL, SCRIPT LOAD), by SHA1, with the shards known to hold them:
 * an EVALSHA for a shard that has not compiled a script yet goes there as EVAL with its body, so a
 * script loaded once runs by SHA on every shard, as on one Redis. Unbounded until SCRIPT FLUSH, as
 * Redis' script cache.
 */
class ScriptRegistry {
  readonly scripts = new Map<string, { body: Buffer; shards: Set<number> }>();
  /** scripts seen reaching a key of another shard than their KEYS': held from then on */
  readonly crossing = new Set<string>();
  /** held scripts running (SCRIPT KILL), with whether they wrote */
  readonly running = new Set<{ run: ScriptRun; wrote: boolean }>();
  private lua: LuaScripts | null = null;

  /** the acceptor's interpreter for held scripts, made at the first */
  interpreter(): LuaScripts {
    this.lua ??= new LuaScripts();
    return this.lua;
  }

  flush(): void {
    this.scripts.clear();
    this.crossing.clear();
    this.lua?.flush();
  }

  /** remembers a compiled script; `shard`: which shard has it too (null: only the acceptor) */
  add(body: Buffer, shard: number | 'all' | null, shards: number): string {
    const sha = sha1hex(body);
    let entry = this.scripts.get(sha);
    if (entry === undefined) {
      entry = { body: Buffer.from(body), shards: new Set() };
      this.scripts.set(sha, entry);
    }
    if (shard === 'all') for (let s = 0; s < shards; s++) entry.shards.add(s);
    else if (shard !== null) entry.shards.add(shard);
    return sha;
  }
}

const registries = new WeakMap<object, ScriptRegistry>();
const processRegistry = new ScriptRegistry();

function registryOf(conn: ConnState): ScriptRegistry {
  if (conn.server === undefined) return processRegistry;
  let r = registries.get(conn.server);
  if (r === undefined) {
    r = new ScriptRegistry();
    registries.set(conn.server, r);
  }
  return r;
}

/**
 * EVAL and friends: on the shard owning all KEYS (shard 0 with none), or held across every shard
 * when the KEYS span shards or the script was seen reaching another shard; SCRIPT: every shard.
 */
export function planScript(spec: CommandSpec, args: Buffer[], raw: Buffer, conn: ConnState, route: RouteCommand): Plan {
  if (spec.name.startsWith('script|')) return planScriptCommand(spec.name, args, conn);
  const n = numKeys(args);
  if (typeof n !== 'number') return { kind: 'local', reply: n };
  let shard = 0;
  let across = false;
  for (let i = 0; i < n; i++) {
    const s = conn.shards === 1 ? 0 : shardOf(args[3 + i], conn.shards);
    if (i === 0) shard = s;
    else if (s !== shard) across = true;
  }
  const registry = registryOf(conn);
  const isEval = spec.name === 'eval' || spec.name === 'eval_ro';
  const readOnly = !isEval ? spec.name === 'evalsha_ro' : spec.name === 'eval_ro';
  const sha = isEval ? sha1hex(args[1]) : args[1].toString('latin1').toLowerCase();
  const entry = registry.scripts.get(sha);
  const held = (): Plan => {
    const body = isEval ? Buffer.from(args[1]) : entry?.body;
    if (body === undefined) return { kind: 'local', reply: NOSCRIPT };
    return planHeldScript(registry, sha, body, args.slice(3, 3 + n), args.slice(3 + n), readOnly, conn, route);
  };
  // on a read-only replica a script's writes are refused by the acceptor, which sees each command only held
  // conn.held: a transaction holding every shard (src/resp/multi.ts) runs the script held with it
  if ((conn.shards > 1 && (across || conn.held === true || registry.crossing.has(sha))) || (!readOnly && conn.readOnly?.() === true)) return held();
  let sent = raw;
  if (!isEval && entry !== undefined && !entry.shards.has(shard)) {
    entry.shards.add(shard);
    sent = command([Buffer.from(spec.name === 'evalsha' ? 'EVAL' : 'EVAL_RO'), entry.body, ...args.slice(2)]);
  }
  // remembered once compiled: an EVALSHA of a script that did not compile is NOSCRIPT, as in Redis
  const body = isEval && entry?.shards.has(shard) !== true ? Buffer.from(args[1]) : null;
  const plan: OnePlan = {
    kind: 'one',
    shard,
    raw: sent,
    join: (reply) => {
      if (reply[0] === 0x2d && reply.equals(RETRY_HELD)) {
        // it compiled there: a later EVALSHA finds it (held)
        if (body !== null) registry.add(body, shard, conn.shards);
        registry.crossing.add(sha);
        return NOT_RETRIED;
      }
      let out = reply[0] === 0x2b ? publishFromShard(reply, conn) : reply;
      if (out[0] === 0x2b && out.subarray(0, CROSSED.length).equals(CROSSED)) {
        registry.crossing.add(sha);
        out = out.subarray(CROSSED.length);
      }
      return body === null ? out : remember(registry, out, body, shard, conn.shards);
    },
  };
  // inside EXEC the script is one command of the transaction's message: not run again alone
  if (conn.shards > 1 && conn.inExec !== true) {
    plan.retry = (reply) => {
      if (reply[0] !== 0x2d || !reply.equals(RETRY_HELD)) return null;
      registry.crossing.add(sha);
      return held();
    };
  }
  return plan;
}

/** a shard script's reply without its PUBLISHED prefix, once the messages it carries are published */
function publishFromShard(reply: Buffer, conn: ConnState): Buffer {
  if (!reply.subarray(0, PUBLISHED.length).equals(PUBLISHED)) return reply;
  const pairs = bulkElements(reply, PUBLISHED.length);
  if (pairs === null) return err('shard reply could not be joined');
  for (let i = 0; i + 1 < pairs.items.length; i += 2) {
    const channel = readBulk(pairs.items[i]);
    const message = readBulk(pairs.items[i + 1]);
    if (channel !== null && message !== null) conn.pubsub?.run('publish', [PUBLISH, channel, message], conn);
  }
  return reply.subarray(pairs.end);
}

/**
 * A script across shards: every shard held in ascending order (as a transaction's), then the script
 * runs here, each redis.call planned as a client's command and sent to its shards as the holder's;
 * at its end every shard is let go. docs/architecture.md, "Scripting".
 */
function planHeldScript(
  registry: ScriptRegistry,
  sha: string,
  body: Buffer,
  keys: Buffer[],
  argv: Buffer[],
  readOnly: boolean,
  conn: ConnState,
  route: RouteCommand,
): HeldPlan {
  const shards = Array.from({ length: conn.shards }, (_, s) => s);
  return {
    kind: 'held',
    shards,
    holds: shards.map(() => HOLD_ONLY),
    parts: [],
    release: HOLD_ONLY,
    refusal: (reply) => (reply.equals(EMPTY_ARRAY) ? null : isErrorReply(reply) ? reply : err('shard reply could not be joined')),
    expired: HOLD_EXPIRED,
    join: (replies) => replies[0],
    drive: async (send, heldSince) => {
      const lua = registry.interpreter();
      const loaded = lua.load(body);
      if ('error' in loaded) return loaded.error;
      registry.add(body, null, conn.shards);
      const limit = conn.server?.scriptTimeLimitMs ?? SCRIPT_TIME_LIMIT_MS;
      const now = performance.now();
      const deadline = Math.min(limit > 0 ? now + limit : Number.POSITIVE_INFINITY, heldSince + HELD_SCRIPT_MS);
      const run = lua.start(sha, keys, argv, readOnly, deadline);
      if (run === null) return NOSCRIPT;
      const running = { run, wrote: false };
      registry.running.add(running);
      try {
        let step = lua.resume(run, null);
        while (!('reply' in step)) {
          if ('pause' in step) {
            // a long computation: the acceptor's other connections (and SCRIPT KILL) get a turn
            await new Promise((resolve) => setImmediate(resolve));
            step = lua.resume(run, null);
            continue;
          }
          const call = step.call;
          const spec = checkHeldCall(call, readOnly, conn);
          if (!Buffer.isBuffer(spec) && spec.flags.includes('write')) running.wrote = true;
          let reply = spec as Buffer;
          if (!Buffer.isBuffer(spec)) {
            let plan: Plan;
            conn.held = true;
            try {
              plan = route(spec, commandName(call[0]), call, command(call), conn);
            } finally {
              conn.held = false;
            }
            reply = await send(plan);
          }
          step = lua.resume(run, reply);
        }
        return step.reply;
      } finally {
        registry.running.delete(running);
        lua.end(run);
      }
    },
  };
}

/** checkScriptCall for a held script's command: any shard's keys; PING, ECHO and PUBLISH as on a shard, no other command the acceptor answers; a replica's refusal */
function checkHeldCall(call: Buffer[], readOnly: boolean, conn: ConnState): CommandSpec | Buffer {
  const spec = checkScriptCall(call, readOnly, -1, conn.shards);
  if (Buffer.isBuffer(spec)) return spec;
  if (
    (spec.route === 'local' && spec.name !== 'ping' && spec.name !== 'echo') ||
    (spec.route === 'pubsub' && spec.name !== 'publish') ||
    spec.route === 'replication'
  )
    return NOT_ALLOWED_HELD;
  if (conn.readOnly?.() === true && spec.flags.includes('write')) return READONLY_REPLICA;
  return spec;
}

function planScriptCommand(name: string, args: Buffer[], conn: ConnState): Plan {
  const raw = command(args);
  switch (name) {
    case 'script|load': {
      const registry = registryOf(conn);
      const body = Buffer.from(args[2]);
      return { kind: 'all', raw, join: (replies) => remember(registry, replies.find(isErrorReply) ?? replies[0], body, 'all', conn.shards) };
    }
    case 'script|exists': {
      // a script only run held is in the acceptor's cache, not a shard's
      const registry = registryOf(conn);
      const known = args.slice(2).map((a) => registry.scripts.has(a.toString('latin1').toLowerCase()));
      return { kind: 'all', raw, join: (replies) => joinExists(replies, known) };
    }
    case 'script|flush': {
      const mode = args.length === 3 ? args[2].toString('latin1').toLowerCase() : 'sync';
      if (args.length > 3 || (mode !== 'sync' && mode !== 'async')) return { kind: 'local', reply: SYNTAX };
      registryOf(conn).flush();
      return { kind: 'all', raw, join: (replies) => replies.find(isErrorReply) ?? replies[0] };
    }
    default:
      return { kind: 'local', reply: killScript(registryOf(conn)) };
  }
}

/**
 * SCRIPT KILL: a script on the shard path never outlives its ring message, so only a held script can
 * be running when this is read; stopped at its next step unless it wrote (Redis' rule).
 */
function killScript(registry: ScriptRegistry): Buffer {
  let reply = NOTBUSY;
  for (const running of registry.running) {
    if (running.wrote) return UNKILLABLE;
    running.run.stop = KILLED;
    reply = OK;
  }
  return reply;
}

/** a script's body for later EVALSHAs, unless its shard refused to compile it; the reply as is */
function remember(registry: ScriptRegistry, reply: Buffer, body: Buffer, shard: number | 'all', shards: number): Buffer {
  if (!reply.subarray(0, COMPILE_ERROR.length).equals(COMPILE_ERROR)) registry.add(body, shard, shards);
  return reply;
}

const COMPILE_ERROR = Buffer.from('-ERR Error compiling script');

/** SCRIPT EXISTS across shards: 1 where any shard (or the acceptor, `known`) holds the script */
function joinExists(replies: Buffer[], known: boolean[]): Buffer {
  let out: number[] | null = known.map((k) => (k ? 1 : 0));
  for (const r of replies) {
    const head = readArrayHeader(r);
    if (head === null) return r;
    const bits = r
      .toString('latin1', head.bodyStart)
      .split('\r\n')
      .filter((l) => l.length > 0)
      .map((l) => (l === ':1' ? 1 : 0));
    out = out === null ? bits : out.map((b, i) => b | bits[i]);
  }
  return array((out ?? []).map((b) => integer(b)));
}

// ------------------------------------------------------------------------------------------------
// Shard.

/** what the shard's command path gives a script: run one command synchronously (made once per shard) */
export interface ScriptHost extends ScriptCaller {
  scripts: LuaScripts;
  /** the running script reached a key of another shard: 0 not, CROSSED_CLEAN before it changed anything, CROSSED_DIRTY after */
  crossed: number;
  /** the store's change counter when the script started */
  changesAtStart: number;
  /** the store's change counter now (a script that moved it has written) */
  changes(): number;
  /** the channel and message of each PUBLISH the running script called, for the acceptor to publish */
  published: Buffer[];
}

/** a script reached another shard's key before it changed anything: nothing more runs, and it runs again held */
const CROSSED_CLEAN = 1;
const CROSSED_DIRTY = 2;

export function runScriptCommand(host: ScriptHost, name: string, args: Buffer[]): Buffer {
  if (name === 'script') return scriptCommand(host.scripts, args);
  const n = numKeys(args);
  if (typeof n !== 'number') return n;
  const readOnly = name === 'eval_ro' || name === 'evalsha_ro';
  let sha: string;
  if (name === 'eval' || name === 'eval_ro') {
    const loaded = host.scripts.load(args[1]);
    if ('error' in loaded) return loaded.error;
    sha = loaded.sha;
  } else sha = args[1].toString('latin1');
  host.crossed = 0;
  host.changesAtStart = host.changes();
  host.published.length = 0;
  let reply = host.scripts.run(sha, args.slice(3, 3 + n), args.slice(3 + n), readOnly, host);
  if (reply === null) return NOSCRIPT;
  if (host.crossed === CROSSED_CLEAN) return RETRY_HELD;
  if (host.crossed === CROSSED_DIRTY) reply = Buffer.concat([CROSSED, reply]);
  if (host.published.length > 0) reply = Buffer.concat([PUBLISHED, bulkArray(host.published), reply]);
  return reply;
}

/**
 * A script's PUBLISH on the shard path: kept for the acceptor, which owns the channel bus and
 * publishes when the script's reply comes (the script is atomic, so nobody sees the difference but
 * the count): the call answers 0 receivers, as the shard cannot count them (docs/commands.md).
 */
export function publishFromScript(host: ScriptHost, args: Buffer[]): Buffer {
  host.published.push(Buffer.from(args[1]), Buffer.from(args[2]));
  return ZERO_RECEIVERS;
}

const ZERO_RECEIVERS = Buffer.from(':0\r\n');

/**
 * checkScriptCall for a script on the shard path: a key of another shard ends what the script can do
 * there. Before any change, nothing more runs (every later call is refused too), so the acceptor can
 * run the whole script again held with the same effect; after one, the call is refused as Redis
 * Cluster refuses it, and the script's later runs are held.
 */
export function checkShardScriptCall(host: ScriptHost, args: Buffer[], readOnly: boolean, shard: number, shards: number): CommandSpec | Buffer {
  if (host.crossed === CROSSED_CLEAN) return NON_LOCAL;
  const spec = checkScriptCall(args, readOnly, shard, shards);
  // a script that published cannot run again: its messages are out
  if (spec === NON_LOCAL && host.crossed === 0)
    host.crossed = host.changes() === host.changesAtStart && host.published.length === 0 ? CROSSED_CLEAN : CROSSED_DIRTY;
  return spec;
}

function scriptCommand(scripts: LuaScripts, args: Buffer[]): Buffer {
  const sub = args[1].toString('latin1').toLowerCase();
  if (sub === 'load') {
    const loaded = scripts.load(args[2]);
    if ('error' in loaded) return loaded.error;
    return Buffer.from(`$40\r\n${loaded.sha}\r\n`);
  }
  if (sub === 'exists') return array(args.slice(2).map((a) => integer(scripts.has(a.toString('latin1')) ? 1 : 0)));
  if (sub === 'flush') {
    scripts.flush();
    return Buffer.from('+OK\r\n');
  }
  return err(`unknown subcommand '${sub}'`);
}

const UNKNOWN = err('Unknown Redis command called from script');
const WRONG_ARGS = err('Wrong number of args calling Redis command from script');
const NOT_ALLOWED = err('This Redis command is not allowed from script');
const WRITE_IN_RO = err('Write commands are not allowed from read-only scripts.');
const NON_LOCAL = err('Script attempted to access a non local key in a cluster node');

/**
 * Checks one redis.call before it runs: a command Redis knows and cairn runs on a shard, its arity,
 * no write from EVAL_RO, and (on the shard path, `shard` ≥ 0) every key on this shard. The spec to
 * run, or the error reply.
 */
export function checkScriptCall(args: Buffer[], readOnly: boolean, shard: number, shards: number): CommandSpec | Buffer {
  let spec = COMMANDS.get(commandName(args[0]));
  if (spec === undefined) return UNKNOWN;
  if (spec.subcommands !== undefined && args.length >= 2) {
    spec = spec.subcommands.get(commandName(args[1]));
    if (spec === undefined) return UNKNOWN;
  }
  if (!arityOk(spec, args.length)) return WRONG_ARGS;
  if (spec.flags.includes('noscript') || spec.route === 'all' || spec.route === 'scan' || spec.route === 'script') return NOT_ALLOWED;
  if (readOnly && spec.flags.includes('write')) return WRITE_IN_RO;
  if (spec.flags.includes('blocking') && (spec.name === 'xread' || spec.name === 'xreadgroup') && mayBlock(spec.name, args)) {
    return err(`${spec.name.toUpperCase()} command is not allowed with BLOCK option from scripts`);
  }
  if (shards > 1 && shard >= 0) for (const i of keyIndexes(spec, args.length, args)) if (shardOf(args[i], shards) !== shard) return NON_LOCAL;
  return spec;
}
