/**
 * Lists through ioredis and node-redis, the same calls against cairn and a redis-server in one file:
 * a queue (push, pop, range, move), BLPOP woken by a push from another connection, BLPOP timing out,
 * two blocked clients served in the order they blocked, and a blocked client that disconnects: a
 * push after that stays in the list. Tests wait for states (a client shows as blocked, a reply
 * comes), never for a fixed time.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { until } from '../reliability/lib.js';

let cairn: TestServer;
let reference: ServiceHandle;
const ioClients: Redis[] = [];
const nodeClients: ReturnType<typeof createClient>[] = [];

beforeAll(async () => {
  [cairn, reference] = await Promise.all([startServer(), startRedisServer(undefined, ['--databases', '1'])]);
}, 60_000);

afterAll(async () => {
  for (const c of ioClients) c.disconnect();
  for (const c of nodeClients) if (c.isOpen) c.destroy();
  await Promise.all([cairn?.stop(), reference?.stop()]);
});

function io(port: number): Redis {
  const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, commandTimeout: 30_000 });
  c.on('error', () => {});
  ioClients.push(c);
  return c;
}

async function node(port: number): Promise<ReturnType<typeof createClient>> {
  const c = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 5_000, reconnectStrategy: false } });
  c.on('error', () => {});
  nodeClients.push(c);
  await c.connect();
  return c;
}

/** polls until check passes (a state, not a time); fails after a generous bound */

/**
 * Has a push reached the server and been served or kept? A blocked client is one whose BLPOP the
 * server has taken: on Redis CLIENT LIST says cmd=blpop; cairn answers a probe only once the
 * connection's command reached its shard, so the test pushes only after the blocking command was
 * seen by the server on both: it waits on the server's blocked-client count where it has one.
 */
async function blockedClients(c: Redis, port: number): Promise<number> {
  if (port === reference.port) {
    const info = await c.info('clients');
    return Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? 0);
  }
  const list = (await c.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((l) => / cmd=(blpop|brpop|blmove|blmpop|brpoplpush)\b/.test(l)).length;
}

for (const server of ['cairn', 'redis'] as const) {
  const port = (): number => (server === 'cairn' ? cairn.respPort : reference.port);

  describe(`lists with ioredis and node-redis (${server})`, () => {
    it('a queue: pushes, pops with counts, ranges, moves, positions', async () => {
      const c = io(port());
      await c.del('{q}jobs', '{q}done');
      expect(await c.rpush('{q}jobs', 'j1', 'j2', 'j3', 'j4')).toBe(4);
      expect(await c.lpush('{q}jobs', 'j0')).toBe(5);
      expect(await c.lrange('{q}jobs', 0, -1)).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
      expect(await c.lpop('{q}jobs')).toBe('j0');
      expect(await c.rpop('{q}jobs', 2)).toEqual(['j4', 'j3']);
      expect(await c.lmove('{q}jobs', '{q}done', 'LEFT', 'RIGHT')).toBe('j1');
      expect(await c.rpoplpush('{q}jobs', '{q}done')).toBe('j2');
      expect(await c.llen('{q}jobs')).toBe(0);
      expect(await c.exists('{q}jobs')).toBe(0);
      expect(await c.lrange('{q}done', 0, -1)).toEqual(['j2', 'j1']);
      expect(await c.lpos('{q}done', 'j1')).toBe(1);
      expect(await c.linsert('{q}done', 'BEFORE', 'j1', 'x')).toBe(3);
      expect(await c.lindex('{q}done', -1)).toBe('j1');
      expect(await c.lset('{q}done', 0, 'y')).toBe('OK');
      expect(await c.lrem('{q}done', 0, 'x')).toBe(1);
      expect(await c.ltrim('{q}done', 0, 0)).toBe('OK');
      expect(await c.lrange('{q}done', 0, -1)).toEqual(['y']);
      expect(await c.call('LMPOP', '2', '{q}jobs', '{q}done', 'LEFT', 'COUNT', '5')).toEqual(['{q}done', ['y']]);
      expect(await c.type('{q}done')).toBe('none');

      const n = await node(port());
      await n.rPush('nq', ['a', 'b', 'c']);
      expect(await n.lRange('nq', 0, -1)).toEqual(['a', 'b', 'c']);
      expect(await n.lPop('nq')).toBe('a');
      expect(await n.lLen('nq')).toBe(2);
      expect(await n.blPop('nq', 1)).toEqual({ key: 'nq', element: 'b' });
      expect(await n.brPop('nq', 1)).toEqual({ key: 'nq', element: 'c' });
      await n.set('str', 'v');
      await expect(n.lPush('str', 'x')).rejects.toThrow(/WRONGTYPE/);
      await n.del('str');
    });

    it('BLPOP is woken by a push from another connection', async () => {
      const waiter = io(port());
      const pusher = io(port());
      await pusher.del('wake');
      const before = await blockedClients(pusher, port());
      const popped = waiter.blpop('wake', 0);
      await until(async () => (await blockedClients(pusher, port())) > before, 20_000, 'the client to block');
      expect(await pusher.rpush('wake', 'hello')).toBe(1);
      expect(await popped).toEqual(['wake', 'hello']);
      expect(await pusher.exists('wake')).toBe(0);
    });

    it('BLPOP times out with nil, and node-redis BLMOVE too', async () => {
      const c = io(port());
      expect(await c.blpop('never-a', 'never-b', 0.05)).toBeNull();
      const n = await node(port());
      expect(await n.blMove('never-c', 'never-d', 'LEFT', 'RIGHT', 0.05)).toBeNull();
      expect(await c.call('BLMPOP', '0.05', '1', 'never-a', 'LEFT')).toBeNull();
    });

    it('two blocked clients are served in the order they blocked', async () => {
      const first = io(port());
      const second = io(port());
      const pusher = io(port());
      await pusher.del('fifo');
      const base = await blockedClients(pusher, port());
      const got: string[] = [];
      const a = first.brpop('fifo', 0).then((r) => got.push(`first:${r?.[1]}`));
      await until(async () => (await blockedClients(pusher, port())) > base, 20_000, 'the first client to block');
      const b = second.brpop('fifo', 0).then((r) => got.push(`second:${r?.[1]}`));
      await until(async () => (await blockedClients(pusher, port())) > base + 1, 20_000, 'the second client to block');
      // one push of two elements: BRPOP takes from the tail, the first blocked gets the last element
      await pusher.rpush('fifo', 'x', 'y');
      await Promise.all([a, b]);
      expect(got.sort()).toEqual(['first:y', 'second:x']);
      expect(await pusher.exists('fifo')).toBe(0);
    });

    it('a blocked client that disconnects takes nothing: a later push stays in the list', async () => {
      const waiter = io(port());
      const pusher = io(port());
      await pusher.del('gone');
      const base = await blockedClients(pusher, port());
      waiter.blpop('gone', 0).catch(() => undefined);
      await until(async () => (await blockedClients(pusher, port())) > base, 20_000, 'the client to block');
      waiter.disconnect();
      await until(async () => (await blockedClients(pusher, port())) === base, 20_000, 'the server to see the disconnect');
      expect(await pusher.rpush('gone', 'kept')).toBe(1);
      expect(await pusher.llen('gone')).toBe(1);
      expect(await pusher.lrange('gone', 0, -1)).toEqual(['kept']);
    });

    it('inside MULTI a blocking pop does not block', async () => {
      const c = io(port());
      await c.del('{m}a', '{m}b');
      const r = await c.multi().blpop('{m}a', 0).brpoplpush('{m}a', '{m}b', 0).rpush('{m}a', 'v').blpop('{m}a', 0).exec();
      expect(r?.map(([e, v]) => (e ? String(e) : v))).toEqual([null, null, 1, ['{m}a', 'v']]);
    });
  });
}
