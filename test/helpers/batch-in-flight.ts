/**
 * Holds a store's writeback batch in flight for a test: starts writing the queue and returns once a
 * batch has taken the queued ops (or `key`'s op), before that batch can commit. Its disk read answers
 * on a later turn of the event loop and this waits on microtasks only, so the commands the test runs
 * next, synchronously, see the batch taken and not yet on disk. Asked for a key whose op no batch
 * holds yet, it first waits (any number of turns) for the store's writer chain to be free: a
 * maintenance task on it (a sweep slice, the meta record's CAS ceiling) would otherwise keep the
 * batch from starting for longer than the microtasks last. Without a key it takes whatever batch is
 * in flight or starts within them (the random tests' "a batch in flight" steps).
 */
import type { TieredShardStore } from '../../src/store/shard-store.js';
import type { WritebackQueue } from '../../src/store/writeback.js';

export async function batchInFlight(s: TieredShardStore, key?: string): Promise<{ written: Promise<void> }> {
  const wb = (s as unknown as { writeback: WritebackQueue }).writeback;
  const writing = (): boolean => (key === undefined ? (wb as unknown as { inflight: unknown }).inflight !== null : wb.writing(key));
  if (key !== undefined && !writing()) await wb.exclusive(async () => {});
  let done = false;
  const written = s.sync().finally(() => {
    done = true;
  });
  for (let i = 0; i < 1000 && !done && !writing(); i++) await Promise.resolve();
  // in an object: an async function returning the promise itself would wait for it
  return { written };
}
