/**
 * Expiry arithmetic, for every protocol: Redis EX/PX/EXAT/PXAT and the EXPIRE family with their
 * overflow rules, memcached exptime (30-day relative/absolute, negative already expired), and the
 * native protocol's {ttl} / {expiresAt}. The store keeps absolute ms since the epoch, 0 for none.
 */
import { Fault, fail, type Failure } from './types.js';

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export type ExpireUnit = 'ex' | 'px' | 'exat' | 'pxat';

/** memcached REALTIME_MAXDELTA: exptime values above 30 days are absolute Unix times. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

/**
 * SET/GETEX/SETEX/PSETEX's expiry (Redis getExpireMillisecondsOrReply): the absolute time in ms, or
 * INVALID_EXPIRE when the number is not positive or the time overflows i64.
 */
export function optionExpiry(v: bigint, unit: ExpireUnit, now: number): bigint | Failure {
  const seconds = unit === 'ex' || unit === 'exat';
  if (v <= 0n || (seconds && v > I64_MAX / 1000n)) return fail(Fault.INVALID_EXPIRE);
  let ms = seconds ? v * 1000n : v;
  if (unit === 'ex' || unit === 'px') ms += BigInt(now);
  if (ms > I64_MAX) return fail(Fault.INVALID_EXPIRE);
  return ms;
}

/**
 * EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT's time (Redis expireGenericCommand): any i64, negative included
 * (a time at or before now deletes the key); INVALID_EXPIRE when the arithmetic overflows i64.
 */
export function expireCommandTime(v: bigint, unit: ExpireUnit, now: number): bigint | Failure {
  let when = v;
  if (unit === 'ex' || unit === 'exat') {
    if (when > I64_MAX / 1000n || when < I64_MIN / 1000n) return fail(Fault.INVALID_EXPIRE);
    when *= 1000n;
  }
  if (unit === 'ex' || unit === 'px') {
    if (when > I64_MAX - BigInt(now)) return fail(Fault.INVALID_EXPIRE);
    when += BigInt(now);
  }
  return when;
}

/** a Redis time for the store: at least 1 (0 means "no expiry" there) and a safe integer. */
export function storeTime(ms: bigint): number {
  if (ms < 1n) return 1;
  if (ms > MAX_SAFE) return Number.MAX_SAFE_INTEGER;
  return Number(ms);
}

/**
 * memcached exptime to a store time: 0 never expires, up to 30 days is relative, larger is a Unix
 * time, negative is already expired. The store takes 0 as "no expiry", so "expired" is 1 ms.
 */
export function memcachedExpiry(exptime: number, now: number): number {
  if (exptime === 0) return 0;
  if (exptime < 0) return 1;
  if (exptime > REALTIME_MAXDELTA) return Math.max(1, exptime * 1000);
  return now + exptime * 1000;
}

/** the native protocol's {ttl}: ms from now; 0 or less is already expired. */
export function ttlExpiry(ttl: number, now: number): number {
  return ttl <= 0 ? now : now + ttl;
}

/** ms left until an expiry time from EXPIRETIME (-1 none, -2 missing pass through); never below 0. */
export function msLeft(expireTime: number, now: number): number {
  return expireTime < 0 ? expireTime : Math.max(0, expireTime - now);
}

/** ms to whole seconds as Redis reports TTL and EXPIRETIME (rounded); -1 and -2 pass through. */
export function toSeconds(ms: number): number {
  return ms < 0 ? ms : Math.floor((ms + 500) / 1000);
}
