/**
 * The writeback batch builder on its own, without LevelDB: queued ops and the disk records they
 * replace in, the exact LevelDB writes and cold-tier counts out.
 */
import { describe, expect, it } from 'vitest';
import { KeyEvent } from '../../src/events/codes.js';
import { BatchBuilder, type BatchRules, type HotView } from '../../src/store/batch.js';
import {
  decodeMeta,
  encodeMeta,
  encodeRecord,
  FORMAT_VERSION,
  META_KEY,
  parseOrderedKey,
  PREFIX_ACCESS,
  PREFIX_DATA,
  PREFIX_EXPIRY,
  recordBytes,
  recordCas,
  recordExpiresAt,
  recordFlags,
  recordSeq,
  recordValue,
  dataKey,
} from '../../src/store/format.js';
import { delOp, dirtyOp, dropOp, expireDueOp, type Op, PRIOR_NONE, type PutOp, putOp } from '../../src/store/ops.js';

const NOW = 1_700_000_000_000;
const k = (s: string): Buffer => Buffer.from(s);

/** Records the writes as readable lines: "put d:key", "del e:<expiry>:key", "put a:<seq>:key", "put meta". */
class Recorder {
  readonly lines: string[] = [];
  readonly values = new Map<string, Buffer>();
  put(key: Buffer, value: Buffer): void {
    const line = `put ${name(key)}`;
    this.lines.push(line);
    this.values.set(name(key), value);
  }
  del(key: Buffer): void {
    this.lines.push(`del ${name(key)}`);
  }
}

function name(key: Buffer): string {
  if (key.equals(META_KEY)) return 'meta';
  if (key[0] === PREFIX_DATA) return `d:${key.subarray(1).toString()}`;
  const { n, key: user } = parseOrderedKey(key);
  if (key[0] === PREFIX_EXPIRY) return `e:${n}:${user.toString()}`;
  if (key[0] === PREFIX_ACCESS) return `a:${n}:${user.toString()}`;
  throw new Error(`unexpected key ${key.toString('hex')}`);
}

/** A hot tier of plain entries. */
function hotOf(entries: Record<string, { value: string; flags?: number; expiresAt?: number; cas: number }> = {}): HotView {
  return {
    snapshot(key) {
      const e = entries[key.toString()];
      return e ? putOp(key, k(e.value), e.flags ?? 0, e.expiresAt ?? 0, e.cas) : null;
    },
    holds: (key) => key.toString() in entries,
  };
}

const NO_LIMITS: BatchRules = { indexAccess: false, coldMaxItems: 0, coldMaxBytes: 0 };

function builder(rules: BatchRules = NO_LIMITS, hot: HotView = hotOf(), counts = { items: 0, bytes: 0, accessSeq: 0 }) {
  const sink = new Recorder();
  const b = new BatchBuilder(sink, hot, rules, NOW, counts, true);
  return { sink, b };
}

/** A disk record as LevelDB would return it. */
const rec = (value: string, opts: { flags?: number; expiresAt?: number; cas?: number; seq?: number } = {}): Buffer =>
  encodeRecord(k(value), opts.flags ?? 0, opts.expiresAt ?? 0, opts.cas ?? 1, opts.seq ?? 1);

const add = (b: BatchBuilder, op: Op, old?: Buffer) => b.add(op, dataKey(op.key), old);

describe('writeback batch builder', () => {
  it('a put of a new key writes its record and indexes and counts one item', () => {
    const { sink, b } = builder({ indexAccess: true, coldMaxItems: 100, coldMaxBytes: 0 }, hotOf(), { items: 5, bytes: 500, accessSeq: 41 });
    expect(add(b, putOp(k('new'), k('hello'), 7, NOW + 1000, 99), undefined)).toBeNull();
    expect(sink.lines).toEqual(['put d:new', 'put a:42:new', `put e:${NOW + 1000}:new`]);
    const r = sink.values.get('d:new')!;
    expect([recordValue(r).toString(), recordFlags(r), recordExpiresAt(r), recordCas(r), recordSeq(r)]).toEqual(['hello', 7, NOW + 1000, 99, 42]);
    expect([b.items, b.bytes, b.accessSeq, b.writes]).toEqual([6, 500 + recordBytes(3, 5), 42, 3]);
  });

  it('a rewrite of a key on disk replaces its record: the byte count moves by the value difference', () => {
    const { sink, b } = builder(NO_LIMITS, hotOf(), { items: 1, bytes: recordBytes(1, 10), accessSeq: 3 });
    add(b, putOp(k('x'), k('abc'), 0, 0, 8), rec('0123456789', { seq: 3 }));
    expect(sink.lines).toEqual(['put d:x']);
    expect([b.items, b.bytes]).toEqual([1, recordBytes(1, 3)]);
  });

  it('moves the expiry index entry when a rewrite changes the expiry, and keeps it when it does not', () => {
    const { sink, b } = builder(NO_LIMITS, hotOf(), { items: 3, bytes: 3 * recordBytes(1, 1), accessSeq: 9 });
    add(b, putOp(k('a'), k('1'), 0, NOW + 2000, 1), rec('1', { expiresAt: NOW + 1000 }));
    add(b, putOp(k('b'), k('1'), 0, NOW + 1000, 1), rec('1', { expiresAt: NOW + 1000 }));
    add(b, putOp(k('c'), k('1'), 0, 0, 1), rec('1', { expiresAt: NOW + 1000 }));
    expect(sink.lines).toEqual([
      'put d:a',
      `put e:${NOW + 2000}:a`,
      `del e:${NOW + 1000}:a`,
      'put d:b',
      `put e:${NOW + 1000}:b`,
      'put d:c',
      `del e:${NOW + 1000}:c`,
    ]);
    expect([b.items, b.bytes]).toEqual([3, 3 * recordBytes(1, 1)]);
  });

  it('rewrites of one key batch after batch keep one record, one expiry entry and one access position', () => {
    const rules: BatchRules = { indexAccess: true, coldMaxItems: 100, coldMaxBytes: 0 };
    let counts = { items: 0, bytes: 0, accessSeq: 0 };
    let onDisk: Buffer | undefined;
    const lines: string[][] = [];
    const versions: [string, number][] = [
      ['first', NOW + 100],
      ['second, longer', NOW + 200],
      ['3rd', 0],
      ['fourth', NOW + 50],
    ];
    for (const [value, expiresAt] of versions) {
      const { sink, b } = builder(rules, hotOf(), counts);
      add(b, putOp(k('key'), k(value), 0, expiresAt, 1), onDisk);
      lines.push(sink.lines);
      onDisk = sink.values.get('d:key');
      counts = { items: b.items, bytes: b.bytes, accessSeq: b.accessSeq };
      expect(counts).toEqual({ items: 1, bytes: recordBytes(3, value.length), accessSeq: lines.length });
    }
    expect(lines).toEqual([
      ['put d:key', 'put a:1:key', `put e:${NOW + 100}:key`],
      ['put d:key', 'put a:2:key', `put e:${NOW + 200}:key`, 'del a:1:key', `del e:${NOW + 100}:key`],
      ['put d:key', 'put a:3:key', 'del a:2:key', `del e:${NOW + 200}:key`],
      ['put d:key', 'put a:4:key', `put e:${NOW + 50}:key`, 'del a:3:key'],
    ]);
  });

  it('uses the record an op knows from memory instead of the one read (prior known)', () => {
    const { sink, b } = builder(NO_LIMITS, hotOf({ k1: { value: 'new!', cas: 5 } }), { items: 2, bytes: 100, accessSeq: 0 });
    // replaced a clean entry of 2 bytes expiring at NOW+5: no record was read for it
    const op = dirtyOp(k('k1'), 2, NOW + 5);
    add(b, op, undefined);
    // known to have none on disk
    add(b, { ...putOp(k('k2'), k('zz'), 0, 0, 6), prior: PRIOR_NONE }, rec('ignored'));
    expect(sink.lines).toEqual(['put d:k1', `del e:${NOW + 5}:k1`, 'put d:k2']);
    expect([b.items, b.bytes]).toEqual([3, 100 + (4 - 2) + recordBytes(2, 2)]);
  });

  it('a dirty op snapshots the hot entry into a put that stands for it, keeping its queue bookkeeping', () => {
    const { sink, b } = builder(NO_LIMITS, hotOf({ d: { value: 'hot value', flags: 3, expiresAt: NOW + 9, cas: 77 } }));
    const op = dirtyOp(k('d'), -1, 0);
    op.since = 123;
    op.bytes = 456;
    const snap = add(b, op, undefined) as PutOp;
    expect(snap).not.toBeNull();
    expect([snap.kind, snap.value.toString(), snap.flags, snap.expiresAt, snap.cas, snap.since, snap.bytes]).toEqual([
      1,
      'hot value',
      3,
      NOW + 9,
      77,
      123,
      456,
    ]);
    expect(b.snapshots).toEqual([snap]);
    expect(sink.lines).toEqual(['put d:d', `put e:${NOW + 9}:d`]);
    expect([b.items, b.bytes]).toEqual([1, recordBytes(1, 9)]);
  });

  it('a dirty op whose key left memory removes its disk copy, or writes nothing when there is none', () => {
    const { sink, b } = builder({ indexAccess: true, coldMaxItems: 10, coldMaxBytes: 0 }, hotOf(), { items: 1, bytes: recordBytes(4, 3), accessSeq: 8 });
    expect(add(b, dirtyOp(k('gone'), -1, 0), rec('old', { seq: 8, expiresAt: NOW + 50 }))).toBeNull();
    expect(add(b, dirtyOp(k('none'), -1, 0), undefined)).toBeNull();
    expect(sink.lines).toEqual(['del d:gone', 'del a:8:gone', `del e:${NOW + 50}:gone`]);
    expect([b.items, b.bytes, b.snapshots.length]).toEqual([0, 0, 0]);
  });

  it('a delete removes the record with its index entries; a key never on disk costs nothing', () => {
    const { sink, b } = builder({ indexAccess: true, coldMaxItems: 10, coldMaxBytes: 0 }, hotOf(), { items: 2, bytes: recordBytes(1, 5) + 50, accessSeq: 4 });
    add(b, delOp(k('a')), rec('vvvvv', { seq: 4, expiresAt: NOW + 1 }));
    add(b, delOp(k('never')), undefined);
    add(b, delOp(k('junk')), Buffer.from('not a record'));
    expect(sink.lines).toEqual(['del d:a', 'del a:4:a', `del e:${NOW + 1}:a`]);
    expect([b.items, b.bytes, b.writes]).toEqual([1, 50, 3]);
  });

  it('expire-due removes a due record, leaves a live one, and drops a stale index entry', () => {
    const { sink, b } = builder(NO_LIMITS, hotOf(), { items: 3, bytes: 3 * recordBytes(1, 1), accessSeq: 0 });
    add(b, expireDueOp(k('a'), NOW - 5), rec('1', { expiresAt: NOW - 5 }));
    // rewritten since with a later expiry: its old index entry is stale
    add(b, expireDueOp(k('b'), NOW - 5), rec('1', { expiresAt: NOW + 60_000 }));
    // the same expiry, not yet due (the sweep saw it at an earlier time): nothing to do
    add(b, expireDueOp(k('c'), NOW + 10), rec('1', { expiresAt: NOW + 10 }));
    // gone already
    add(b, expireDueOp(k('d'), NOW - 5), undefined);
    expect(sink.lines).toEqual(['del d:a', `del e:${NOW - 5}:a`, `del e:${NOW - 5}:b`, `del e:${NOW - 5}:d`]);
    expect([b.items, b.bytes, b.expired]).toEqual([2, 2 * recordBytes(1, 1), 1]);
    expect(b.events).toEqual([{ code: KeyEvent.EXPIRE, key: k('a') }]);
  });

  it('drops the oldest records over the cold limit, moves a hot one to the young end, skips one rewritten since', () => {
    const rules: BatchRules = { indexAccess: true, coldMaxItems: 2, coldMaxBytes: 0 };
    const { sink, b } = builder(rules, hotOf({ h: { value: 'x', cas: 1 } }), { items: 4, bytes: 4 * recordBytes(1, 2), accessSeq: 10 });
    add(b, dropOp(k('h'), 1), rec('hv', { seq: 1, cas: 33 }));
    add(b, dropOp(k('c'), 2), rec('cv', { seq: 2, expiresAt: NOW + 9 }));
    add(b, dropOp(k('r'), 3), rec('rv', { seq: 7 }));
    add(b, dropOp(k('z'), 4), rec('zv', { seq: 4 }));
    // under the limit now: the rest stay
    add(b, dropOp(k('y'), 5), rec('yv', { seq: 5 }));
    expect(sink.lines).toEqual(['put d:h', 'put a:11:h', 'del a:1:h', 'del d:c', 'del a:2:c', `del e:${NOW + 9}:c`, 'del d:z', 'del a:4:z']);
    const moved = sink.values.get('d:h')!;
    expect([recordValue(moved).toString(), recordCas(moved), recordSeq(moved)]).toEqual(['hv', 33, 11]);
    expect([b.items, b.bytes, b.dropped, b.accessSeq]).toEqual([2, 2 * recordBytes(1, 2), 2, 11]);
    expect(b.events).toEqual([
      { code: KeyEvent.DROP, key: k('c') },
      { code: KeyEvent.DROP, key: k('z') },
    ]);
  });

  it('ends with the meta record, counted as a write', () => {
    const { sink, b } = builder();
    add(b, putOp(k('m'), k('v'), 0, 0, 1), undefined);
    b.meta(
      encodeMeta({
        format: FORMAT_VERSION,
        shard: 0,
        casHigh: 9,
        items: b.items,
        bytes: b.bytes,
        accessSeq: b.accessSeq,
        cleanShutdown: false,
        accessIndexed: false,
        flushing: false,
        flushMarked: true,
      }),
    );
    expect(sink.lines).toEqual(['put d:m', 'put meta']);
    expect(b.writes).toBe(2);
    expect(decodeMeta(sink.values.get('meta')!)).toMatchObject({ items: 1, bytes: recordBytes(1, 1), accessSeq: 1 });
  });

  it('collects no events when nobody listens', () => {
    const b = new BatchBuilder(new Recorder(), hotOf(), NO_LIMITS, NOW, { items: 1, bytes: 40, accessSeq: 0 }, false);
    b.add(expireDueOp(k('a'), NOW - 1), dataKey(k('a')), rec('1', { expiresAt: NOW - 1 }));
    expect(b.expired).toBe(1);
    expect(b.events).toBeNull();
  });
});
