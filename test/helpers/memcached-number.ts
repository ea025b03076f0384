/**
 * Reference rules for memcached 1.6's incr/decr, written from its source (do_add_delta and
 * safe_strtoull) rather than from cairn's engine, for the model tests. Checked against a real
 * memcached in test/compat/memcache-text.test.ts.
 */

/** The number memcached's incr reads from a stored value, or null for "non-numeric value". */
export function memcachedNumber(s: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)(?:[ \t\n\v\f\r]|$)/.exec(s);
  if (!m) return null;
  const v = BigInt(m[2]);
  if (v >= 1n << 64n) return null; // strtoull's ERANGE
  if (m[1] !== '-') return v;
  const wrapped = BigInt.asUintN(64, -v);
  return wrapped >= 1n << 63n ? null : wrapped; // a '-' is refused once the result looks negative
}

/** The value memcached stores after incr/decr: a shorter number is padded to the old length. */
export function memcachedResult(n: bigint, oldLength: number): string {
  return n.toString().padEnd(oldLength, ' ');
}
