/**
 * EVAL's reply conversion and errors, byte for byte beside redis-server: each script goes to both
 * servers and the raw replies must match.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from './lib/raw.js';

let cairn: TestServer;
let reference: ServiceHandle;

beforeAll(async () => {
  [cairn, reference] = await Promise.all([startServer({ args: ['--shards', '4'] }), startRedisServer(undefined, ['--databases', '1'])]);
}, 60_000);

afterAll(async () => {
  await Promise.all([cairn?.stop(), reference?.stop()]);
});

const CASES: string[][] = [
  // blocking reads refuse BLOCK inside a script, as Redis 7.0; without it they read
  ['EVAL', "return redis.pcall('XREAD', 'BLOCK', '10', 'STREAMS', 's', '0')", '0'],
  ['EVAL', "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '10', 'STREAMS', 's', '>')", '0'],
  ['EVAL', "return redis.call('XREAD', 'COUNT', '1', 'STREAMS', 's', '0')", '0'],
  ['EVAL', 'return 1', '-1'],
  ['EVAL', 'return 1', '3', 'a'],
  ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0'],
  ['EVAL', 'return {1, 2.9, -3.7, "a", nil, 4}', '0'],
  ['EVAL', 'return {1e20, 2^53, true, false}', '0'],
  ['EVAL', 'return {ok="fine"}', '0'],
  ['EVAL', 'return {err="My Error"}', '0'],
  ['EVAL', 'return {1, {err="inner"}, {ok="s"}}', '0'],
  ['EVAL', 'return redis.error_reply("x")', '0'],
  ['EVAL', 'return redis.error_reply("-FOO bar")', '0'],
  ['EVAL', 'return redis.status_reply("x")', '0'],
  ['EVAL', 'error("boom")', '0'],
  ['EVAL', 'error({err="X y"})', '0'],
  ['EVAL', 'x=', '0'],
  ['EVAL', 'return redis.call("nosuch")', '0'],
  ['EVAL', 'return redis.pcall("nosuch")', '0'],
  ['EVAL', 'return redis.call("incr", "{s}a", "b")', '0'],
  ['EVAL', 'return redis.call()', '0'],
  ['EVAL', 'return redis.call("get", {})', '0'],
  ['EVAL', 'return redis.call("eval", "return 1", "0")', '0'],
  ['EVAL', 'redis.call("set", KEYS[1], "a"); return redis.pcall("incr", KEYS[1])', '1', '{s}k'],
  ['EVAL', 'redis.call("set", KEYS[1], "a"); return redis.call("incr", KEYS[1])', '1', '{s}k'],
  [
    'EVAL',
    'return {redis.call("get", KEYS[1]), type(redis.call("get", KEYS[2])), redis.call("incrby", KEYS[2], 2^40), redis.call("ping")}',
    '2',
    '{s}k',
    '{s}n',
  ],
  ['EVAL', 'return {redis.call("set", KEYS[1], "v", "EX", 100 / 10), redis.call("ttl", KEYS[1])}', '1', '{s}t'],
  ['EVAL', 'return {KEYS[1], ARGV[1], ARGV[2], #ARGV}', '1', '{s}k', 'x', 'y'],
  ['EVAL_RO', 'return redis.call("set", KEYS[1], "v")', '1', '{s}k'],
  ['EVAL_RO', 'return redis.call("get", KEYS[1])', '1', '{s}k'],
  ['EVAL', 'return {redis.sha1hex(""), tostring(3/1), tostring(10/4), unpack({7, 8})}', '0'],
  ['EVAL', 'return {cjson.encode({1, 2, {a=1}}), cjson.decode("[1,2,{\\"b\\":3}]")[3].b, bit.band(7, 3), bit.bxor(5, 1), bit.tohex(255)}', '0'],
  ['SCRIPT', 'LOAD', 'return 42'],
  ['EVALSHA', '1fa00e76656cc152ad327c13fe365858fd7be306', '0'],
  ['SCRIPT', 'EXISTS', '1fa00e76656cc152ad327c13fe365858fd7be306', 'ffffffffffffffffffffffffffffffffffffffff'],
  ['SCRIPT', 'FLUSH'],
  ['EVALSHA', '1fa00e76656cc152ad327c13fe365858fd7be306', '0'],
  ['SCRIPT', 'KILL'],
  // Redis 7's protected globals
  ['EVAL', 'x = 1; return 1', '0'],
  ['EVAL', 'local function f() y = 2 end; f(); return 1', '0'],
  ['EVAL', 'function g() end; return 1', '0'],
  ['EVAL', 'redis = 1', '0'],
  ['EVAL', 'return x', '0'],
  ['EVAL', 'return _G.nosuch', '0'],
  ['EVAL', 'rawset(_G, "z", 1); return z', '0'],
  ['EVAL', 'local t = {}; t.a = 1; rawset(t, "b", 2); return {t.a, t.b, type(KEYS), #ARGV}', '0'],
  ['EVAL', 'return x', '1', '{s}k'],
  // a script that failed to compile is not cached: NOSCRIPT on every shard
  ['EVAL', 'return +', '1', 'key:1'],
  ...['key:1', 'key:2', 'key:3', 'key:4', 'key:5', 'key:6', 'key:7', 'key:8'].map((k) => ['EVALSHA', '1fd5091818ea327c4e55ed84125fdc6179ae44cf', '1', k]),
  ['SCRIPT', 'LOAD', 'return +'],
  ['EVALSHA', '1fd5091818ea327c4e55ed84125fdc6179ae44cf', '0'],
  ['SCRIPT', 'EXISTS', '1fd5091818ea327c4e55ed84125fdc6179ae44cf'],
];

/** the length of one whole RESP reply at the start of buf, 0 while incomplete */
function replyLength(buf: Buffer, at = 0): number {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return 0;
  const n = Number(buf.toString('latin1', at + 1, eol));
  const next = eol + 2;
  if (buf[at] === 0x24) return n < 0 ? next - at : buf.length >= next + n + 2 ? next + n + 2 - at : 0;
  if (buf[at] === 0x2a) {
    let pos = next;
    for (let i = 0; i < n; i++) {
      const len = replyLength(buf, pos);
      if (len === 0) return 0;
      pos += len;
    }
    return pos - at;
  }
  return next - at;
}

async function command(c: RawClient, args: string[]): Promise<string> {
  c.send(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  return (await c.readWhen((buf) => replyLength(buf), 15_000)).toString('latin1');
}

describe('EVAL replies beside redis-server', () => {
  it('conversion rules and error texts match byte for byte', async () => {
    const a = await RawClient.connect(cairn.respPort);
    const b = await RawClient.connect(reference.port);
    try {
      for (const args of CASES) {
        const [got, want] = await Promise.all([command(a, args), command(b, args)]);
        expect(got, JSON.stringify(args)).toBe(want);
      }
    } finally {
      a.socket.destroy();
      b.socket.destroy();
    }
  }, 60_000);
});
