/**
 * Redis 7.0's `cmsgpack` (lua-cmsgpack 0.4.0 built for Lua 5.1) for the fengari interpreter of
 * src/resp/lua.ts: pack, unpack, unpack_one, unpack_limit, with its byte choices (integral numbers as
 * the narrowest int, other numbers as float32 when that is exact, strings as str8/16/32, a table as
 * an array when its keys are exactly 1..n) and its error texts. Numbers come back as floats, 5.1's
 * doubles, as the rest of cairn's Lua does. Lua 5.1's C stack limit (8000 slots) is counted here as
 * Redis counts it, so the same input fails at the same place with the same words.
 */
import { lauxlib, lua, to_luastring } from 'fengari';
import { ByteWriter } from './bytes.js';

type L = unknown;

/** Lua 5.1's LUAI_MAXCSTACK: what luaL_checkstack refuses beyond */
const MAX_C_STACK = 8000;
/** tables nested deeper than this pack as nil (lua-cmsgpack's guard against cycles) */
const MAX_NESTING = 16;
const TWO_63 = 2 ** 63;

const out = new ByteWriter();

/**
 * luaL_checkstack as Lua 5.1 does it: `stack overflow (<what>)` past 8000 slots; below that the
 * stack is grown (fengari gives a JS function 20 slots and does not grow them on push)
 */
export function checkStack(L: L, n: number, what: string): void {
  if (lua.lua_gettop(L) + n > MAX_C_STACK || !lua.lua_checkstack(L, n)) lauxlib.luaL_error(L, to_luastring(`stack overflow (${what})`));
}

function encodeInt(n: number): void {
  if (n >= 0) {
    if (n <= 127) out.u8(n);
    else if (n <= 0xff) out.u8(0xcc).u8(n);
    else if (n <= 0xffff) out.u8(0xcd).u16(n);
    else if (n <= 0xffffffff) out.u8(0xce).u32(n);
    else out.u8(0xcf).i64(n);
  } else if (n >= -32) out.u8(n & 0xff);
  else if (n >= -128) out.u8(0xd0).u8(n & 0xff);
  else if (n >= -32768) out.u8(0xd1).u16(n & 0xffff);
  else if (n >= -2147483648) out.u8(0xd2).u32(n >>> 0);
  else out.u8(0xd3).i64(n);
}

function encodeNumber(L: L): void {
  const n = lua.lua_tonumber(L, -1);
  // C's `(int64_t)n == n`: integral and inside int64's range (2^63 itself is not)
  if (Number.isInteger(n) && n >= -TWO_63 && n < TWO_63) encodeInt(n === 0 ? 0 : n);
  else if (Math.fround(n) === n) out.u8(0xca).f32(n);
  else out.u8(0xcb).f64(n);
}

function encodeBytes(b: Uint8Array): void {
  const len = b.length;
  if (len < 32) out.u8(0xa0 | len);
  else if (len <= 0xff) out.u8(0xd9).u8(len);
  else if (len <= 0xffff) out.u8(0xda).u16(len);
  else out.u8(0xdb).u32(len);
  out.bytes(b);
}

function encodeHeader(n: number, fix: number, b16: number): void {
  if (n <= 15) out.u8(fix | n);
  else if (n <= 0xffff) out.u8(b16).u16(n);
  else out.u8(b16 + 1).u32(n);
}

/** lua-cmsgpack's table_is_an_array on 5.1: every key a number, integral, 1..INT_MAX, and max == count */
function isArray(L: L): boolean {
  const top = lua.lua_gettop(L);
  let count = 0;
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2) !== 0) {
    lua.lua_pop(L, 1);
    const n = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : 0;
    if (!(n > 0 && n <= 0x7fffffff && Number.isInteger(n))) {
      lua.lua_settop(L, top);
      return false;
    }
    if (n > max) max = n;
    count++;
  }
  lua.lua_settop(L, top);
  return max === count;
}

/** encodes the value on the top of the stack and pops it */
function encodeTop(L: L, level: number): void {
  checkStack(L, 3, 'in function mp_encode_lua_table_as_map');
  let t = lua.lua_type(L, -1);
  if (t === lua.LUA_TTABLE && level === MAX_NESTING) t = lua.LUA_TNIL;
  switch (t) {
    case lua.LUA_TSTRING:
      encodeBytes(lua.lua_tolstring(L, -1));
      break;
    case lua.LUA_TBOOLEAN:
      out.u8(lua.lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      break;
    case lua.LUA_TNUMBER:
      encodeNumber(L);
      break;
    case lua.LUA_TTABLE:
      if (isArray(L)) {
        const len = lua.lua_rawlen(L, -1);
        encodeHeader(len, 0x90, 0xdc);
        for (let j = 1; j <= len; j++) {
          lua.lua_rawgeti(L, -1, j);
          encodeTop(L, level + 1);
        }
      } else {
        let len = 0;
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2) !== 0) {
          lua.lua_pop(L, 1);
          len++;
        }
        encodeHeader(len, 0x80, 0xde);
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2) !== 0) {
          lua.lua_pushvalue(L, -2);
          encodeTop(L, level + 1);
          encodeTop(L, level + 1);
        }
      }
      break;
    default:
      out.u8(0xc0);
  }
  lua.lua_pop(L, 1);
}

function pack(L: L): number {
  const n = lua.lua_gettop(L);
  if (n === 0) return lauxlib.luaL_argerror(L, 0, to_luastring('MessagePack pack needs input.'));
  out.reset();
  for (let i = 1; i <= n; i++) {
    checkStack(L, 1, 'in function mp_check');
    lua.lua_pushvalue(L, i);
    encodeTop(L, 0);
  }
  const b = out.view();
  lua.lua_pushlstring(L, b, b.length);
  return 1;
}

// ------------------------------------------------------------------------------------------------
// Decoding

const EOF = 1;
const BADFMT = 2;

/** the decoding cursor (one unpack runs at a time on a shard's interpreter) */
const cur: { s: Uint8Array; view: DataView; p: number; err: number } = { s: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), p: 0, err: 0 };

function need(n: number): boolean {
  if (cur.s.length - cur.p < n) {
    cur.err = EOF;
    return false;
  }
  return true;
}

function pushString(L: L, at: number, len: number): boolean {
  if (!need(at + len)) return false;
  lua.lua_pushlstring(L, cur.s.subarray(cur.p + at, cur.p + at + len), len);
  cur.p += at + len;
  return true;
}

/** lua_settable with Lua 5.1's words for the keys a table refuses */
function setTable(L: L): void {
  const keyType = lua.lua_type(L, -2);
  if (keyType === lua.LUA_TNIL || (keyType === lua.LUA_TNUMBER && Number.isNaN(lua.lua_tonumber(L, -2)))) {
    lua.lua_pushliteral(L, keyType === lua.LUA_TNIL ? 'table index is nil' : 'table index is NaN');
    lua.lua_error(L);
  }
  lua.lua_settable(L, -3);
}

/**
 * A table being filled. lua-cmsgpack recurses in C; here the nesting is an explicit stack, so input
 * nested as deep as Lua's stack limit allows (thousands of levels) cannot exhaust the JS stack.
 * step: 0 between entries, 1 while a map's key is decoded, 2 while a value is.
 */
interface Open {
  map: boolean;
  left: number;
  index: number;
  step: 0 | 1 | 2;
}
const open: Open[] = [];
let depth = 0;

function openTable(L: L, map: boolean, len: number): void {
  lua.lua_newtable(L);
  if (!map) checkStack(L, 1, 'in function mp_decode_to_lua_array');
  if (depth === open.length) open.push({ map, left: len, index: 1, step: 0 });
  else {
    const o = open[depth];
    o.map = map;
    o.left = len;
    o.index = 1;
    o.step = 0;
  }
  depth++;
}

/** decodes one whole value (tables and all they hold) onto the stack, or sets cur.err */
function decodeValue(L: L): void {
  depth = 0;
  let done = startValue(L);
  while (cur.err === 0) {
    if (done) {
      if (depth === 0) return;
      const o = open[depth - 1];
      if (o.step === 1) {
        o.step = 2;
        done = startValue(L);
      } else {
        setTable(L);
        o.step = 0;
        done = false;
      }
      continue;
    }
    const o = open[depth - 1];
    if (o.left === 0) {
      depth--;
      done = true;
      continue;
    }
    o.left--;
    if (o.map) o.step = 1;
    else {
      lua.lua_pushnumber(L, o.index++);
      o.step = 2;
    }
    done = startValue(L);
  }
}

/**
 * pushes the value at the cursor: true when it is whole (not a table still to fill, which becomes
 * the top of `open`); on short or bad input sets cur.err instead
 */
function startValue(L: L): boolean {
  if (!need(1)) return false;
  checkStack(L, 1, 'too many return values at once; use unpack_one or unpack_limit instead.');
  const v = cur.view;
  const p = cur.p;
  const b = cur.s[p];
  switch (b) {
    case 0xcc:
    case 0xd0:
      if (!need(2)) return false;
      lua.lua_pushnumber(L, b === 0xcc ? v.getUint8(p + 1) : v.getInt8(p + 1));
      cur.p += 2;
      return true;
    case 0xcd:
    case 0xd1:
      if (!need(3)) return false;
      lua.lua_pushnumber(L, b === 0xcd ? v.getUint16(p + 1) : v.getInt16(p + 1));
      cur.p += 3;
      return true;
    case 0xce:
    case 0xd2:
      if (!need(5)) return false;
      lua.lua_pushnumber(L, b === 0xce ? v.getUint32(p + 1) : v.getInt32(p + 1));
      cur.p += 5;
      return true;
    case 0xcf: // 5.1's lua_pushinteger of the uint64: signed, so 2^63 and up come back negative
    case 0xd3:
      if (!need(9)) return false;
      lua.lua_pushnumber(L, Number(v.getBigInt64(p + 1)));
      cur.p += 9;
      return true;
    case 0xc0:
      lua.lua_pushnil(L);
      cur.p += 1;
      return true;
    case 0xc2:
    case 0xc3:
      lua.lua_pushboolean(L, b === 0xc3);
      cur.p += 1;
      return true;
    case 0xca:
      if (!need(5)) return false;
      lua.lua_pushnumber(L, v.getFloat32(p + 1));
      cur.p += 5;
      return true;
    case 0xcb:
      if (!need(9)) return false;
      lua.lua_pushnumber(L, v.getFloat64(p + 1));
      cur.p += 9;
      return true;
    case 0xd9:
      return need(2) && pushString(L, 2, cur.s[p + 1]);
    case 0xda:
      return need(3) && pushString(L, 3, v.getUint16(p + 1));
    case 0xdb:
      return need(5) && pushString(L, 5, v.getUint32(p + 1));
    case 0xdc:
    case 0xde:
      if (!need(3)) return false;
      cur.p += 3;
      openTable(L, b === 0xde, v.getUint16(p + 1));
      return false;
    case 0xdd:
    case 0xdf:
      if (!need(5)) return false;
      cur.p += 5;
      openTable(L, b === 0xdf, v.getUint32(p + 1));
      return false;
  }
  if ((b & 0x80) === 0 || (b & 0xe0) === 0xe0) {
    lua.lua_pushnumber(L, b < 0x80 ? b : b - 256);
    cur.p += 1;
    return true;
  }
  if ((b & 0xe0) === 0xa0) return pushString(L, 1, b & 0x1f);
  if ((b & 0xe0) === 0x80) {
    cur.p += 1;
    openTable(L, (b & 0xf0) === 0x80, b & 0xf);
    return false;
  }
  cur.err = BADFMT; // bin, ext, fixext and 0xc1: not in lua-cmsgpack 0.4.0
  return false;
}

/** mp_unpack_full: limit and offset 0 decode everything and return no offset */
function unpackFull(L: L, limit: number, offset: number): number {
  const s: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const len = s.length;
  const all = limit === 0 && offset === 0;
  // the limit's place in this message holds the length: lua-cmsgpack's own slip, kept for its text
  if (offset < 0 || limit < 0) return lauxlib.luaL_error(L, to_luastring(`Invalid request to unpack with offset of ${offset} and limit of ${len}.`));
  if (offset > len) return lauxlib.luaL_error(L, to_luastring(`Start offset ${offset} greater than input length ${len}.`));
  if (all) limit = 0x7fffffff;
  cur.s = s;
  cur.view = new DataView(s.buffer, s.byteOffset, s.length);
  cur.p = offset;
  cur.err = 0;
  let count = 0;
  for (; cur.p < len && count < limit; count++) {
    decodeValue(L);
    if (cur.err === EOF) return lauxlib.luaL_error(L, to_luastring('Missing bytes in input.'));
    if (cur.err === BADFMT) return lauxlib.luaL_error(L, to_luastring('Bad data format in input.'));
  }
  cur.s = new Uint8Array(0);
  if (all) return count;
  checkStack(L, 1, 'in function mp_unpack_full');
  lua.lua_pushnumber(L, cur.p === len ? -1 : cur.p);
  lua.lua_insert(L, 2);
  return count + 1;
}

/** Lua 5.1's luaL_optinteger/checkinteger: a number truncated toward zero */
function intArg(L: L, i: number, def: number | null): number {
  const n = def === null ? lauxlib.luaL_checknumber(L, i) : lauxlib.luaL_optnumber(L, i, def);
  return Math.trunc(n);
}

function unpack(L: L): number {
  return unpackFull(L, 0, 0);
}

function unpackOne(L: L): number {
  const offset = intArg(L, 2, 0);
  lua.lua_settop(L, 1);
  return unpackFull(L, 1, offset);
}

function unpackLimit(L: L): number {
  const limit = intArg(L, 2, null);
  const offset = intArg(L, 3, 0);
  lua.lua_settop(L, 1);
  return unpackFull(L, limit, offset);
}

/** sets the global `cmsgpack` */
export function openCmsgpack(L: L): void {
  lua.lua_createtable(L, 0, 8);
  for (const [name, f] of [
    ['pack', pack],
    ['unpack', unpack],
    ['unpack_one', unpackOne],
    ['unpack_limit', unpackLimit],
  ] as const) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, to_luastring(name));
  }
  for (const [name, value] of [
    ['_NAME', 'cmsgpack'],
    ['_VERSION', 'lua-cmsgpack 0.4.0'],
    ['_COPYRIGHT', 'Copyright (C) 2012, Salvatore Sanfilippo'],
    ['_DESCRIPTION', 'MessagePack C implementation for Lua'],
  ]) {
    lua.lua_pushliteral(L, value);
    lua.lua_setfield(L, -2, to_luastring(name));
  }
  lua.lua_setglobal(L, to_luastring('cmsgpack'));
}
