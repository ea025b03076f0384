/**
 * What job queues (BullMQ, Bull) ask of scripts, transactions and lists, byte for byte beside
 * redis-server, on a 2-shard cairn with keys chosen on different shards (as a queue's keys without a
 * hash tag are): hexadecimal numerals past 32 bits in Lua, LMOVE / RPOPLPUSH / BRPOPLPUSH / BLMOVE
 * between shards (alone, in scripts, in MULTI), PUBLISH from scripts, and MULTI holding a script
 * whose keys span shards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { type DiffPair, ReplyConn, show, startPair } from './lib/differential.js';

let pair: DiffPair;
/** two keys on shard 0 and two on shard 1 of the 2-shard cairn */
let a0: string;
let b0: string;
let a1: string;
let b1: string;

beforeAll(async () => {
  pair = await startPair(['--shards', '2']);
  const on = (shard: number) => Array.from({ length: 64 }, (_, i) => `q:${i}`).filter((k) => shardOf(Buffer.from(k), 2) === shard);
  [a0, b0] = on(0);
  [a1, b1] = on(1);
}, 60_000);

afterAll(async () => {
  await pair?.stop();
});

/** each command on both servers in turn; every reply must be the same bytes */
async function same(commands: string[][]): Promise<void> {
  for (const argv of commands) {
    const [want, got] = await Promise.all([pair.redisConn.call(argv), pair.cairnConn.call(argv)]);
    expect(show(got), JSON.stringify(argv)).toBe(show(want));
  }
}

describe('job queue commands beside redis-server', () => {
  it('reads hexadecimal numerals wider than 32 bits as Lua 5.1 does (BullMQ priority scores)', async () => {
    await same([
      ['FLUSHALL'],
      ['EVAL', 'return {0x100000000, tostring(0x100000000 + 1), 0xffffffffff, tonumber("0x100000000"), "0x1ffffffff" + 0}', '0'],
      ['EVAL', 'return 3 * 0x100000000 + 5 % 0x100000000', '0'],
      ['EVAL', 'redis.call("ZADD", KEYS[1], 10 * 0x100000000 + 1, "j"); return redis.call("ZSCORE", KEYS[1], "j")', '1', a0],
      ['EVAL', 'return {bit.tobit(0x100000001), bit.tobit(4294967295), bit.tobit(-4294967297), bit.band(0xffffffff, 7), bit.tohex(0x1234567890)}', '0'],
    ]);
  });

  it('moves list elements between shards as Redis moves them within one', async () => {
    await same([
      ['FLUSHALL'],
      ['RPUSH', a0, 'x', 'y', 'z'],
      ['SET', b0, 'string'],
      ['RPOPLPUSH', a0, a1],
      ['LMOVE', a0, a1, 'LEFT', 'RIGHT'],
      ['LRANGE', a1, '0', '-1'],
      ['RPOPLPUSH', b1, b0],
      ['RPOPLPUSH', a0, b0],
      ['RPOPLPUSH', b0, a1],
      ['LMOVE', a0, a1, 'UP', 'LEFT'],
      ['EVAL', 'return {redis.call("RPOPLPUSH", KEYS[1], KEYS[2]), redis.call("LRANGE", KEYS[2], 0, -1), redis.call("EXISTS", KEYS[1])}', '2', a0, a1],
      ['EVAL', 'return redis.pcall("RPOPLPUSH", KEYS[1], KEYS[2])', '2', a1, b0],
      ['MULTI'],
      ['LMOVE', a1, a0, 'RIGHT', 'LEFT'],
      ['BRPOPLPUSH', a1, a0, '1'],
      ['BLMOVE', b1, a0, 'LEFT', 'LEFT', '1'],
      ['LRANGE', a0, '0', '-1'],
      ['EXEC'],
      ['BRPOPLPUSH', a0, a1, 'nope'],
    ]);
  });

  it('BRPOPLPUSH and BLMOVE between shards block until a push, or answer at the timeout', async () => {
    await same([['FLUSHALL'], ['BRPOPLPUSH', a0, a1, '0.1'], ['BLMOVE', a0, a1, 'LEFT', 'RIGHT', '0.1']]);
    for (const conn of [pair.redisConn, pair.cairnConn]) conn.send(['BRPOPLPUSH', a0, a1, '0']);
    // the pushes come from other connections once both waits are (probably) in place; either way the reply is the same
    const pushers = await Promise.all([ReplyConn.open(pair.redis.port), ReplyConn.open(pair.cairn.respPort)]);
    try {
      await Promise.all(pushers.map((p) => p.call(['RPUSH', a0, 'job1', 'job2'])));
      const [want, got] = await Promise.all([pair.redisConn.reply(), pair.cairnConn.reply()]);
      expect(show(got)).toBe(show(want));
      expect(show(want)).toBe(show(Buffer.from('$4\r\njob2\r\n')));
    } finally {
      for (const p of pushers) p.close();
    }
    await same([
      ['LRANGE', a0, '0', '-1'],
      ['LRANGE', a1, '0', '-1'],
    ]);
  });

  it('runs a transaction holding a script whose keys span shards, with WATCH', async () => {
    const script = 'redis.call("SET", KEYS[1], ARGV[1]); redis.call("RPUSH", KEYS[2], ARGV[1]); return redis.call("LLEN", KEYS[2])';
    await same([
      ['FLUSHALL'],
      ['MULTI'],
      ['SET', b0, 'before'],
      ['EVAL', script, '2', a0, a1, 'job7'],
      ['EVAL', script, '2', b1, a1, 'job8'],
      ['GET', b1],
      ['EXEC'],
      ['WATCH', a0],
      ['SET', a0, 'changed'],
      ['MULTI'],
      ['EVAL', script, '2', a0, a1, 'job9'],
      ['EXEC'],
      ['LRANGE', a1, '0', '-1'],
    ]);
  });

  it('runs a script in MULTI that reaches a key it did not declare, on another shard (Bull builds its lock keys)', async () => {
    await same([
      ['FLUSHALL'],
      ['MULTI'],
      ['SET', a0, 'x'],
      ['EVAL', 'return redis.call("SET", ARGV[1], "from a script")', '1', b0, a1],
      ['EVAL', 'redis.call("SET", KEYS[1], "y"); return redis.call("GET", ARGV[1])', '1', b0, b1],
      ['EXEC'],
      ['MGET', a0, b0, a1],
    ]);
  });

  it('publishes what a script publishes, on one shard and across shards', async () => {
    const subscribers = await Promise.all([ReplyConn.open(pair.redis.port), ReplyConn.open(pair.cairn.respPort)]);
    try {
      const confirmed = await Promise.all(subscribers.map((s) => s.call(['SUBSCRIBE', 'events'])));
      expect(show(confirmed[1])).toBe(show(confirmed[0]));
      await same([
        ['EVAL', 'redis.call("SET", KEYS[1], "1"); redis.call("PUBLISH", "events", "one"); return 1', '1', a0],
        ['EVAL', 'redis.call("PUBLISH", "events", "two"); return redis.call("RPOPLPUSH", KEYS[1], KEYS[2])', '2', a0, a1],
        ['MULTI'],
        ['EVAL', 'redis.call("PUBLISH", "events", "three"); return redis.call("SET", KEYS[1], "2")', '2', a0, b1],
        ['EXEC'],
      ]);
      for (const s of subscribers) for (const text of ['one', 'two', 'three']) expect((await s.reply()).toString()).toContain(text);
    } finally {
      for (const s of subscribers) s.close();
    }
  });
});
