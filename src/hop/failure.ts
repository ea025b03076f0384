/**
 * The payload of a FAILURE message (MessageKind.FAILURE): one byte naming the error's code, then the
 * message as UTF-8. The byte is the code's place in ErrorCode's table; both ends of a ring run the
 * same build, so the table needs no version. A failure is rare (a dead shard, an exception that
 * escaped a command), so building one may allocate.
 *
 *   [code index: u8] [message: utf8 ...]
 */
import { CairnError, ErrorCode } from '../errors.js';

const CODES = Object.values(ErrorCode) as ErrorCode[];
const INDEX = new Map<ErrorCode, number>(CODES.map((code, i) => [code, i]));
const INTERNAL_INDEX = INDEX.get(ErrorCode.INTERNAL)!;

export function encodeFailure(code: ErrorCode, message: string): Buffer {
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(message));
  out[0] = INDEX.get(code) ?? INTERNAL_INDEX;
  out.write(message, 1);
  return out;
}

/** The FAILURE payload for an error thrown in a shard: its code when it has one, else CAIRN_ERR_INTERNAL. */
export function failureOf(err: unknown): Buffer {
  if (err instanceof CairnError) return encodeFailure(err.code, err.message);
  return encodeFailure(ErrorCode.INTERNAL, err instanceof Error ? err.message : String(err));
}

export function failureCode(payload: Uint8Array): ErrorCode {
  return (payload.length > 0 ? CODES[payload[0]] : undefined) ?? ErrorCode.INTERNAL;
}

export function failureMessage(payload: Uint8Array): string {
  return Buffer.from(payload.buffer, payload.byteOffset + 1, Math.max(0, payload.byteLength - 1)).toString('utf8');
}

/** The failure as a coded error (the gateway's internal requests). */
export function failureError(payload: Uint8Array): CairnError {
  return new CairnError(failureCode(payload), failureMessage(payload));
}
