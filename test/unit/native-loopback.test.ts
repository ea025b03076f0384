/** Tests of the native protocol's test doubles (test/helpers/native-loopback.ts). */
import { afterEach, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { MapShardStoreDouble, startLoopbackAcceptor, type LoopbackAcceptor } from '../helpers/native-loopback.js';

const I64_MAX = 2n ** 63n - 1n;

describe('MapShardStoreDouble (test double of ShardStore)', () => {
  it('follows the contract for set conditions, expiry and incr', async () => {
    let now = 1000;
    const store = new MapShardStoreDouble(0, () => now);
    const k = Buffer.from('k');
    expect((await store.set(k, Buffer.from('1'), { mode: 'xx' })).status).toBe('not_stored');
    const first = await store.set(k, Buffer.from('1'), { expiresAt: 2000 });
    expect(first.status).toBe('stored');
    expect((await store.set(k, Buffer.from('2'), { cas: first.cas + 100 })).status).toBe('exists');
    expect(await store.incr(k, 5n, false, true)).toEqual({ status: 'ok', value: 6n });
    expect(await store.expireTime(k)).toBe(2000);
    now = 2000;
    expect(await store.get(k)).toBeNull();
    expect(await store.incr(k, I64_MAX, false, true)).toEqual({ status: 'ok', value: I64_MAX });
    expect(await store.incr(k, 1n, false, true)).toEqual({ status: 'overflow' });
  });

  it('scans every key exactly once when nothing changes', async () => {
    const store = new MapShardStoreDouble();
    for (let i = 0; i < 250; i++) await store.set(Buffer.from(`key:${i}`), Buffer.from('v'));
    const seen: string[] = [];
    let cursor = '0';
    do {
      const page = await store.scan(cursor, 7);
      seen.push(...page.keys.map((b) => b.toString()));
      cursor = page.cursor;
    } while (cursor !== '0');
    expect(seen.length).toBe(250);
    expect(new Set(seen).size).toBe(250);
  });
});

describe('loopback acceptor (test double)', () => {
  let acceptor: LoopbackAcceptor | null = null;
  afterEach(async () => {
    await acceptor?.stop();
    acceptor = null;
  });

  it('routes keys to the shard shardOf names', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 3 });
    const { createClient } = await import('../../src/client/index.js');
    const client = await createClient({ port: acceptor.port });
    for (let i = 0; i < 60; i++) await client.set(`k${i}`, 'v');
    for (let i = 0; i < 60; i++) {
      const shard = shardOf(Buffer.from(`k${i}`), 3);
      expect(await acceptor.stores[shard].exists(Buffer.from(`k${i}`))).toBe(true);
    }
    await client.close();
  });
});
