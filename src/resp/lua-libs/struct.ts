/**
 * Redis 7.0's `struct` (Roberto Ierusalimschy's struct.c with Redis' overflow fixes) for the fengari
 * interpreter of src/resp/lua.ts: pack, unpack, size, as built on x86-64 Linux (little-endian native
 * order, `long` and `size_t` 8 bytes, `!` aligning to 8), including what the C casts do there with
 * out-of-range numbers, so the bytes and the error texts match redis-server's.
 */
import { lauxlib, lua, to_luastring } from 'fengari';
import { ByteWriter } from './bytes.js';
import { checkStack } from './cmsgpack.js';

type L = unknown;

const BIG = 0;
const LITTLE = 1;
const NATIVE = LITTLE;
const MAXINTSIZE = 32;
/** the alignment `!` without a number sets: max(double's padding in a struct, sizeof(int)) */
const MAXALIGN = 8;
const U64 = (1n << 64n) - 1n;
const I64_MIN = -(2 ** 63);

const out = new ByteWriter();
/** the integer formats: b B h H l L T i I (lower case signed) */
const INTEGER_OPTS = new Set(Buffer.from('bBhHlLTiI', 'latin1'));

/** the format being read: its bytes and the cursor (one call at a time per interpreter) */
const fmt = { s: new Uint8Array(0), at: 0, endian: NATIVE, align: 1 };

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function startFormat(L: L): void {
  fmt.s = lauxlib.luaL_checklstring(L, 1);
  fmt.at = 0;
  fmt.endian = NATIVE;
  fmt.align = 1;
}

function getnum(L: L, df: number): number {
  if (!isDigit(fmt.s[fmt.at])) return df;
  let a = 0;
  do {
    const d = fmt.s[fmt.at] - 0x30;
    if (a > Math.trunc(0x7fffffff / 10) || a * 10 > 0x7fffffff - d) lauxlib.luaL_error(L, to_luastring('integral size overflow'));
    a = a * 10 + d;
    fmt.at++;
  } while (isDigit(fmt.s[fmt.at]));
  return a;
}

function optsize(L: L, opt: number): number {
  switch (String.fromCharCode(opt)) {
    case 'B':
    case 'b':
    case 'x':
      return 1;
    case 'H':
    case 'h':
      return 2;
    case 'L':
    case 'l':
    case 'T':
    case 'd':
      return 8;
    case 'f':
      return 4;
    case 'c':
      return getnum(L, 1);
    case 'i':
    case 'I': {
      const sz = getnum(L, 4);
      if (sz > MAXINTSIZE) lauxlib.luaL_error(L, to_luastring(`integral size ${sz} is larger than limit of ${MAXINTSIZE}`));
      return sz;
    }
    default:
      return 0;
  }
}

/** padding before an element of `size` at `len` (C's arithmetic, also for sizes not a power of 2) */
function gettoalign(len: number, opt: number, size: number): number {
  if (size === 0 || opt === 0x63) return 0;
  if (size > fmt.align) size = fmt.align;
  return (size - (len & (size - 1))) & (size - 1);
}

function controloptions(L: L, opt: number): void {
  switch (opt) {
    case 0x20:
      return;
    case 0x3e:
      fmt.endian = BIG;
      return;
    case 0x3c:
      fmt.endian = LITTLE;
      return;
    case 0x21: {
      const a = getnum(L, MAXALIGN);
      if (!(a > 0 && (a & (a - 1)) === 0)) lauxlib.luaL_error(L, to_luastring(`alignment ${a} is not a power of 2`));
      fmt.align = a;
      return;
    }
    default:
      lauxlib.luaL_argerror(L, 1, Buffer.from(`invalid format option '${String.fromCharCode(opt)}'`, 'latin1'));
  }
}

/**
 * struct.c's `n < 0 ? (Uinttype)(Inttype)n : (Uinttype)n` as gcc compiles it for x86-64: out of
 * range, NaN and infinities become 2^63 or 0 the way cvttsd2si does.
 */
function toUint64(n: number): bigint {
  if (n < 0) return BigInt.asUintN(64, BigInt(n < I64_MIN ? I64_MIN : Math.trunc(n)));
  if (!(n >= 2 ** 63)) return Number.isNaN(n) ? 1n << 63n : BigInt(Math.trunc(n));
  const k = n - 2 ** 63;
  return (k >= 2 ** 63 ? 1n << 63n : BigInt(Math.trunc(k))) ^ (1n << 63n);
}

function putinteger(L: L, arg: number, size: number): void {
  let value = toUint64(lauxlib.luaL_checknumber(L, arg));
  const b = out.reserve(size);
  for (let i = 0; i < size; i++) {
    b[fmt.endian === LITTLE ? i : size - 1 - i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

function putfloat(L: L, arg: number, size: number): void {
  const n = lauxlib.luaL_checknumber(L, arg);
  const b = out.reserve(size);
  if (size === 4) {
    if (fmt.endian === LITTLE) b.writeFloatLE(n);
    else b.writeFloatBE(n);
  } else if (fmt.endian === LITTLE) b.writeDoubleLE(n);
  else b.writeDoubleBE(n);
}

function pack(L: L): number {
  startFormat(L);
  let arg = 2;
  let total = 0;
  lua.lua_pushnil(L); // struct.c's mark between the arguments and its buffer: a missing argument is this nil
  out.reset();
  while (fmt.at < fmt.s.length) {
    const opt = fmt.s[fmt.at++];
    let size = optsize(L, opt);
    const toalign = gettoalign(total, opt, size);
    total += toalign;
    out.reserve(toalign).fill(0);
    if (INTEGER_OPTS.has(opt)) {
      putinteger(L, arg++, size);
      total += size;
      continue;
    }
    switch (String.fromCharCode(opt)) {
      case 'x':
        out.u8(0);
        break;
      case 'f':
      case 'd':
        putfloat(L, arg++, size);
        break;
      case 'c':
      case 's': {
        const s: Uint8Array = lauxlib.luaL_checklstring(L, arg++);
        if (size === 0) size = s.length;
        // struct.c names the argument after the one it read here
        if (s.length < size) lauxlib.luaL_argerror(L, arg, to_luastring('string too short'));
        out.bytes(s.subarray(0, size));
        if (opt === 0x73) {
          out.u8(0);
          size++;
        }
        break;
      }
      default:
        controloptions(L, opt);
    }
    total += size;
  }
  const b = out.view();
  lua.lua_pushlstring(L, b, b.length);
  return 1;
}

/** `size` bytes as struct.c's 64-bit `long`, sign-extended from bit size*8-1 (x86 masks the shift) */
function getinteger(data: Uint8Array, pos: number, signed: boolean, size: number): number {
  let l = 0n;
  for (let i = 0; i < size; i++) l = ((l << 8n) | BigInt(data[pos + (fmt.endian === BIG ? i : size - 1 - i)])) & U64;
  if (!signed) return Number(l);
  const mask = (U64 << BigInt((size * 8 - 1) & 63)) & U64;
  if (l & mask) l |= mask;
  return Number(BigInt.asIntN(64, l));
}

function unpack(L: L): number {
  startFormat(L);
  const data: Uint8Array = lauxlib.luaL_checklstring(L, 2);
  const ld = data.length;
  // size_t of a truncated Lua number: negative offsets pass this check and fail the length check
  const first = Math.trunc(lauxlib.luaL_optnumber(L, 3, 1));
  if (first === 0) lauxlib.luaL_argerror(L, 3, to_luastring('offset must be 1 or greater'));
  let pos = first < 0 ? Number.POSITIVE_INFINITY : first - 1;
  const view = new DataView(data.buffer, data.byteOffset, ld);
  let n = 0;
  const short = (size: number): void => {
    if (!(size <= ld && pos <= ld - size)) lauxlib.luaL_argerror(L, 2, to_luastring('data string too short'));
  };
  while (fmt.at < fmt.s.length) {
    const opt = fmt.s[fmt.at++];
    let size = optsize(L, opt);
    pos += gettoalign(pos, opt, size);
    short(size);
    checkStack(L, 2, 'too many results');
    if (INTEGER_OPTS.has(opt)) {
      lua.lua_pushnumber(L, getinteger(data, pos, opt >= 0x61, size));
      n++;
      pos += size;
      continue;
    }
    switch (String.fromCharCode(opt)) {
      case 'x':
        break;
      case 'f':
        lua.lua_pushnumber(L, fmt.endian === LITTLE ? view.getFloat32(pos, true) : view.getFloat32(pos));
        n++;
        break;
      case 'd':
        lua.lua_pushnumber(L, fmt.endian === LITTLE ? view.getFloat64(pos, true) : view.getFloat64(pos));
        n++;
        break;
      case 'c':
        if (size === 0) {
          if (n === 0 || !lua.lua_isnumber(L, -1)) lauxlib.luaL_error(L, to_luastring("format 'c0' needs a previous size"));
          size = Math.trunc(lua.lua_tonumber(L, -1));
          lua.lua_pop(L, 1);
          n--;
          short(size);
        }
        lua.lua_pushlstring(L, data.subarray(pos, pos + size), size);
        n++;
        break;
      case 's': {
        const e = data.indexOf(0, pos);
        if (e < 0) lauxlib.luaL_error(L, to_luastring('unfinished string in data'));
        size = e - pos + 1;
        lua.lua_pushlstring(L, data.subarray(pos, e), size - 1);
        n++;
        break;
      }
      default:
        controloptions(L, opt);
    }
    pos += size;
  }
  lua.lua_pushnumber(L, pos + 1);
  return n + 1;
}

function size(L: L): number {
  startFormat(L);
  let pos = 0;
  while (fmt.at < fmt.s.length) {
    const opt = fmt.s[fmt.at++];
    const size = optsize(L, opt);
    pos += gettoalign(pos, opt, size);
    if (opt === 0x73) lauxlib.luaL_argerror(L, 1, to_luastring("option 's' has no fixed size"));
    else if (opt === 0x63 && size === 0) lauxlib.luaL_argerror(L, 1, to_luastring("option 'c0' has no fixed size"));
    if (!isAlnum(opt)) controloptions(L, opt);
    pos += size;
  }
  lua.lua_pushnumber(L, pos);
  return 1;
}

/** sets the global `struct` */
export function openStruct(L: L): void {
  lua.lua_createtable(L, 0, 3);
  for (const [name, f] of [
    ['pack', pack],
    ['unpack', unpack],
    ['size', size],
  ] as const) {
    lua.lua_pushjsfunction(L, f);
    lua.lua_setfield(L, -2, to_luastring(name));
  }
  lua.lua_setglobal(L, to_luastring('struct'));
}
