/**
 * The two Lua runtimes cairn could embed for EVAL, measured side by side: VM start-up time and heap
 * per VM, and EVALSHA-like calls per second of a small script that reads one key and writes one key
 * through a redis.call callback into JavaScript (a Map stands in for the store, the same for both).
 *
 *   npx tsc -p tsconfig.json && node --expose-gc dist/bench/lua-runtimes.js
 *
 * cairn kept fengari (README, dependencies); wasmoon is measured when it is installed
 * (`npm install --no-save wasmoon@1.16.0`).
 */
import { lauxlib, lua, lualib, to_luastring } from 'fengari';

const SCRIPT = "local v = redis.call('GET', KEYS[1]) or '0'; redis.call('SET', KEYS[2], v .. ARGV[1]); return #v";
const CALLS = 20000;
const VMS = 20;

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed + process.memoryUsage().external + process.memoryUsage().arrayBuffers;
}

async function wasmoon(): Promise<Record<string, string> | null> {
  const name = 'wasmoon';
  // biome-ignore lint/suspicious/noExplicitAny: an optional module without types here
  const mod: any = await import(name).catch(() => null);
  if (mod === null) return null;
  const factory = new mod.LuaFactory();
  let t0 = performance.now();
  await factory.getLuaModule();
  const moduleMs = performance.now() - t0;
  const h0 = heap();
  t0 = performance.now();
  const engines = [];
  for (let i = 0; i < VMS; i++) engines.push(await factory.createEngine({ injectObjects: false, enableProxy: false }));
  const startMs = (performance.now() - t0) / VMS;
  const perVm = (heap() - h0) / VMS;
  const engine = engines[0];
  for (const e of engines.slice(1)) e.global.close();
  const store = new Map<string, string>();
  engine.global.set('rcall', (cmd: string, key: string, value?: string) => {
    if (cmd === 'GET') return store.get(key) ?? false;
    store.set(key, value as string);
    return 'OK';
  });
  engine.doStringSync(`redis = { call = rcall }; function f(KEYS, ARGV) ${SCRIPT} end`);
  const f = engine.global.get('f') as (k: string[], a: string[]) => number;
  for (let i = 0; i < 1000; i++) f(['a', 'b'], ['x']);
  t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    store.set('a', 'v');
    f(['a', 'b'], ['x']);
  }
  const perSec = CALLS / ((performance.now() - t0) / 1000);
  engine.global.close();
  return {
    runtime: 'wasmoon 1.16.0 (Lua 5.4, wasm)',
    'module load ms': moduleMs.toFixed(1),
    'VM start ms': startMs.toFixed(2),
    'bytes per VM': Math.round(perVm).toString(),
    'calls/s': Math.round(perSec).toString(),
  };
}

function fengariVm(): unknown {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  return L;
}

function fengari(): Record<string, string> {
  const h0 = heap();
  let t0 = performance.now();
  const vms = [];
  for (let i = 0; i < VMS; i++) vms.push(fengariVm());
  const startMs = (performance.now() - t0) / VMS;
  const perVm = (heap() - h0) / VMS;
  const L = vms[0];
  const store = new Map<string, Uint8Array>();
  const key = (i: number) => Buffer.from(lua.lua_tolstring(L, i)).toString('latin1');
  lua.lua_pushjsfunction(L, (S: unknown) => {
    const cmd = lua.lua_tojsstring(S, 1);
    if (cmd === 'GET') {
      const v = store.get(key(2));
      if (v === undefined) lua.lua_pushboolean(S, false);
      else lua.lua_pushlstring(S, v, v.length);
      return 1;
    }
    store.set(key(2), Uint8Array.from(lua.lua_tolstring(S, 3)));
    lua.lua_pushliteral(S, 'OK');
    return 1;
  });
  lua.lua_setglobal(L, to_luastring('rcall'));
  lauxlib.luaL_dostring(L, to_luastring(`redis = { call = rcall }; function f(KEYS, ARGV) ${SCRIPT} end`));
  const a = to_luastring('a');
  const b = to_luastring('b');
  const x = to_luastring('x');
  const fname = to_luastring('f');
  const run = () => {
    lua.lua_getglobal(L, fname);
    lua.lua_createtable(L, 2, 0);
    lua.lua_pushlstring(L, a, 1);
    lua.lua_rawseti(L, -2, 1);
    lua.lua_pushlstring(L, b, 1);
    lua.lua_rawseti(L, -2, 2);
    lua.lua_createtable(L, 1, 0);
    lua.lua_pushlstring(L, x, 1);
    lua.lua_rawseti(L, -2, 1);
    if (lua.lua_pcall(L, 2, 1, 0) !== 0) throw new Error(lua.lua_tojsstring(L, -1));
    lua.lua_pop(L, 1);
  };
  for (let i = 0; i < 1000; i++) run();
  t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    store.set('a', to_luastring('v'));
    run();
  }
  const perSec = CALLS / ((performance.now() - t0) / 1000);
  return {
    runtime: 'fengari 0.1.5 (Lua 5.3, JS)',
    'module load ms': '0 (plain JS)',
    'VM start ms': startMs.toFixed(2),
    'bytes per VM': Math.round(perVm).toString(),
    'calls/s': Math.round(perSec).toString(),
  };
}

const w = await wasmoon();
const rows = w === null ? [fengari()] : [w, fengari()];
console.table(rows);
