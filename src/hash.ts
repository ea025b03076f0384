/**
 * 32-bit MurmurHash3 over a byte range. One function serves two uses with different seeds:
 * routing a key to its shard (SHARD_SEED, stable on disk: a data directory's layout depends on it)
 * and placing a key in a shard's table (TABLE_SEED), so the two are independent of each other.
 */
export const SHARD_SEED = 0x9747b28c;
export const TABLE_SEED = 0x5bd1e995;

export function hash32(bytes: Uint8Array, start = 0, end = bytes.length, seed = TABLE_SEED): number {
  let h = seed | 0;
  const len = end - start;
  const blocks = start + (len & ~3);
  let i = start;
  for (; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let k = bytes[i];
    if (rest > 1) k |= bytes[i + 1] << 8;
    if (rest > 2) k |= bytes[i + 2] << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  return fmix32(h);
}

/** MurmurHash3's finalizer: every bit of h spread over every bit of the result, as a u32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shard that owns a key: stable across restarts for a given shard count. As Redis Cluster's
 * keyHashSlot, a key with a hash tag hashes only the tag: the bytes between the first `{` and the
 * first `}` after it, when there are any (`{user1}:a` and `{user1}:b` meet on one shard); with no
 * `{`, no `}` after it, or `{}` first, the whole key. Data directories record that they were written
 * so (src/datadir.ts): earlier versions hashed every key whole (wholeKeyShardOf). No allocation,
 * since every request is routed here.
 */
export function shardOf(key: Uint8Array, shards: number, start = 0, end = key.length): number {
  const open = find(key, 0x7b, start, end);
  if (open >= 0) {
    const close = find(key, 0x7d, open + 1, end);
    if (close > open + 1) return wholeKeyShardOf(key, shards, open + 1, close);
  }
  return wholeKeyShardOf(key, shards, start, end);
}

/** The first `byte` in bytes[from, end), or -1. */
function find(bytes: Uint8Array, byte: number, from: number, end: number): number {
  // indexOf (memchr) is several times faster than a loop, but reads on to the buffer's end: a key
  // inside a larger buffer (a native frame, its value after it) is scanned by hand instead
  if (end === bytes.length) return bytes.indexOf(byte, from);
  for (let i = from; i < end; i++) if (bytes[i] === byte) return i;
  return -1;
}

/** The shard of a key hashed whole, braces and all: the rule of data directories written before hash tags. */
export function wholeKeyShardOf(key: Uint8Array, shards: number, start = 0, end = key.length): number {
  // Lemire's multiply-shift maps the hash onto [0, shards) without a division.
  return Math.floor((hash32(key, start, end, SHARD_SEED) * shards) / 4294967296);
}
