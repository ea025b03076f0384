import { describe, expect, it } from 'vitest';
import { type DeferredMessage, ShardHold } from '../../src/shards/hold.js';

const msg = (text: string): Buffer => Buffer.from(text);

describe('ShardHold', () => {
  it("defers every other connection's messages, in arrival order, until the release", () => {
    const hold = new ShardHold(() => undefined);
    expect(hold.defer(7, 0, 2, 7, 1, msg('free'))).toBe(false);
    hold.take(1);
    expect(hold.defer(1, 0, 2, 1, 1, msg('holder'))).toBe(false);
    const ring = Buffer.from('a');
    expect(hold.defer(7, 0, 2, 7, 2, ring)).toBe(true);
    ring[0] = 0x7a; // the ring's bytes are reused: the deferred message is a copy
    expect(hold.defer(9, 1, 2, 9, 1, msg('b'))).toBe(true);
    expect(hold.heldBy(1)).toBe(true);
    const waiting = hold.release();
    expect(waiting.map((m) => [m.front, m.conn, m.payload.toString()])).toEqual([
      [0, 7, 'a'],
      [1, 9, 'b'],
    ]);
    expect(hold.held).toBe(false);
    expect(hold.defer(7, 0, 2, 7, 3, msg('c'))).toBe(false);
  });

  it('a holder that never releases: the hold ends by itself after the timeout and runs what waited', async () => {
    let expired: DeferredMessage[] | null = null;
    const hold = new ShardHold((waiting) => (expired = waiting), 50);
    hold.take(1);
    hold.defer(2, 0, 2, 2, 1, msg('waiting'));
    const start = Date.now();
    while (expired === null && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 10));
    expect(expired!.map((m) => m.payload.toString())).toEqual(['waiting']);
    expect(hold.heldBy(1)).toBe(false);
    expect(hold.expired).toBe(1);
  });
});
