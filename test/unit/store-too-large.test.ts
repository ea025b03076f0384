/**
 * A collection larger than the whole memory budget lives below memory: reading it (whole, for
 * HGETALL, or for a change), growing one past the budget or writing one whole (COPY, RENAME) puts it
 * there and leaves what memory holds in place, rather than evicting every key in memory before
 * finding that it cannot fit. Real LevelDB.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HashValue, ValueType } from '../../src/engine/collections/index.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(closeStores);

const k = (s: string): Buffer => Buffer.from(s);

describe('a collection larger than memory', () => {
  it('is read, changed, made and copied below memory without evicting the keys memory holds', async () => {
    const s = await open({ dir: tempDir(), durability: 'writeback', maxMemory: 256 * 1024, writebackDelayMs: 5 });
    // 4,000 fields of ~70 bytes: past the 256 KiB budget
    const h0 = s.writeCollection<HashValue>(k('big'), ValueType.HASH, () => new HashValue());
    if (h0 === null || h0 === WRONG_TYPE) throw new Error('big');
    for (let i = 0; i < 4000; i++) h0.set(`${i}:`.padEnd(70, 'f'), 'v');
    s.collectionChanged(k('big'));
    await s.sync();
    for (let i = 0; i < 50; i++) s.set(k(`small-${i}`), Buffer.alloc(100, 1));
    const evicted = s.stats().evictions.evicted;
    expect(s.stats().hot.items).toBe(50);

    // HGETALL big, then HDEL big (a command that changes what it does not name: read whole)
    const all = s.readCollection<HashValue>(k('big'), ValueType.HASH);
    if (all === null || all === WRONG_TYPE) throw new Error('read');
    expect(all.size).toBe(4000);
    const w = s.writeCollection<HashValue>(k('big'), ValueType.HASH);
    if (w === null || w === WRONG_TYPE) throw new Error('write');
    w.delete(`${0}:`.padEnd(70, 'f'));
    s.collectionChanged(k('big'));

    // a second one made in memory, grown past the budget in one command (SUNIONSTORE), and a copy of
    // the first written whole (COPY, RENAME)
    const h2 = s.writeCollection<HashValue>(k('big2'), ValueType.HASH, () => new HashValue());
    if (h2 === null || h2 === WRONG_TYPE) throw new Error('big2');
    for (let i = 0; i < 4000; i++) h2.set(`${i}:`.padEnd(70, 'g'), 'v');
    s.collectionChanged(k('big2'));
    expect(s.set(k('big3'), all.encode(), { type: ValueType.HASH }).status).toBe('stored');
    // and one in memory, as a structure, grown past the budget by one command
    const grow = (n: number): void => {
      const h = s.writeCollection<HashValue>(k('big4'), ValueType.HASH, () => new HashValue());
      if (h === null || h === WRONG_TYPE) throw new Error('big4');
      for (let i = h.size; i < n; i++) h.set(`${i}:`.padEnd(70, 'h'), 'v');
      s.collectionChanged(k('big4'));
    };
    grow(200);
    expect(s.stats().hot.items).toBe(51);
    grow(4000);

    expect(s.stats().evictions.evicted - evicted, 'keys evicted').toBe(0);
    expect(s.stats().hot.items).toBe(50);
    await s.verifyDisk();
    const size = (key: string): number | null => {
      const c = s.readCollection<HashValue>(k(key), ValueType.HASH);
      return c === null || c === WRONG_TYPE ? null : c.size;
    };
    expect([size('big'), size('big2'), size('big3'), size('big4')]).toEqual([3999, 4000, 4000, 4000]);
    expect(s.stats().hot.items).toBe(50);
  }, 60_000);
});
