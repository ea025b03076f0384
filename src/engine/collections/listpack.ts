/**
 * Which collections the engine holds packed: the way Redis keeps a small hash, set, sorted set or
 * list in one listpack, a small collection's engine entry holds its `encode()` bytes in the arena,
 * with no JS object per member at rest (and no structure in the store's registry). A command decodes
 * it for its own use, O(members) as Redis' listpack operations are; the store writes it back packed
 * while it stays small.
 *
 * Small is Redis' rule for hashes and sorted sets (hash- / zset-max-listpack-entries and -value,
 * defaults): at most LISTPACK_ENTRIES members, none (and no hash value) longer than LISTPACK_VALUE
 * bytes. Sets and lists follow the same rule (Redis 7.2 keeps small ones of both in a listpack too).
 * Streams are never packed.
 */
import { type Collection, ValueType } from './types.js';

export const LISTPACK_ENTRIES = 128;
export const LISTPACK_VALUE = 64;

/**
 * true when the encoded collection (a structure's `encode()` bytes, as the disk record holds them) is
 * small enough to be held packed. Reads the lengths only, allocating nothing. A sorted set also needs
 * its `small` flag (ZSetValue: once past the rule it stays a skiplist, as in Redis).
 */
export function packable(type: number, bytes: Uint8Array): boolean {
  let at = 0;
  let strings: number;
  let after = 0; // bytes after each string (a sorted-set member's score)
  switch (type) {
    case ValueType.HASH:
      strings = u32(bytes, 0) * 2;
      if (strings > LISTPACK_ENTRIES * 2) return false;
      at = 4;
      break;
    case ValueType.LIST:
    case ValueType.SET:
      strings = u32(bytes, 0);
      if (strings > LISTPACK_ENTRIES) return false;
      at = 4;
      break;
    case ValueType.ZSET:
      if ((u32(bytes, 0) & 1) !== 0) return false;
      strings = u32(bytes, 4);
      if (strings > LISTPACK_ENTRIES) return false;
      at = 8;
      after = 8;
      break;
    default:
      return false;
  }
  for (let i = 0; i < strings; i++) {
    const n = u32(bytes, at);
    if (n > LISTPACK_VALUE) return false;
    at += 4 + n + after;
  }
  return true;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

/** the collection's bytes to hold packed, or null when it is past the rule (or a stream) */
export function packedForm(obj: Collection): Buffer | null {
  if (obj.type === ValueType.STREAM || obj.size > LISTPACK_ENTRIES) return null;
  const bytes = obj.encode();
  return packable(obj.type, bytes) ? bytes : null;
}
