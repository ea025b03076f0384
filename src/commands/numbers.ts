/** Number parsing with the exact acceptance rules of Redis (string2ll, string2ld) and cheap fast paths. */

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Redis string2ll: optional '-', digits without leading zeros, within i64. null when invalid. */
export function parseI64(buf: Uint8Array): bigint | null {
  const len = buf.length;
  if (len === 0 || len > 20) return null;
  if (len === 1 && buf[0] === 48) return 0n;
  let p = 0;
  if (buf[0] === 45) {
    p = 1;
    if (len === 1) return null;
  }
  if (buf[p] < 49 || buf[p] > 57) return null;
  for (let i = p; i < len; i++) if (buf[i] < 48 || buf[i] > 57) return null;
  const value = BigInt(Buffer.from(buf.buffer, buf.byteOffset, len).toString('latin1'));
  return value < I64_MIN || value > I64_MAX ? null : value;
}

/** parseI64 as a JS number when it is a safe integer (counts, offsets, times); null otherwise. */
export function parseSafeInt(buf: Uint8Array): number | null {
  const len = buf.length;
  if (len > 0 && len <= 15) {
    // Fast path: at most 15 characters always fit a double exactly.
    if (len === 1 && buf[0] === 48) return 0;
    let p = 0;
    let negative = false;
    if (buf[0] === 45) {
      negative = true;
      p = 1;
      if (len === 1) return null;
    }
    if (buf[p] < 49 || buf[p] > 57) return null;
    let n = 0;
    for (; p < len; p++) {
      const c = buf[p];
      if (c < 48 || c > 57) return null;
      n = n * 10 + (c - 48);
    }
    return negative ? -n : n;
  }
  const big = parseI64(buf);
  if (big === null) return null;
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : null;
}

/** An exact decimal: value = mantissa × 10^-scale. */
export interface Decimal {
  mantissa: bigint;
  scale: number;
}

export type ParsedFloat = Decimal | 'inf' | '-inf' | null;

const FLOAT_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const INF_RE = /^([+-]?)(inf|infinity)$/i;
/** decimal exponent range of an x87 long double, the type Redis parses floats into. */
const MAX_EXP10 = 4932;

/**
 * Redis string2ld acceptance: a decimal float (strtold) with no leading blank and nothing after it,
 * not NaN, not overflowing a long double. "inf" is accepted (it then fails the NaN/Infinity check).
 * Hex floats, which strtold also reads, are refused.
 */
export function parseLongDouble(buf: Uint8Array): ParsedFloat {
  if (buf.length === 0 || buf.length > 5000) return null;
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1');
  const inf = INF_RE.exec(text);
  if (inf) return inf[1] === '-' ? '-inf' : 'inf';
  const m = FLOAT_RE.exec(text);
  if (!m) return null;
  const intPart = m[2];
  const fracPart = m[3] ?? '';
  if (intPart.length === 0 && fracPart.length === 0) return null;
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isFinite(exp)) return null;
  const digits = (intPart + fracPart).replace(/^0+/, '');
  let mantissa = digits.length === 0 ? 0n : BigInt(digits);
  let scale = fracPart.length - exp;
  if (mantissa !== 0n) {
    // magnitude ≈ 10^(digits - scale); refuse what overflows or underflows a long double (ERANGE).
    const magnitude = digits.length - scale;
    if (magnitude > MAX_EXP10 + 1 || magnitude < -MAX_EXP10 - 19) return null;
  } else {
    scale = 0;
  }
  if (scale < 0) {
    mantissa *= 10n ** BigInt(-scale);
    scale = 0;
  }
  if (m[1] === '-') mantissa = -mantissa;
  return { mantissa, scale };
}

export function addDecimals(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  const am = a.mantissa * 10n ** BigInt(scale - a.scale);
  const bm = b.mantissa * 10n ** BigInt(scale - b.scale);
  return { mantissa: am + bm, scale };
}

/** true when |d| exceeds the largest long double (about 1.19e4932). */
export function decimalOverflows(d: Decimal): boolean {
  const abs = d.mantissa < 0n ? -d.mantissa : d.mantissa;
  if (abs === 0n) return false;
  return abs.toString().length - d.scale > MAX_EXP10 + 1;
}

/**
 * Formats like Redis' ld2string(LD_STR_HUMAN): `%.17Lf` (17 decimals, rounded half away from zero)
 * with trailing zeros and a bare point removed; "-0" becomes "0".
 */
export function formatDecimal(d: Decimal): string {
  let { mantissa, scale } = d;
  if (scale > 17) {
    const div = 10n ** BigInt(scale - 17);
    const negative = mantissa < 0n;
    let abs = negative ? -mantissa : mantissa;
    const rem = abs % div;
    abs /= div;
    if (rem * 2n >= div) abs += 1n;
    mantissa = negative ? -abs : abs;
    scale = 17;
  }
  const negative = mantissa < 0n;
  let digits = (negative ? -mantissa : mantissa).toString();
  let out: string;
  if (scale === 0) {
    out = digits;
  } else {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    const intPart = digits.slice(0, digits.length - scale);
    const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    out = frac.length > 0 ? `${intPart}.${frac}` : intPart;
  }
  if (out === '0') return '0';
  return negative ? `-${out}` : out;
}
