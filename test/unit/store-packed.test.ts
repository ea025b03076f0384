/**
 * Small collections held packed in the engine's arena (src/engine/collections/packed.ts): a hash,
 * set, sorted set or list of at most LISTPACK_ENTRIES members of at most LISTPACK_VALUE bytes is its
 * encoded bytes in its engine entry, charged as arena bytes, and answers OBJECT ENCODING `listpack`;
 * past either limit it becomes the big structure with its contents unchanged, and stays one when it
 * shrinks. Packed collections spill and come back packed with their TTL, across a restart too.
 * Real stores on LevelDB in temporary directories.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Collection, HashValue, LISTPACK_ENTRIES, LISTPACK_VALUE, ListValue, SetValue, ValueType, ZSetValue } from '../../src/engine/collections/index.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

afterEach(closeStores);

const k = (s: string): Buffer => Buffer.from(s);

/** one collection type as the tests drive it: add members, remove one, read all back */
interface Kind {
  name: string;
  type: number;
  big: string;
  create: () => Collection;
  add: (c: Collection, members: string[]) => void;
  remove: (c: Collection, m: string) => void;
  contents: (c: Collection) => unknown;
}

const KINDS: Kind[] = [
  {
    name: 'hash',
    type: ValueType.HASH,
    big: 'hashtable',
    create: () => new HashValue(),
    add: (c, ms) => ms.forEach((m) => (c as HashValue).set(m, String(m.length))),
    remove: (c, m) => (c as HashValue).delete(m),
    contents: (c) => {
      const h = c as HashValue;
      const out: Record<string, string> = {};
      for (let i = 0; i < h.size; i++) out[h.fieldAt(i)] = h.valueAt(i);
      return out;
    },
  },
  {
    name: 'set',
    type: ValueType.SET,
    big: 'hashtable',
    create: () => new SetValue(),
    add: (c, ms) => ms.forEach((m) => (c as SetValue).add(m)),
    remove: (c, m) => (c as SetValue).delete(m),
    contents: (c) => {
      const s = c as SetValue;
      return Array.from({ length: s.size }, (_, i) => s.at(i)).sort();
    },
  },
  {
    name: 'list',
    type: ValueType.LIST,
    big: 'quicklist',
    create: () => new ListValue(),
    add: (c, ms) => ms.forEach((m) => (c as ListValue).push(m, false)),
    remove: (c, m) => (c as ListValue).remove(m, 1, false),
    contents: (c) => {
      const l = c as ListValue;
      return l.size === 0 ? [] : l.range(0, l.size - 1);
    },
  },
  {
    name: 'sorted set',
    type: ValueType.ZSET,
    big: 'skiplist',
    create: () => new ZSetValue(),
    add: (c, ms) => ms.forEach((m) => (c as ZSetValue).set(m, m.length)),
    remove: (c, m) => (c as ZSetValue).delete(m),
    contents: (c) => [...(c as ZSetValue).entries()].map((n) => [n.member, n.score]),
  },
];

function write(s: TieredShardStore, kind: Kind, key: string, change: (c: Collection) => void): void {
  const c = s.writeCollection(k(key), kind.type, kind.create);
  if (c === null || c === WRONG_TYPE) throw new Error(`write ${key}: ${String(c)}`);
  change(c);
  s.collectionChanged(k(key));
}

function read(s: TieredShardStore, kind: Kind, key: string): Collection {
  const c = s.readCollection(k(key), kind.type);
  if (c === null || c === WRONG_TYPE) throw new Error(`read ${key}: ${String(c)}`);
  return c;
}

const members = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('packed collections', () => {
  it('10,000 small hashes of 5 fields cost the arena bytes of their encoding, far below their structures', async () => {
    const s = await open({ dir: tempDir(), maxMemory: 64 << 20, durability: 'spill' });
    const base = s.stats().hot.bytes;
    const n = 10_000;
    const fields = (i: number): string[] => {
      const v = `value-${String(i % 1000).padStart(4, '0')}`; // 10 bytes, as the fields' values
      return ['field1', v, 'field2', v, 'field3', v, 'field4', v, 'field5', v];
    };
    for (let i = 0; i < n; i++) {
      const f = fields(i);
      write(s, KINDS[0], `user:${i}`, (c) => {
        for (let j = 0; j < f.length; j += 2) (c as HashValue).set(f[j], f[j + 1]);
      });
    }
    expect(s.stats().hot.items).toBe(n);
    const perHash = (s.stats().hot.bytes - base) / n;
    // what one such hash's structure charged when every collection was one (its `bytes`; the stub
    // entry and the structure's real heap came on top)
    const structure = new HashValue();
    const f = fields(0);
    for (let j = 0; j < f.length; j += 2) structure.set(f[j], f[j + 1]);
    // measured: about 170 bytes per hash packed, against 560 charged for the structure alone (and
    // about 610 per hash with its stub before hashes were packed)
    expect(perHash).toBeLessThan(300);
    expect(perHash).toBeLessThan(structure.bytes / 2);
    expect(read(s, KINDS[0], 'user:7').encoding).toBe('listpack');
    expect(KINDS[0].contents(read(s, KINDS[0], 'user:7'))).toEqual(Object.fromEntries(Array.from({ length: 5 }, (_, j) => [`field${j + 1}`, 'value-0007'])));
  });

  for (const kind of KINDS) {
    it(`a ${kind.name} is packed up to ${LISTPACK_ENTRIES} members and becomes the big structure past it, contents unchanged, and stays big when it shrinks`, async () => {
      const s = await open({ dir: tempDir(), maxMemory: 16 << 20 });
      write(s, kind, 'c', (c) => kind.add(c, members(LISTPACK_ENTRIES)));
      const small = read(s, kind, 'c');
      expect(small.encoding).toBe('listpack');
      expect(small.size).toBe(LISTPACK_ENTRIES);
      const model = kind.create();
      kind.add(model, members(LISTPACK_ENTRIES));
      expect(kind.contents(small)).toEqual(kind.contents(model));
      kind.add(model, [`m${LISTPACK_ENTRIES}`]);
      write(s, kind, 'c', (c) => kind.add(c, [`m${LISTPACK_ENTRIES}`]));
      const big = read(s, kind, 'c');
      expect(big.encoding).toBe(kind.big);
      expect(kind.contents(big)).toEqual(kind.contents(model));
      // shrinking does not pack it again (Redis converts a listpack once)
      write(s, kind, 'c', (c) => {
        for (const m of members(LISTPACK_ENTRIES)) kind.remove(c, m);
      });
      expect(read(s, kind, 'c').size).toBe(1);
      expect(read(s, kind, 'c').encoding).toBe(kind.big);
    });

    it(`a ${kind.name} is packed with members of ${LISTPACK_VALUE} bytes and becomes the big structure with a longer one`, async () => {
      const s = await open({ dir: tempDir(), maxMemory: 16 << 20 });
      const longest = 'x'.repeat(LISTPACK_VALUE);
      write(s, kind, 'c', (c) => kind.add(c, ['a', longest, 'b']));
      expect(read(s, kind, 'c').encoding).toBe('listpack');
      const model = kind.create();
      kind.add(model, ['a', longest, 'b', `${longest}y`]);
      write(s, kind, 'c', (c) => kind.add(c, [`${longest}y`]));
      const big = read(s, kind, 'c');
      expect(big.encoding).toBe(kind.big);
      expect(kind.contents(big)).toEqual(kind.contents(model));
    });
  }

  it('a hash value longer than the limit converts a hash, as Redis does', async () => {
    const s = await open({ dir: tempDir() });
    write(s, KINDS[0], 'h', (c) => (c as HashValue).set('f', 'v'.repeat(LISTPACK_VALUE)));
    expect(read(s, KINDS[0], 'h').encoding).toBe('listpack');
    write(s, KINDS[0], 'h', (c) => (c as HashValue).set('f', 'v'.repeat(LISTPACK_VALUE + 1)));
    const h = read(s, KINDS[0], 'h') as HashValue;
    expect(h.encoding).toBe('hashtable');
    expect(h.get('f')).toBe('v'.repeat(LISTPACK_VALUE + 1));
  });

  it('a decoded copy is one per command: a second look before the change is written back finds it, a read after sees the change', async () => {
    const s = await open({ dir: tempDir() });
    write(s, KINDS[2], 'l', (c) => (c as ListValue).push('a', false));
    const first = s.writeCollection<ListValue>(k('l'), ValueType.LIST) as ListValue;
    const again = s.writeCollection<ListValue>(k('l'), ValueType.LIST) as ListValue;
    expect(again).toBe(first);
    first.push('b', false);
    expect((s.readCollection<ListValue>(k('l'), ValueType.LIST) as ListValue).range(0, 1)).toEqual(['a', 'b']);
    s.collectionChanged(k('l'));
    s.collectionChanged(k('l')); // a second call for the same key (LMOVE of one list) changes nothing
    const after = s.readCollection<ListValue>(k('l'), ValueType.LIST) as ListValue;
    expect(after).not.toBe(first);
    expect(after.range(0, after.size - 1)).toEqual(['a', 'b']);
    expect(s.get(k('l'))?.type).toBe(ValueType.LIST);
  });

  for (const durability of ['spill', 'writeback'] as const) {
    it(`packed collections spill under a tiny budget and come back packed with their contents and TTL, across a restart (${durability})`, async () => {
      const dir = tempDir();
      const budget = 256 * 1024;
      const s = await open({ dir, durability, maxMemory: budget });
      const exp = Date.now() + 3_600_000;
      const n = 150; // of each type: more than the budget holds with the fillers below
      const expected = new Map<string, unknown>();
      for (const kind of KINDS) {
        for (let i = 0; i < n; i++) {
          const key = `${kind.name}:${i}`;
          const ms = members(1 + (i % 20), `${i}-`);
          write(s, kind, key, (c) => kind.add(c, ms));
          if (i % 2 === 0) expect(s.expire(k(key), exp)).toBe(true);
          const model = kind.create();
          kind.add(model, ms);
          expected.set(key, kind.contents(model));
        }
      }
      for (let i = 0; i < 200; i++) s.set(k(`filler-${i}`), Buffer.alloc(2000, 1));
      await s.settled();
      expect(s.stats().evictions.evicted).toBeGreaterThan(n);
      const check = (st: TieredShardStore): void => {
        for (const kind of KINDS) {
          for (let i = 0; i < n; i++) {
            const key = `${kind.name}:${i}`;
            const c = read(st, kind, key);
            expect(kind.contents(c), key).toEqual(expected.get(key));
            expect(c.encoding, key).toBe('listpack');
            expect(st.expireTime(k(key)), key).toBe(i % 2 === 0 ? exp : -1);
          }
        }
      };
      const restores = s.stats().restores;
      check(s);
      expect(s.stats().restores).toBeGreaterThan(restores);
      expect(s.stats().hot.bytes).toBeLessThanOrEqual(budget);
      await s.close();
      const again = await open({ dir, durability, maxMemory: budget });
      check(again);
      await again.verifyDisk();
    });
  }
});
