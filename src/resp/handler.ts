/**
 * What every RESP handler on the shard shares: its shape, and the wording of a command's coded
 * failure or a store error as Redis 7 words it.
 */
import * as C from '../commands/index.js';
import { ErrorCode, isCairnError } from '../errors.js';
import { err, errCode } from './encode.js';
import { NOT_FLOAT, NOT_INTEGER, OOM, OVERFLOW, TOO_BIG, invalidExpire, sanitize } from './errors.js';

export type Ctx = C.CommandContext;
/** one command: its arguments (name first, arity checked by the acceptor) → its reply */
export type Handler = (ctx: Ctx, args: Buffer[]) => Promise<Buffer> | Buffer;

export const WRONGTYPE = errCode('WRONGTYPE Operation against a key holding the wrong kind of value');

const NOT_LFU = err(
  'An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
);

/** a command's coded failure in Redis' words; `cmd` names the command where Redis does */
export function failure(f: C.Failure, cmd: string): Buffer {
  switch (f.fault) {
    case C.Fault.NOT_INTEGER:
      return NOT_INTEGER;
    case C.Fault.NOT_FLOAT:
      return NOT_FLOAT;
    case C.Fault.OVERFLOW:
      return OVERFLOW;
    case C.Fault.DECREMENT_OVERFLOW:
      return err('decrement would overflow');
    case C.Fault.NAN_OR_INFINITY:
      return err('increment would produce NaN or Infinity');
    case C.Fault.OUT_OF_RANGE:
      return err('offset is out of range');
    case C.Fault.INVALID_EXPIRE:
      return invalidExpire(cmd);
    case C.Fault.VALUE_TOO_LARGE:
      return TOO_BIG;
    case C.Fault.OUT_OF_MEMORY:
      return OOM;
    case C.Fault.INVALID_CURSOR:
      return err('invalid cursor');
    case C.Fault.NOT_LFU:
      return NOT_LFU;
    case C.Fault.WRONG_TYPE:
      return WRONGTYPE;
    default:
      return err(sanitize(f.message === '' ? `${cmd} failed` : f.message));
  }
}

/** a store error thrown inside a command (a value too large, no memory, the disk) */
export function storeError(e: unknown): Buffer {
  if (isCairnError(e)) {
    if (e.code === ErrorCode.VALUE_TOO_LARGE) return TOO_BIG;
    if (e.code === ErrorCode.OUT_OF_MEMORY) return OOM;
    if (e.code === ErrorCode.WRONG_TYPE) return WRONGTYPE;
    return err(sanitize(e.message));
  }
  return err(sanitize(`internal error: ${e instanceof Error ? e.message : String(e)}`));
}

export function lower(arg: Buffer): string {
  return arg.length > 16 ? '' : arg.toString('latin1').toLowerCase();
}
