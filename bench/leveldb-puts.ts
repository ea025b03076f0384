/**
 * `npm run bench:leveldb`: what one put costs LevelDB (classic-level) in a writeback batch, the floor
 * under a writeback SET: a chained batch of PUTS puts of a 17-byte key and a 132-byte record (a
 * 100-byte value with cairn's record header), ROUNDS times into a fresh database, once through the
 * public `batch.put` and once through abstract-level's private `_put` (which skips its option and
 * encoding handling), alternated. Prints ns per put to build the batch (on this thread) and to write
 * it (the awaited write on libuv's pool: the log and the memtable). The last line is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';

const PUTS = Number(process.env.LEVELDB_PUTS ?? 20_000);
const ROUNDS = Number(process.env.LEVELDB_ROUNDS ?? 30);

type Batch = ReturnType<ClassicLevel<Buffer, Buffer>['batch']> & { _put(key: Buffer, value: Buffer): void };

const dir = mkdtempSync(join(tmpdir(), 'cairn-leveldb-puts-'));
const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
await db.open();
const keys = Array.from({ length: PUTS }, (_, i) => Buffer.from(`dkey:${String(i).padStart(12, '0')}`));
const record = Buffer.alloc(132, 7);
const out: Record<string, number> = {};
try {
  for (const mode of ['put', '_put', 'put', '_put'] as const) {
    let build = 0;
    let write = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const batch = db.batch() as Batch;
      const t0 = process.hrtime.bigint();
      // one public put first: a chained batch with no counted op writes nothing
      batch.put(keys[0], record);
      if (mode === 'put') for (let i = 1; i < PUTS; i++) batch.put(keys[i], record);
      else for (let i = 1; i < PUTS; i++) batch._put(keys[i], record);
      const t1 = process.hrtime.bigint();
      await batch.write();
      const t2 = process.hrtime.bigint();
      build += Number(t1 - t0);
      write += Number(t2 - t1);
    }
    const b = build / PUTS / ROUNDS;
    const w = write / PUTS / ROUNDS;
    console.log(`${mode.padEnd(4)} build ${b.toFixed(0)} ns/put, write ${w.toFixed(0)} ns/put`);
    out[`${mode === 'put' ? 'put' : 'privatePut'}BuildNs`] = Math.round(b);
    out[`${mode === 'put' ? 'put' : 'privatePut'}WriteNs`] = Math.round(w);
  }
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ puts: PUTS, rounds: ROUNDS, ...out }));
