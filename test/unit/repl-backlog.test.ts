/**
 * The primary's replication backlog (src/replication/backlog.ts): events are numbered from the start
 * but kept only once a replica has synced; a partial resync replays exactly the kept events after the
 * replica's offset, across the byte ring's wrap-around and growth; and the memory the backlog holds
 * stays within its byte limit (it once kept one Uint8Array per event, ~300 bytes each).
 */
import { describe, expect, it } from 'vitest';
import { ReplSource, ENTRY_OVERHEAD, type ReplicaPeer } from '../../src/replication/backlog.js';
import { REPLY_HEADER_SIZE } from '../../src/native/frame.js';
import { createPackr } from '../../src/msgpack.js';
import { Opcode } from '../../src/native/opcodes.js';
import { KeyEvent, Notify, notifiedEvent } from '../../src/events/codes.js';

const packr = createPackr();
const decode = (frame: Uint8Array): unknown => packr.unpack(frame.subarray(REPLY_HEADER_SIZE));

function peer(): ReplicaPeer & { pushed: Uint8Array[] } {
  const pushed: Uint8Array[] = [];
  return { pushed, peer: '127.0.0.1:1', pushEvent: (f) => pushed.push(f), cut: () => undefined };
}

function sync(
  src: ReplSource,
  p: ReplicaPeer,
  runId?: string,
  offset?: number,
): { head: { mode: string; runId: string; offset: number }; events: unknown[][] } {
  const frames = src.handle(p, Opcode.REPLSYNC, 1, [runId === undefined ? {} : { runId, offset }]);
  return { head: decode(frames[0]) as { mode: string; runId: string; offset: number }, events: frames.slice(1).map((f) => decode(f) as unknown[]) };
}

describe('replication backlog', () => {
  it('numbers events from the start but keeps them only once a replica has synced', () => {
    const src = new ReplSource(1 << 20, () => undefined);
    for (let i = 0; i < 100; i++) src.record(KeyEvent.SET, Buffer.from(`k${i}`));
    expect(src.stats().offset).toBe(100);
    expect(src.stats().backlogEvents).toBe(0);
    expect(src.stats().backlogBytes).toBe(0);
    const p = peer();
    const { head } = sync(src, p);
    expect(head.mode).toBe('full');
    expect(head.offset).toBe(100);
    src.drop(p);
    src.record(KeyEvent.SET, Buffer.from('after'));
    expect(src.stats().backlogEvents).toBe(1);
    expect(src.stats().backlogFirst).toBe(101);
    expect(src.stats().backlogBytes).toBe(5 + ENTRY_OVERHEAD);
  });

  it('records a data-type change as its key event and skips a notification-only code', () => {
    const src = new ReplSource(1 << 20, () => undefined);
    const p = peer();
    sync(src, p);
    p.pushed.length = 0;
    src.record(notifiedEvent(KeyEvent.SET, Notify.LPUSH), Buffer.from('l'));
    src.record(notifiedEvent(0, Notify.LPOP), Buffer.from('l'));
    src.record(KeyEvent.DELETE, Buffer.from('l'));
    expect(p.pushed.map((f) => (decode(f) as unknown[]).slice(1, 3))).toEqual([
      [1, KeyEvent.SET],
      [2, KeyEvent.DELETE],
    ]);
  });

  it('replays exactly the kept events after an offset, across wrap-around, growth and trimming', () => {
    const limit = 4096;
    const src = new ReplSource(limit, () => undefined);
    const first = peer();
    const runId = sync(src, first).head.runId;
    src.drop(first);
    const model: { offset: number; code: number; key: string }[] = [];
    let bytes = 0;
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const codes = [KeyEvent.SET, KeyEvent.DELETE, KeyEvent.EXPIRE, KeyEvent.TTL, KeyEvent.DROP];
    for (let i = 1; i <= 5000; i++) {
      const code = i % 997 === 0 ? KeyEvent.FLUSH : codes[rand(codes.length)];
      const key = code === KeyEvent.FLUSH ? '' : `key-${i}-`.padEnd(1 + rand(120), 'x');
      src.record(code, Buffer.from(key));
      model.push({ offset: i, code, key });
      bytes += key.length + ENTRY_OVERHEAD;
      while (bytes > limit) bytes -= model.shift()!.key.length + ENTRY_OVERHEAD;
      if (i % 250 !== 0) continue;
      expect(src.stats().backlogEvents).toBe(model.length);
      expect(src.stats().backlogBytes).toBe(bytes);
      expect(src.stats().backlogFirst).toBe(model[0].offset);
      const from = model[rand(model.length)].offset - 1;
      const p = peer();
      const { head, events } = sync(src, p, runId, from);
      src.drop(p);
      expect(head.mode).toBe('partial');
      const want = model.filter((e) => e.offset > from).map((e) => ['repl', e.offset, e.code, e.key]);
      expect(events.map((e) => [e[0], e[1], e[2], Buffer.from(e[3] as Uint8Array).toString()])).toEqual(want);
    }
    // an offset older than the backlog, or another run id: a full copy
    expect(sync(src, peer(), runId, model[0].offset - 2).head.mode).toBe('full');
    expect(sync(src, peer(), 'other', model[0].offset).head.mode).toBe('full');
  });

  it('holds no more memory than its byte limit, however many events pass through it', () => {
    const limit = 1 << 20;
    const src = new ReplSource(limit, () => undefined);
    const p = peer();
    sync(src, p);
    src.drop(p);
    const key = Buffer.from('key:000000000000');
    const before = process.memoryUsage();
    // about 22 000 events stay kept; one object per event would take several MB on the heap
    for (let i = 0; i < 200_000; i++) {
      key.writeUInt32BE(i, 8);
      src.record(KeyEvent.SET, key);
    }
    const after = process.memoryUsage();
    expect(src.stats().backlogEvents).toBe(Math.floor(limit / (key.length + ENTRY_OVERHEAD)));
    const grown = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    expect(grown).toBeLessThan(2 * limit);
  });

  it('WAIT: counts replicas that acknowledged the offset of its start, wakes on acks, and lets go when cancelled', async () => {
    const src = new ReplSource(1 << 20, () => undefined);
    const a = peer();
    const b = peer();
    sync(src, a);
    sync(src, b);
    expect(src.waitAcks(2, 0)).toBe(2); // nothing written since they synced
    src.record(KeyEvent.SET, Buffer.from('k'));
    const w = src.waitAcks(1, 0);
    if (typeof w === 'number') throw new Error('answered before any acknowledgement');
    let got: number | null = null;
    void w.promise.then((n) => (got = n));
    src.handle(a, Opcode.REPLACK, 2, [{ offset: 0 }]); // behind: still waiting
    await Promise.resolve();
    expect(got).toBeNull();
    src.handle(a, Opcode.REPLACK, 3, [{ offset: src.stats().offset }]);
    expect(await w.promise).toBe(1);
    // a WAIT without a timeout whose connection closes: cancel answers what is acknowledged and lets go
    const forever = src.waitAcks(2, 0);
    if (typeof forever === 'number') throw new Error('answered at once');
    forever.cancel();
    expect(await forever.promise).toBe(1);
    expect((src as unknown as { waiters: Set<unknown> }).waiters.size).toBe(0);
    // a timeout answers the count then
    const timed = src.waitAcks(2, 30);
    expect(typeof timed === 'number' ? timed : await timed.promise).toBe(1);
  });
});
