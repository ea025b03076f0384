/**
 * The byte-arena member storage under hashes and sets (src/engine/collections/packed.ts): members of
 * every byte value and length (the one- and four-byte length forms), the table and positions growing
 * and shrinking back, the arena's holes repacked, against a Map model; then a million members, their
 * `bytes` against what the heap and the array buffers really grew by, and against redis-server's
 * figures for the same members (bench:types).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashValue } from '../../src/engine/collections/hash.js';
import { decodeCollection, ValueType } from '../../src/engine/collections/index.js';
import { PackedRecords } from '../../src/engine/collections/packed.js';
import { SetValue } from '../../src/engine/collections/set.js';
import { grownBy } from '../helpers/heap.js';

/** every position's key and value as the model holds them, and find answering each position */
function check(r: PackedRecords, model: Map<string, string>, pairs: boolean): void {
  expect(r.size).toBe(model.size);
  let encoded = 0;
  for (let p = 0; p < r.size; p++) {
    const k = r.keyAt(p);
    expect(model.has(k)).toBe(true);
    expect(r.find(k)).toBe(p);
    if (pairs) expect(r.valueAt(p)).toBe(model.get(k));
    encoded += 4 + k.length + (pairs ? 4 + r.valueAt(p).length : 0);
  }
  expect(r.encodedBytes).toBe(encoded);
}

const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

describe('PackedRecords', () => {
  it('keeps members and values of every byte value 0-255 and every length form, the empty one included', () => {
    const h = new HashValue();
    const keys = ['', '\x00', '\xff', ALL_BYTES, 'k'.repeat(127), 'k'.repeat(128), 'k'.repeat(70_000)];
    for (let b = 0; b < 256; b++) keys.push(String.fromCharCode(b, 255 - b));
    for (const k of keys) expect(h.set(k, k.split('').reverse().join(''))).toBe(true);
    for (const k of keys) expect(h.get(k)).toBe(k.split('').reverse().join(''));
    expect(h.get('k'.repeat(129))).toBeUndefined();
    // rewrites across the one- and four-byte length forms
    h.set('', ALL_BYTES);
    h.set(ALL_BYTES, '');
    h.set('\x00', 'v'.repeat(200));
    h.set('\x00', 'v'.repeat(3));
    expect([h.get(''), h.get(ALL_BYTES), h.get('\x00')]).toEqual([ALL_BYTES, '', 'vvv']);
    const back = decodeCollection(ValueType.HASH, h.encode()) as HashValue;
    for (let i = 0; i < h.size; i++) {
      expect(back.fieldAt(i)).toBe(h.fieldAt(i));
      expect(back.valueAt(i)).toBe(h.valueAt(i));
    }
    const s = new SetValue();
    for (const k of keys) s.add(k);
    expect(s.size).toBe(keys.length);
    for (const k of keys) expect(s.has(k)).toBe(true);
    expect(Buffer.from(s.at(keys.indexOf(ALL_BYTES)), 'latin1')).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    const sb = decodeCollection(ValueType.SET, s.encode()) as SetValue;
    for (let i = 0; i < s.size; i++) expect(sb.at(i)).toBe(s.at(i));
  });

  it('matches a Map model through growth, removals that shrink it and value rewrites of every size', () => {
    const key = fc.oneof(
      fc.integer({ min: 0, max: 400 }).map((i) => `k${i}`),
      fc.constantFrom('', ALL_BYTES, 'x'.repeat(130)),
    );
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', 'v'.repeat(40), 'w'.repeat(300)));
    const op = fc.tuple(fc.constantFrom('put', 'put', 'remove', 'removeAt'), key, value, fc.nat());
    for (const pairs of [true, false]) {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
          const r = new PackedRecords(pairs);
          const model = new Map<string, string>();
          for (const [kind, k, v, n] of ops) {
            if (kind === 'put') {
              const p = r.find(k);
              if (p < 0) r.append(k, v);
              else if (pairs) r.setValue(p, v);
              model.set(k, pairs ? v : (model.get(k) ?? ''));
            } else if (kind === 'remove') {
              const p = r.find(k);
              expect(p >= 0).toBe(model.has(k));
              if (p >= 0) r.removeAt(p);
              model.delete(k);
            } else if (r.size > 0) {
              const p = n % r.size;
              model.delete(r.keyAt(p));
              r.removeAt(p);
            }
          }
          check(r, model, pairs);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('gives memory back: the table and positions shrink and the holes are repacked as members leave', () => {
    const s = new SetValue();
    const empty = s.bytes;
    for (let i = 0; i < 100_000; i++) s.add(`member:${i}`);
    const full = s.bytes;
    expect(full).toBeGreaterThan(100_000 * 13);
    // removing from the middle leaves holes in the arena; the survivors stay findable
    for (let i = 0; i < 100_000; i++) if (i % 100 !== 0) expect(s.delete(`member:${i}`)).toBe(true);
    expect(s.size).toBe(1000);
    for (let i = 0; i < 100_000; i += 100) expect(s.has(`member:${i}`)).toBe(true);
    expect(s.has('member:1')).toBe(false);
    expect(s.bytes).toBeLessThan(full / 25);
    while (s.size > 0) s.removeAt(s.size - 1);
    expect(s.bytes).toBe(empty);
  });

  it('repacks the arena when rewritten values leave holes: the charge stays within a few times the live bytes', () => {
    const h = new HashValue();
    for (let i = 0; i < 1000; i++) h.set(`f${i}`, 'a');
    const before = h.bytes;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 1000; i++) h.set(`f${i}`, round % 2 === 0 ? 'b'.repeat(20) : 'c');
    }
    expect(h.bytes).toBeLessThan(3 * before);
    for (let i = 0; i < 1000; i++) expect(h.get(`f${i}`)).toBe('c');
  });

  it('a million members: `bytes` within 10% of what the heap grew by, and below redis-server per member', async () => {
    // the returned structures stay referenced until the end, so neither is collected mid-measure
    const set = await grownBy(() => {
      const s = new SetValue();
      for (let i = 0; i < 1_000_000; i++) s.add(`member:${i}`);
      return s;
    });
    const hash = await grownBy(() => {
      const h = new HashValue();
      for (let i = 0; i < 1_000_000; i++) h.set(`field:${i}`, `value:${i}`);
      return h;
    });
    for (const { made, measured } of [set, hash]) {
      expect(made.size).toBe(1_000_000);
      expect(Math.abs(made.bytes - measured)).toBeLessThan(measured / 10);
    }
    // bench:types loads these same members; redis-server's used_memory grows 56 and 72 bytes per member
    expect(set.measured / 1e6).toBeLessThan(56);
    expect(hash.measured / 1e6).toBeLessThan(72);
  });
});
