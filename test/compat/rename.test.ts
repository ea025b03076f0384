/**
 * RENAME, RENAMENX, COPY and OBJECT ENCODING against a real redis-server: the same commands sent to
 * both over raw RESP, replies compared byte for byte. cairn runs 2 shards and the key pairs are
 * chosen so that some share a shard (the command runs there at once) and some do not (the acceptor
 * runs it in steps). Expiries are absolute (PXAT) so that PEXPIRETIME answers match exactly. Then,
 * on cairn only: a source that lives only on disk, memcached flags, pipelining, keyspace events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { shardOf } from '../../src/hash.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawClient, show } from './lib/raw.js';

/** the length of the first complete RESP reply in buf, 0 while it is incomplete */
function replyLength(buf: Buffer, at = 0): number {
  const cr = buf.indexOf('\r\n', at);
  if (cr < 0) return 0;
  const head = buf[at];
  const line = cr + 2 - at;
  if (head === 0x2b || head === 0x2d || head === 0x3a) return line; // + - :
  const n = Number(buf.toString('latin1', at + 1, cr));
  if (head === 0x24) return n < 0 ? line : buf.length >= cr + 2 + n + 2 ? line + n + 2 : 0; // $
  if (head === 0x2a) {
    let p = cr + 2;
    for (let i = 0; i < n; i++) {
      const len = replyLength(buf, p);
      if (len === 0) return 0;
      p += len;
    }
    return p - at;
  }
  throw new Error(`not a RESP reply: ${show(buf.toString('latin1', at, at + 40))}`);
}

function encode(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** sends commands in one write (a pipeline) and reads one reply per command */
async function pipeline(c: RawClient, commands: readonly (readonly (string | Buffer)[])[]): Promise<string[]> {
  c.send(Buffer.concat(commands.map(encode)));
  const out: string[] = [];
  for (let i = 0; i < commands.length; i++) {
    const r = await c.readWhen((buf) => replyLength(buf), 10_000);
    if (r.length === 0) throw new Error(`no reply to ${commands[i].join(' ')}`);
    out.push(r.toString('latin1'));
  }
  return out;
}

const call = async (c: RawClient, ...args: (string | Buffer)[]): Promise<string> => (await pipeline(c, [args]))[0];

/** a key named prefix-i whose shard (of 2) is, or is not, the shard of `of` */
function keyBeside(of: string, prefix: string, sameShard: boolean): string {
  const home = shardOf(Buffer.from(of), 2);
  for (let i = 0; ; i++) {
    const key = `${prefix}-${i}`;
    if ((shardOf(Buffer.from(key), 2) === home) === sameShard) return key;
  }
}

/** an absolute expiry both servers keep to the millisecond */
const T = Date.now() + 3_600_000;
const BINARY = Buffer.from([0, 1, 13, 10, 0xff, 0x24, 0x2a]);

/** the command sequence for one (source, destination, third) key triple */
function sequence(s: string, d: string, x: string): (string | Buffer)[][] {
  return [
    ['DEL', s, d, x],
    ['SET', s, 'v1', 'PXAT', String(T)],
    ['RENAME', s, d],
    ['GET', d],
    ['PEXPIRETIME', d],
    ['EXPIRETIME', d],
    ['EXISTS', s],
    ['PEXPIRETIME', s],
    // onto an existing key without an expiry: replaced, the source's expiry kept
    ['SET', s, 'v2'],
    ['RENAME', d, s],
    ['GET', s],
    ['PEXPIRETIME', s],
    ['EXISTS', d],
    // a key onto itself
    ['RENAME', s, s],
    ['RENAMENX', s, s],
    ['GET', s],
    ['PEXPIRETIME', s],
    // RENAMENX onto an existing, then a missing key
    ['SET', d, 'taken', 'PXAT', String(T + 1000)],
    ['RENAMENX', s, d],
    ['GET', s],
    ['GET', d],
    ['PEXPIRETIME', d],
    ['DEL', d],
    ['RENAMENX', s, d],
    ['GET', d],
    ['PEXPIRETIME', d],
    ['EXISTS', s],
    // a missing source
    ['RENAME', s, d],
    ['RENAMENX', s, d],
    ['RENAME', s, s],
    ['RENAMENX', s, s],
    ['COPY', s, d],
    ['COPY', s, d, 'REPLACE'],
    ['GET', d],
    // COPY without and with REPLACE
    ['COPY', d, s],
    ['GET', s],
    ['PEXPIRETIME', s],
    ['GET', d],
    ['PEXPIRETIME', d],
    ['SET', s, 'changed'],
    ['COPY', d, s],
    ['GET', s],
    ['PEXPIRETIME', s],
    ['COPY', d, s, 'REPLACE'],
    ['GET', s],
    ['PEXPIRETIME', s],
    ['COPY', d, s, 'DB', '0', 'REPLACE'],
    ['COPY', d, s, 'replace', 'db', '0'],
    // COPY's options and the one database
    ['COPY', d, d],
    ['COPY', x, x],
    ['COPY', d, s, 'DB', '1'],
    ['COPY', d, s, 'DB', '-1'],
    ['COPY', d, s, 'DB', 'x'],
    ['COPY', d, s, 'DB', '4294967296'],
    ['COPY', d, s, 'DB'],
    ['COPY', d, s, 'FOO'],
    ['COPY', d, s, 'FOO', 'DB', '1'],
    ['COPY', d, s, 'DB', '1', 'FOO'],
    ['COPY', d, d, 'DB', '1'],
    // no expiry moves onto a key that had one; binary and empty values
    ['SET', x, BINARY],
    ['SET', d, 'short-lived', 'PXAT', String(T)],
    ['RENAME', x, d],
    ['GET', d],
    ['PEXPIRETIME', d],
    ['SET', x, ''],
    ['COPY', x, s, 'REPLACE'],
    ['RENAME', x, d],
    ['GET', s],
    ['GET', d],
    ['EXISTS', x],
    // OBJECT ENCODING of a missing key, and arity errors
    ['OBJECT', 'ENCODING', x],
    ['OBJECT', 'ENCODING'],
    ['OBJECT', 'ENCODING', s, d],
    ['RENAME', s],
    ['RENAMENX', s, d, x],
    ['COPY', s],
    ['COMMAND', 'GETKEYS', 'RENAME', s, d],
    ['COMMAND', 'GETKEYS', 'COPY', s, d, 'REPLACE'],
    ['COMMAND', 'GETKEYS', 'OBJECT', 'ENCODING', s],
  ];
}

let redis: ServiceHandle;
let cairn: TestServer;
let small: TestServer;
const clients: RawClient[] = [];

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  [redis, cairn, small] = await Promise.all([
    // one database, as cairn has
    startRedisServer(undefined, ['--databases', '1']),
    startServer(),
    // 1 MB of memory per shard: most keys written below live only on disk
    startServer({ args: ['--max-memory', '2mb'] }),
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([redis?.stop(), cairn?.stop(), small?.stop()]);
});

describe('RENAME / RENAMENX / COPY / OBJECT ENCODING: byte for byte as redis-server', () => {
  for (const sameShard of [true, false]) {
    it(`source and destination on ${sameShard ? 'one shard' : 'two shards'}`, async () => {
      const s = `rn:${sameShard ? 'same' : 'cross'}`;
      const d = keyBeside(s, `${s}:dst`, sameShard);
      const x = keyBeside(s, `${s}:third`, !sameShard);
      expect(shardOf(Buffer.from(d), 2) === shardOf(Buffer.from(s), 2)).toBe(sameShard);
      const commands = sequence(s, d, x);
      const [ref, ours] = await Promise.all([connect(redis.port), connect(cairn.respPort)]);
      // twice: one command at a time (each reply awaited), then all as one pipeline
      const expected = [await pipeline(ref, commands), await pipeline(ref, commands)];
      const oneByOne: string[] = [];
      for (const cmd of commands) oneByOne.push(await call(ours, ...cmd));
      const piped = await pipeline(ours, commands);
      commands.forEach((cmd, i) => {
        const what = cmd.map(String).join(' ');
        expect(oneByOne[i], what).toBe(expected[0][i]);
        expect(piped[i], `${what} (pipelined)`).toBe(expected[1][i]);
      });
    });
  }

  it('OBJECT ENCODING of a string is raw on cairn (Redis: int, embstr or raw by content)', async () => {
    const ours = await connect(cairn.respPort);
    for (const [value] of [['12345'], ['short'], ['x'.repeat(100)]]) {
      expect(await call(ours, 'SET', 'enc', value)).toBe('+OK\r\n');
      expect(await call(ours, 'OBJECT', 'ENCODING', 'enc')).toBe('$3\r\nraw\r\n');
    }
  });

  it('COMMAND INFO: arity, flags, first/last/step and categories as Redis 7', async () => {
    const [ref, ours] = await Promise.all([connect(redis.port), connect(cairn.respPort)]);
    for (const name of ['rename', 'renamenx', 'copy', 'object|encoding']) {
      const [a, b] = await Promise.all([call(ref, 'COMMAND', 'INFO', name), call(ours, 'COMMAND', 'INFO', name)]);
      // up to the categories: Redis' tips and key specs follow, which cairn leaves empty
      const head = (r: string): string => r.slice(0, r.indexOf('*', r.indexOf('@')));
      expect(head(b), name).toBe(head(a));
      expect(await call(ours, 'COMMAND', 'DOCS', name)).toMatch(/summary/);
    }
  });
});

describe('cairn only', () => {
  it('renames and copies a source that lives only on disk, expiry and value kept', async () => {
    const c = await connect(small.respPort);
    const value = (i: number): string => `${i}:`.padEnd(8 * 1024, String.fromCharCode(97 + (i % 26)));
    const cold = ['cold:a', 'cold:b', 'cold:c'];
    for (const key of cold) expect(await call(c, 'SET', key, value(cold.indexOf(key)), 'PXAT', String(T))).toBe('+OK\r\n');
    // 4 MB of other values push them out of memory
    for (let start = 0; start < 500; start += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => ['SET', `filler:${start + j}`, value(start + j)]);
      expect(new Set(await pipeline(c, batch))).toEqual(new Set(['+OK\r\n']));
    }
    const hitsCold = async (): Promise<number> => Number(/^hits_cold:(\d+)/m.exec(await call(c, 'CAIRN.INFO'))?.[1]);
    const pairs: [string, string, string][] = [
      ['RENAME', cold[0], keyBeside(cold[0], 'warm:a', true)],
      ['RENAME', cold[1], keyBeside(cold[1], 'warm:b', false)],
      ['COPY', cold[2], keyBeside(cold[2], 'warm:c', false)],
    ];
    for (const [cmd, from, to] of pairs) {
      const before = await hitsCold();
      expect(await call(c, cmd, from, to), `${cmd} ${from} ${to}`).toBe(cmd === 'COPY' ? ':1\r\n' : '+OK\r\n');
      // the source was read from disk: it had left memory
      expect(await hitsCold(), `${from} was on disk`).toBeGreaterThan(before);
      const i = cold.indexOf(from);
      expect(await call(c, 'GET', to)).toBe(`$${value(i).length}\r\n${value(i)}\r\n`);
      expect(await call(c, 'PEXPIRETIME', to)).toBe(`:${T}\r\n`);
      expect(await call(c, 'EXISTS', from)).toBe(cmd === 'COPY' ? ':1\r\n' : ':0\r\n');
    }
  }, 60_000);

  it('memcached flags ride along; the CAS changes', async () => {
    const mc = await connect(cairn.memcachePort);
    const c = await connect(cairn.respPort);
    const from = 'mcflags';
    for (const sameShard of [true, false]) {
      const to = keyBeside(from, `mcflags:${sameShard}`, sameShard);
      expect(await mc.exchange(`set ${from} 4242 0 5\r\nhello\r\n`, 'STORED\r\n')).toBe('STORED\r\n');
      mc.send(`gets ${from}\r\n`);
      const casBefore = /^VALUE \S+ 4242 5 (\d+)\r\n/.exec(await mc.readUntil('END\r\n'))?.[1];
      expect(casBefore).toBeDefined();
      expect(await call(c, 'RENAME', from, to)).toBe('+OK\r\n');
      mc.send(`gets ${to}\r\n`);
      const after = await mc.readUntil('END\r\n');
      const m = new RegExp(`^VALUE ${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} 4242 5 (\\d+)\\r\\nhello\\r\\nEND\\r\\n$`).exec(after);
      expect(m, show(after)).not.toBeNull();
      expect(m![1]).not.toBe(casBefore);
    }
  });

  it('a later command of the same connection sees the rename done (pipelined across shards)', async () => {
    const c = await connect(cairn.respPort);
    const from = 'pipe:src';
    for (let round = 0; round < 20; round++) {
      const to = keyBeside(from, `pipe:dst:${round}`, false);
      const replies = await pipeline(c, [
        ['SET', from, `v${round}`],
        ['RENAME', from, to],
        ['GET', to],
        ['EXISTS', from],
        ['COPY', to, from],
        ['GET', from],
      ]);
      const v = `$${`v${round}`.length}\r\nv${round}\r\n`;
      expect(replies).toEqual(['+OK\r\n', '+OK\r\n', v, ':0\r\n', ':1\r\n', v]);
    }
  });

  it('keyspace events: a rename is del of the source and set of the destination, a copy a set', async () => {
    const sub = await connect(cairn.respPort);
    const c = await connect(cairn.respPort);
    expect(await call(c, 'CONFIG', 'SET', 'notify-keyspace-events', 'KEA')).toBe('+OK\r\n');
    await call(sub, 'PSUBSCRIBE', '__keyevent@0__:*');
    const from = 'ev:src';
    const to = keyBeside(from, 'ev:dst', false);
    await call(c, 'SET', from, '1');
    const event = async (): Promise<string> => (await sub.readWhen((buf) => replyLength(buf), 10_000)).toString('latin1');
    expect(await event()).toContain(`__keyevent@0__:set\r\n$${from.length}\r\n${from}`);
    expect(await call(c, 'RENAME', from, to)).toBe('+OK\r\n');
    const two = [await event(), await event()].sort();
    expect(two[0]).toContain(`__keyevent@0__:del\r\n$${from.length}\r\n${from}`);
    expect(two[1]).toContain(`__keyevent@0__:set\r\n$${to.length}\r\n${to}`);
    expect(await call(c, 'COPY', to, from)).toBe(':1\r\n');
    expect(await event()).toContain(`__keyevent@0__:set\r\n$${from.length}\r\n${from}`);
    expect(await call(c, 'CONFIG', 'SET', 'notify-keyspace-events', '')).toBe('+OK\r\n');
  });
});
