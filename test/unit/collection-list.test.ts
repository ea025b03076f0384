/**
 * The list structure (src/engine/collections/list.ts) against a plain array model: random pushes,
 * pops, sets, inserts, removals and trims at every buffer size and wrap position, its `bytes` kept
 * equal to a recount, and its encoding round trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListValue } from '../../src/engine/collections/list.js';
import { memberCost } from '../../src/engine/collections/types.js';

function contents(l: ListValue): string[] {
  return l.size === 0 ? [] : l.range(0, l.size - 1);
}

function heldOf(model: string[]): number {
  return model.reduce((n, s) => n + memberCost(s), 0);
}

type Op =
  | { op: 'push'; s: string; left: boolean }
  | { op: 'pop'; left: boolean }
  | { op: 'set'; at: number; s: string }
  | { op: 'insert'; at: number; s: string }
  | { op: 'remove'; s: string; limit: number; tail: boolean }
  | { op: 'trim'; a: number; b: number };

const element = fc.constantFrom('a', 'b', 'c', '', 'long element '.repeat(3), '\u00ff\u0000');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('push' as const), s: element, left: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pop' as const), left: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), s: element }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), s: element }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), s: element, limit: fc.nat(3), tail: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('trim' as const), a: fc.nat(), b: fc.nat() }) },
);

describe('ListValue', () => {
  it('behaves as an array under random operations, bytes kept current', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const l = new ListValue();
        const model: string[] = [];
        for (const o of ops) {
          switch (o.op) {
            case 'push':
              l.push(o.s, o.left);
              if (o.left) model.unshift(o.s);
              else model.push(o.s);
              break;
            case 'pop':
              expect(l.pop(o.left)).toBe(o.left ? model.shift() : model.pop());
              break;
            case 'set':
              if (model.length === 0) break;
              l.set(o.at % model.length, o.s);
              model[o.at % model.length] = o.s;
              break;
            case 'insert': {
              const at = o.at % (model.length + 1);
              l.insert(at, o.s);
              model.splice(at, 0, o.s);
              break;
            }
            case 'remove': {
              let removed = 0;
              const order = o.tail ? [...model.keys()].reverse() : [...model.keys()];
              const drop = new Set<number>();
              for (const i of order) {
                if (model[i] === o.s && (o.limit === 0 || removed < o.limit)) {
                  drop.add(i);
                  removed++;
                }
              }
              expect(l.remove(o.s, o.limit, o.tail)).toBe(removed);
              const kept = model.filter((_, i) => !drop.has(i));
              model.length = 0;
              model.push(...kept);
              break;
            }
            case 'trim': {
              if (model.length === 0) break;
              const a = Math.min(o.a, o.b) % model.length;
              const b = a + ((Math.max(o.a, o.b) - Math.min(o.a, o.b)) % (model.length - a));
              l.trim(a, b);
              const kept = model.slice(a, b + 1);
              model.length = 0;
              model.push(...kept);
              break;
            }
          }
          expect(l.size).toBe(model.length);
        }
        expect(contents(l)).toEqual(model);
        for (let i = 0; i < model.length; i++) expect(l.at(i)).toBe(model[i]);
        // the per-element part of `bytes` is exact; the rest is the buffer (8 bytes a slot, at least 16 slots, at most 4x the elements)
        const slots = (l.bytes - heldOf(model)) / 8;
        expect(slots).toBeGreaterThanOrEqual(Math.max(16, model.length));
        expect(slots).toBeLessThanOrEqual(Math.max(16, model.length * 4));
        expect(contents(ListValue.decode(l.encode()))).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('reverses a range and gives memory back after a large list drains', () => {
    const l = new ListValue();
    for (let i = 0; i < 10_000; i++) l.push(String(i), i % 2 === 0);
    const big = l.bytes;
    expect(l.range(0, 2)).toEqual(['9998', '9996', '9994']);
    expect(l.range(0, 2, true)).toEqual(['9994', '9996', '9998']);
    while (l.size > 1) l.pop(true);
    expect(l.at(0)).toBe('9999');
    expect(l.bytes).toBeLessThan(big / 100);
  });
});
