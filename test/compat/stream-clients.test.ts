/**
 * Streams through ioredis as libraries use them, against cairn and redis-server in the same file:
 * BullMQ's event stream (XADD with MAXLEN ~ and auto ids, XREVRANGE for the last event, XREAD from
 * a last-seen id, XTRIM) and a consumer group (XGROUP CREATE MKSTREAM, XREADGROUP by two consumers,
 * XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO). Each scenario runs on both servers and the results
 * must be equal; ids a clock makes are compared as the clock allows (shape, order, nearness).
 */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';

const servers = besideRedis([]);

type Scenario = (r: Redis, key: string) => Promise<unknown>;

/** the scenario's result on both servers (a fresh key each), expected equal */
async function both(scenario: Scenario): Promise<unknown> {
  const { cairn, redis } = servers.ports();
  const key = `{s}:${Math.random().toString(36).slice(2)}`;
  const [a, b] = await Promise.all([scenario(servers.client(cairn), key), scenario(servers.client(redis), key)]);
  expect(a).toEqual(b);
  return a;
}

const ID = /^(\d+)-(\d+)$/;
const idParts = (id: string): [bigint, bigint] => {
  const m = ID.exec(id);
  if (m === null) throw new Error(`not a stream id: ${id}`);
  return [BigInt(m[1]), BigInt(m[2])];
};
const idLess = (a: string, b: string): boolean => {
  const [am, as] = idParts(a);
  const [bm, bs] = idParts(b);
  return am < bm || (am === bm && as < bs);
};

describe('streams through ioredis, cairn beside redis-server', () => {
  it('an event stream as BullMQ keeps one: XADD MAXLEN ~ with auto ids, the last event, reads from a last-seen id', async () => {
    await both(async (r, key) => {
      const ids: string[] = [];
      const before = Date.now();
      for (let i = 0; i < 250; i++) ids.push((await r.xadd(key, 'MAXLEN', '~', '100', '*', 'event', i % 2 ? 'completed' : 'active', 'jobId', String(i)))!);
      const after = Date.now();
      // auto ids: the server's clock, strictly increasing
      for (let i = 1; i < ids.length; i++) expect(idLess(ids[i - 1], ids[i])).toBe(true);
      const firstMs = Number(idParts(ids[0])[0]);
      expect(firstMs).toBeGreaterThanOrEqual(before - 1000);
      expect(firstMs).toBeLessThanOrEqual(after + 1000);
      const len = await r.xlen(key);
      // ~ keeps at least the bound and trims whole nodes of 100 entries
      expect(len).toBeGreaterThanOrEqual(100);
      const [last] = await r.xrevrange(key, '+', '-', 'COUNT', 1);
      expect(last[0]).toBe(ids[ids.length - 1]);
      // a reader following the stream from the id it saw last
      let seen = ids[ids.length - 11];
      const got: string[][] = [];
      for (;;) {
        const res = await r.xread('COUNT', 4, 'STREAMS', key, seen);
        if (res === null) break;
        for (const [, entry] of res[0][1]) got.push(entry);
        seen = res[0][1][res[0][1].length - 1][0];
      }
      const trimmed = await r.xtrim(key, 'MAXLEN', 5);
      return { len, lastFields: last[1], got, trimmed, left: await r.xlen(key), type: await r.type(key) };
    });
  });

  it('a consumer group: two consumers, acknowledgements, pending entries, claims and group info', async () => {
    const result = await both(async (r, key) => {
      const out: Record<string, unknown> = {};
      out.create = await r.xgroup('CREATE', key, 'workers', '$', 'MKSTREAM');
      out.busy = await r.xgroup('CREATE', key, 'workers', '$').catch((e: Error) => e.message);
      for (let i = 1; i <= 6; i++) await r.xadd(key, `${i}-0`, 'job', `j${i}`, 'attempt', '1');
      out.a = await r.xreadgroup('GROUP', 'workers', 'alice', 'COUNT', 2, 'STREAMS', key, '>');
      out.b = await r.xreadgroup('GROUP', 'workers', 'bob', 'COUNT', 3, 'STREAMS', key, '>');
      out.ack = await r.xack(key, 'workers', '1-0', '3-0', '9-0');
      out.summary = await r.xpending(key, 'workers');
      const detail = (await r.xpending(key, 'workers', '-', '+', 10)) as [string, string, number, number][];
      // [id, consumer, idle ms, deliveries]: idle is each server's own clock
      out.detail = detail.map(([id, c, idle, n]) => [id, c, idle >= 0, n]);
      out.bobs = ((await r.xpending(key, 'workers', 'IDLE', 0, '-', '+', 10, 'bob')) as [string, string, number, number][]).map(([id, c]) => [id, c]);
      out.history = await r.xreadgroup('GROUP', 'workers', 'alice', 'STREAMS', key, '0');
      out.claim = await r.xclaim(key, 'workers', 'carol', 0, '4-0', '2-0');
      out.claimIds = await r.xclaim(key, 'workers', 'carol', 0, '5-0', 'JUSTID');
      out.autoclaim = await r.xautoclaim(key, 'workers', 'dave', 0, '0-0', 'COUNT', 2);
      out.rest = await r.xreadgroup('GROUP', 'workers', 'alice', 'STREAMS', key, '>');
      out.none = await r.xreadgroup('GROUP', 'workers', 'alice', 'STREAMS', key, '>');
      out.groups = await r.xinfo('GROUPS', key);
      const consumers = (await r.xinfo('CONSUMERS', key, 'workers')) as unknown[][];
      out.consumers = consumers.map((c) => [c[1], c[3]]);
      const info = (await r.xinfo('STREAM', key)) as unknown[];
      // radix-tree-nodes is Redis' inner tree (docs/commands.md): every other field compared
      out.info = info.filter((_, i) => info[i - 1] !== 'radix-tree-nodes' && info[i] !== 'radix-tree-nodes');
      out.delconsumer = await r.xgroup('DELCONSUMER', key, 'workers', 'carol');
      out.destroy = await r.xgroup('DESTROY', key, 'workers');
      out.noGroup = await r.xreadgroup('GROUP', 'workers', 'alice', 'STREAMS', key, '>').catch((e: Error) => e.message);
      return out;
    });
    expect((result as { ack: number }).ack).toBe(2);
  });

  it('a stream is a cache entry: TTL, WRONGTYPE both ways, DEL, an empty stream kept', async () => {
    await both(async (r, key) => {
      await r.xadd(key, '1-1', 'a', 'b');
      const out: unknown[] = [await r.pexpire(key, 100_000), (await r.pttl(key)) > 0, await r.type(key)];
      out.push(await r.get(key).catch((e: Error) => e.message));
      await r.set(`${key}:s`, 'v');
      out.push(await r.xadd(`${key}:s`, '*', 'a', 'b').catch((e: Error) => e.message));
      out.push(await r.xdel(key, '1-1'), await r.exists(key), await r.xlen(key), await r.xinfo('STREAM', key).then((i) => (i as unknown[]).slice(6, 16)));
      out.push(await r.xadd(`${key}:none`, 'NOMKSTREAM', '*', 'a', 'b'), await r.exists(`${key}:none`));
      out.push(await r.del(key), await r.exists(key));
      return out;
    });
  });
});
