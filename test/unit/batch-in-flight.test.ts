/**
 * The tests that run commands while a writeback batch is taken and not yet on disk rely on
 * batchInFlight (test/helpers/batch-in-flight.ts) to start that batch within microtasks: here the
 * store's writer chain is busy with another task when it is called, as a maintenance sweep makes it
 * at times under load.
 */
import { expect, it } from 'vitest';
import type { WritebackQueue } from '../../src/store/writeback.js';
import { batchInFlight } from '../helpers/batch-in-flight.js';
import { closeStores, openStore as open, tempDir } from '../helpers/temp-store.js';

it('batchInFlight returns with the batch taken although the writer chain is busy with another task', async () => {
  const s = await open({
    dir: tempDir(),
    durability: 'writeback',
    maxMemory: 1 << 20,
    writebackDelayMs: 600_000,
    writebackMaxLagMs: 600_000,
    onError: () => undefined,
  });
  s.set(Buffer.from('a'), Buffer.from('x'));
  const wb = (s as unknown as { writeback: WritebackQueue }).writeback;
  void wb.exclusive(() => new Promise((r) => setTimeout(r, 20)));
  const { written } = await batchInFlight(s, 'a');
  expect(wb.writing('a')).toBe(true);
  await written;
  await closeStores();
});
