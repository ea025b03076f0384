/**
 * The writeback writer's cheap paths: a hot entry's value copied once into its data record, a write
 * queued with one lookup of the queue, a batch that takes the whole queue. Against a real store
 * (real LevelDB in a temporary directory) where the disk is involved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchBuilder } from '../../src/store/batch.js';
import { dataKey, HEADER_SIZE, recordCas, recordExpiresAt, recordFlags, recordSeq, recordValue } from '../../src/store/format.js';
import { dirtyOp, delOp, type Op, OP_DIRTY, OP_PUT, PRIOR_NONE, PRIOR_UNKNOWN, putOp } from '../../src/store/ops.js';
import { TieredShardStore } from '../../src/store/shard-store.js';
import { FULL_BATCH_OPS, MAX_BATCH_OPS, WritebackQueue } from '../../src/store/writeback.js';

const k = (s: string): Buffer => Buffer.from(s);
const NO_LIMITS = { indexAccess: false, coldMaxItems: 0, coldMaxBytes: 0 };

class Sink {
  readonly puts: [Buffer, Buffer][] = [];
  put(key: Buffer, value: Buffer): void {
    this.puts.push([key, value]);
  }
  del(): void {}
}

/** A put whose value already sits in a record buffer, as the store's snapshots are made. */
function recordPut(key: string, value: string, flags: number, expiresAt: number, cas: number) {
  const record = Buffer.alloc(HEADER_SIZE + value.length, 0xee);
  record.write(value, HEADER_SIZE);
  return putOp(k(key), record.subarray(HEADER_SIZE), flags, expiresAt, cas, record);
}

describe('a put carrying its data record', () => {
  it('is written as that record with its header filled in, not copied again', () => {
    const sink = new Sink();
    const b = new BatchBuilder(sink, { snapshot: () => null, holds: () => false }, NO_LIMITS, 1000, { items: 0, bytes: 0, accessSeq: 41 }, false);
    const op = recordPut('key', 'value', 7, 5000, 99);
    b.add(op, dataKey(op.key), undefined);
    const [[dkey, rec]] = sink.puts;
    expect(dkey).toEqual(dataKey(k('key')));
    expect(rec).toBe(op.record);
    expect([recordValue(rec).toString(), recordFlags(rec), recordExpiresAt(rec), recordCas(rec), recordSeq(rec)]).toEqual(['value', 7, 5000, 99, 42]);
  });

  it('gets a fresh header when a failed batch is built again', () => {
    const op = recordPut('key', 'v', 0, 0, 5);
    for (const seq of [10, 20]) {
      const sink = new Sink();
      const b = new BatchBuilder(sink, { snapshot: () => null, holds: () => false }, NO_LIMITS, 1000, { items: 0, bytes: 0, accessSeq: seq }, false);
      b.add(op, dataKey(op.key), undefined);
      expect(recordSeq(sink.puts[0][1])).toBe(seq + 1);
      expect(recordValue(sink.puts[0][1]).toString()).toBe('v');
    }
  });
});

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

/** A queue whose batches are recorded and held until `release()`. */
function recordingQueue() {
  const batches: Map<string, Op>[] = [];
  let release: () => void = () => {};
  const q = new WritebackQueue(
    { sync: false, delayMs: 1, maxLagMs: 60_000, maxBytes: 1 << 30 },
    {
      writeBatch: (batch) => {
        batches.push(new Map(batch));
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      isClosed: () => false,
      onError: () => {},
    },
  );
  return { q, batches, release: () => release() };
}

describe('queueDirty', () => {
  it('leaves a queued dirty op in place and only resizes it', () => {
    const { q } = recordingQueue();
    let made = 0;
    const make = (key: Buffer) => {
      made++;
      return dirtyOp(Buffer.from(key), PRIOR_NONE, 0);
    };
    expect(q.queueDirty(k('a'), 'a', 10, make)).toBe(false);
    const first = q.queued('a')!;
    const since = first.since;
    expect(q.queueDirty(k('a'), 'a', 300, make)).toBe(true);
    expect(made).toBe(1);
    expect(q.queued('a')).toBe(first);
    expect([first.since, first.prior, first.bytes]).toEqual([since, PRIOR_NONE, 1 + 300 + 160]);
    expect(q.lag().bytes).toBe(1 + 300 + 160);
    q.stop();
  });

  it('replaces a queued op of another kind, which it learns of, keeping its disk record and queue time', () => {
    const { q } = recordingQueue();
    const del = delOp(k('a'));
    q.queue('a', del);
    del.prior = 12; // as if the delete knew the disk record
    del.priorExpiry = 77;
    let seen: Op | undefined;
    const replaced = q.queueDirty(k('a'), 'a', 5, (key, kstr, queued) => {
      seen = queued;
      expect(kstr).toBe('a');
      return dirtyOp(Buffer.from(key), PRIOR_UNKNOWN, 0);
    });
    expect(replaced).toBe(false);
    expect(seen).toBe(del);
    const op = q.queued('a')!;
    expect([op.kind, op.prior, op.priorExpiry, op.since]).toEqual([OP_DIRTY, 12, 77, del.since]);
    expect(q.lag()).toMatchObject({ ops: 1, bytes: 1 + 5 + 160 });
    q.stop();
  });
});

describe('batch size', () => {
  it('a batch takes the whole queue up to MAX_BATCH_OPS, in queue order', async () => {
    const { q, batches, release } = recordingQueue();
    const n = FULL_BATCH_OPS * 2 + 5;
    expect(n).toBeLessThanOrEqual(MAX_BATCH_OPS);
    for (let i = 0; i < n; i++) q.queue(`k${i}`, putOp(k(`k${i}`), k('v'), 0, 0, i + 1));
    await until(() => batches.length > 0);
    expect(batches.length).toBe(1);
    expect(batches[0].size).toBe(n);
    expect([...batches[0].keys()].slice(0, 3)).toEqual(['k0', 'k1', 'k2']);
    expect(q.pendingCount).toBe(0);
    release();
    q.stop();
  });

  it('a longer queue goes in batches of MAX_BATCH_OPS, oldest first', async () => {
    const { q, batches, release } = recordingQueue();
    const n = MAX_BATCH_OPS + 10;
    for (let i = 0; i < n; i++) q.queue(`k${i}`, putOp(k(`k${i}`), k('v'), 0, 0, i + 1));
    await until(() => batches.length > 0);
    expect(batches[0].size).toBe(MAX_BATCH_OPS);
    expect(q.pendingCount).toBe(10);
    expect(q.queued(`k${MAX_BATCH_OPS}`)?.kind).toBe(OP_PUT);
    release();
    await until(() => batches.length > 1);
    expect(batches.length).toBe(2);
    expect(batches[1].size).toBe(10);
    release();
    q.stop();
  });
});

describe('the writer on a real LevelDB', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('writes what memory holds, exactly, through rewrites, spills, deletes and a reopen', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-writer-'));
    const open = () => TieredShardStore.open({ dir, shard: 0, durability: 'writeback', maxMemory: 256 * 1024, writebackDelayMs: 1 });
    const store = await open();
    const want = new Map<string, string>();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3000; i++) {
        const key = `key:${(i * 7 + round) % 2500}`;
        const value = `${round}:${i}:`.padEnd(20 + ((i * 13) % 200), 'x');
        store.set(k(key), k(value), i % 5 === 0 ? { flags: i, expiresAt: Date.now() + 3_600_000 } : { flags: i });
        want.set(key, value);
        if (i % 11 === 0) {
          const gone = `key:${(i * 3) % 2500}`;
          store.delete(k(gone));
          want.delete(gone);
        }
      }
      await store.sync();
      await store.verifyDisk();
    }
    expect(store.stats().spills).toBeGreaterThan(0); // 256 KiB of memory: most keys left it dirty
    await store.close();
    const again = await open();
    for (const [key, value] of want) expect(again.get(k(key))?.value.toString()).toBe(value);
    expect((await again.count()).total).toBe(want.size);
    await again.verifyDisk();
    await again.close();
  });
});
