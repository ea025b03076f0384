/**
 * What a writeback batch writes for a large list in memory used as a queue: ONE TieredShardStore in
 * process (writeback), a list of LIST_ELEMENTS elements in memory, then LIST_BATCHES rounds of one
 * LPUSH and one RPOP followed by a batch. Prints the LevelDB writes (records put and deleted, the
 * meta record included), the bytes put (keys and values) and the time per batch.
 *
 *   npm run bench:lists     (env: LIST_ELEMENTS, LIST_BATCHES)
 *
 * The last line printed is one JSON object with the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../src/commands/lists.js';
import { createContext } from '../src/commands/types.js';
import { BatchBuilder } from '../src/store/batch.js';
import { TieredShardStore } from '../src/store/shard-store.js';

const ELEMENTS = Number(process.env.LIST_ELEMENTS ?? 100_000);
const BATCHES = Number(process.env.LIST_BATCHES ?? 50);

// the bytes of every record a batch puts: the builder's one way into its sink
let bytes = 0;
const builder = BatchBuilder.prototype as unknown as { put0(key: Buffer, value: Buffer): void };
const put0 = builder.put0;
builder.put0 = function (this: unknown, key: Buffer, value: Buffer): void {
  bytes += key.length + value.length;
  put0.call(this, key, value);
};

const dir = mkdtempSync(join(tmpdir(), 'cairn-list-writes-'));
const s = await TieredShardStore.open({ shard: 0, dir, durability: 'writeback', maxMemory: 256 << 20 });
try {
  const ctx = createContext(s, 1 << 20);
  const key = Buffer.from('queue');
  const job = (prefix: string, i: number): Buffer => Buffer.from(`${prefix}:${String(i).padStart(8, '0')}`);
  L.lpush(
    ctx,
    key,
    Array.from({ length: ELEMENTS }, (_, i) => job('job', i)),
    false,
  );
  await s.sync();
  if (s.stats().hot.items !== 1) throw new Error('the list is not in memory');
  const w0 = s.ioStats().batchOps;
  const b0 = bytes;
  const t0 = performance.now();
  for (let i = 0; i < BATCHES; i++) {
    L.lpush(ctx, key, [job('new', i)], true);
    L.lpop(ctx, key, false, null);
    await s.sync();
  }
  const ms = performance.now() - t0;
  const result = {
    elements: ELEMENTS,
    batches: BATCHES,
    writesPerBatch: (s.ioStats().batchOps - w0) / BATCHES,
    bytesPerBatch: Math.round((bytes - b0) / BATCHES),
    msPerBatch: Number((ms / BATCHES).toFixed(2)),
  };
  console.log(`LPUSH + RPOP on a ${ELEMENTS}-element list in memory, one batch each:`);
  console.log(JSON.stringify(result));
} finally {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
}
