/**
 * One shard's Lua interpreter for EVAL (fengari: Lua 5.3 in JavaScript, chosen in README's
 * dependency list), set up to look like Redis 7.0's Lua 5.1: the `redis` table, `unpack`,
 * `loadstring`, and the `cjson`, `bit`, `cmsgpack` and `struct` libraries (the last two in
 * lua-libs/). Scripts are compiled once and kept by SHA1.
 * `redis.call` hands a command's arguments to a synchronous dispatcher (the shard's own command path,
 * src/resp/scripting.ts) and converts its RESP reply to Lua; a script's return value is converted back
 * to RESP by Redis' rules. The interpreter is the shard's, so a script runs to its end inside one ring
 * message: nothing else on the shard runs meanwhile.
 *
 * The acceptor runs a script that reaches several shards step by step instead (`start`, `resume`:
 * the script is a coroutine, and each `redis.call` yields its command, to be resumed with the
 * command's reply), while it holds every shard (src/resp/scripting.ts). Both ways share the checks
 * of a call's arguments and the conversions of replies and results below.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import './fengari-conf.js';
import './fengari-numbers.js';
import { lauxlib, lua, lualib, to_luastring } from 'fengari';
import { openCmsgpack } from './lua-libs/cmsgpack.js';
import { openStruct } from './lua-libs/struct.js';

delete process.env.FENGARICONF;

// fengari's own string push (lua_pushlstring) copies the bytes with Uint8Array.from, which walks them
// one by one through the iterator protocol: a tenth of a small script's run. pushBytes below makes the
// same copy (a plain Uint8Array, owned by the new Lua string) in one memcpy and pushes it as fengari does.
const require = createRequire(import.meta.url);
const lstring = require('fengari/src/lstring.js') as { luaS_bless: (L: L, s: Uint8Array) => unknown };
const lobject = require('fengari/src/lobject.js') as { pushsvalue2s: (L: L, ts: unknown) => void };

/** what runs a script's redis.call: one command's RESP reply (or an error reply), and the time limit */
export interface ScriptCaller {
  /** `readOnly` for EVAL_RO and EVALSHA_RO */
  dispatch(args: Buffer[], readOnly: boolean): Buffer;
  /** stop the script after this many ms (Redis' lua-time-limit; see docs/commands.md) */
  timeLimitMs: number;
}

type L = unknown;

/**
 * One step of a script run step by step: the command a redis.call waits for, a pause (the script ran
 * PAUSE_AFTER_MS without a call: its caller lets its thread breathe, then resumes it with null), or
 * the script's reply.
 */
export type ScriptStep = { call: Buffer[] } | { pause: true } | { reply: Buffer };

/** a step-by-step script computing this long without a redis.call pauses (checked by the count hook) */
const PAUSE_AFTER_MS = 5;

/**
 * A script run step by step (LuaScripts.start): its own Lua thread, resumed after each command.
 * `stop` ends it at its next step with that error (SCRIPT KILL, the time limit).
 */
export class ScriptRun {
  stop: string | null = null;
  /** the run has ended (its reply was given) */
  done = false;
  /** performance.now() of the last resume */
  resumedAt = 0;

  constructor(
    readonly co: L,
    readonly thread: number,
    readonly sha: string,
    readonly keys: Buffer[],
    readonly argv: Buffer[],
    readonly readOnly: boolean,
    readonly deadline: number,
  ) {}
}

const TIMED_OUT = 'ERR Script timed out: it ran longer than lua-time-limit and was stopped';

const LIBS: [string, (l: L) => number][] = [
  ['_G', lualib.luaopen_base],
  ['table', lualib.luaopen_table],
  ['string', lualib.luaopen_string],
  ['math', lualib.luaopen_math],
];

/** Redis' `bit` (LuaBitOp) on Lua 5.3's integer operators: 32-bit results, signed */
const BIT_LIB = `
local function tobit(x)
  local i = math.tointeger(x)
  if i then return i end
  -- a float beyond fengari's 32-bit integers: its value modulo 2^32, read as signed (LuaBitOp's rule)
  x = math.fmod(math.floor(x), 4294967296)
  if x >= 2147483648 then x = x - 4294967296 elseif x < -2147483648 then x = x + 4294967296 end
  return math.tointeger(x) or 0
end
local function fold(op)
  return function(a, ...)
    local r = tobit(a)
    for i = 1, select('#', ...) do r = tobit(op(r, tobit((select(i, ...))))) end
    return r
  end
end
bit = {
  tobit = tobit,
  band = fold(function(a, b) return a & b end),
  bor = fold(function(a, b) return a | b end),
  bxor = fold(function(a, b) return a ~ b end),
  bnot = function(a) return tobit(~tobit(a)) end,
  lshift = function(a, n) return tobit((tobit(a) & 0xffffffff) << (tobit(n) & 31)) end,
  rshift = function(a, n) return tobit((tobit(a) & 0xffffffff) >> (tobit(n) & 31)) end,
  arshift = function(a, n) return tobit(tobit(a) >> (tobit(n) & 31) | (tobit(a) < 0 and ~(0xffffffff >> (tobit(n) & 31)) or 0)) end,
  rol = function(a, n) a = tobit(a) & 0xffffffff; n = tobit(n) & 31; return tobit((a << n) | (a >> (32 - n))) end,
  ror = function(a, n) a = tobit(a) & 0xffffffff; n = tobit(n) & 31; return tobit((a >> n) | (a << (32 - n))) end,
  bswap = function(a) a = tobit(a) & 0xffffffff; return tobit(((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >> 8) & 0xff00) | (a >> 24)) end,
  tohex = function(a, n) n = n or 8; local up = n < 0; if up then n = -n end; local s = string.format(up and '%08X' or '%08x', tobit(a) & 0xffffffff); return s:sub(-n) end,
}
-- Lua 5.1 has doubles only: a number read from a string is one here too (fengari's integers are 32-bit)
local tonumber51 = tonumber
tonumber = function(v, base)
  local n = tonumber51(v, base)
  if n ~= nil and base == nil then return n + 0.0 end
  return n
end
unpack = table.unpack
loadstring = load
math.mod = math.fmod
`;

/**
 * Redis 7's global protection: scripts see the globals through an empty proxy, so any assignment to
 * a global (new or existing) fails with Redis' text, and reading one that does not exist fails too.
 * rawset on the proxy fails as Redis' read-only table does. Returns the proxy, which becomes the
 * globals of every script and of load().
 */
const PROTECT_GLOBALS = `
local G = _G
local P = {}
local rawset0 = rawset
rawset = function(t, k, v)
  if t == P then error('Attempt to modify a readonly table', 0) end
  return rawset0(t, k, v)
end
rawset0(G, '_G', P)
setmetatable(G, { __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end })
setmetatable(P, { __index = G, __newindex = function() error('Attempt to modify a readonly table', 2) end, __metatable = false })
return P
`;

/**
 * Strings the hot path uses as table keys, pushed once and kept in the registry: fengari hashes a
 * string key by building a JS string from its bytes the first time a TString is used as one, so a
 * key made fresh per call (lua_setfield, lua_setglobal) costs that hash on every script.
 */
interface Interned {
  ok: number;
  err: number;
  keys: number;
  argv: number;
  /** the error handler of every run (one closure, not one per run) */
  handler: number;
  /** the globals table scripts read through (KEYS and ARGV are set in it) */
  globals: number;
}

export class LuaScripts {
  private readonly L: L;
  private readonly refs = new Map<string, number>();
  private caller: ScriptCaller = noCaller;
  private readOnly = false;
  private readonly k: Interned;
  private deadline = 0;
  private errLine = 0;
  private readonly ar = new lua.lua_Debug();
  /** the run being resumed (its redis.call yields), null for a run inside one call (the shard's) */
  private active: ScriptRun | null = null;
  /** whose KEYS and ARGV the globals hold */
  private argsOf: ScriptRun | null = null;
  private pendingCall: Buffer[] | null = null;
  private pendingReply: Buffer = NIL;

  constructor() {
    const L = lauxlib.luaL_newstate();
    this.L = L;
    for (const [name, open] of LIBS) {
      lauxlib.luaL_requiref(L, to_luastring(name), open, 1);
      lua.lua_pop(L, 1);
    }
    for (const name of ['dofile', 'loadfile', 'print', 'require', 'collectgarbage']) {
      lua.lua_pushnil(L);
      lua.lua_setglobal(L, to_luastring(name));
    }
    const intern = (s: string): number => {
      pushBytes(L, Buffer.from(s, 'latin1'));
      return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    };
    lua.lua_pushjsfunction(L, this.handler);
    const handler = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    const globals = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.k = { ok: intern('ok'), err: intern('err'), keys: intern('KEYS'), argv: intern('ARGV'), handler, globals };
    interned.set(globalOf(L), this.k);
    this.openRedis();
    this.openCjson();
    openCmsgpack(L);
    openStruct(L);
    if (lauxlib.luaL_dostring(L, to_luastring(BIT_LIB)) !== 0) throw new Error(lua.lua_tojsstring(L, -1));
    // last: from here on the real globals (this.k.globals) are reached only through the proxy
    if (lauxlib.luaL_dostring(L, to_luastring(PROTECT_GLOBALS)) !== 0) throw new Error(lua.lua_tojsstring(L, -1));
    lua.lua_rawseti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_settop(L, 0);
  }

  /** the script's SHA1, compiled and cached, or the compile error reply */
  load(body: Buffer): { sha: string } | { error: Buffer } {
    const sha = sha1hex(body);
    if (this.refs.has(sha)) return { sha };
    const L = this.L;
    if (lauxlib.luaL_loadbuffer(L, body, body.length, to_luastring('@user_script')) !== 0) {
      const msg = lua.lua_tojsstring(L, -1);
      lua.lua_pop(L, 1);
      // Lua 5.1 quotes the end of input as any other token
      return { error: errorReply(`ERR Error compiling script (new function): ${msg.replace(/ near <eof>$/, " near '<eof>'")}`) };
    }
    this.refs.set(sha, lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX));
    return { sha };
  }

  has(sha: string): boolean {
    return this.refs.has(sha.toLowerCase());
  }

  flush(): void {
    for (const ref of this.refs.values()) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
    this.refs.clear();
  }

  private refOf(sha: string): number | undefined {
    return this.refs.get(sha) ?? this.refs.get(sha.toLowerCase());
  }

  /** KEYS and ARGV of the next run */
  private setArgs(keys: Buffer[], argv: Buffer[]): void {
    const L = this.L;
    const k = this.k;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, k.globals);
    this.setArray(k.keys, keys);
    this.setArray(k.argv, argv);
    lua.lua_settop(L, 0);
  }

  /** runs a cached script; null when the SHA is not cached */
  run(sha: string, keys: Buffer[], argv: Buffer[], readOnly: boolean, caller: ScriptCaller): Buffer | null {
    const ref = this.refOf(sha);
    if (ref === undefined) return null;
    const L = this.L;
    const k = this.k;
    this.setArgs(keys, argv);
    this.argsOf = null;
    this.caller = caller;
    this.readOnly = readOnly;
    this.deadline = caller.timeLimitMs > 0 ? performance.now() + caller.timeLimitMs : Number.POSITIVE_INFINITY;
    this.errLine = 0;
    lua.lua_sethook(L, this.hook, lua.LUA_MASKCOUNT, 10000);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, k.handler);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    const status = lua.lua_pcall(L, 0, 1, -2);
    lua.lua_sethook(L, null, 0, 0);
    let reply: Buffer;
    if (status === 0) reply = toResp(L, -1);
    else reply = errorReply(`${errorText(L, -1)} script: ${sha.toLowerCase()}, on @user_script:${this.errLine}.`);
    lua.lua_settop(L, 0);
    this.caller = noCaller;
    return reply;
  }

  /**
   * Starts a cached script as a coroutine, run by `resume` up to each redis.call; null when the SHA
   * is not cached. `deadline` (performance.now() time) stops it as the time limit does.
   */
  start(sha: string, keys: Buffer[], argv: Buffer[], readOnly: boolean, deadline: number): ScriptRun | null {
    const ref = this.refOf(sha);
    if (ref === undefined) return null;
    const L = this.L;
    const co = lua.lua_newthread(L);
    const thread = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_rawgeti(co, lua.LUA_REGISTRYINDEX, ref);
    return new ScriptRun(co, thread, sha.toLowerCase(), keys, argv, readOnly, deadline);
  }

  /**
   * Runs a started script up to its next redis.call (the command to send) or its end (the reply).
   * `reply` answers the redis.call it stopped at (null on the first step).
   */
  resume(run: ScriptRun, reply: Buffer | null): ScriptStep {
    const co = run.co;
    if (run.done) return { reply: errorReply('ERR script already ended') };
    if (this.argsOf !== run) {
      this.setArgs(run.keys, run.argv);
      this.argsOf = run;
    }
    this.active = run;
    this.readOnly = run.readOnly;
    this.deadline = run.deadline;
    this.pendingReply = reply ?? NIL;
    this.pendingCall = null;
    run.resumedAt = performance.now();
    lua.lua_sethook(co, this.hook, lua.LUA_MASKCOUNT, 10000);
    let status: number;
    try {
      status = lua.lua_resume(co, this.L, 0);
    } finally {
      this.active = null;
      this.readOnly = false;
    }
    if (status === lua.LUA_YIELD) return this.pendingCall !== null ? { call: this.pendingCall } : { pause: true };
    let out: Buffer;
    if (status === lua.LUA_OK) out = lua.lua_gettop(co) > 0 ? toResp(co, 1) : NIL;
    else {
      // an error leaves the dead thread's stack full: room for reading the error table
      lua.lua_checkstack(co, 4);
      out = errorReply(`${errorText(co, -1)} script: ${run.sha}, on @user_script:${this.scriptLine(co, 0)}.`);
    }
    this.end(run);
    return { reply: out };
  }

  /** Lets go of a run's thread (its end, or its caller giving up on it). */
  end(run: ScriptRun): void {
    if (run.done) return;
    run.done = true;
    lua.lua_settop(run.co, 0);
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, run.thread);
    if (this.argsOf === run) this.argsOf = null;
  }

  /** the line of the script the stack of L is in, from `level` up (0: none found) */
  private scriptLine(L: L, level: number): number {
    for (; lua.lua_getstack(L, level, this.ar) === 1; level++) {
      lua.lua_getinfo(L, to_luastring('Sl'), this.ar);
      if (this.ar.currentline > 0 && this.ar.source !== null && Buffer.from(this.ar.source).toString('latin1') === '@user_script') {
        return this.ar.currentline;
      }
    }
    return 0;
  }

  /** the message handler: remembers the script line an error came from */
  private readonly handler = (L: L): number => {
    this.errLine = this.scriptLine(L, 1);
    return 1;
  };

  private readonly hook = (L: L): void => {
    const run = this.active;
    if (run !== null && run.stop !== null) raiseErr(L, run.stop);
    const now = performance.now();
    if (now > this.deadline) raiseErr(L, TIMED_OUT);
    // a step-by-step run gives its thread back now and then (where Lua can yield: not inside a JS callback such as string.gsub's)
    if (run !== null && now - run.resumedAt > PAUSE_AFTER_MS && lua.lua_isyieldable(L)) lua.lua_yield(L, 0);
  };

  /** a step-by-step run's redis.call resumed: its command's reply, or why the run stops here */
  private readonly answerCall = (L: L, _status: number, raise: number): number => {
    const run = this.active;
    if (run !== null && run.stop !== null) raiseErr(L, run.stop);
    if (performance.now() > this.deadline) raiseErr(L, TIMED_OUT);
    return this.answer(L, this.pendingReply, raise === 1);
  };

  /** globals[name] = items as a Lua array; the globals table is on the top of the stack */
  private setArray(name: number, items: Buffer[]): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, name);
    lua.lua_createtable(L, items.length, 0);
    for (let i = 0; i < items.length; i++) {
      pushBytes(L, items[i]);
      lua.lua_rawseti(L, -2, i + 1);
    }
    lua.lua_rawset(L, -3);
  }

  private openRedis(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 8);
    const fn = (name: string, f: (l: L) => number) => {
      lua.lua_pushjsfunction(L, f);
      lua.lua_setfield(L, -2, to_luastring(name));
    };
    fn('call', (l) => this.call(l, true));
    fn('pcall', (l) => this.call(l, false));
    fn('error_reply', (l) => {
      const text = Buffer.from(lauxlib.luaL_checklstring(l, 1)).toString('latin1');
      return statusTable(l, 'err', text.startsWith('-') ? text.slice(1) : `ERR ${text}`);
    });
    fn('status_reply', (l) => statusTable(l, 'ok', Buffer.from(lauxlib.luaL_checklstring(l, 1)).toString('latin1')));
    fn('sha1hex', (l) => {
      lua.lua_pushliteral(l, sha1hex(Buffer.from(lauxlib.luaL_checklstring(l, 1))));
      return 1;
    });
    fn('log', () => 0); // cairn keeps no Redis log file: accepted and dropped
    fn('setresp', () => 0);
    fn('replicate_commands', (l) => {
      lua.lua_pushboolean(l, true);
      return 1;
    });
    fn('set_repl', () => 0);
    for (const [name, v] of [
      ['LOG_DEBUG', 0],
      ['LOG_VERBOSE', 1],
      ['LOG_NOTICE', 2],
      ['LOG_WARNING', 3],
      ['REPL_NONE', 0],
      ['REPL_AOF', 1],
      ['REPL_SLAVE', 2],
      ['REPL_REPLICA', 2],
      ['REPL_ALL', 3],
    ] as const) {
      lua.lua_pushinteger(L, v);
      lua.lua_setfield(L, -2, to_luastring(name));
    }
    lua.lua_setglobal(L, to_luastring('redis'));
  }

  /** redis.call (raise) and redis.pcall (return the error table): run now, or yielded to the acceptor */
  private call(L: L, raise: boolean): number {
    const n = lua.lua_gettop(L);
    if (n === 0) return fail(L, raise, 'ERR Please specify at least one argument for this redis lib call');
    const args: Buffer[] = new Array(n);
    for (let i = 1; i <= n; i++) {
      const t = lua.lua_type(L, i);
      if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) {
        return fail(L, raise, 'ERR Lua redis lib command arguments must be strings or integers');
      }
      args[i - 1] = luaBytes(L, i);
    }
    if (this.active !== null) {
      this.pendingCall = args;
      lua.lua_settop(L, 0);
      return lua.lua_yieldk(L, 0, raise ? 1 : 0, this.answerCall);
    }
    return this.answer(L, this.caller.dispatch(args, this.readOnly), raise);
  }

  /** a command's reply as redis.call's (and redis.pcall's) result */
  private answer(L: L, reply: Buffer, raise: boolean): number {
    lua.lua_settop(L, 0);
    if (reply[0] === 0x2d) return fail(L, raise, reply.toString('latin1', 1, reply.length - 2));
    replyPos.at = 0;
    pushReply(L, reply, replyPos);
    return 1;
  }

  private openCjson(): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 3);
    lua.lua_pushjsfunction(L, (l: L) => {
      lauxlib.luaL_checkany(l, 1);
      let text: string;
      try {
        text = JSON.stringify(toJson(l, 1, 0));
      } catch (e) {
        return lauxlib.luaL_error(l, to_luastring(e instanceof Error ? e.message : String(e)));
      }
      pushBytes(l, Buffer.from(text, 'utf8'));
      return 1;
    });
    lua.lua_setfield(L, -2, to_luastring('encode'));
    lua.lua_pushjsfunction(L, (l: L) => {
      const text = Buffer.from(lauxlib.luaL_checklstring(l, 1)).toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        return lauxlib.luaL_error(l, to_luastring(`Expected value but found invalid token: ${e instanceof Error ? e.message : ''}`));
      }
      pushJson(l, value);
      return 1;
    });
    lua.lua_setfield(L, -2, to_luastring('decode'));
    lua.lua_pushlightuserdata(L, CJSON_NULL);
    lua.lua_setfield(L, -2, to_luastring('null'));
    lua.lua_setglobal(L, to_luastring('cjson'));
  }
}

const CJSON_NULL = {};
const noCaller: ScriptCaller = { dispatch: () => Buffer.from('-ERR no script is running\r\n'), timeLimitMs: 0 };
/** each interpreter's interned keys, for the conversions below (one interpreter per shard) */
const interned = new WeakMap<object, Interned>();

function keysOf(L: L): Interned {
  return interned.get(globalOf(L)) as Interned;
}

/** the state every thread of one interpreter shares (a coroutine's conversions find the interned keys by it) */
function globalOf(L: L): object {
  return (L as { l_G: object }).l_G;
}

export function sha1hex(body: Uint8Array): string {
  return createHash('sha1').update(body).digest('hex');
}

function errorReply(text: string): Buffer {
  return Buffer.from(`-${text.replace(/[\r\n]+/g, ' ')}\r\n`, 'latin1');
}

/** pushes a copy of b as a Lua string (lua_pushlstring's result, without its slow copy) */
function pushBytes(L: L, b: Uint8Array): void {
  if (b.length === 0) lua.lua_pushlstring(L, b, 0);
  else {
    lobject.pushsvalue2s(L, lstring.luaS_bless(L, new Uint8Array(b)));
    // lua_pushlstring's own check: a push past the frame's stack space is a bug here, not the script's
    const s = L as { top: number; ci: { top: number } };
    if (s.top > s.ci.top) throw new Error('stack overflow');
  }
}

/** a string or number argument as bytes (Lua's own number formatting for numbers, as Redis) */
function luaBytes(L: L, i: number): Buffer {
  const s: Uint8Array = lua.lua_tolstring(L, i);
  return Buffer.from(s.buffer, s.byteOffset, s.length);
}

function statusTable(L: L, field: 'ok' | 'err', text: string | Buffer): number {
  lua.lua_createtable(L, 0, 1);
  const k = keysOf(L);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, field === 'ok' ? k.ok : k.err);
  pushBytes(L, typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  lua.lua_rawset(L, -3);
  return 1;
}

function raiseErr(L: L, text: string): never {
  statusTable(L, 'err', text);
  lua.lua_error(L); // throws
  throw new Error('unreachable');
}

/** a failed redis.call raises {err=...}; redis.pcall returns it */
function fail(L: L, raise: boolean, text: string): number {
  if (raise) raiseErr(L, text);
  lua.lua_settop(L, 0);
  return statusTable(L, 'err', text);
}

/** the text of an error a script raised: an {err=} table's, or `ERR <message>` */
function errorText(L: L, idx: number): string {
  if (lua.lua_type(L, idx) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, idx, to_luastring('err'));
    const ok = lua.lua_type(L, -1) === lua.LUA_TSTRING;
    const text = ok ? luaBytes(L, -1).toString('latin1') : '';
    lua.lua_pop(L, 1);
    if (ok) return text;
  }
  if (lua.lua_type(L, idx) === lua.LUA_TSTRING || lua.lua_type(L, idx) === lua.LUA_TNUMBER) return `ERR ${luaBytes(L, idx).toString('latin1')}`;
  return 'ERR unknown error';
}

// ------------------------------------------------------------------------------------------------
// Conversion, both ways, by Redis' rules.

function lineEnd(reply: Buffer, from: number): number {
  const end = reply.indexOf(0x0d, from);
  return end < 0 ? reply.length : end;
}

const replyPos = { at: 0 };

/** the integer of a reply's header line (digits after the type byte, up to CR) */
function headerNumber(reply: Buffer, from: number, end: number): number {
  let i = from;
  const negative = reply[i] === 0x2d;
  if (negative) i++;
  let n = 0;
  for (; i < end; i++) n = n * 10 + (reply[i] - 0x30);
  return negative ? -n : n;
}

/** pushes the RESP reply at pos.at as a Lua value and moves pos.at past it */
function pushReply(L: L, reply: Buffer, pos: { at: number }): void {
  const type = reply[pos.at];
  const start = pos.at + 1;
  const end = lineEnd(reply, start);
  pos.at = end + 2;
  switch (type) {
    case 0x3a: // ':' integer, a double as in Lua 5.1 (fengari's integers are 32-bit)
      lua.lua_pushnumber(L, end - start < 16 ? headerNumber(reply, start, end) : Number(reply.toString('latin1', start, end)));
      return;
    case 0x24: {
      // '$' bulk
      const n = headerNumber(reply, start, end);
      if (n < 0) {
        lua.lua_pushboolean(L, false);
        return;
      }
      pushBytes(L, reply.subarray(pos.at, pos.at + n));
      pos.at += n + 2;
      return;
    }
    case 0x2a: {
      // '*' array
      const n = headerNumber(reply, start, end);
      if (n < 0) {
        lua.lua_pushboolean(L, false);
        return;
      }
      lua.lua_createtable(L, n, 0);
      for (let i = 1; i <= n; i++) {
        pushReply(L, reply, pos);
        lua.lua_rawseti(L, -2, i);
      }
      return;
    }
    case 0x2b: // '+' status
      statusTable(L, 'ok', reply.subarray(start, end));
      return;
    case 0x2d: // '-' error inside an array
      statusTable(L, 'err', reply.subarray(start, end));
      return;
    default:
      lua.lua_pushboolean(L, false);
  }
}

/** the Lua value at idx as a RESP reply (Redis: number truncated, table an array up to its first nil) */
function toResp(L: L, idx: number): Buffer {
  const parts: Buffer[] = [];
  appendResp(L, lua.lua_absindex(L, idx), parts);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

const NIL = Buffer.from('$-1\r\n');

function appendResp(L: L, idx: number, out: Buffer[]): void {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TSTRING: {
      const b = luaBytes(L, idx);
      out.push(Buffer.from(`$${b.length}\r\n`), Buffer.from(b), Buffer.from('\r\n'));
      return;
    }
    case lua.LUA_TNUMBER: {
      // C's (long long) cast as Redis does it on x86-64: out of range (NaN, inf too) is INT64_MIN
      const v = lua.lua_isinteger(L, idx) ? lua.lua_tointeger(L, idx) : Math.trunc(lua.lua_tonumber(L, idx));
      if (v >= -0x7fffffff && v <= 0x7fffffff) {
        out.push(Buffer.from(`:${v}\r\n`, 'latin1'));
        return;
      }
      out.push(Buffer.from(`:${Math.abs(v) < 2 ** 63 ? BigInt(v).toString() : '-9223372036854775808'}\r\n`));
      return;
    }
    case lua.LUA_TBOOLEAN:
      out.push(lua.lua_toboolean(L, idx) ? Buffer.from(':1\r\n') : NIL);
      return;
    case lua.LUA_TTABLE: {
      const k = keysOf(L);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, k.err);
      lua.lua_gettable(L, idx);
      if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
        out.push(errorReply(luaBytes(L, -1).toString('latin1')));
        lua.lua_pop(L, 1);
        return;
      }
      lua.lua_pop(L, 1);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, k.ok);
      lua.lua_gettable(L, idx);
      if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
        out.push(
          Buffer.from(
            `+${luaBytes(L, -1)
              .toString('latin1')
              .replace(/[\r\n]+/g, ' ')}\r\n`,
            'latin1',
          ),
        );
        lua.lua_pop(L, 1);
        return;
      }
      lua.lua_pop(L, 1);
      const head = out.length;
      out.push(NIL); // replaced by the count
      let n = 0;
      for (;;) {
        lua.lua_rawgeti(L, idx, n + 1);
        if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
          lua.lua_pop(L, 1);
          break;
        }
        appendResp(L, lua.lua_gettop(L), out);
        lua.lua_pop(L, 1);
        n++;
      }
      out[head] = Buffer.from(`*${n}\r\n`);
      return;
    }
    default:
      out.push(NIL);
  }
}

const MAX_JSON_DEPTH = 1000;

function toJson(L: L, idx: number, depth: number): unknown {
  idx = lua.lua_absindex(L, idx);
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TNIL:
      return null;
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx);
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, idx);
    case lua.LUA_TSTRING:
      return luaBytes(L, idx).toString('utf8');
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, idx) === CJSON_NULL) return null;
      break;
    case lua.LUA_TTABLE: {
      if (depth > MAX_JSON_DEPTH) throw new Error('Cannot serialise, excessive nesting (1001)');
      // an array when its keys are exactly 1..n (n > 0), as cjson
      const obj: Record<string, unknown> = {};
      const arr: unknown[] = [];
      let isArray = true;
      let count = 0;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, idx) !== 0) {
        count++;
        const keyType = lua.lua_type(L, -2);
        const value = toJson(L, -1, depth + 1);
        if (keyType === lua.LUA_TNUMBER && lua.lua_isinteger(L, -2) && lua.lua_tointeger(L, -2) >= 1) arr[lua.lua_tointeger(L, -2) - 1] = value;
        else isArray = false;
        if (keyType === lua.LUA_TSTRING || keyType === lua.LUA_TNUMBER) {
          lua.lua_pushvalue(L, -2);
          obj[luaBytes(L, -1).toString('utf8')] = value;
          lua.lua_pop(L, 1);
        } else throw new Error('Cannot serialise table: table key must be a number or string');
        lua.lua_pop(L, 1);
      }
      if (isArray && count > 0 && arr.length === count) return arr;
      return obj;
    }
  }
  throw new Error(`Cannot serialise ${Buffer.from(lua.lua_typename(L, lua.lua_type(L, idx))).toString()}: type not supported`);
}

function pushJson(L: L, v: unknown): void {
  if (v === null) lua.lua_pushlightuserdata(L, CJSON_NULL);
  else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
  else if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) lua.lua_pushinteger(L, v);
    else lua.lua_pushnumber(L, v);
  } else if (typeof v === 'string') pushBytes(L, Buffer.from(v, 'utf8'));
  else if (Array.isArray(v)) {
    lua.lua_createtable(L, v.length, 0);
    v.forEach((item, i) => {
      pushJson(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else {
    const entries = Object.entries(v as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, item] of entries) {
      pushBytes(L, Buffer.from(k, 'utf8'));
      pushJson(L, item);
      lua.lua_rawset(L, -3);
    }
  }
}
