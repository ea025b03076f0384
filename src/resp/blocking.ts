/**
 * What the blocking commands' handlers share (lists, sorted sets, streams): Redis 7.0's reading of a
 * timeout in seconds, and a waiter's turn on a ready key run as a command, its reply waiting for what
 * the durability mode asks of the change. The waiters themselves are src/commands/blocking.ts.
 */
import * as C from '../commands/index.js';
import { err } from './encode.js';
import { type Ctx, storeError } from './handler.js';

const I64_CLAMP = BigInt(Number.MAX_SAFE_INTEGER);
const TIMEOUT_NOT_FLOAT = err('timeout is not a float or out of range');
const TIMEOUT_NEGATIVE = err('timeout is negative');

/**
 * A blocking command's timeout in ms (0: forever), as Redis 7.0 reads it: a long double of seconds,
 * times 1000, rounded up; past the i64 range it wraps negative in Redis, so it is refused as negative.
 */
export function timeoutOf(arg: Buffer): number | Buffer {
  const v = C.parseLongDouble(arg);
  if (v === null) return TIMEOUT_NOT_FLOAT;
  if (v === 'inf' || v === '-inf') return TIMEOUT_NEGATIVE;
  const num = v.mantissa * 1000n;
  const den = 10n ** BigInt(v.scale);
  let ms = num / den;
  if (num % den !== 0n && num > 0n) ms += 1n; // ceil; a negative fraction rounds toward 0 (-0.0001 is 0: forever)
  if (ms < 0n || ms >= 2n ** 63n) return TIMEOUT_NEGATIVE;
  return ms > I64_CLAMP ? Number.MAX_SAFE_INTEGER : Number(ms);
}

/** a waiter served: its command's work run now, the reply once the change is as durable as asked */
export function served(ctx: Ctx, run: () => Buffer): Buffer | Promise<Buffer> {
  const before = ctx.store.changes;
  let r: Buffer;
  try {
    r = run();
  } catch (e) {
    r = storeError(e);
  }
  return C.acknowledged(ctx.store, before, r, storeError);
}
