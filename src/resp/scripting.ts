/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the acceptor's routing (a script runs on the shard
 * owning its KEYS, shard 0 without keys) and the shard's side (the shard's Lua interpreter, lua.ts,
 * with redis.call running commands through the shard's own command path, synchronously, inside the
 * ring message that carried the script: a script is atomic).
 */
import { shardOf } from '../hash.js';
import { COMMANDS, arityOk, commandName, keyIndexes, type CommandSpec } from '../commands/table.js';
import type { ConnState, Plan } from '../front/plan.js';
import { array, command, err, errCode, integer } from './encode.js';
import { SYNTAX } from './errors.js';
import { type LuaScripts, type ScriptCaller, sha1hex } from './lua.js';
import { isErrorReply, readArrayHeader } from './replies.js';

export const NOSCRIPT = errCode('NOSCRIPT No matching script. Please use EVAL.');
const NEGATIVE_KEYS = err("Number of keys can't be negative");
const TOO_MANY_KEYS = err("Number of keys can't be greater than number of args");
const NOT_INTEGER = err('value is not an integer or out of range');
export const CROSS_SHARD = err('EVAL keys must be on one shard: give keys a shared {hash tag} so they hash to one shard (see docs/commands.md)');
/** Redis' lua-time-limit default: a script running longer is stopped (docs/commands.md) */
export const SCRIPT_TIME_LIMIT_MS = 5000;

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
  add(body: Buffer, shard: number | 'all', shards: number): string {
    const sha = sha1hex(body);
    let entry = this.scripts.get(sha);
    if (entry === undefined) {
      entry = { body: Buffer.from(body), shards: new Set() };
      this.scripts.set(sha, entry);
    }
    if (shard === 'all') for (let s = 0; s < shards; s++) entry.shards.add(s);
    else entry.shards.add(shard);
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

/** EVAL and friends: the shard owning all KEYS (shard 0 with none); SCRIPT: every shard */
export function planScript(spec: CommandSpec, args: Buffer[], raw: Buffer, conn: ConnState): Plan {
  if (spec.name.startsWith('script|')) return planScriptCommand(spec.name, args, conn);
  const n = numKeys(args);
  if (typeof n !== 'number') return { kind: 'local', reply: n };
  let shard = 0;
  for (let i = 0; i < n; i++) {
    const s = conn.shards === 1 ? 0 : shardOf(args[3 + i], conn.shards);
    if (i === 0) shard = s;
    else if (s !== shard) return { kind: 'local', reply: CROSS_SHARD };
  }
  const key = n > 0 ? args[3] : args[1];
  const registry = registryOf(conn);
  if (spec.name === 'eval' || spec.name === 'eval_ro') {
    if (registry.scripts.get(sha1hex(args[1]))?.shards.has(shard) === true) return { kind: 'shard', key, shard, raw };
    // remembered once compiled: an EVALSHA of a script that did not compile is NOSCRIPT, as in Redis
    const body = Buffer.from(args[1]);
    return { kind: 'one', shard, raw, join: (reply) => remember(registry, reply, body, shard, conn.shards) };
  }
  const entry = registry.scripts.get(args[1].toString('latin1').toLowerCase());
  if (entry !== undefined && !entry.shards.has(shard)) {
    entry.shards.add(shard);
    const rewritten = command([Buffer.from(spec.name === 'evalsha' ? 'EVAL' : 'EVAL_RO'), entry.body, ...args.slice(2)]);
    return { kind: 'shard', key, shard, raw: rewritten };
  }
  return { kind: 'shard', key, shard, raw };
}

function planScriptCommand(name: string, args: Buffer[], conn: ConnState): Plan {
  const raw = command(args);
  switch (name) {
    case 'script|load': {
      const registry = registryOf(conn);
      const body = Buffer.from(args[2]);
      return { kind: 'all', raw, join: (replies) => remember(registry, replies.find(isErrorReply) ?? replies[0], body, 'all', conn.shards) };
    }
    case 'script|exists':
      return { kind: 'all', raw, join: joinExists };
    case 'script|flush': {
      const mode = args.length === 3 ? args[2].toString('latin1').toLowerCase() : 'sync';
      if (args.length > 3 || (mode !== 'sync' && mode !== 'async')) return { kind: 'local', reply: SYNTAX };
      registryOf(conn).scripts.clear();
      return { kind: 'all', raw, join: (replies) => replies.find(isErrorReply) ?? replies[0] };
    }
    default: // script|kill: a script never outlives its ring message here (docs/commands.md)
      return { kind: 'local', reply: errCode('NOTBUSY No scripts in execution right now.') };
  }
}

/** a script's body for later EVALSHAs, unless its shard refused to compile it; the reply as is */
function remember(registry: ScriptRegistry, reply: Buffer, body: Buffer, shard: number | 'all', shards: number): Buffer {
  if (!reply.subarray(0, COMPILE_ERROR.length).equals(COMPILE_ERROR)) registry.add(body, shard, shards);
  return reply;
}

const COMPILE_ERROR = Buffer.from('-ERR Error compiling script');

/** SCRIPT EXISTS across shards: 1 where any shard holds the script */
function joinExists(replies: Buffer[]): Buffer {
  let out: number[] | null = null;
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
}

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
  const reply = host.scripts.run(sha, args.slice(3, 3 + n), args.slice(3 + n), readOnly, host);
  return reply ?? NOSCRIPT;
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
 * Checks one redis.call before the shard runs it: a command Redis knows and cairn runs on a shard,
 * its arity, no write from EVAL_RO, and every key on this shard (as Redis Cluster refuses a key of
 * another node). The spec to run, or the error reply.
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
  if (shards > 1) for (const i of keyIndexes(spec, args.length, args)) if (shardOf(args[i], shards) !== shard) return NON_LOCAL;
  return spec;
}
