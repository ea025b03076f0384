/**
 * The SDK's hash, list, set and sorted-set methods (native CALL, docs/protocol.md) against a real
 * cairn server of 2 shards over TCP and over WebSocket (the gateway), and in the embedded cache:
 * the same calls, the same typed results, WRONGTYPE as CAIRN_ERR_WRONG_TYPE, keys of one command on
 * two shards refused with CAIRN_ERR_WRONG_SHARD (and accepted with a common {tag}).
 */
import { rmSync } from 'node:fs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport, webSocketTransport, type WebSocketConstructor } from '../../src/client/index.js';
import { CairnError, ErrorCode } from '../../src/errors.js';
import { shardOf } from '../../src/hash.js';
import { openCache, type Cache } from '../../src/index.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const SHARDS = 2;
const text = (v: Uint8Array | null): string | null => (v === null ? null : Buffer.from(v).toString());
const texts = (vs: (Uint8Array | null)[] | null): (string | null)[] | null => (vs === null ? null : vs.map(text));
const sorted = (vs: Uint8Array[]): string[] => vs.map((v) => Buffer.from(v).toString()).sort();

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CairnError);
    return (err as CairnError).code;
  }
  throw new Error('expected a rejection');
}

/** two keys with `prefix` on different shards */
function apart(prefix: string): [string, string] {
  const a = `${prefix}:a`;
  for (let i = 0; ; i++) {
    const b = `${prefix}:b${i}`;
    if (shardOf(Buffer.from(a), SHARDS) !== shardOf(Buffer.from(b), SHARDS)) return [a, b];
  }
}

let server: TestServer;
let cache: Cache;
let cacheDir: string;
const clients: CairnClient[] = [];

beforeAll(async () => {
  server = await startServer({ args: ['--shards', String(SHARDS)] });
  cacheDir = tempDir('cairn-cache-types-');
  cache = await openCache({ dir: cacheDir, shards: SHARDS, maxMemory: 4 * 1024 * 1024, threads: false });
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await cache?.close();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  await server?.stop();
});

const targets: [string, () => Promise<CairnClient>][] = [
  [
    'TCP',
    async () => {
      const c = new CairnClient({ host: '127.0.0.1', port: server.port, reconnect: false, transport: tcpTransport() });
      clients.push(c);
      return c.connect();
    },
  ],
  [
    'WebSocket',
    async () => {
      const c = new CairnClient({
        host: '127.0.0.1',
        port: server.httpPort,
        reconnect: false,
        transport: webSocketTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor }),
      });
      clients.push(c);
      return c.connect();
    },
  ],
  ['embedded cache', async () => cache],
];

describe.each(targets)('data types over %s', (name, open) => {
  const p = `${name.replace(/ /g, '-')}`;
  let c: CairnClient;
  beforeAll(async () => {
    c = await open();
  });

  it('runs any keyed command by name: strings, TYPE, coded errors, blocking and keyless commands refused', async () => {
    expect(await c.callCommand('set', [`${p}:s`, 'v'])).toBe('OK');
    expect(text((await c.callCommand('get', [`${p}:s`])) as Uint8Array)).toBe('v');
    expect(await c.callCommand('incrby', [`${p}:n`, 41])).toBe(41);
    expect(await c.callCommand('incrby', [`${p}:n`, 2n ** 60n])).toBe(2n ** 60n + 41n);
    expect(await c.type(`${p}:s`)).toBe('string');
    expect(await c.type(`${p}:missing`)).toBe('none');
    expect(await code(c.callCommand('incr', [`${p}:s`]))).toBe(ErrorCode.NOT_INTEGER);
    expect(await code(c.callCommand('get', [`${p}:s`, 'extra']))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await code(c.callCommand('nosuchcommand', [`${p}:s`]))).toBe(ErrorCode.UNKNOWN_COMMAND);
    expect(await code(c.callCommand('flushall', []))).toBe(ErrorCode.UNKNOWN_COMMAND);
    expect(await code(c.callCommand('blpop', [`${p}:l`, 1]))).toBe(ErrorCode.UNKNOWN_COMMAND);
    expect(await code(c.callCommand('brpop', [`${p}:l`, 1]))).toBe(ErrorCode.UNKNOWN_COMMAND);
    // the value is still there: nothing above changed it
    expect(text(await c.get(`${p}:s`))).toBe('v');
  });

  it('refuses keys of one command on two shards, and runs them with a common {tag}', async () => {
    const [a, b] = apart(`${p}:x`);
    await c.callCommand('set', [a, '1']);
    expect(await code(c.callCommand('mget', [a, b]))).toBe(ErrorCode.WRONG_SHARD);
    expect(await code(c.sinter([a, b]))).toBe(ErrorCode.WRONG_SHARD);
    expect(await code(c.sinterstore(a, [b]))).toBe(ErrorCode.WRONG_SHARD);
    expect(await code(c.smove(b, a, 'm'))).toBe(ErrorCode.WRONG_SHARD);
    expect(text(await c.get(a))).toBe('1');
    const t1 = `{${p}}:s1`;
    const t2 = `{${p}}:s2`;
    await c.sadd(t1, ['a', 'b', 'c']);
    await c.sadd(t2, ['b', 'c', 'd']);
    expect(sorted(await c.sinter([t1, t2]))).toEqual(['b', 'c']);
    expect(sorted(await c.sunion([t1, t2]))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('answers WRONGTYPE as CAIRN_ERR_WRONG_TYPE, both ways', async () => {
    await c.set(`${p}:str`, 'v');
    await c.hset(`${p}:hash`, { f: 'v' });
    expect(await code(c.hget(`${p}:str`, 'f'))).toBe(ErrorCode.WRONG_TYPE);
    expect(await code(c.sadd(`${p}:hash`, 'm'))).toBe(ErrorCode.WRONG_TYPE);
    expect(await code(c.sinter([`${p}:hash`]))).toBe(ErrorCode.WRONG_TYPE);
    expect(await code(c.get(`${p}:hash`))).toBe(ErrorCode.WRONG_TYPE);
    expect(await c.type(`${p}:hash`)).toBe('hash');
  });

  it('hashes', async () => {
    const h = `${p}:h`;
    expect(await c.hset(h, { a: '1', b: '2' })).toBe(2);
    expect(
      await c.hset(
        h,
        new Map([
          ['b', '3'],
          ['c', Buffer.from([0, 255])],
        ]),
      ),
    ).toBe(1);
    expect(await c.hsetnx(h, 'a', 'x')).toBe(false);
    expect(await c.hsetnx(h, 'd', '4')).toBe(true);
    await c.hmset(h, [['e', '5']]);
    expect(text(await c.hget(h, 'b'))).toBe('3');
    expect(await c.hget(h, 'zz')).toBeNull();
    expect(texts(await c.hmget(h, ['a', 'zz', 'd']))).toEqual(['1', null, '4']);
    const all = await c.hgetall(h);
    expect(Object.keys(all).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([...all.c]).toEqual([0, 255]);
    expect((await c.hgetallPairs(h)).length).toBe(5);
    expect(await c.hgetall(`${p}:nohash`)).toEqual({});
    expect(await c.hlen(h)).toBe(5);
    expect(sorted(await c.hkeys(h))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(sorted(await c.hvals(h)).length).toBe(5);
    expect(await c.hexists(h, 'a')).toBe(true);
    expect(await c.hexists(h, 'zz')).toBe(false);
    expect(await c.hstrlen(h, 'c')).toBe(2);
    expect(await c.hincrby(h, 'a', 41)).toBe(42);
    expect(await c.hincrbyfloat(h, 'a', 0.5)).toBe(42.5);
    expect(await code(c.hincrby(h, 'c', 1))).toBe(ErrorCode.NOT_INTEGER);
    expect(await c.hdel(h, ['d', 'e', 'zz'])).toBe(2);
    expect(['a', 'b', 'c']).toContain(text(await c.hrandfield(h)));
    expect((await c.hrandfields(h, 10)).length).toBe(3);
    expect((await c.hrandfields(h, -7)).length).toBe(7);
    const withValues = await c.hrandfieldsWithValues(h, 3);
    expect(withValues.map(([f]) => text(f)).sort()).toEqual(['a', 'b', 'c']);
    const seen = new Map<string, string>();
    let cursor = '0';
    do {
      const page = await c.hscan(h, cursor, { count: 1 });
      for (const [f, v] of page.entries) seen.set(text(f)!, text(v)!);
      cursor = page.cursor;
    } while (cursor !== '0');
    expect([...seen.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(seen.get('a')).toBe('42.5');
    expect(await c.hdel(h, ['a', 'b', 'c'])).toBe(3);
    expect(await c.type(h)).toBe('none');
  });

  it('lists', async () => {
    expect(await code(c.lpush(`${p}:str`, 'x'))).toBe(ErrorCode.WRONG_TYPE);
    const [a, b] = apart(`${p}:lx`);
    expect(await code(c.lmove(a, b, 'left', 'right'))).toBe(ErrorCode.WRONG_SHARD);
    expect(await code(c.lmpop([a, b], 'left'))).toBe(ErrorCode.WRONG_SHARD);
    const l = `{${p}:l}:1`;
    const l2 = `{${p}:l}:2`;
    expect(await c.rpush(l, ['a', 'b', 'c'])).toBe(3);
    expect(await c.lpush(l, ['y', 'z'])).toBe(5);
    expect(await c.lpushx(`${p}:nolist`, 'a')).toBe(0);
    expect(await c.rpushx(l, 'd')).toBe(6);
    expect(texts(await c.lrange(l, 0, -1))).toEqual(['z', 'y', 'a', 'b', 'c', 'd']);
    expect(await c.llen(l)).toBe(6);
    expect(text(await c.lindex(l, -1))).toBe('d');
    expect(await c.lindex(l, 99)).toBeNull();
    await c.lset(l, 0, 'Z');
    expect(await code(c.lset(l, 99, 'x'))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await c.linsert(l, 'before', 'a', 'b')).toBe(7);
    expect(await c.linsert(l, 'after', 'nope', 'x')).toBe(-1);
    expect(await c.lpos(l, 'b')).toBe(2);
    expect(await c.lpos(l, 'b', { rank: 2 })).toBe(4);
    expect(await c.lpos(l, 'nope')).toBeNull();
    expect(await c.lposAll(l, 'b', 0)).toEqual([2, 4]);
    expect(await c.lrem(l, 0, 'b')).toBe(2);
    expect(texts(await c.lrange(l, 0, -1))).toEqual(['Z', 'y', 'a', 'c', 'd']);
    await c.ltrim(l, 1, -1);
    expect(text(await c.lpop(l))).toBe('y');
    expect(text(await c.rpop(l))).toBe('d');
    expect(texts(await c.lpopCount(l, 5))).toEqual(['a', 'c']);
    expect(await c.lpop(l)).toBeNull();
    expect(await c.lpopCount(l, 2)).toBeNull();
    await c.rpush(l, ['1', '2', '3']);
    expect(texts(await c.rpopCount(l, 2))).toEqual(['3', '2']);
    expect(text(await c.lmove(l, l2, 'left', 'right'))).toBe('1');
    expect(await c.rpoplpush(l, l2)).toBeNull();
    expect(texts(await c.lrange(l2, 0, -1))).toEqual(['1']);
    await c.rpush(l2, ['2', '3']);
    const popped = await c.lmpop([l, l2], 'right', 2);
    expect(text(popped!.key)).toBe(l2);
    expect(texts(popped!.elements)).toEqual(['3', '2']);
    expect(await c.lmpop([l], 'left')).toBeNull();
  });

  it('sets', async () => {
    const s = `{${p}:s}:1`;
    const s2 = `{${p}:s}:2`;
    const d = `{${p}:s}:dest`;
    expect(await c.sadd(s, ['a', 'b', 'c', 'a'])).toBe(3);
    expect(await c.sadd(s2, ['c', 'd'])).toBe(2);
    expect(await c.srem(s, ['zz'])).toBe(0);
    expect(sorted(await c.smembers(s))).toEqual(['a', 'b', 'c']);
    expect(await c.sismember(s, 'a')).toBe(true);
    expect(await c.smismember(s, ['a', 'zz', 'c'])).toEqual([true, false, true]);
    expect(await c.scard(s)).toBe(3);
    expect(['a', 'b', 'c']).toContain(text(await c.srandmember(s)));
    expect((await c.srandmembers(s, -5)).length).toBe(5);
    expect(sorted(await c.sdiff([s, s2]))).toEqual(['a', 'b']);
    expect(await c.sintercard([s, s2])).toBe(1);
    expect(await c.sintercard([s, s2], { limit: 1 })).toBe(1);
    expect(await c.sunionstore(d, [s, s2])).toBe(4);
    expect(await c.sinterstore(d, [s, s2])).toBe(1);
    expect(await c.sdiffstore(d, [s, s2])).toBe(2);
    expect(await c.smove(s, s2, 'a')).toBe(true);
    expect(await c.smove(s, s2, 'a')).toBe(false);
    const members = new Set<string>();
    let cursor = '0';
    do {
      const page = await c.sscan(s2, cursor, { match: '*' });
      for (const m of page.members) members.add(text(m)!);
      cursor = page.cursor;
    } while (cursor !== '0');
    expect([...members].sort()).toEqual(['a', 'c', 'd']);
    const one = await c.spop(s);
    expect(['b', 'c']).toContain(text(one));
    expect((await c.spopCount(s, 5)).length).toBe(1);
    expect(await c.spop(s)).toBeNull();
    expect(await c.scard(s)).toBe(0);
  });

  it('sorted sets', async () => {
    expect(await code(c.zadd(`${p}:hash`, { score: 1, member: 'm' }))).toBe(ErrorCode.WRONG_TYPE);
    const [a, b] = apart(`${p}:zx`);
    expect(await code(c.zunionstore(a, [a, b]))).toBe(ErrorCode.WRONG_SHARD);
    expect(await code(c.zunion([a, b]))).toBe(ErrorCode.WRONG_SHARD);
    const z = `{${p}:z}:1`;
    const z2 = `{${p}:z}:2`;
    const d = `{${p}:z}:dest`;
    expect(
      await c.zadd(z, [
        { score: 1, member: 'a' },
        { score: 2, member: 'b' },
        { score: 3.5, member: 'c' },
      ]),
    ).toBe(3);
    expect(await c.zadd(z, { score: 10, member: 'a' }, { ch: true, xx: true })).toBe(1);
    expect(await c.zadd(z, { score: 1, member: 'a' }, { gt: true })).toBe(0);
    expect(await c.zaddIncr(z, 5, 'a', { nx: true })).toBeNull();
    expect(await c.zaddIncr(z, 0.5, 'a')).toBe(10.5);
    expect(await c.zincrby(z, -0.5, 'a')).toBe(10);
    expect(await c.zscore(z, 'c')).toBe(3.5);
    expect(await c.zscore(z, 'zz')).toBeNull();
    expect(await c.zmscore(z, ['a', 'zz'])).toEqual([10, null]);
    expect(await c.zcard(z)).toBe(3);
    expect(await c.zcount(z, '(2', '+inf')).toBe(2);
    expect(await c.zcount(z, -Infinity, 2)).toBe(1);
    expect(await c.zrank(z, 'c')).toBe(1);
    expect(await c.zrevrank(z, 'c')).toBe(1);
    expect(await c.zrank(z, 'zz')).toBeNull();
    expect(texts(await c.zrange(z, 0, -1))).toEqual(['b', 'c', 'a']);
    expect(texts(await c.zrange(z, 0, -1, { rev: true }))).toEqual(['a', 'c', 'b']);
    expect(texts(await c.zrange(z, 2, 10, { by: 'score', limit: { offset: 1, count: 5 } }))).toEqual(['c', 'a']);
    expect((await c.zrangeWithScores(z, 0, 0)).map((m) => [text(m.member), m.score])).toEqual([['b', 2]]);
    expect(texts(await c.zrangebyscore(z, '(2', 'inf'))).toEqual(['c', 'a']);
    expect((await c.zrangebyscoreWithScores(z, 3, 3.5)).map((m) => m.score)).toEqual([3.5]);
    expect(texts(await c.zrevrangebyscore(z, '+inf', 3))).toEqual(['a', 'c']);
    expect(texts(await c.zrevrange(z, 0, 0))).toEqual(['a']);
    expect((await c.zrevrangeWithScores(z, 0, 0))[0].score).toBe(10);
    await c.zadd(z2, [
      { score: 0, member: 'm' },
      { score: 0, member: 'n' },
      { score: 0, member: 'o' },
    ]);
    expect(texts(await c.zrangebylex(z2, '[n', '+'))).toEqual(['n', 'o']);
    expect(await c.zlexcount(z2, '-', '(o')).toBe(2);
    expect(texts(await c.zrange(z2, '(m', '[o', { by: 'lex' }))).toEqual(['n', 'o']);
    expect(await c.zrangestore(d, z, 0, 1)).toBe(2);
    expect(await c.zunionstore(d, [z, z2], { weights: [2, 1], aggregate: 'max' })).toBe(6);
    expect(await c.zscore(d, 'a')).toBe(20);
    expect(await c.zinterstore(d, [z, z2])).toBe(0);
    expect(await c.zdiffstore(d, [z, z2])).toBe(3);
    expect(texts(await c.zunion([z, z2]))).toEqual(['m', 'n', 'o', 'b', 'c', 'a']);
    expect((await c.zunionWithScores([z, z2], { aggregate: 'min' })).length).toBe(6);
    expect(await c.zinter([z, z2])).toEqual([]);
    expect(await c.zinterWithScores([z, d])).toHaveLength(3);
    expect(texts(await c.zdiff([z, d]))).toEqual([]);
    expect(await c.zdiffWithScores([z, z2])).toHaveLength(3);
    expect(['a', 'b', 'c']).toContain(text(await c.zrandmember(z)));
    expect((await c.zrandmembers(z, -4)).length).toBe(4);
    expect((await c.zrandmembersWithScores(z, 2)).every((m) => typeof m.score === 'number')).toBe(true);
    const scanned: string[] = [];
    let cursor = '0';
    do {
      const page = await c.zscan(z, cursor);
      for (const m of page.members) scanned.push(`${text(m.member)}=${m.score}`);
      cursor = page.cursor;
    } while (cursor !== '0');
    expect(scanned.sort()).toEqual(['a=10', 'b=2', 'c=3.5']);
    expect((await c.zpopmin(z)).map((m) => [text(m.member), m.score])).toEqual([['b', 2]]);
    expect((await c.zpopmax(z, 5)).map((m) => text(m.member))).toEqual(['a', 'c']);
    expect(await c.zpopmin(z)).toEqual([]);
    const popped = await c.zmpop([z, z2], 'max', 2);
    expect(text(popped!.key)).toBe(z2);
    expect(popped!.members.map((m) => [text(m.member), m.score])).toEqual([
      ['o', 0],
      ['n', 0],
    ]);
    await c.zadd(z, [
      { score: 1, member: 'a' },
      { score: 2, member: 'b' },
      { score: 3, member: 'c' },
      { score: 4, member: 'd' },
    ]);
    expect(await c.zremrangebyrank(z, 0, 0)).toBe(1);
    expect(await c.zremrangebyscore(z, 2, '(3')).toBe(1);
    expect(await c.zremrangebylex(z2, '-', '+')).toBe(1);
    expect(await c.zrem(z, ['c', 'd', 'zz'])).toBe(2);
    expect(await c.type(z)).toBe('none');
    expect(await code(c.zadd(z, { score: Number.NaN, member: 'x' }))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await c.zadd(z, { score: Infinity, member: 'x' })).toBe(1);
    expect(await c.zscore(z, 'x')).toBe(Infinity);
  });
});
