// Lua 5.1 reads every numeral as a double, so Redis scripts write 2^32 as `0x100000000` (BullMQ's
// priority score is `priority * 0x100000000 + counter`). fengari reads a hexadecimal integer numeral
// into its 32-bit integers, wrapping: `0x100000000` would be 0. Here a hexadecimal numeral wider than
// 32 bits reads as the float of its value, as in Lua 5.1; narrower ones keep fengari's integers (the
// bit library's masks such as 0xffffffff rely on them). Applies to the lexer, tonumber and string
// arithmetic alike, which all read numerals through luaO_str2num. Imported by lua.ts after
// fengari-conf.ts.
import { createRequire } from 'node:module';

interface TValue {
  ttisinteger(): boolean;
  setfltvalue(n: number): void;
}

const require = createRequire(import.meta.url);
// fengari's own entry first: its modules require each other in a cycle that starts there
require('fengari');
const lobject = require('fengari/src/lobject.js') as { luaO_str2num: (s: Uint8Array, o: TValue) => number };
const str2num = lobject.luaO_str2num;

/** the value of a hexadecimal integer numeral of more than 8 significant digits, else null */
function wideHex(s: Uint8Array): number | null {
  let i = 0;
  while (s[i] === 0x20 || (s[i] >= 0x09 && s[i] <= 0x0d)) i++;
  const negative = s[i] === 0x2d;
  if (negative || s[i] === 0x2b) i++;
  if (s[i] !== 0x30 || (s[i + 1] !== 0x78 && s[i + 1] !== 0x58)) return null;
  i += 2;
  while (s[i] === 0x30) i++;
  let value = 0;
  let digits = 0;
  for (; i < s.length; i++) {
    const c = s[i] | 0x20;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) break;
    value = value * 16 + d;
    digits++;
  }
  if (digits <= 8) return null;
  return negative ? -value : value;
}

lobject.luaO_str2num = (s, o) => {
  const size = str2num(s, o);
  if (size !== 0 && o.ttisinteger()) {
    const wide = wideHex(s);
    if (wide !== null) o.setfltvalue(wide);
  }
  return size;
};
