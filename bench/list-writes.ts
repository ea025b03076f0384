/**
 * What a writeback batch writes for a large list in memory used as a queue and as a capped list: ONE
 * TieredShardStore in process (writeback), a list of LIST_ELEMENTS elements in memory, then
 * LIST_BATCHES rounds of one LPUSH and one RPOP (a queue), or one LPUSH and an LTRIM back to
 * LIST_ELEMENTS (a capped list), each followed by a batch. Prints the LevelDB writes (records put and
 * deleted, the meta record included), the bytes put (keys and values) and the time per batch.
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

const job = (prefix: string, i: number): Buffer => Buffer.from(`${prefix}:${String(i).padStart(8, '0')}`);

/** LIST_BATCHES rounds of `step` then a batch on a list of ELEMENTS elements in memory: what a batch writes */
async function rounds(label: string, step: (ctx: ReturnType<typeof createContext>, key: Buffer, i: number) => void): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-list-writes-'));
  const s = await TieredShardStore.open({ shard: 0, dir, durability: 'writeback', maxMemory: 256 << 20 });
  try {
    const ctx = createContext(s, 1 << 20);
    const key = Buffer.from('list');
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
      step(ctx, key, i);
      await s.sync();
    }
    const ms = performance.now() - t0;
    const result = {
      workload: label,
      writesPerBatch: (s.ioStats().batchOps - w0) / BATCHES,
      bytesPerBatch: Math.round((bytes - b0) / BATCHES),
      msPerBatch: Number((ms / BATCHES).toFixed(2)),
    };
    console.log(`${label} on a ${ELEMENTS}-element list in memory, one batch each: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// a queue: one job in at the left, one out at the right
const queue = await rounds('LPUSH + RPOP', (ctx, key, i) => {
  L.lpush(ctx, key, [job('new', i)], true);
  L.lpop(ctx, key, false, null);
});
// a capped list (the newest ELEMENTS entries of a feed): one entry in, trimmed back to the cap
const capped = await rounds('LPUSH + LTRIM', (ctx, key, i) => {
  L.lpush(ctx, key, [job('new', i)], true);
  L.ltrim(ctx, key, 0, ELEMENTS - 1);
});
console.log(JSON.stringify({ elements: ELEMENTS, batches: BATCHES, queue, capped }));
