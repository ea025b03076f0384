/**
 * The hash tag rule of src/hash.ts's shardOf, as Redis Cluster's keyHashSlot: the first `{`, then
 * the first `}` after it; a non-empty substring between them is the tag, else the whole key.
 */
import { describe, expect, it } from 'vitest';
import { shardOf, wholeKeyShardOf } from '../../src/hash.js';

// near-injective shard counts: a different hashed substring lands on a different "shard"
const WIDE = 2 ** 30;
const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

/** shardOf(key) must equal the whole-key hash of `hashed` (the part Redis hashes). */
function expectHashes(key: string | number[], hashed: string | number[]): void {
  for (const shards of [WIDE, 7, 2]) expect(shardOf(b(key), shards), `${String(key)} over ${shards}`).toBe(wholeKeyShardOf(b(hashed), shards));
}

describe('hash tags', () => {
  it('hashes the tag of a key with one', () => {
    expectHashes('{user1}:a', 'user1');
    expectHashes('{user1}:b', 'user1');
    expectHashes('x{user1}', 'user1');
    expectHashes('a{user1}b', 'user1');
    expect(shardOf(b('{user1}:a'), WIDE)).toBe(shardOf(b('{user1}:b'), WIDE));
  });

  it('hashes the whole key without a tag: no brace, no closing brace, or {} first', () => {
    expectHashes('plain', 'plain');
    expectHashes('', '');
    expectHashes('foo{bar', 'foo{bar');
    expectHashes('foo}bar{', 'foo}bar{');
    expectHashes('{}', '{}');
    expectHashes('foo{}bar', 'foo{}bar');
    // Redis looks at the first `{` only: `{}` there means no tag even with a tag after it
    expectHashes('{}{foo}', '{}{foo}');
    expectHashes('{', '{');
    expectHashes('}', '}');
  });

  it('takes the first { and the first } after it (nested and repeated braces)', () => {
    expectHashes('foo{{bar}}zap', '{bar');
    expectHashes('foo{bar}{zap}', 'bar');
    expectHashes('{a{b}c}', 'a{b');
    expectHashes('}{x}', 'x');
    expectHashes('{{}}', '{');
  });

  it('treats keys as bytes (binary keys, bytes that are not UTF-8)', () => {
    expectHashes([0xff, 0x7b, 0x00, 0x80, 0x7d, 0xfe], [0x00, 0x80]);
    expectHashes([0x7b, 0x7d, 0x7b, 0x01, 0x7d], [0x7b, 0x7d, 0x7b, 0x01, 0x7d]);
    expectHashes([0x00, 0x7b, 0xff], [0x00, 0x7b, 0xff]);
    // multi-byte UTF-8 inside a tag
    expectHashes([...Buffer.from('{ключ}:1')], [...Buffer.from('ключ')]);
  });

  it('routes a key inside a larger buffer by its range only (the native router reads keys in place)', () => {
    const frame = b('xx{ab}cd{zz}yy');
    // the key is frame[5, 9) = "}cd{": no tag inside the range, though the frame has braces around it
    expect(shardOf(frame, WIDE, 5, 9)).toBe(wholeKeyShardOf(b('}cd{'), WIDE));
    // the key is frame[2, 8) = "{ab}cd": tag "ab"
    expect(shardOf(frame, WIDE, 2, 8)).toBe(wholeKeyShardOf(b('ab'), WIDE));
    // the key is frame[0, 4) = "xx{a": the `}` after the range is not the key's
    expect(shardOf(frame, WIDE, 0, 4)).toBe(wholeKeyShardOf(b('xx{a'), WIDE));
  });

  it('keeps a shard in range and a key without braces where it always was', () => {
    for (let i = 0; i < 2000; i++) {
      const key = b(`key:${i}`);
      const s = shardOf(key, 3);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(3);
      expect(s).toBe(wholeKeyShardOf(key, 3));
    }
  });
});
