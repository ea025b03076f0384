/**
 * The blocking sorted-set pops (BZPOPMIN, BZPOPMAX, BZMPOP) and XREAD / XREADGROUP with BLOCK,
 * through ioredis, node-redis and raw RESP, against cairn and a redis-server started beside it: the
 * same calls on both, the same results. A client woken by a write from another connection, a
 * timeout answering nil, two blocked clients served in the order they blocked, a blocked client
 * that disconnects taking nothing, a group or stream going away under a blocked XREADGROUP, and
 * fixed sequences of the blocking forms inside MULTI (where they never block) compared byte for
 * byte. Tests wait for states (a client shows as blocked, a reply comes), never for a fixed time.
 */
import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { besideRedis } from './lib/beside-redis.js';
import { RawClient } from './lib/raw.js';
import { encodeCommand, replyLength } from './lib/resp-reply.js';
import { until } from '../reliability/lib.js';

const servers = besideRedis([]);

type NodeRedis = ReturnType<typeof createClient>;
const nodeClients: NodeRedis[] = [];
const rawClients: RawClient[] = [];

async function nodeRedis(port: number): Promise<NodeRedis> {
  const c = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 10_000, reconnectStrategy: false } });
  c.on('error', () => {});
  nodeClients.push(c);
  await c.connect();
  return c;
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  rawClients.push(c);
  return c;
}

afterAll(() => {
  for (const c of nodeClients) if (c.isOpen) c.destroy();
  for (const c of rawClients) c.socket.destroy();
});

/** polls until check passes (a state, not a time); fails after a generous bound */

const BLOCKING = / cmd=(bzpopmin|bzpopmax|bzmpop|xread|xreadgroup)\b/;

/**
 * Clients the server has blocked: redis-server counts them (INFO blocked_clients); cairn's CLIENT
 * LIST names a connection's blocking command once the acceptor routed it to its shard, where every
 * later command for that shard arrives after it. Compared with a count taken before, so clients
 * still connected from earlier tests do not matter.
 */
async function blocked(c: Redis, port: number): Promise<number> {
  if (port === servers.ports().redis) return Number(/blocked_clients:(\d+)/.exec(await c.info('clients'))?.[1] ?? 0);
  const list = (await c.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((l) => BLOCKING.test(l)).length;
}

/** runs the scenario on both servers (one after the other: blocked counts stay per server) and expects the same results */
async function onBoth<T>(scenario: (port: number) => Promise<T>): Promise<T> {
  const { cairn, redis } = servers.ports();
  const fromRedis = await scenario(redis);
  const fromCairn = await scenario(cairn);
  expect(fromCairn).toEqual(fromRedis);
  return fromCairn;
}

/** sends argv lists on one raw connection and returns each reply's exact bytes */
async function replies(c: RawClient, commands: string[][]): Promise<string[]> {
  c.send(Buffer.concat(commands.map(encodeCommand)));
  const out: string[] = [];
  for (let i = 0; i < commands.length; i++) out.push((await c.readWhen((b) => Math.max(0, replyLength(b)), 15_000)).toString('latin1'));
  return out;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

describe('blocking sorted-set pops beside redis-server', () => {
  it('BZPOPMIN is woken by a ZADD from another connection; node-redis BZPOPMAX by ZINCRBY', async () => {
    await onBoth(async (port) => {
      const waiter = servers.client(port);
      const writer = servers.client(port);
      await writer.del('bz:wake', 'bz:wake2');
      const base = await blocked(writer, port);
      const popped = waiter.bzpopmin('bz:wake', 0);
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'the client to block');
      const added = await writer.zadd('bz:wake', 2, 'b', 1, 'a');
      const first = await popped;
      const left = await writer.zrange('bz:wake', 0, -1, 'WITHSCORES');

      const n = await nodeRedis(port);
      const base2 = await blocked(writer, port); // cairn names a served client's last command still
      const max = n.bzPopMax('bz:wake2', 0);
      await until(async () => (await blocked(writer, port)) > base2, 20_000, 'node-redis to block');
      await writer.zincrby('bz:wake2', 2.5, 'm');
      return { added, first, left, max: await max, gone: await writer.exists('bz:wake2') };
    });
  });

  it('a timeout answers nil (BZPOPMIN, BZPOPMAX, BZMPOP; node-redis too)', async () => {
    await onBoth(async (port) => {
      const c = servers.client(port);
      const n = await nodeRedis(port);
      return [
        await c.bzpopmin('bz:never-a', 'bz:never-b', 0.05),
        await c.bzpopmax('bz:never-a', 0.05),
        await c.call('BZMPOP', '0.05', '2', '{bz}a', '{bz}b', 'MIN', 'COUNT', '3'),
        await n.bzPopMin('bz:never-c', 0.05),
      ];
    });
  });

  it('two blocked clients are served in the order they blocked', async () => {
    await onBoth(async (port) => {
      const first = servers.client(port);
      const second = servers.client(port);
      const writer = servers.client(port);
      await writer.del('bz:fifo');
      const base = await blocked(writer, port);
      const got: string[] = [];
      const a = first.bzpopmin('bz:fifo', 0).then((r) => got.push(`first:${r?.[1]}`));
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'the first client to block');
      const b = second.call('BZMPOP', '0', '1', 'bz:fifo', 'MIN', 'COUNT', '5').then((r) => got.push(`second:${JSON.stringify(r)}`));
      await until(async () => (await blocked(writer, port)) > base + 1, 20_000, 'the second client to block');
      // one ZADD of three members: the first blocked takes the lowest, the second the rest
      await writer.zadd('bz:fifo', 1, 'x', 2, 'y', 3, 'z');
      await Promise.all([a, b]);
      // replies come on two connections, in either order: what each got is the point
      return { got: got.sort(), exists: await writer.exists('bz:fifo') };
    });
  });

  it('a blocked client that disconnects takes nothing: the member stays', async () => {
    await onBoth(async (port) => {
      const waiter = servers.client(port);
      const writer = servers.client(port);
      await writer.del('bz:gone');
      const base = await blocked(writer, port);
      waiter.bzpopmax('bz:gone', 0).catch(() => undefined);
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'the client to block');
      waiter.disconnect();
      await until(async () => (await blocked(writer, port)) === base, 20_000, 'the server to see the disconnect');
      await writer.zadd('bz:gone', 7, 'kept');
      return writer.zrange('bz:gone', 0, -1, 'WITHSCORES');
    });
  });

  it('BZMPOP is woken by ZUNIONSTORE, ZRANGESTORE and RENAME onto its key; a key of another type does not wake it', async () => {
    await onBoth(async (port) => {
      const writer = servers.client(port);
      await writer.del('{bw}dst', '{bw}src', '{bw}other', '{bw}moved');
      await writer.zadd('{bw}src', 1, 'a', 2, 'b', 3, 'c');
      const out: unknown[] = [];
      for (const fill of [
        () => writer.zunionstore('{bw}dst', 1, '{bw}src'),
        () => writer.call('ZRANGESTORE', '{bw}dst', '{bw}src', '0', '0'),
        async () => {
          await writer.zadd('{bw}moved', 9, 'r');
          return writer.rename('{bw}moved', '{bw}dst');
        },
      ]) {
        const waiter = servers.client(port); // a fresh one: cairn names a served client's last command still
        const base = await blocked(writer, port);
        const popped = waiter.call('BZMPOP', '0', '2', '{bw}other', '{bw}dst', 'MAX', 'COUNT', '2');
        await until(async () => (await blocked(writer, port)) > base, 20_000, 'the client to block');
        // a list on a key it waits on is not for it: it stays blocked
        await writer.rpush('{bw}other', 'l');
        await writer.del('{bw}other');
        out.push(await fill(), await popped);
        await writer.del('{bw}dst');
      }
      return out;
    });
  });

  it('ZMPOP and BZMPOP with a numkeys that leaves no room for MIN|MAX: the syntax error, not CROSSSLOT', async () => {
    await onBoth(async (port) => {
      const c = servers.client(port);
      const out: unknown[] = [];
      // some of these keys hash to another shard than `MIN`'s, where the key spec used to count it as a key
      for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) {
        out.push(await c.call('ZMPOP', '2', k, 'MIN').catch(errorText));
        out.push(await c.call('BZMPOP', '0', '2', k, 'MAX').catch(errorText));
      }
      return out;
    });
  });

  it('argument errors in Redis 7.0 order and wording (raw bytes)', async () => {
    await onBoth(async (port) => {
      const c = await raw(port);
      return replies(c, [
        ['BZPOPMIN', 'k', 'abc'],
        ['BZPOPMIN', 'k', '-1'],
        ['BZPOPMAX', 'k', 'inf'],
        ['BZPOPMIN', 'k', '9223372036854775807'],
        ['BZMPOP', 'abc', '0', 'k', 'MIN'],
        ['BZMPOP', 'abc', '1', 'k', 'MIN'],
        ['BZMPOP', '0', '1', 'k', 'MIDDLE'],
        ['BZMPOP', '0', '1', 'k', 'MIN', 'COUNT', '0'],
        ['BZMPOP', '0', '1', 'k', 'MIN', 'COUNT', '1', 'COUNT', '1'],
        ['SET', 'bz:str', 'v'],
        ['BZPOPMIN', 'bz:str', '0'],
        ['BZMPOP', '0', '1', 'bz:str', 'MIN'],
        ['DEL', 'bz:str'],
      ]);
    });
  });
});

describe('XREAD BLOCK and XREADGROUP BLOCK beside redis-server', () => {
  it('XREAD BLOCK $ is woken by an XADD from another connection (as BullMQ QueueEvents reads); node-redis too', async () => {
    await onBoth(async (port) => {
      const reader = servers.client(port);
      const writer = servers.client(port);
      await writer.del('xs:events');
      await writer.xadd('xs:events', '1-1', 'event', 'old');
      const base = await blocked(writer, port);
      const read = reader.xread('BLOCK', 10_000, 'STREAMS', 'xs:events', '$');
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'the reader to block');
      await writer.xadd('xs:events', '2-1', 'event', 'completed', 'jobId', '7');
      const first = await read;

      // BullMQ's loop: the last id seen, then block again
      const n = await nodeRedis(port);
      const base2 = await blocked(writer, port);
      const next = n.xRead({ key: 'xs:events', id: '2-1' }, { BLOCK: 10_000 });
      await until(async () => (await blocked(writer, port)) > base2, 20_000, 'node-redis to block');
      await writer.xadd('xs:events', '3-1', 'event', 'failed');
      return { first, next: await next };
    });
  });

  it('XREAD BLOCK times out with nil; without BLOCK it answers at once', async () => {
    await onBoth(async (port) => {
      const c = servers.client(port);
      await c.del('xs:quiet');
      const started = performance.now();
      const timedOut = await c.xread('BLOCK', 100, 'STREAMS', 'xs:quiet', '$');
      // it waited: a lower bound only, which a slow machine never breaks
      const waited = performance.now() - started >= 90;
      return [timedOut, waited, await c.xread('STREAMS', 'xs:quiet', '0'), await c.xread('COUNT', 1, 'BLOCK', 50, 'STREAMS', 'xs:quiet', 'xs:quiet', '0', '$')];
    });
  });

  it('XREADGROUP BLOCK > : woken by XADD, two consumers served in the order they blocked, the second waits for the next entry', async () => {
    await onBoth(async (port) => {
      const c1 = servers.client(port);
      const c2 = servers.client(port);
      const writer = servers.client(port);
      await writer.del('xs:jobs');
      await writer.xgroup('CREATE', 'xs:jobs', 'workers', '$', 'MKSTREAM');
      const base = await blocked(writer, port);
      const got: unknown[] = [];
      const a = c1.xreadgroup('GROUP', 'workers', 'alice', 'BLOCK', 0, 'STREAMS', 'xs:jobs', '>').then((r) => got.push(['alice', r]));
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'alice to block');
      const b = c2.xreadgroup('GROUP', 'workers', 'bob', 'COUNT', 5, 'BLOCK', 0, 'STREAMS', 'xs:jobs', '>').then((r) => got.push(['bob', r]));
      await until(async () => (await blocked(writer, port)) > base + 1, 20_000, 'bob to block');
      // the consumer that blocked is not created until it is served (Redis 7.0)
      const consumersBlocked = (await writer.xinfo('CONSUMERS', 'xs:jobs', 'workers')) as unknown[];
      await writer.xadd('xs:jobs', '5-1', 'job', 'one');
      await a;
      const afterOne = [...got];
      await writer.xadd('xs:jobs', '6-1', 'job', 'two');
      await b;
      const pending = await writer.xpending('xs:jobs', 'workers', '-', '+', 10);
      return { consumersBlocked: consumersBlocked.length, afterOne, got, pending: (pending as unknown[][]).map((p) => [p[0], p[1], p[3]]) };
    });
  });

  it('a blocked XREADGROUP that disconnects takes nothing: the entry goes to the consumer that blocked after it', async () => {
    await onBoth(async (port) => {
      const waiter = servers.client(port);
      const writer = servers.client(port);
      await writer.del('xs:gone');
      await writer.xgroup('CREATE', 'xs:gone', 'g', '$', 'MKSTREAM');
      const base = await blocked(writer, port);
      waiter.xreadgroup('GROUP', 'g', 'ghost', 'BLOCK', 0, 'STREAMS', 'xs:gone', '>').catch(() => undefined);
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'the client to block');
      waiter.disconnect();
      await until(async () => (await blocked(writer, port)) === base, 20_000, 'the server to see the disconnect');
      const live = servers.client(port);
      const next = live.xreadgroup('GROUP', 'g', 'live', 'BLOCK', 0, 'STREAMS', 'xs:gone', '>');
      await until(async () => (await blocked(writer, port)) > base, 20_000, 'the live consumer to block');
      await writer.xadd('xs:gone', '1-1', 'f', 'v');
      return { next: await next, summary: await writer.xpending('xs:gone', 'g') };
    });
  });

  it('a blocked XREADGROUP whose group is destroyed answers NOGROUP; whose stream is deleted, UNBLOCKED', async () => {
    await onBoth(async (port) => {
      const writer = servers.client(port);
      const out: string[] = [];
      for (const remove of [() => writer.xgroup('DESTROY', 'xs:del', 'g'), () => writer.del('xs:del'), () => writer.set('xs:del', 'a string')]) {
        await writer.del('xs:del');
        await writer.xgroup('CREATE', 'xs:del', 'g', '$', 'MKSTREAM');
        const waiter = servers.client(port);
        const base = await blocked(writer, port);
        const read = waiter.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 0, 'STREAMS', 'xs:del', '>').then(String, errorText);
        await until(async () => (await blocked(writer, port)) > base, 20_000, 'the client to block');
        await remove();
        out.push(await read);
      }
      return out;
    });
  });
});

describe('the blocking forms inside MULTI never block (raw bytes beside redis-server)', () => {
  it('sorted sets and streams: empty keys answer the null array, filled ones answer at once', async () => {
    await onBoth(async (port) => {
      const c = await raw(port);
      const zsets = await replies(c, [
        ['DEL', '{m}z1', '{m}z2', '{m}s'],
        ['MULTI'],
        ['BZPOPMIN', '{m}z1', '0'],
        ['BZPOPMAX', '{m}z1', '{m}z2', '0'],
        ['BZMPOP', '0', '2', '{m}z1', '{m}z2', 'MIN', 'COUNT', '2'],
        ['ZADD', '{m}z2', '1', 'a', '2', 'b', '3', 'c'],
        ['BZPOPMIN', '{m}z1', '{m}z2', '0'],
        ['BZPOPMAX', '{m}z2', '0.5'],
        ['BZMPOP', '0', '2', '{m}z1', '{m}z2', 'MAX', 'COUNT', '5'],
        ['BZMPOP', '0', '1', '{m}z2', 'MIN'],
        ['SET', '{m}s', 'x'],
        ['BZPOPMIN', '{m}s', '0'],
        ['BZPOPMIN', '{m}k', 'notatimeout'],
        ['EXEC'],
        ['EXISTS', '{m}z2'],
        ['DEL', '{m}s'],
      ]);
      const streams = await replies(c, [
        ['DEL', '{m}x'],
        ['XGROUP', 'CREATE', '{m}x', 'g', '$', 'MKSTREAM'],
        ['MULTI'],
        ['XREAD', 'BLOCK', '0', 'STREAMS', '{m}x', '$'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', '{m}x', '>'],
        ['XADD', '{m}x', '1-1', 'f', 'v'],
        ['XREAD', 'BLOCK', '0', 'STREAMS', '{m}x', '0'],
        ['XREAD', 'BLOCK', '100', 'STREAMS', '{m}x', '$'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', '{m}x', '>'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', '{m}x', '>'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', '{m}x', '0'],
        ['XREADGROUP', 'GROUP', 'nogroup', 'c', 'BLOCK', '0', 'STREAMS', '{m}x', '>'],
        ['EXEC'],
        ['DEL', '{m}x'],
      ]);
      return { zsets, streams };
    });
  });
});
