/**
 * Integer values are stored as decimal ASCII, as both memcached and Redis do, so a counter is a
 * plain value to every other command. Two parsers serve the two rule sets:
 *  - memcached (unsigned): strtoull's syntax as memcached 1.6 reads it (see parseUnsigned), value
 *    in [0, 2^64); incr wraps mod 2^64, decr stops at 0; a result shorter than the stored value is
 *    padded with spaces to the old length, as memcached rewrites the item in place;
 *  - Redis (signed): Redis's string2ll rules (optional '-', no '+', no leading zeros, no spaces,
 *    at most 20 characters) and i64 range; a result out of range is an error and nothing is written.
 * Both parsers return null for "not an integer".
 */
export const U64_MAX = (1n << 64n) - 1n;
export const I64_MAX = (1n << 63n) - 1n;
export const I64_MIN = -(1n << 63n);

function digits(u8: Uint8Array, start: number, end: number): bigint {
  if (end - start <= 15) {
    let n = 0;
    for (let i = start; i < end; i++) n = n * 10 + (u8[i] - 48);
    return BigInt(n);
  }
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(u8[i]);
  return BigInt(s);
}

/** C's isspace: what strtoull skips before a number and accepts after it. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * memcached's safe_strtoull over a stored value: leading white space, an optional sign, at least one
 * digit, then the end or white space (anything after it is ignored). A negative number is accepted
 * only when strtoull's wrapped result stays below 2^63, as memcached checks ("-0" is 0).
 */
export function parseUnsigned(u8: Uint8Array, start: number, end: number): bigint | null {
  let i = start;
  while (i < end && isSpace(u8[i])) i++;
  const neg = i < end && u8[i] === 45;
  if (i < end && (u8[i] === 43 || u8[i] === 45)) i++;
  while (i < end && u8[i] === 48 && i + 1 < end && u8[i + 1] >= 48 && u8[i + 1] <= 57) i++;
  const first = i;
  while (i < end && u8[i] >= 48 && u8[i] <= 57) i++;
  if (i === first) return null;
  if (i < end && !isSpace(u8[i])) return null;
  if (i - first > 20) return null; // past 2^64: strtoull's ERANGE
  const v = digits(u8, first, i);
  if (v > U64_MAX) return null;
  if (!neg) return v;
  const wrapped = BigInt.asUintN(64, -v);
  return wrapped >= 1n << 63n ? null : wrapped;
}

export function parseSigned(u8: Uint8Array, start: number, end: number): bigint | null {
  const len = end - start;
  if (len === 0 || len > 20) return null;
  const neg = u8[start] === 45;
  const first = neg ? start + 1 : start;
  if (first === end) return null;
  if (u8[first] === 48) return len === 1 ? 0n : null; // "0" only; "-0", "01" are not integers
  for (let i = first; i < end; i++) {
    const c = u8[i];
    if (c < 48 || c > 57) return null;
  }
  const v = neg ? -digits(u8, first, end) : digits(u8, first, end);
  return v > I64_MAX || v < I64_MIN ? null : v;
}

/**
 * v + delta under the rule set: unsigned wraps mod 2^64 going up and stops at 0 going down; signed
 * is null (overflow, nothing written) outside i64.
 */
export function addDelta(v: bigint, delta: bigint, unsigned: boolean): bigint | null {
  const r = v + delta;
  if (unsigned) return delta >= 0n ? BigInt.asUintN(64, r) : r < 0n ? 0n : r;
  return r > I64_MAX || r < I64_MIN ? null : r;
}

/** ASCII bytes of n into scratch; returns the length. */
export function formatInt(n: bigint, scratch: Uint8Array): number {
  const s = n.toString();
  for (let i = 0; i < s.length; i++) scratch[i] = s.charCodeAt(i);
  return s.length;
}

// 10^1 .. 10^20 and their negatives: the length of an integer's decimal form without a string.
const POW10 = Array.from({ length: 20 }, (_, i) => 10n ** BigInt(i + 1));
const NEG_POW10 = POW10.map((p) => -p);

/** Length of the decimal form of v (with its sign), as an INCR result is stored. */
export function decimalLength(v: bigint): number {
  let n: number;
  if (v < 0n) for (n = 2; n <= 20 && v <= NEG_POW10[n - 2]; n++);
  else for (n = 1; n <= 20 && v >= POW10[n - 1]; n++);
  return n;
}
