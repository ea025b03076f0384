/**
 * The msgpack codec both ends of the native protocol use. Plain msgpack only: no records, no
 * shared structures, so any msgpack library can talk to cairn. Integers beyond ±2^53 decode as
 * bigint, everything else as number.
 */
import { Packr, Unpackr, isNativeAccelerationEnabled } from 'msgpackr';

/** true when msgpackr-extract's native string decoder is loaded (it speeds up str-heavy replies). */
export const nativeAcceleration: boolean = isNativeAccelerationEnabled;

// 'auto' is supported by msgpackr 2 but missing from its typings.
const int64AsType = 'auto' as unknown as 'bigint';

export function createPackr(): Packr {
  return new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true, largeBigIntToString: false });
}

/**
 * An unpackr for untrusted input. copyBuffers: bin values are copied out of the frame, because frames
 * live in reused buffers (socket chunks, ring slots) and a store may keep what it is given.
 */
export function createUnpackr(copyBuffers: boolean): Unpackr {
  return new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers, int64AsType });
}

/** msgpack encoding of an empty array, the body of a request with no arguments. */
export const EMPTY_ARRAY_BODY: Uint8Array = new Uint8Array([0x90]);

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function utf8Encode(text: string): Uint8Array {
  return utf8.encode(text);
}

/** UTF-8 decode, or null when the bytes are not valid UTF-8. */
export function utf8DecodeStrict(bytes: Uint8Array): string | null {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}
