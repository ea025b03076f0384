/**
 * Streams as a structure: ids exact to 2^64-1 in string order, entries against a sorted-array
 * model under random appends, deletes, trims and range reads, Redis' node rule for `~` trimming,
 * the PEL's order under deliveries and acknowledgements, and encode/decode with groups and PEL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCollection, ValueType } from '../../src/engine/collections/index.js';
import { IdIndex } from '../../src/engine/collections/stream-groups.js';
import { formatId, idOf, MAX_ID, MIN_ID, nextId, parseId, prevId, type StreamId } from '../../src/engine/collections/stream-id.js';
import { NODE_ENTRIES, StreamValue } from '../../src/engine/collections/stream.js';

const SEQ0 = '\x00'.repeat(8);
const id = (text: string): StreamId => parseId(text, false, SEQ0)!.id;

describe('stream ids', () => {
  it('parse and print both halves exactly up to 2^64-1, in string order', () => {
    expect(formatId(id('18446744073709551615-18446744073709551615'))).toBe('18446744073709551615-18446744073709551615');
    expect(id('18446744073709551615-18446744073709551615')).toBe(MAX_ID);
    expect(parseId('18446744073709551616-0', false, SEQ0)).toBeNull();
    expect(formatId(id('9007199254740993-9007199254740993'))).toBe('9007199254740993-9007199254740993');
    expect(id('2-0') > id('1-18446744073709551615')).toBe(true);
    expect(id('10-0') > id('9-5')).toBe(true);
    expect(formatId(idOf(1700000000000, 3))).toBe('1700000000000-3');
  });

  it("read text as strtoull does: white space, a sign, a minus modulo 2^64; '-' and '+' unless strict", () => {
    expect(formatId(id(' +5-\t7'))).toBe('5-7');
    expect(formatId(id('1- -1'))).toBe('1-18446744073709551615');
    expect(formatId(id('1--0'))).toBe('1-0');
    expect(parseId('1-', false, SEQ0)).toBeNull();
    expect(parseId('a-1', false, SEQ0)).toBeNull();
    expect(parseId('-', true, SEQ0)).toBeNull();
    expect(parseId('-', false, SEQ0)!.id).toBe(MIN_ID);
    expect(parseId('+', false, SEQ0)!.id).toBe(MAX_ID);
    expect(parseId('5-*', true, SEQ0, true)).toEqual({ id: id('5-0'), seqGiven: false });
    expect(parseId('5-*', true, SEQ0)).toBeNull();
    expect(parseId('1'.repeat(128), false, SEQ0)).toBeNull();
  });

  it('step across the halves: next of ms-MAX is (ms+1)-0, previous of ms-0 is (ms-1)-MAX', () => {
    expect(formatId(nextId(id('1-18446744073709551615'))!)).toBe('2-0');
    expect(formatId(prevId(id('2-0'))!)).toBe('1-18446744073709551615');
    expect(nextId(MAX_ID)).toBeNull();
    expect(prevId(MIN_ID)).toBeNull();
  });
});

type Op = { k: 'add'; n: number } | { k: 'del'; at: number } | { k: 'maxlen'; n: number; approx: boolean } | { k: 'minid'; at: number; approx: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => ({ k: 'add', n }) as Op) },
  { weight: 3, arbitrary: fc.nat(400).map((at) => ({ k: 'del', at }) as Op) },
  { weight: 1, arbitrary: fc.record({ n: fc.nat(300), approx: fc.boolean() }).map((r) => ({ k: 'maxlen', ...r }) as Op) },
  { weight: 1, arbitrary: fc.record({ at: fc.nat(400), approx: fc.boolean() }).map((r) => ({ k: 'minid', ...r }) as Op) },
);

describe('StreamValue entries against a sorted-array model', () => {
  it('appends, deletes, exact trims and range reads agree; ~ trims never more than exact ones', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const s = new StreamValue();
        let model: [StreamId, string[]][] = [];
        let next = 1;
        for (const o of ops) {
          if (o.k === 'add') {
            for (let i = 0; i < o.n * 20; i++) {
              const eid = idOf(next, next % 3);
              next++;
              const vals = ['f', `v${next}`];
              s.append(eid, vals);
              model.push([eid, vals]);
            }
          } else if (o.k === 'del') {
            const eid = idOf(o.at, o.at % 3);
            const had = model.some(([m]) => m === eid);
            expect(s.delete(eid)).toBe(had);
            model = model.filter(([m]) => m !== eid);
          } else if (o.k === 'maxlen') {
            const before = model.length;
            const n = s.trim({ strategy: 'maxlen', maxlen: o.n, minid: MIN_ID, approx: o.approx, limit: o.approx ? 10_000 : 0 });
            if (!o.approx) expect(s.length).toBe(Math.min(before, o.n));
            else expect(s.length).toBeGreaterThanOrEqual(Math.min(before, o.n));
            expect(n).toBe(before - s.length);
            model = model.slice(model.length - s.length);
          } else {
            const min = idOf(o.at, 0);
            const n = s.trim({ strategy: 'minid', maxlen: 0, minid: min, approx: o.approx, limit: o.approx ? 10_000 : 0 });
            const exact = model.filter(([m]) => m >= min);
            if (!o.approx) expect(s.length).toBe(exact.length);
            expect(n).toBe(model.length - s.length);
            model = model.slice(model.length - s.length);
          }
          expect(s.length).toBe(model.length);
          expect(s.firstId).toBe(model.length > 0 ? model[0][0] : MIN_ID);
        }
        const all: [StreamId, string[]][] = [];
        s.range(MIN_ID, MAX_ID, false, (i, v) => void all.push([i, v]));
        expect(all).toEqual(model);
        const rev: StreamId[] = [];
        s.range(MIN_ID, MAX_ID, true, (i) => void rev.push(i));
        expect(rev).toEqual(model.map(([i]) => i).reverse());
        if (model.length > 2) {
          const lo = model[1][0];
          const hi = model[model.length - 2][0];
          const part: StreamId[] = [];
          s.range(lo, hi, false, (i) => void part.push(i));
          expect(part).toEqual(model.slice(1, -1).map(([i]) => i));
          for (const [i, v] of model) expect(s.get(i)).toEqual(v);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('~ removes whole nodes of NODE_ENTRIES entries only, as Redis does with its listpack nodes', () => {
    const s = new StreamValue();
    for (let i = 1; i <= 250; i++) s.append(idOf(i, 0), ['f', 'v']);
    expect(s.nodeCount).toBe(3);
    // 250 entries in nodes of 100, 100, 50: MAXLEN ~ 120 can drop only the first node
    expect(s.trim({ strategy: 'maxlen', maxlen: 120, minid: MIN_ID, approx: true, limit: 10_000 })).toBe(NODE_ENTRIES);
    expect(s.length).toBe(150);
    // a LIMIT below one node's entries removes nothing
    expect(s.trim({ strategy: 'maxlen', maxlen: 0, minid: MIN_ID, approx: true, limit: 99 })).toBe(0);
    // deleted entries still count toward a node's size: the next node starts after 100 inserted
    s.delete(idOf(250, 0));
    for (let i = 251; i <= 300; i++) s.append(idOf(i, 0), ['f', 'v']);
    expect(s.nodeCount).toBe(2);
    s.append(idOf(301, 0), ['f', 'v']);
    expect(s.nodeCount).toBe(3);
  });
});

describe('the PEL index', () => {
  it('keeps ids in order under out-of-order inserts and deletes, first/last skipping removed ones', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(200))), (steps) => {
        const ix = new IdIndex<number>();
        const model = new Map<StreamId, number>();
        for (const [add, n] of steps) {
          const k = idOf(n, 0);
          if (add) {
            ix.set(k, n);
            model.set(k, n);
          } else {
            expect(ix.delete(k)).toBe(model.get(k));
            model.delete(k);
          }
          const sorted = [...model.keys()].sort();
          expect(ix.size).toBe(model.size);
          expect(ix.first()).toBe(sorted[0]);
          expect(ix.last()).toBe(sorted[sorted.length - 1]);
        }
        const seen: StreamId[] = [];
        ix.from(idOf(50, 0), (k) => void seen.push(k));
        expect(seen).toEqual([...model.keys()].sort().filter((k) => k >= idOf(50, 0)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('encode / decode', () => {
  it('round-trips entries, tombstones, counters, groups, consumers and the PEL, bytes included', () => {
    const s = new StreamValue();
    for (let i = 1; i <= 130; i++) s.append(idOf(i, 1), ['field', `value-${i}`, 'bin', '\x00\xff']);
    s.delete(idOf(5, 1));
    s.delete(idOf(120, 1));
    s.trim({ strategy: 'maxlen', maxlen: 120, minid: MIN_ID, approx: false, limit: 0 });
    const g = s.createGroup('g', MIN_ID, -1)!;
    const c1 = g.createConsumer('alice', 1000)!;
    const c2 = g.createConsumer('bob', 2000)!;
    s.range(MIN_ID, MAX_ID, false, (i) => {
      s.advanceGroup(g, i);
      g.deliver(i, i < idOf(60, 0) ? c1 : c2, 5000);
      return i < idOf(80, 0);
    });
    g.ack(idOf(30, 1));
    s.createGroup('empty', idOf(7, 0), 3);
    const back = decodeCollection(ValueType.STREAM, s.encode()) as StreamValue;
    expect(back.bytes).toBe(s.bytes);
    expect(back.encode().equals(s.encode())).toBe(true);
    expect(back.length).toBe(s.length);
    expect(back.nodeCount).toBe(s.nodeCount);
    expect([back.lastId, back.firstId, back.maxDeletedId, back.entriesAdded]).toEqual([s.lastId, s.firstId, s.maxDeletedId, s.entriesAdded]);
    const bg = back.groups.get('g')!;
    expect([bg.lastId, bg.entriesRead, bg.pel.size]).toEqual([g.lastId, g.entriesRead, g.pel.size]);
    expect(bg.consumer('alice')!.pel.size).toBe(c1.pel.size);
    expect(bg.consumer('bob')!.pel.size).toBe(c2.pel.size);
    expect(bg.pel.get(idOf(70, 1))!.consumer.name).toBe('bob');
    expect(bg.pel.first()).toBe(g.pel.first());
    expect(back.groups.get('empty')!.entriesRead).toBe(3);
    // the decoded copy keeps working: a delivery and an acknowledgement as on the original
    expect(bg.ack(idOf(70, 1))).toBe(true);
    expect(bg.consumer('bob')!.pel.size).toBe(c2.pel.size - 1);
  });

  it('keeps an empty stream a member (the store deletes collections of size 0; Redis keeps empty streams)', () => {
    const s = new StreamValue();
    s.append(idOf(1, 1), ['a', 'b']);
    s.delete(idOf(1, 1));
    expect(s.length).toBe(0);
    expect(s.size).toBe(1);
    const back = decodeCollection(ValueType.STREAM, s.encode()) as StreamValue;
    expect([back.length, back.lastId, back.maxDeletedId, back.entriesAdded]).toEqual([0, idOf(1, 1), idOf(1, 1), 1]);
  });

  it('gives memory back: bytes return to an empty stream after everything goes', () => {
    const s = new StreamValue();
    const empty = s.bytes;
    for (let i = 1; i <= 300; i++) s.append(idOf(i, 0), ['f', 'x'.repeat(i)]);
    const g = s.createGroup('g', MIN_ID, -1)!;
    const c = g.createConsumer('c', 0)!;
    for (let i = 1; i <= 300; i += 2) g.deliver(idOf(i, 0), c, 0);
    expect(s.bytes).toBeGreaterThan(empty + 300 * 32);
    g.deleteConsumer(c);
    s.destroyGroup('g');
    s.trim({ strategy: 'maxlen', maxlen: 0, minid: MIN_ID, approx: false, limit: 0 });
    expect(s.bytes).toBe(empty);
  });
});
