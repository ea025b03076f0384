/**
 * Hash tags end to end: keys with one tag meet on one shard, and a data directory written before
 * hash tags (every key hashed whole) has its tagged keys moved at start, so that every key is found
 * again, TTL and flags kept; a move stopped midway is finished by the next start.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { shardOf, wholeKeyShardOf } from '../../src/hash.js';
import { rehashDataDir } from '../../src/store/rehash.js';
import { TieredShardStore } from '../../src/store/shard-store.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const SHARDS = 2;
const STORE = { maxMemory: 16 * 1024 * 1024, durability: 'writeback' as const };

interface Written {
  key: string;
  value: string;
  flags: number;
  expiresAt: number;
}

/** keys with braces (tags, `{}`, unclosed), and some without; every third with a TTL */
function oldKeys(): Written[] {
  const names: string[] = [];
  for (let i = 0; i < 60; i++) names.push(`{user${i % 12}}:item${i}`);
  for (let i = 0; i < 10; i++) names.push(`x{}y${i}`, `open{${i}`, `plain:${i}`, `a{b}{c${i}}`);
  const hour = Date.now() + 3_600_000;
  return names.map((key, i) => ({ key, value: `value of ${key}`, flags: i, expiresAt: i % 3 === 0 ? hour + i * 1000 : 0 }));
}

/** A data directory as a version before hash tags left it: each key on its whole-key shard, cairn.json without keyHash. */
async function writeOldDataDir(dir: string, keys: Written[]): Promise<void> {
  const stores = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => TieredShardStore.open({ ...STORE, shard, dir: join(dir, `shard-${shard}`) })));
  for (const k of keys) {
    const key = Buffer.from(k.key);
    stores[wholeKeyShardOf(key, SHARDS)].set(key, Buffer.from(k.value), { flags: k.flags, expiresAt: k.expiresAt });
  }
  await Promise.all(stores.map((s) => s.close()));
  writeFileSync(join(dir, 'cairn.json'), `${JSON.stringify({ format: 1, shards: SHARDS, opened: [0, 1] }, null, 2)}\n`);
}

/** Every live key of each shard's store, read straight from the directory. */
async function keysByShard(dir: string): Promise<Map<string, number[]>> {
  const where = new Map<string, number[]>();
  for (let shard = 0; shard < SHARDS; shard++) {
    const store = await TieredShardStore.open({ ...STORE, shard, dir: join(dir, `shard-${shard}`) });
    try {
      let cursor = '0';
      do {
        const page = await store.scan(cursor, 500);
        cursor = page.cursor;
        for (const k of page.keys) where.set(k.toString(), [...(where.get(k.toString()) ?? []), shard]);
      } while (cursor !== '0');
    } finally {
      await store.close();
    }
  }
  return where;
}

const meta = (dir: string): { keyHash?: string } => JSON.parse(readFileSync(join(dir, 'cairn.json'), 'utf8')) as { keyHash?: string };

describe('hash tags', () => {
  let server: TestServer | null = null;
  let client: Redis | null = null;
  const dirs: string[] = [];

  afterEach(async () => {
    client?.disconnect();
    client = null;
    await server?.stop();
    server = null;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const connect = async (s: TestServer): Promise<Redis> => {
    client = new Redis({ port: s.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    return client;
  };

  it('puts keys with one tag on one shard', async () => {
    server = await startServer();
    const redis = await connect(server);
    const keys = Array.from({ length: 40 }, (_, i) => `{user1}:${i}`);
    await redis.mset(...keys.flatMap((k) => [k, 'v']));
    const info = (await redis.call('CAIRN.INFO')) as string;
    const counts = [...info.matchAll(/^shard(\d+):keys=(\d+)/gm)].map((m) => Number(m[2]));
    expect(counts).toHaveLength(SHARDS);
    expect(counts.sort((a, b) => a - b)).toEqual([0, 40]);
    expect(meta(server.dataDir).keyHash).toBe('tags');

    // the SDK groups a batch as the server routes it (HELLO's keyHash): a shard refuses a key it does not own
    const sdk = await createClient({ port: server.port });
    try {
      expect(sdk.serverInfo?.keyHash).toBe('tags');
      const mixed = [...keys, ...Array.from({ length: 40 }, (_, i) => `{user${i}}:x`), 'plain', '{}odd'];
      await sdk.mset(mixed.map((k) => [k, `sdk ${k}`] as [string, string]));
      expect((await sdk.mget(mixed)).map((v) => v?.toString())).toEqual(mixed.map((k) => `sdk ${k}`));
      expect(await sdk.mdel(mixed)).toBe(mixed.length);
    } finally {
      await sdk.close();
    }
  }, 60_000);

  it('moves the tagged keys of a directory written before hash tags, and every key is read back over RESP', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const keys = oldKeys();
    await writeOldDataDir(dir, keys);
    // the directory must hold keys whose shard changed, or the test would prove nothing
    const misplaced = keys.filter((k) => shardOf(Buffer.from(k.key), SHARDS) !== wholeKeyShardOf(Buffer.from(k.key), SHARDS));
    expect(misplaced.length).toBeGreaterThan(10);

    server = await startServer({ dataDir: dir });
    expect(server.output()).toMatch(/hash tags: shard 0: \d+ keys scanned, \d+ moved/);
    expect(server.output()).toMatch(/hash tags: shard 1: \d+ keys scanned, \d+ moved/);
    expect(meta(dir).keyHash).toBe('tags');
    const redis = await connect(server);
    for (const k of keys) {
      expect(await redis.get(k.key), k.key).toBe(k.value);
      const pexpireTime = await redis.pexpiretime(k.key);
      expect(pexpireTime, k.key).toBe(k.expiresAt === 0 ? -1 : k.expiresAt);
    }
    expect(await redis.dbsize()).toBe(keys.length);
    // MGET with keys of one tag: served by one shard
    const user3 = keys.filter((k) => k.key.startsWith('{user3}'));
    expect(await redis.mget(...user3.map((k) => k.key))).toEqual(user3.map((k) => k.value));
    client.disconnect();
    client = null;
    await server.stop();
    server = null;

    // on disk: each key exactly once, on its shard
    const where = await keysByShard(dir);
    expect(where.size).toBe(keys.length);
    for (const k of keys) expect(where.get(k.key), k.key).toEqual([shardOf(Buffer.from(k.key), SHARDS)]);
  }, 120_000);

  it('finishes a move stopped midway, losing no key', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const keys = oldKeys();
    await writeOldDataDir(dir, keys);
    const lines: string[] = [];
    // stop after the first page's copies are written, before their old copies are deleted
    await expect(
      rehashDataDir({
        dir,
        shards: SHARDS,
        store: STORE,
        log: (l) => lines.push(l),
        beforeDelete: () => {
          throw new Error('stopped midway');
        },
      }),
    ).rejects.toThrow('stopped midway');
    expect(meta(dir).keyHash).toBeUndefined();
    // the moved keys are in both shards now, none is lost
    const midway = await keysByShard(dir);
    expect(midway.size).toBe(keys.length);
    expect([...midway.values()].some((shards) => shards.length === 2)).toBe(true);

    // the next start finishes the move
    server = await startServer({ dataDir: dir });
    expect(meta(dir).keyHash).toBe('tags');
    const redis = await connect(server);
    for (const k of keys) expect(await redis.get(k.key), k.key).toBe(k.value);
    expect(await redis.dbsize()).toBe(keys.length);
    client.disconnect();
    client = null;
    await server.stop();
    server = null;
    const after = await keysByShard(dir);
    for (const k of keys) expect(after.get(k.key), k.key).toEqual([shardOf(Buffer.from(k.key), SHARDS)]);
  }, 120_000);

  it('only records the scheme on a one-shard directory', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const store = await TieredShardStore.open({ ...STORE, shard: 0, dir: join(dir, 'shard-0') });
    store.set(Buffer.from('{a}b'), Buffer.from('v'));
    await store.close();
    writeFileSync(join(dir, 'cairn.json'), `${JSON.stringify({ format: 1, shards: 1, opened: [0] })}\n`);
    expect(await rehashDataDir({ dir, shards: 1, store: STORE })).toBeNull();
    expect(meta(dir).keyHash).toBe('tags');
  });
});
