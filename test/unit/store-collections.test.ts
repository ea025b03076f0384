/**
 * Collections in the two-tier store: a structure behind a typed engine stub, charged to the memory
 * budget, spilled to LevelDB whole when evicted and decoded back on the next access with its TTL,
 * kept across a restart in every durability mode, replaced by a string write, refused by string
 * operations, and dropped with its key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HashValue, ValueType } from '../../src/engine/collections/index.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(closeStores);

const k = (s: string): Buffer => Buffer.from(s);

/** HSET key field value ... through the store contract, as a command does */
function hset(s: TieredShardStore, key: string, ...pairs: string[]): void {
  const h = s.writeCollection(k(key), ValueType.HASH, () => new HashValue());
  if (h === null || h === WRONG_TYPE) throw new Error(`hset: ${String(h)}`);
  for (let i = 0; i < pairs.length; i += 2) h.set(pairs[i], pairs[i + 1]);
  s.collectionChanged(k(key));
}

function hgetall(s: TieredShardStore, key: string): Record<string, string> | null | typeof WRONG_TYPE {
  const h = s.readCollection<HashValue>(k(key), ValueType.HASH);
  if (h === null || h === WRONG_TYPE) return h;
  const out: Record<string, string> = {};
  for (let i = 0; i < h.size; i++) out[h.fieldAt(i)] = h.valueAt(i);
  return out;
}

describe('collections in the store', () => {
  it('creates, reads, types and deletes a hash; an emptied one is gone', async () => {
    const s = await open({ dir: tempDir() });
    hset(s, 'h', 'f1', 'v1', 'f2', 'v2');
    expect(hgetall(s, 'h')).toEqual({ f1: 'v1', f2: 'v2' });
    expect(s.typeOf(k('h'))).toBe(ValueType.HASH);
    expect(s.typeOf(k('nope'))).toBeNull();
    const h = s.writeCollection<HashValue>(k('h'), ValueType.HASH)!;
    if (h === WRONG_TYPE) throw new Error('wrong type');
    h.delete('f1');
    h.delete('f2');
    s.collectionChanged(k('h'));
    expect(s.exists(k('h'))).toBe(false);
    expect(s.stats().hot.items).toBe(0);
  });

  it('refuses string operations on a collection and a collection read of a string', async () => {
    const s = await open({ dir: tempDir() });
    hset(s, 'h', 'f', 'v');
    s.set(k('str'), k('1'));
    expect(s.readCollection(k('str'), ValueType.HASH)).toBe(WRONG_TYPE);
    expect(s.readCollection(k('h'), ValueType.SET)).toBe(WRONG_TYPE);
    expect(s.incr(k('h'), 1n, false, true).status).toBe('wrong_type');
    expect(s.append(k('h'), k('x'), false, true)).toBe(-2);
    // a string write replaces the collection (Redis SET does), and its memory charge goes with it
    const before = s.stats().hot.bytes;
    s.set(k('h'), k('plain'));
    expect(s.typeOf(k('h'))).toBe(0);
    expect(s.get(k('h'))?.value.toString()).toBe('plain');
    expect(s.stats().hot.bytes).toBeLessThan(before);
  });

  it('charges the structure to the memory budget and gives it back on delete', async () => {
    const s = await open({ dir: tempDir() });
    const base = s.stats().hot.bytes;
    const fields: string[] = [];
    for (let i = 0; i < 1000; i++) fields.push(`field-${i}`, `value-${i}-${'x'.repeat(40)}`);
    hset(s, 'big', ...fields);
    const charged = s.stats().hot.bytes - base;
    expect(charged).toBeGreaterThan(1000 * 50);
    s.delete(k('big'));
    expect(s.stats().hot.bytes).toBe(base);
  });

  for (const durability of ['spill', 'writeback', 'sync'] as const) {
    it(`spills an evicted collection to disk and restores it with its TTL (${durability})`, async () => {
      const dir = tempDir();
      const s = await open({ dir, durability, maxMemory: 256 * 1024 });
      const exp = Date.now() + 3_600_000;
      hset(s, 'h', 'a', '1', 'b', '2');
      expect(s.expire(k('h'), exp)).toBe(true);
      await s.settled();
      // push it out of memory: LRU evicts the hash long before 600 KB of strings fit in 256 KB
      for (let i = 0; i < 300; i++) s.set(k(`filler-${i}`), Buffer.alloc(2000, 1));
      const restoresBefore = s.stats().restores;
      await s.settled();
      expect(hgetall(s, 'h')).toEqual({ a: '1', b: '2' });
      expect(s.expireTime(k('h'))).toBe(exp);
      expect(s.stats().restores).toBe(restoresBefore + 1);
      await s.close();
      const again = await open({ dir, durability, maxMemory: 256 * 1024 });
      expect(hgetall(again, 'h')).toEqual({ a: '1', b: '2' });
      expect(again.typeOf(k('h'))).toBe(ValueType.HASH);
      expect(again.expireTime(k('h'))).toBe(exp);
    });
  }

  it('a collection larger than the writeback byte bound does not make each write to it wait', async () => {
    const s = await open({ dir: tempDir(), durability: 'writeback', maxMemory: 64 << 20, writebackMaxBytes: 1 << 20 });
    const fields: string[] = [];
    for (let i = 0; i < 20_000; i++) fields.push(`field-${i}`, `value-${i}-${'x'.repeat(100)}`);
    hset(s, 'big', ...fields);
    expect(s.readCollection<HashValue>(k('big'), ValueType.HASH)).not.toBeNull();
    expect(s.stats().hot.bytes).toBeGreaterThan(2 << 20); // the hash alone is twice the bound
    // its queued write holds no copy: the write is acknowledged from memory, the writer encodes it later
    expect(s.settled()).toBeNull();
    hset(s, 'big', 'one', 'more');
    expect(s.settled()).toBeNull();
    await s.close();
  });

  it('moves a collection whole through get and set with its type', async () => {
    const s = await open({ dir: tempDir() });
    hset(s, 'src', 'f', 'v');
    const e = s.get(k('src'))!;
    expect(e.type).toBe(ValueType.HASH);
    s.set(k('dst'), e.value, { type: e.type, expiresAt: 0 });
    expect(hgetall(s, 'dst')).toEqual({ f: 'v' });
    // the copy is its own structure
    hset(s, 'dst', 'g', 'w');
    expect(hgetall(s, 'src')).toEqual({ f: 'v' });
  });

  it('expires a collection and flushes them all', async () => {
    const s = await open({ dir: tempDir() });
    hset(s, 'h', 'f', 'v');
    hset(s, 'g', 'f', 'v');
    expect(s.update(k('h'), () => ({ op: 'expire', expiresAt: 1 }))).not.toBeNull();
    expect(s.exists(k('h'))).toBe(false);
    await s.flush();
    expect(s.exists(k('g'))).toBe(false);
    expect(s.stats().hot.items).toBe(0);
  });
});
