/**
 * An entry that fills the shard's memory, changed into a version that needs a bigger block (an
 * expiry adds two header words, append and incr lengthen the value): the new version does not fit
 * in memory, so it must go to disk like a value too large for memory. The store must never lose the
 * entry (in spill mode, and in writeback before the writer ran, memory holds its only copy).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acknowledge } from '../../src/store/acknowledge.js';
import { TieredShardStore, type Durability, type TieredShardStoreOptions } from '../../src/store/shard-store.js';

const BUDGET = 64 << 10;
const DAY = 86_400_000;
const dirs: string[] = [];
const stores: TieredShardStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dir: string, durability: Durability, opts: Partial<TieredShardStoreOptions> = {}): Promise<TieredShardStore> {
  // a writer that does not run during the test: memory holds the only copy of every write
  const s = await TieredShardStore.open({ shard: 0, dir, maxMemory: BUDGET, durability, writebackDelayMs: 60_000, sweepIntervalMs: 60_000, ...opts });
  stores.push(s);
  return s;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-nofit-'));
  dirs.push(d);
  return d;
}

/** Runs a command and waits until it is as durable as the mode promises (sync: on disk). */
async function run<T>(s: TieredShardStore, fn: () => T): Promise<T> {
  return acknowledge(s, fn);
}

/**
 * Grows the hash table with many small keys (an empty table is so small that the engine refuses an
 * entry this large before trying), then leaves one entry alone in memory, filling the budget to the
 * byte: `build(n)` makes it with key and value n bytes longer than its shortest form.
 */
async function fillWith(s: TieredShardStore, build: (n: number) => [key: Buffer, value: Buffer]): Promise<[key: Buffer, value: Buffer]> {
  const fillers = Array.from({ length: 500 }, (_, i) => Buffer.from(`filler:${i}`));
  for (const f of fillers) s.set(f, Buffer.from('x'));
  // a first version whose key and value end on a word boundary, so the final one does too
  const [k0, v0] = build(0);
  const n0 = (4 - ((k0.length + v0.length) % 4)) % 4;
  const [k1, v1] = build(n0);
  await run(s, () => s.set(k1, v1));
  for (const f of fillers) s.delete(f);
  await s.sync();
  let hot = s.stats().hot;
  expect(hot.items).toBe(1);
  const [key, value] = build(n0 + hot.maxBytes - hot.bytes);
  await run(s, () => s.delete(k1));
  await run(s, () => s.set(key, value));
  hot = s.stats().hot;
  expect(hot).toMatchObject({ items: 1, bytes: hot.maxBytes }); // in memory, filling it exactly
  return [key, value];
}

const bigValue = (n: number): [Buffer, Buffer] => [Buffer.from('big'), Buffer.alloc(8 + n, 0x2e)];

describe.each(['spill', 'writeback', 'sync'] as const)('a new version that does not fit in memory (%s)', (durability) => {
  it('EXPIRE keeps the entry, with its new expiry, in memory or on disk, across a restart', async () => {
    const dir = tempDir();
    const s = await open(dir, durability);
    const [key, stored] = await fillWith(s, bigValue);
    const cas = s.get(key)!.cas;
    const exp = Date.now() + DAY;
    expect(await run(s, () => s.expire(key, exp))).toBe(true);
    expect(s.get(key)).toMatchObject({ value: stored, expiresAt: exp, cas });
    expect(s.expireTime(key)).toBe(exp);
    await s.close();
    const r = await open(dir, durability);
    expect(r.get(key)).toMatchObject({ value: stored, expiresAt: exp, cas });
  });

  it('touch (memcached touch / gat, GETEX EX) answers the entry and keeps it', async () => {
    const s = await open(tempDir(), durability);
    const [key, stored] = await fillWith(s, bigValue);
    const exp = Date.now() + DAY;
    const got = await run(s, () => s.touch(key, exp));
    expect(got).toMatchObject({ value: stored, expiresAt: exp });
    expect(s.get(key)).toMatchObject({ value: stored, expiresAt: exp });
  });

  it('append and prepend that outgrow memory move the whole value to disk', async () => {
    const s = await open(tempDir(), durability);
    const [key, stored] = await fillWith(s, bigValue);
    expect(await run(s, () => s.append(key, Buffer.from('tail'), false, false))).toBe(stored.length + 4);
    expect(s.get(key)?.value).toEqual(Buffer.concat([stored, Buffer.from('tail')]));
    expect(await run(s, () => s.append(key, Buffer.from('head'), true, false))).toBe(stored.length + 8);
    expect(s.get(key)?.value).toEqual(Buffer.concat([Buffer.from('head'), stored, Buffer.from('tail')]));
  });

  it('an incr whose result is one digit longer than memory holds keeps counting on disk', async () => {
    const dir = tempDir();
    const s = await open(dir, durability);
    // the key fills memory; "9999" becoming "10000" needs one more word
    const [key] = await fillWith(s, (n) => [Buffer.alloc(30_000 + n, 0x6b), Buffer.from('9999')]);
    expect(await run(s, () => s.incr(key, 1n, false, false))).toEqual({ status: 'ok', value: 10000n });
    expect(s.get(key)?.value.toString()).toBe('10000');
    expect(await run(s, () => s.incr(key, 5n, true, false))).toEqual({ status: 'ok', value: 10005n });
    // memcached's decr keeps the old length, padded with spaces, on disk as in memory
    expect(await run(s, () => s.incr(key, -10_000n, true, false))).toEqual({ status: 'ok', value: 5n });
    expect(s.get(key)?.value.toString()).toBe('5    ');
    await s.close();
    const r = await open(dir, durability);
    expect(r.get(key)?.value.toString()).toBe('5    ');
  });
});
