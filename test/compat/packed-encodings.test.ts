/**
 * Small collections held packed, against redis-server in the same file: OBJECT ENCODING answers
 * `listpack` while a hash, sorted set, set or list is within Redis' listpack rule (128 members of at
 * most 64 bytes, hash values too) and the big structure's name past either limit, with the contents
 * byte for byte as Redis' through the conversion, and no conversion back when it shrinks. Sorted sets
 * answer as Redis 7.0 does, hashes too except that Redis keeps up to 512 fields in a listpack; Redis
 * 7.0 answers `hashtable` / `intset` for small sets and `quicklist` for every list (docs/commands.md),
 * so those encodings are checked on cairn alone.
 */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';

const { ports, client } = besideRedis(['--shards', '2']);

interface Kind {
  name: string;
  big: string;
  /** whether Redis 7.0 answers OBJECT ENCODING as cairn does past the member count, and the member length */
  sameCount: boolean;
  sameLength: boolean;
  add: (r: Redis, key: string, members: string[]) => Promise<unknown>;
  remove: (r: Redis, key: string, members: string[]) => Promise<unknown>;
  /** the contents as a reply to compare, in an order both servers define */
  contents: (r: Redis, key: string) => Promise<unknown>;
}

const KINDS: Kind[] = [
  {
    name: 'hash',
    big: 'hashtable',
    sameCount: false, // Redis' hash-max-listpack-entries is 512
    sameLength: true,
    add: (r, key, ms) => r.hset(key, ...ms.flatMap((m) => [m, `${m.length}:${m.slice(0, 8)}`])),
    remove: (r, key, ms) => r.hdel(key, ...ms),
    contents: async (r, key) => Object.entries(await r.hgetall(key)).sort(),
  },
  {
    name: 'sorted set',
    big: 'skiplist',
    sameCount: true,
    sameLength: true,
    add: (r, key, ms) => r.zadd(key, ...ms.flatMap((m) => [String(m.length % 7), m])),
    remove: (r, key, ms) => r.zrem(key, ...ms),
    contents: (r, key) => r.zrange(key, 0, -1, 'WITHSCORES'),
  },
  {
    name: 'set',
    big: 'hashtable',
    sameCount: false,
    sameLength: false,
    add: (r, key, ms) => r.sadd(key, ...ms),
    remove: (r, key, ms) => r.srem(key, ...ms),
    contents: async (r, key) => (await r.smembers(key)).sort(),
  },
  {
    name: 'list',
    big: 'quicklist',
    sameCount: false,
    sameLength: false,
    add: (r, key, ms) => r.rpush(key, ...ms),
    remove: (r, key, ms) => Promise.all(ms.map((m) => r.lrem(key, 1, m))),
    contents: (r, key) => r.lrange(key, 0, -1),
  },
];

const members = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** runs the same steps on both servers; each step's encoding and contents, cairn's and Redis' */
async function both(kind: Kind, key: string, steps: ((r: Redis) => Promise<unknown>)[]): Promise<{ cairn: string[]; redis: string[] }> {
  const out = { cairn: [] as string[], redis: [] as string[] };
  const { cairn, redis } = ports();
  const c = client(cairn);
  const r = client(redis);
  for (const step of steps) {
    await Promise.all([step(c), step(r)]);
    const [ce, re] = await Promise.all([c.object('ENCODING', key), r.object('ENCODING', key)]);
    out.cairn.push(String(ce));
    out.redis.push(String(re));
    expect(await kind.contents(c, key)).toEqual(await kind.contents(r, key));
  }
  return out;
}

describe('packed collections against redis-server', () => {
  for (const kind of KINDS) {
    it(`a ${kind.name} is listpack up to 128 members, ${kind.big} past it, and stays ${kind.big} when it shrinks`, async () => {
      const key = `count:${kind.name}`;
      const enc = await both(kind, key, [
        (r) => kind.add(r, key, members(100, 'member-')),
        (r) => kind.add(r, key, members(128, 'member-').slice(100)),
        (r) => kind.add(r, key, ['member-128']),
        (r) => kind.remove(r, key, members(128, 'member-')),
      ]);
      expect(enc.cairn).toEqual(['listpack', 'listpack', kind.big, kind.big]);
      if (kind.sameCount) expect(enc.cairn).toEqual(enc.redis);
    });

    it(`a ${kind.name} is listpack with a 64-byte member and ${kind.big} with a 65-byte one`, async () => {
      const key = `length:${kind.name}`;
      const enc = await both(kind, key, [
        (r) => kind.add(r, key, ['a', 'x'.repeat(64), 'b']),
        (r) => kind.add(r, key, ['y'.repeat(65)]),
        (r) => kind.remove(r, key, ['y'.repeat(65)]),
      ]);
      expect(enc.cairn).toEqual(['listpack', kind.big, kind.big]);
      if (kind.sameLength) expect(enc.cairn).toEqual(enc.redis);
    });
  }

  it('a hash value past 64 bytes converts a hash, as in Redis', async () => {
    const enc = await both(KINDS[0], 'value:hash', [(r) => r.hset('value:hash', 'f', 'v'.repeat(64)), (r) => r.hset('value:hash', 'f', 'v'.repeat(65))]);
    expect(enc.cairn).toEqual(['listpack', 'hashtable']);
    expect(enc.cairn).toEqual(enc.redis);
  });
});
