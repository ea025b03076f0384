/**
 * Hashes and sets through ioredis and node-redis (npm `redis`), the same calls against cairn (4
 * shards, keys of one {tag} where a command takes several) and against redis-server in the same
 * file: typed methods, replies as the libraries decode them (objects for HGETALL, arrays for
 * SMEMBERS), their scan streams and iterators over a hash and a set past one page, and WRONGTYPE.
 */
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';

const { ports, client } = besideRedis(['--shards', '4']);

type NodeRedis = ReturnType<typeof createClient>;
const nodeClients: NodeRedis[] = [];
async function nodeRedis(port: number): Promise<NodeRedis> {
  const c = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 5_000, reconnectStrategy: false } });
  c.on('error', () => {});
  nodeClients.push(c);
  await c.connect();
  return c;
}
afterAll(() => {
  for (const c of nodeClients) if (c.isOpen) c.destroy();
});

const sorted = (xs: string[]): string[] => [...xs].sort();

async function withIoredis(port: number) {
  const r = client(port);
  await r.flushall();
  const fields = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, `v${i}`]));
  const out: Record<string, unknown> = {
    hset: await r.hset('{u1}:profile', { name: 'ada', visits: '1', 'bin\x00': 'x' }),
    hsetAgain: await r.hset('{u1}:profile', 'name', 'lovelace'),
    hgetall: await r.hgetall('{u1}:profile'),
    hincrby: await r.hincrby('{u1}:profile', 'visits', 41),
    hincrbyfloat: await r.hincrbyfloat('{u1}:profile', 'score', '2.5'),
    hmget: await r.hmget('{u1}:profile', 'name', 'missing', 'visits'),
    hexists: await r.hexists('{u1}:profile', 'name'),
    hdel: await r.hdel('{u1}:profile', 'bin\x00', 'missing'),
    hlen: await r.hlen('{u1}:profile'),
    hstrlen: await r.hstrlen('{u1}:profile', 'name'),
    hkeys: sorted(await r.hkeys('{u1}:profile')),
    hrandfield: (await r.hrandfield('{u1}:profile', -5)) as string[],
    sadd: await r.sadd('{u1}:tags', 'a', 'b', 'c', 'a'),
    sadd2: await r.sadd('{u1}:other', 'b', 'c', 'd'),
    smembers: sorted(await r.smembers('{u1}:tags')),
    sinter: sorted(await r.sinter('{u1}:tags', '{u1}:other')),
    sunion: sorted(await r.sunion('{u1}:tags', '{u1}:other')),
    sdiff: await r.sdiff('{u1}:tags', '{u1}:other'),
    sinterstore: await r.sinterstore('{u1}:both', '{u1}:tags', '{u1}:other'),
    both: sorted(await r.smembers('{u1}:both')),
    sintercard: await r.call('SINTERCARD', '2', '{u1}:tags', '{u1}:other', 'LIMIT', '1'),
    smismember: await r.smismember('{u1}:tags', 'a', 'z'),
    smove: await r.smove('{u1}:tags', '{u1}:other', 'a'),
    scard: await r.scard('{u1}:other'),
    spop: (await r.spop('{u1}:tags', 10)).length,
    tagsGone: await r.exists('{u1}:tags'),
    type: [await r.type('{u1}:profile'), await r.type('{u1}:other')],
    wrongType: await r.get('{u1}:other').catch((e: Error) => e.message),
  };
  out.hrandfield = (out.hrandfield as string[]).every((f) => ['name', 'visits', 'score'].includes(f)) && (out.hrandfield as string[]).length;
  // a hash and a set past one scan page, read back through the scan streams
  await r.hset('{u1}:big', fields);
  await r.sadd('{u1}:bigset', ...Object.keys(fields));
  const seen: Record<string, string> = {};
  for await (const page of r.hscanStream('{u1}:big', { count: 50 })) for (let i = 0; i < page.length; i += 2) seen[page[i]] = page[i + 1];
  out.hscan = seen;
  const members = new Set<string>();
  for await (const page of r.sscanStream('{u1}:bigset', { count: 50, match: 'f1*' })) for (const m of page) members.add(m);
  out.sscan = sorted([...members]);
  out.fields = fields;
  return out;
}

async function withNodeRedis(port: number) {
  const r = await nodeRedis(port);
  await r.flushAll();
  const out: Record<string, unknown> = {
    hSet: await r.hSet('{cart7}:items', { apple: '2', pear: '1' }),
    hIncrBy: await r.hIncrBy('{cart7}:items', 'apple', 3),
    hIncrByFloat: await r.hIncrByFloat('{cart7}:items', 'weight', 0.25),
    hGetAll: { ...(await r.hGetAll('{cart7}:items')) },
    hGet: await r.hGet('{cart7}:items', 'missing'),
    hVals: sorted(await r.hVals('{cart7}:items')),
    sAdd: await r.sAdd('{cart7}:seen', ['apple', 'kiwi']),
    sAdd2: await r.sAdd('{cart7}:liked', ['kiwi', 'fig']),
    sMembers: sorted(await r.sMembers('{cart7}:seen')),
    sInter: await r.sInter(['{cart7}:seen', '{cart7}:liked']),
    sUnionStore: await r.sUnionStore('{cart7}:all', ['{cart7}:seen', '{cart7}:liked']),
    sIsMember: await r.sIsMember('{cart7}:all', 'fig'),
    sRandMember: await r.sRandMemberCount('{cart7}:all', 10).then(sorted),
    sRem: await r.sRem('{cart7}:all', ['fig', 'nope']),
    hDel: await r.hDel('{cart7}:items', ['apple', 'pear', 'weight']),
    gone: await r.exists('{cart7}:items'),
    wrongType: await r.hGet('{cart7}:seen', 'x').catch((e: Error) => e.message),
  };
  const big = Array.from({ length: 200 }, (_, i) => `m${i}`);
  await r.sAdd('{cart7}:big', big);
  const scanned = new Set<string>();
  for await (const page of r.sScanIterator('{cart7}:big', { COUNT: 30 })) for (const m of page) scanned.add(m);
  out.sScan = scanned.size === big.length && big.every((m) => scanned.has(m));
  await r.hSet('{cart7}:bigh', Object.fromEntries(big.map((m) => [m, m.toUpperCase()])));
  let pairs = 0;
  for await (const page of r.hScanIterator('{cart7}:bigh', { COUNT: 30 })) for (const e of page) pairs += e.value === e.field.toUpperCase() ? 1 : 0;
  out.hScan = pairs;
  return out;
}

describe('hashes and sets through client libraries, cairn beside redis-server', () => {
  it('ioredis: the same calls give the same results', async () => {
    const [got, want] = await Promise.all([withIoredis(ports().cairn), withIoredis(ports().redis)]);
    expect(want.hgetall).toEqual({ name: 'lovelace', visits: '1', 'bin\x00': 'x' });
    expect(want.hscan).toEqual(want.fields);
    expect(got).toEqual(want);
  }, 60_000);

  it('node-redis: the same calls give the same results', async () => {
    const [got, want] = await Promise.all([withNodeRedis(ports().cairn), withNodeRedis(ports().redis)]);
    expect(want.sScan).toBe(true);
    expect(want.hScan).toBe(200);
    expect(got).toEqual(want);
  }, 60_000);
});
