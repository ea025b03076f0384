/**
 * cairn's hash tag rule against Redis Cluster's own (CLUSTER KEYSLOT on a cluster-enabled
 * redis-server): for every key, the substring a reference of the rule picks is checked twice, once
 * by Redis (the key and the substring share a slot) and once by cairn (the key's shard is the
 * substring's whole-key hash), over a near-injective shard count.
 */
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type ServiceHandle, startRedisServer } from '../../bench/lib/procs.js';
import { shardOf, wholeKeyShardOf } from '../../src/hash.js';

/** the rule as the Redis cluster spec states it, written out plainly */
function referenceTag(key: Buffer): Buffer {
  const s = key.indexOf(0x7b);
  if (s < 0) return key;
  const e = key.indexOf(0x7d, s + 1);
  if (e < 0 || e === s + 1) return key;
  return key.subarray(s + 1, e);
}

function keys(): Buffer[] {
  const out = ['{user1}:a', '{user1}:b', '{}{foo}', 'foo{{bar}}zap', 'foo{bar}{zap}', '{a{b}c}', '}{x}', '{{}}', '{', '}', '{}', 'plain', ''].map((s) =>
    Buffer.from(s),
  );
  // random keys over a small alphabet full of braces, and binary ones
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const alphabet = [0x7b, 0x7d, 0x61, 0x62, 0x00, 0xff];
  for (let i = 0; i < 300; i++) {
    const len = 1 + rand(9);
    out.push(Buffer.from(Array.from({ length: len }, () => alphabet[rand(alphabet.length)])));
  }
  return out;
}

describe('hash tags match Redis Cluster keyHashSlot', () => {
  let redis: ServiceHandle;
  let client: Redis;

  beforeAll(async () => {
    // the cluster bus listens on port + 10000: pick a port that leaves room for it
    for (let attempt = 0; ; attempt++) {
      let port = await freePort();
      if (port > 55000) port = 20000 + (port % 30000);
      try {
        redis = await startRedisServer(port, ['--cluster-enabled', 'yes']);
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
      }
    }
    client = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
  }, 30_000);

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('picks the substring Redis hashes, for every key', async () => {
    const slot = (k: Buffer): Promise<number> => client.call('CLUSTER', 'KEYSLOT', k) as Promise<number>;
    for (const key of keys()) {
      const tag = referenceTag(key);
      expect(await slot(key), `redis: ${key.toString('hex')}`).toBe(await slot(tag));
      expect(shardOf(key, 2 ** 30), `cairn: ${key.toString('hex')}`).toBe(wholeKeyShardOf(tag, 2 ** 30));
    }
  });
});
