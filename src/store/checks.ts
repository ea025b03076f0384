/**
 * Small checks the parts of the store (src/store/shard-store.ts, src/store/collection-tier.ts) share
 * on the arguments they are given and the errors the engine throws.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { badArgument } from './options.js';

/** The bytes as a Buffer, without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The engine could not place an entry (or its new version) in memory; the entry is left as it was. */
export function isOutOfMemory(err: unknown): boolean {
  return err instanceof CairnError && err.code === ErrorCode.OUT_OF_MEMORY;
}

export function checkTime(t: number, what: string): void {
  if (!Number.isSafeInteger(t) || t < 0) throw badArgument(`${what} must be a non-negative integer of ms since the epoch, got ${t}`);
}
