/**
 * Scripts whose keys are on several shards (no hash tags), as BullMQ's are: they run held across
 * shards (src/resp/scripting.ts) and answer byte for byte what redis-server answers; they are
 * atomic (a concurrent reader never sees half of one); a script's undeclared key of another shard
 * sends it across shards; an error or the time limit mid-way lets every shard go.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { shardOf } from '../../src/hash.js';
import { sha1hex } from '../../src/resp/lua.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from './lib/raw.js';
import { encodeCommand, replyLength } from './lib/resp-reply.js';

const SHARDS = 2;
/** the time limit of cairn's scripts here (Redis' lua-time-limit is left at its default) */
const LIMIT_MS = 3000;

let cairn: TestServer;
let reference: ServiceHandle;
const clients: Redis[] = [];

beforeAll(async () => {
  [cairn, reference] = await Promise.all([
    startServer({ args: ['--shards', String(SHARDS), '--busy-reply-threshold', String(LIMIT_MS)] }),
    startRedisServer(undefined, ['--databases', '1']),
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([cairn?.stop(), reference?.stop()]);
});

function client(port: number): Redis {
  const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, commandTimeout: 20_000 });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** a key named `prefix<n>` on the given shard (no hash tag) */
function keyOn(shard: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardOf(Buffer.from(`${prefix}${i}`), SHARDS) === shard) return `${prefix}${i}`;
}

const A0 = keyOn(0, 'a');
const A1 = keyOn(1, 'a');
const B0 = keyOn(0, 'b');
const U1 = keyOn(1, 'u');

async function send(c: RawClient, args: string[]): Promise<string> {
  c.send(encodeCommand(args));
  return (await c.readWhen((buf) => Math.max(0, replyLength(buf)), 20_000)).toString('latin1');
}

const GET_BOTH = "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}";

const CASES: string[][] = [
  ['DEL', A0, A1, B0, U1],
  [
    'EVAL',
    "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}",
    '2',
    A0,
    A1,
    'x',
    'y',
  ],
  ['EVAL', "return {redis.call('INCRBY', KEYS[1], 5), redis.call('INCRBYFLOAT', KEYS[2], 1.5), redis.call('EXISTS', KEYS[1], KEYS[2])}", '2', B0, U1],
  [
    'EVAL',
    "return {redis.call('MSET', KEYS[1], 1, KEYS[2], 2), redis.call('MGET', KEYS[1], KEYS[2], 'nosuch'), redis.call('DEL', KEYS[1], KEYS[2])}",
    '2',
    A0,
    A1,
  ],
  [
    'EVAL',
    "return {redis.call('APPEND', KEYS[1], 'j1'), redis.call('SET', KEYS[2], 'v', 'EX', 100), redis.call('TTL', KEYS[2]), redis.call('GETRANGE', KEYS[1], 0, 0)}",
    '2',
    A0,
    A1,
  ],
  // an error mid-way: the writes before it stay, as in Redis, and the shards answer the next commands
  ['EVAL', "redis.call('SET', KEYS[1], 'before'); redis.call('SET', KEYS[2], 'text'); return redis.call('INCR', KEYS[2])", '2', B0, U1],
  ['MGET', B0, U1],
  ['EVAL', "return {redis.pcall('INCR', KEYS[2]), redis.call('GET', KEYS[1])}", '2', B0, U1],
  ['EVAL', "local ok = pcall(redis.call, 'INCR', KEYS[2]); return {tostring(ok), redis.call('GET', KEYS[1])}", '2', B0, U1],
  ['EVAL', "return redis.error_reply('x')", '2', A0, A1],
  ['EVAL', "return redis.status_reply('fine')", '2', A0, A1],
  ['EVAL', "error('boom')", '2', A0, A1],
  ['EVAL', "redis.call('GET', KEYS[1]); return redis.call('nosuch')", '2', A0, A1],
  ['EVAL', 'return +', '2', A0, A1],
  ['EVAL', 'x = 1', '2', A0, A1],
  ['EVAL_RO', "return redis.call('SET', KEYS[2], 'v')", '2', A0, A1],
  ['EVAL_RO', GET_BOTH, '2', B0, U1],
  ['EVAL', "return {KEYS[1], KEYS[2], ARGV[1], #ARGV, redis.sha1hex('x'), cjson.encode({1, 2})}", '2', A0, A1, 'arg'],
  // a long computation between calls
  ['EVAL', "local s = 0; for i = 1, 200000 do s = s + 1 end; redis.call('SET', KEYS[1], s); return redis.call('GET', KEYS[2])", '2', A0, U1],
  // undeclared keys of another shard, before any write: the script runs across shards
  ['SET', U1, 'undeclared'],
  ['EVAL', "return redis.call('GET', ARGV[1])", '1', A0, U1],
  ['EVAL', "local v = redis.pcall('GET', ARGV[1]); redis.call('SET', KEYS[1], 'after'); return {v, redis.call('GET', KEYS[1])}", '1', B0, U1],
  ['EVAL', "return redis.call('GET', 'u' .. ARGV[1])", '0', U1.slice(1)],
  // the script cache on both paths
  ['SCRIPT', 'LOAD', GET_BOTH],
  ['EVALSHA', sha1hex(Buffer.from(GET_BOTH)), '2', A0, A1],
  ['EVALSHA', sha1hex(Buffer.from(GET_BOTH)), '2', A0, B0],
  ['EVALSHA_RO', sha1hex(Buffer.from(GET_BOTH)), '2', U1, B0],
  ['EVAL', "return redis.call('GET', KEYS[1]) or 'none'", '2', A0, A1],
  ['EVALSHA', sha1hex(Buffer.from("return redis.call('GET', KEYS[1]) or 'none'")), '1', A0],
  ['EVALSHA', sha1hex(Buffer.from("return redis.call('GET', KEYS[1]) or 'none'")), '1', A1],
  ['SCRIPT', 'EXISTS', sha1hex(Buffer.from(GET_BOTH)), sha1hex(Buffer.from("return redis.call('GET', KEYS[1]) or 'none'")), sha1hex(Buffer.from('nosuch'))],
  ['SCRIPT', 'FLUSH'],
  ['EVALSHA', sha1hex(Buffer.from(GET_BOTH)), '2', A0, A1],
  ['SCRIPT', 'EXISTS', sha1hex(Buffer.from(GET_BOTH))],
  ['SCRIPT', 'KILL'],
  ['DEL', A0, A1, B0, U1],
];

describe('scripts across shards beside redis-server', () => {
  it('answer byte for byte what redis-server answers', async () => {
    expect(new Set([A0, B0].map((k) => shardOf(Buffer.from(k), SHARDS)))).toEqual(new Set([0]));
    const a = await RawClient.connect(cairn.respPort);
    const b = await RawClient.connect(reference.port);
    try {
      for (const args of CASES) {
        const [got, want] = await Promise.all([send(a, args), send(b, args)]);
        expect(got, JSON.stringify(args)).toBe(want);
      }
    } finally {
      a.socket.destroy();
      b.socket.destroy();
    }
  }, 120_000);

  it('an undeclared key of another shard reached after a write: refused once, then the script runs across shards', async () => {
    const body = "redis.call('SET', KEYS[1], ARGV[2]); return redis.call('GET', ARGV[1])";
    const c = client(cairn.respPort);
    const r = client(reference.port);
    await c.set(U1, 'other');
    await r.set(U1, 'other');
    // cairn's first run of this script cannot go back to the start: its write stays, the foreign key is refused
    await expect(c.eval(body, 1, A0, U1, 'first')).rejects.toThrow(/non local key/);
    expect(await c.get(A0)).toBe('first');
    // from then on it runs held, as on Redis
    expect(await c.eval(body, 1, A0, U1, 'second')).toBe('other');
    expect(await r.eval(body, 1, A0, U1, 'second')).toBe('other');
    expect(await c.get(A0)).toBe('second');
    await c.del(A0, U1);
    await r.del(A0, U1);
  }, 60_000);
});

describe('an undeclared key with later commands already sent', () => {
  it('is not run again behind them: the script answers that nothing ran, and runs across shards from then on', async () => {
    const c = client(cairn.respPort);
    await c.set(U1, 'seen');
    // the foreign GET comes before the write: nothing has changed when it is met
    const first = "local v = redis.call('GET', ARGV[1]); redis.call('SET', KEYS[1], 'mine'); return v";
    const replies = await c.pipeline().eval(first, 1, A0, U1).get(A0).exec();
    expect(String(replies?.[0][0])).toMatch(/key of another shard than its KEYS before it wrote; nothing ran/);
    expect(replies?.[1][1]).toBe(null);
    expect(await c.eval(first, 1, A0, U1)).toBe('seen');
    expect(await c.get(A0)).toBe('mine');
    await c.del(A0, U1);
  }, 60_000);
});

describe('atomic across shards', () => {
  it('a reader never sees half of a script that moves a count between shards', async () => {
    const c = client(cairn.respPort);
    await c.mset(A0, '1000', A1, '1000');
    const move = "redis.call('DECRBY', KEYS[1], ARGV[1]); redis.call('INCRBY', KEYS[2], ARGV[1]); return 1";
    const movers = [0, 1, 2].map(async (m) => {
      const mc = client(cairn.respPort);
      for (let i = 0; i < 150; i++) {
        const [from, to] = (i + m) % 2 === 0 ? [A0, A1] : [A1, A0];
        expect(await mc.eval(move, 2, from, to, String(1 + (i % 7)))).toBe(1);
      }
    });
    let done = false;
    const all = Promise.all(movers).finally(() => {
      done = true;
    });
    const sums: number[] = [];
    const byScript = client(cairn.respPort);
    const byTransaction = client(cairn.respPort);
    const readers = [
      (async () => {
        while (!done) {
          const [x, y] = (await byScript.eval(GET_BOTH, 2, A0, A1)) as string[];
          sums.push(Number(x) + Number(y));
        }
      })(),
      (async () => {
        while (!done) {
          const replies = (await byTransaction.multi().get(A0).get(A1).exec()) ?? [];
          sums.push(Number(replies[0][1]) + Number(replies[1][1]));
        }
      })(),
    ];
    await all;
    await Promise.all(readers);
    expect(sums.length).toBeGreaterThan(2);
    expect(new Set(sums)).toEqual(new Set([2000]));
    expect(Number(await c.get(A0)) + Number(await c.get(A1))).toBe(2000);
    await c.del(A0, A1);
  }, 120_000);
});

describe('a held script stopped mid-way', () => {
  /** sends SCRIPT KILL until it answers something other than NOTBUSY (the script is running), bounded */
  async function killWhenRunning(c: Redis): Promise<string> {
    for (let i = 0; i < 2000; i++) {
      const reply = await c.call('SCRIPT', 'KILL').then(String, (e: Error) => e.message);
      if (!reply.startsWith('NOTBUSY')) return reply;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('the script never ran');
  }

  it('SCRIPT KILL stops one that has not written; every shard answers afterwards', async () => {
    const c = client(cairn.respPort);
    const other = client(cairn.respPort);
    await c.mset(A0, 'v0', A1, 'v1');
    const body = "redis.call('GET', KEYS[1]); while true do end";
    const running = c.eval(body, 2, A0, A1).then(String, (e: Error) => e.message);
    // the acceptor is not blocked by the script: it reads SCRIPT KILL meanwhile
    expect(await killWhenRunning(other)).toBe('OK');
    expect(await running).toBe(`ERR Script killed by user with SCRIPT KILL... script: ${sha1hex(Buffer.from(body))}, on @user_script:1.`);
    expect(await other.mget(A0, A1)).toEqual(['v0', 'v1']);
    await c.del(A0, A1);
  }, 60_000);

  it('one that wrote is UNKILLABLE and ends at the time limit, its writes kept; then every shard answers', async () => {
    const c = client(cairn.respPort);
    const other = client(cairn.respPort);
    await c.del(A0, A1);
    const body = "redis.call('SET', KEYS[1], 'w'); while true do end";
    const running = c.eval(body, 2, A0, A1).then(String, (e: Error) => e.message);
    expect(await killWhenRunning(other)).toMatch(/^UNKILLABLE Sorry the script already executed write commands/);
    // a command for a held shard waits for the script's end (as Redis' clients would get -BUSY)
    const read = other.mget(A0, A1);
    expect(await running).toMatch(/^ERR Script timed out: it ran longer than lua-time-limit and was stopped script: [0-9a-f]{40}, on @user_script:1\.$/);
    expect(await read).toEqual(['w', null]);
    await c.set(A1, 'next');
    expect(await c.mget(A0, A1)).toEqual(['w', 'next']);
    await c.del(A0, A1);
  }, 60_000);
});

describe('on a read-only replica', () => {
  it("a script's writes are refused with Redis' READONLY on either path; reads run", async () => {
    const primary = await startServer({ args: ['--shards', String(SHARDS)] });
    const replica = await startServer({ args: ['--shards', String(SHARDS), '--replica-of', `127.0.0.1:${primary.port}`] });
    try {
      const r = client(replica.respPort);
      const write = "return redis.call('SET', KEYS[1], 'x')";
      for (const keys of [[A0], [A0, A1]]) {
        await expect(r.eval(write, keys.length, ...keys)).rejects.toThrow(
          `READONLY You can't write against a read only replica. script: ${sha1hex(Buffer.from(write))}, on @user_script:1.`,
        );
        expect(await r.eval("return {redis.call('EXISTS', KEYS[1]), redis.pcall('DEL', KEYS[1])['err']}", keys.length, ...keys)).toEqual([
          0,
          "READONLY You can't write against a read only replica.",
        ]);
        expect(await r.call('EVAL_RO', "return redis.call('GET', KEYS[1])", String(keys.length), ...keys)).toBe(null);
      }
      expect(await r.exists(A0)).toBe(0);
    } finally {
      await Promise.all([replica.stop(), primary.stop()]);
    }
  }, 60_000);
});
