/**
 * FLUSHALL is the one change to a shard's disk tier that is not one atomic LevelDB batch: LevelDB
 * clears a range in many batches. A server SIGKILLed part-way through must not come back with the
 * counts of the full tier over a half-cleared one (DBSIZE far above what SCAN finds, kept across
 * restarts): the meta record marks the clear, and the next open finishes it.
 *
 * The kill is aimed by watching the shard's LevelDB log grow (the clear's delete batches land there)
 * and confirmed by reading the shard's database after the kill: some data records deleted, some left.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_END, DATA_START, decodeMeta, META_KEY } from '../../src/store/format.js';
import { tempDir } from '../helpers/server.js';
import { cleanup, redis, start } from './lib.js';
import type Redis from 'ioredis';

const dirs: string[] = [];
afterAll(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const KEYS = 120_000;

async function fill(r: Redis): Promise<void> {
  for (let i = 0; i < KEYS; i += 2000) {
    const args: string[] = [];
    for (let j = i; j < i + 2000; j++) args.push(`key:${j}`, `value-${j}`);
    await r.mset(...args);
  }
}

function logBytes(shardDir: string): { bytes: number; files: string } {
  let bytes = 0;
  const logs = readdirSync(shardDir).filter((f) => f.endsWith('.log'));
  for (const f of logs) {
    try {
      bytes += statSync(join(shardDir, f)).size;
    } catch {
      // rolled over and deleted between the listing and the stat
    }
  }
  return { bytes, files: logs.join(',') };
}

/** What a (stopped) shard's database holds: its data records, and what its meta record counts. */
async function onDisk(shardDir: string): Promise<{ records: number; counted: number }> {
  const db = new ClassicLevel<Buffer, Buffer>(shardDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: false });
  try {
    let records = 0;
    for await (const _ of db.keys({ gte: DATA_START, lt: DATA_END })) records++;
    const meta = decodeMeta((await db.get(META_KEY))!);
    return { records, counted: meta!.items };
  } finally {
    await db.close();
  }
}

async function scanCount(r: Redis): Promise<number> {
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'COUNT', 1000);
    for (const k of keys) seen.add(k);
    cursor = next;
  } while (cursor !== '0');
  return seen.size;
}

describe('SIGKILL during FLUSHALL', () => {
  it('a restart has the right counts: DBSIZE equals what SCAN finds', async () => {
    const dir = tempDir('cairn-flushcrash-');
    dirs.push(dir);
    const shardDir = join(dir, 'shard-0');
    let filled = false;
    let midClear: { records: number; counted: number } | null = null;
    for (let attempt = 0; attempt < 10 && midClear === null; attempt++) {
      if (!filled) {
        const srv = await start({ dataDir: dir });
        await fill(redis(srv.respPort));
        expect(await srv.stop()).toBe(0); // everything on disk
        filled = true;
      }
      const srv = await start({ dataDir: dir });
      const r = redis(srv.respPort, { retryStrategy: () => null });
      const before = logBytes(shardDir);
      void r.flushall().catch(() => undefined);
      // kill as soon as the clear's first delete batches are in the log
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = logBytes(shardDir);
        if (now.bytes > before.bytes + 24 * 1024 || now.files !== before.files || Date.now() > deadline) break;
        await new Promise((res) => setImmediate(res));
      }
      await srv.kill();
      const disk = await onDisk(shardDir);
      if (disk.records > 0 && disk.records < disk.counted) midClear = disk;
      else if (disk.records === 0) filled = false; // the clear finished first: fill again
    }
    expect(midClear, 'the kill never landed in the middle of the clear').not.toBeNull();

    const srv = await start({ dataDir: dir });
    const r = redis(srv.respPort);
    const scanned = await scanCount(r);
    expect(await r.dbsize()).toBe(scanned);
    // the flush was finished, not half undone
    expect(scanned).toBe(0);
    await r.set('after', '1');
    expect(await r.dbsize()).toBe(1);
    expect(await srv.stop()).toBe(0);
    // and it stays right after a graceful restart
    const again = await start({ dataDir: dir });
    expect(await redis(again.respPort).dbsize()).toBe(1);
    expect(await again.stop()).toBe(0);
    console.log(`flush crash: killed with ${midClear!.records} of ${midClear!.counted} records of shard 0 left; restart finished the clear`);
  }, 180_000);
});
