/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH: the same transactions against redis-server and cairn (two
 * shards) in one run, compared byte for byte on a raw connection and result for result through
 * ioredis and node-redis (WATCH conflicts made by a second client, pipelined transactions,
 * EXECABORT). Keys of one transaction share a {hash tag} (cairn runs it as one message to one shard),
 * except under "keys on several shards", where cairn holds the shards involved.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from './lib/raw.js';
import { shardOf } from '../../src/hash.js';

let reference: ServiceHandle;
let cairn: TestServer;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  [reference, cairn] = await Promise.all([startRedisServer(), startServer()]);
}, 60_000);

afterAll(async () => {
  for (const close of closers) await close();
  await Promise.all([reference?.stop(), cairn?.stop()]);
});

const targets = (): { name: string; port: number }[] => [
  { name: 'redis-server', port: reference.port },
  { name: 'cairn', port: cairn.respPort },
];

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** the end of the one RESP reply starting at `at`, or -1 when it is not all there yet */
function replyEnd(buf: Buffer, at: number): number {
  const cr = buf.indexOf('\r\n', at);
  if (cr < 0) return -1;
  const type = buf[at];
  const n = Number(buf.toString('latin1', at + 1, cr));
  if (type === 0x24) return n < 0 ? cr + 2 : cr + 2 + n + 2 <= buf.length ? cr + 2 + n + 2 : -1; // $
  if (type !== 0x2a || n < 0) return cr + 2; // + - : and null arrays
  let p = cr + 2;
  for (let i = 0; i < n; i++) {
    p = replyEnd(buf, p);
    if (p < 0) return -1;
  }
  return p;
}

/** a step that sends `until` again (every 20 ms, up to 10 s) until it answers `want`; its replies are not kept */
interface Until {
  until: string[];
  want: string;
}
type Step = string[] | Until;

/** the replies (as text) to commands sent one by one on one connection */
async function run(port: number, steps: Step[]): Promise<string[]> {
  const c = await RawClient.connect(port);
  const out: string[] = [];
  const ask = async (args: string[]): Promise<string> => {
    c.send(encode(args));
    const reply = await c.readWhen((buf) => (buf.length > 0 ? Math.max(0, replyEnd(buf, 0)) : 0), 10_000);
    return reply.toString('latin1');
  };
  try {
    for (const step of steps) {
      if (Array.isArray(step)) {
        out.push(await ask(step));
        continue;
      }
      const deadline = Date.now() + 10_000;
      while ((await ask(step.until)) !== step.want) {
        if (Date.now() > deadline) throw new Error(`${step.until.join(' ')} never answered ${JSON.stringify(step.want)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    c.socket.destroy();
  }
  return out;
}

/** the same steps on both servers: the same bytes back */
async function same(steps: Step[]): Promise<string[]> {
  const [ref, got] = await Promise.all(targets().map((t) => run(t.port, steps)));
  expect(got).toEqual(ref);
  return got;
}

describe('MULTI / EXEC on a raw connection, byte for byte as redis-server', () => {
  it('queued commands, runtime errors as replies in the array, local commands in place', async () => {
    const r = await same([
      ['DEL', '{t}a'],
      ['MULTI'],
      ['SET', '{t}a', 'x'],
      ['INCR', '{t}a'],
      ['PING'],
      ['APPEND', '{t}a', 'yz'],
      ['GET', '{t}a'],
      ['ECHO', 'hi'],
      ['EXEC'],
    ]);
    expect(r[8]).toBe('*6\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+PONG\r\n:3\r\n$3\r\nxyz\r\n$2\r\nhi\r\n');
  });

  it('errors while queueing abort EXEC; command errors of MULTI, EXEC, DISCARD and WATCH', async () => {
    const r = await same([
      ['EXEC'],
      ['DISCARD'],
      ['MULTI'],
      ['MULTI'],
      ['WATCH', '{t}a'],
      ['SET', '{t}b', '1'],
      ['NOSUCH', 'x'],
      ['GET'],
      ['EXEC'],
      ['EXISTS', '{t}b'],
    ]);
    expect(r[8]).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(r[9]).toBe(':0\r\n');
  });

  it('an empty transaction, DISCARD, UNWATCH queued inside MULTI, odd MSET as a runtime error', async () => {
    await same([
      ['MULTI'],
      ['EXEC'],
      ['MULTI'],
      ['SET', '{t}d', '1'],
      ['DISCARD'],
      ['EXISTS', '{t}d'],
      ['MULTI'],
      ['UNWATCH'],
      ['MSET', '{t}m', '1', '{t}n'],
      ['EXEC'],
    ]);
  });

  it('WATCH: a change by the same connection before MULTI aborts, also a rewrite of the same value', async () => {
    const r = await same([['SET', '{t}w', '1'], ['WATCH', '{t}w'], ['SET', '{t}w', '1'], ['MULTI'], ['SET', '{t}w2', 'x'], ['EXEC'], ['EXISTS', '{t}w2']]);
    expect(r[5]).toBe('*-1\r\n');
    expect(r[6]).toBe(':0\r\n');
  });

  it('WATCH: EXPIRE aborts, a PERSIST that changes nothing does not, a missing key that stays missing does not', async () => {
    await same([['SET', '{t}e', '1'], ['WATCH', '{t}e'], ['EXPIRE', '{t}e', '100'], ['MULTI'], ['PING'], ['EXEC']]);
    await same([['SET', '{t}e', '1'], ['WATCH', '{t}e'], ['PERSIST', '{t}e'], ['GET', '{t}e'], ['MULTI'], ['GET', '{t}e'], ['EXEC']]);
    await same([['DEL', '{t}none'], ['WATCH', '{t}none'], ['DEL', '{t}none'], ['MULTI'], ['PING'], ['EXEC']]);
  });

  it('WATCH: a watched key that expires aborts EXEC (Redis 7.0)', async () => {
    // the key expires while watched: wait for that state (EXISTS is a read: it changes no watch)
    const r = await same([['SET', '{t}x', '1', 'PX', '500'], ['WATCH', '{t}x'], { until: ['EXISTS', '{t}x'], want: ':0\r\n' }, ['MULTI'], ['PING'], ['EXEC']]);
    expect(r[4]).toBe('*-1\r\n');
  });

  it('UNWATCH, DISCARD and EXEC forget the watched keys', async () => {
    await same([['SET', '{t}u', '1'], ['WATCH', '{t}u'], ['UNWATCH'], ['SET', '{t}u', '2'], ['MULTI'], ['PING'], ['EXEC']]);
    await same([['WATCH', '{t}u'], ['MULTI'], ['DISCARD'], ['SET', '{t}u', '3'], ['MULTI'], ['PING'], ['EXEC']]);
    await same([['WATCH', '{t}u'], ['MULTI'], ['EXEC'], ['SET', '{t}u', '4'], ['MULTI'], ['PING'], ['EXEC']]);
  });

  it('a pipelined transaction: every command in one write', async () => {
    const steps = [['DEL', '{t}p'], ['MULTI'], ['INCR', '{t}p'], ['INCRBY', '{t}p', '5'], ['EXEC'], ['GET', '{t}p']];
    const wire = steps.map(encode).join('');
    const read = async (port: number): Promise<string> => {
      const c = await RawClient.connect(port);
      c.send(wire);
      let at = 0;
      const buf = await c.readWhen((b) => {
        at = 0;
        for (let i = 0; i < steps.length; i++) {
          at = replyEnd(b, at);
          if (at < 0) return 0;
        }
        return at;
      }, 10_000);
      c.socket.destroy();
      return buf.toString('latin1');
    };
    const [ref, got] = await Promise.all(targets().map((t) => read(t.port)));
    expect(got).toBe(ref);
    expect(got).toBe(':0\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:6\r\n$1\r\n6\r\n');
  });
});

describe('WATCH conflicts made by a second client', () => {
  it('raw: another connection writes a watched key between WATCH and EXEC', async () => {
    for (const t of targets()) {
      const a = await RawClient.connect(t.port);
      const b = await RawClient.connect(t.port);
      expect(await a.exchange(encode(['SET', '{c}k', '1']), '+OK\r\n')).toBe('+OK\r\n');
      expect(await a.exchange(encode(['WATCH', '{c}k']), '+OK\r\n')).toBe('+OK\r\n');
      expect(await b.exchange(encode(['INCR', '{c}k']), ':2\r\n')).toBe(':2\r\n');
      expect(await a.exchange(encode(['MULTI']), '+OK\r\n')).toBe('+OK\r\n');
      expect(await a.exchange(encode(['SET', '{c}k', '100']), '+QUEUED\r\n')).toBe('+QUEUED\r\n');
      expect(await a.exchange(encode(['EXEC']), '*-1\r\n')).toBe('*-1\r\n');
      expect(await b.exchange(encode(['GET', '{c}k']), '$1\r\n2\r\n')).toBe('$1\r\n2\r\n');
      a.socket.destroy();
      b.socket.destroy();
    }
  });

  it('ioredis: watch(), multi().exec() null on a conflict, results otherwise; pipelined transactions', async () => {
    const results: unknown[] = [];
    for (const t of targets()) {
      const a = new Redis({ host: '127.0.0.1', port: t.port, maxRetriesPerRequest: 1 });
      const b = new Redis({ host: '127.0.0.1', port: t.port, maxRetriesPerRequest: 1 });
      closers.push(
        () => a.disconnect(),
        () => b.disconnect(),
      );
      const got: unknown[] = [];
      await a.set('{io}bal', '10');
      await a.watch('{io}bal');
      await b.incrby('{io}bal', 5);
      got.push(await a.multi().decrby('{io}bal', 3).get('{io}bal').exec());
      await a.watch('{io}bal');
      got.push(await a.multi().decrby('{io}bal', 3).get('{io}bal').exec());
      got.push(await a.multi().set('{io}s', 'v').incr('{io}s').get('{io}s').exec());
      // many transactions in flight on one connection at once
      got.push(await Promise.all(Array.from({ length: 20 }, () => a.multi().incr('{io}n').exec())));
      got.push(await a.get('{io}n'));
      got.push(
        await a
          .multi()
          .set('{io}q', '1')
          .call('NOSUCH')
          .exec()
          .catch((e: Error) => e.message),
      );
      got.push(await a.exists('{io}q'));
      await a.del('{io}n', '{io}s');
      results.push(got);
    }
    expect(results[1]).toEqual(results[0]);
    expect((results[0] as unknown[])[0]).toBeNull();
  });

  it('node-redis: watch + multi().exec() throws WatchError on a conflict; EXECABORT rejects', async () => {
    const results: unknown[] = [];
    for (const t of targets()) {
      const a = createClient({ socket: { host: '127.0.0.1', port: t.port, reconnectStrategy: false } });
      const b = createClient({ socket: { host: '127.0.0.1', port: t.port, reconnectStrategy: false } });
      await a.connect();
      await b.connect();
      closers.push(
        () => a.disconnect().catch(() => undefined),
        () => b.disconnect().catch(() => undefined),
      );
      const got: unknown[] = [];
      await a.set('{nr}k', '1');
      await a.watch('{nr}k');
      await b.set('{nr}k', '2');
      got.push(
        await a
          .multi()
          .set('{nr}k', '3')
          .get('{nr}k')
          .exec()
          .catch((e: Error) => e.constructor.name),
      );
      await a.watch('{nr}k');
      got.push(await a.multi().set('{nr}k', '3').get('{nr}k').exec());
      got.push(await a.multi().incr('{nr}c').incr('{nr}c').exec());
      got.push(
        await a
          .multi()
          .addCommand(['NOSUCH'])
          .set('{nr}z', '1')
          .exec()
          .catch((e: Error) => e.message),
      );
      got.push(await a.exists('{nr}z'));
      await a.del('{nr}c');
      results.push(got);
    }
    expect(results[1]).toEqual(results[0]);
    expect((results[0] as unknown[])[0]).toBe('WatchError');
  });
});

describe('keys on several shards (cairn holds the shards)', () => {
  // span:a and span:c are on shard 0 of 2, span:h and span:d on shard 1 (src/hash.ts)
  it('runs a transaction whose keys span shards, byte for byte as redis-server: split and whole-shard commands too', async () => {
    expect(['span:a', 'span:d', 'span:h', 'span:c'].map((k) => shardOf(Buffer.from(k), 2))).toEqual([0, 0, 1, 1]);
    const r = await same([
      ['FLUSHALL'],
      ['MULTI'],
      ['SET', 'span:a', '1'],
      ['SET', 'span:h', '1'],
      ['INCR', 'span:a'],
      ['PING'],
      ['INCR', 'span:h'],
      ['MSET', 'span:c', 'x', 'span:d', 'y'],
      ['MGET', 'span:a', 'span:h', 'span:c', 'span:d', 'span:none'],
      ['INCR', 'span:c'],
      ['DBSIZE'],
      ['EXISTS', 'span:a', 'span:h', 'span:none'],
      ['DEL', 'span:c', 'span:d'],
      ['DBSIZE'],
      ['ECHO', 'end'],
      ['EXEC'],
      ['MGET', 'span:a', 'span:h', 'span:c'],
    ]);
    expect(r[15]).toMatch(/^\*13\r\n\+OK\r\n\+OK\r\n:2\r\n\+PONG\r\n:2\r\n\+OK\r\n\*5\r\n/);
    // FLUSHALL and KEYS inside a transaction across shards (KEYS sorted: its order is the server's)
    const [ref, got] = await Promise.all(
      targets().map((t) => run(t.port, [['MULTI'], ['SET', 'span:a', '1'], ['SET', 'span:h', '2'], ['KEYS', 'span:*'], ['FLUSHALL'], ['DBSIZE'], ['EXEC']])),
    );
    const sorted = (reply: string): string =>
      reply.replace(/\*2\r\n(\$6\r\nspan:.\r\n)(\$6\r\nspan:.\r\n)/, (_, x: string, y: string) => `*2\r\n${[x, y].sort().join('')}`);
    expect(sorted(got[6])).toBe(sorted(ref[6]));
    expect(got[6]).toContain('+OK\r\n:0\r\n');
  });

  it('WATCH of keys on both shards: a change on either aborts EXEC; unchanged, EXEC runs', async () => {
    for (const changed of ['span:a', 'span:h']) {
      for (const t of targets()) {
        const a = await RawClient.connect(t.port);
        const b = await RawClient.connect(t.port);
        const ask = async (c: RawClient, args: string[]): Promise<string> => {
          c.send(encode(args));
          return (await c.readWhen((buf) => (buf.length > 0 ? Math.max(0, replyEnd(buf, 0)) : 0), 10_000)).toString('latin1');
        };
        try {
          await ask(a, ['MSET', 'span:a', '1', 'span:h', '1']);
          await ask(a, ['WATCH', 'span:a', 'span:h']);
          await ask(b, ['SET', changed, '2']);
          await ask(a, ['MULTI']);
          await ask(a, ['SET', 'span:a', 'tx']);
          await ask(a, ['SET', 'span:h', 'tx']);
          expect(await ask(a, ['EXEC']), `${t.name}: ${changed} changed`).toBe('*-1\r\n');
          expect(await ask(a, ['MGET', 'span:a', 'span:h'])).not.toContain('tx');
          await ask(a, ['WATCH', 'span:a', 'span:h']);
          await ask(a, ['MULTI']);
          await ask(a, ['SET', 'span:a', 'tx']);
          await ask(a, ['SET', 'span:h', 'tx']);
          expect(await ask(a, ['EXEC']), t.name).toBe('*2\r\n+OK\r\n+OK\r\n');
        } finally {
          a.socket.destroy();
          b.socket.destroy();
        }
      }
    }
  });

  it('ioredis and node-redis multi/exec with keys on two shards, as on redis-server', async () => {
    const results: unknown[] = [];
    for (const t of targets()) {
      const io = new Redis({ host: '127.0.0.1', port: t.port, maxRetriesPerRequest: 1 });
      const nr = createClient({ socket: { host: '127.0.0.1', port: t.port, reconnectStrategy: false } });
      await nr.connect();
      closers.push(
        () => io.disconnect(),
        () => nr.disconnect().catch(() => undefined),
      );
      const got: unknown[] = [];
      await io.del('span:a', 'span:h');
      got.push(await io.multi().set('span:a', '5').set('span:h', '7').incrby('span:a', 2).mget('span:a', 'span:h').exec());
      got.push(await Promise.all(Array.from({ length: 10 }, () => io.multi().incr('span:a').decr('span:h').exec())));
      await io.watch('span:a', 'span:h');
      await nr.set('span:h', '0');
      got.push(await io.multi().set('span:a', 'lost').exec());
      got.push(await nr.multi().get('span:a').get('span:h').incr('span:h').exec());
      await nr.watch(['span:a', 'span:h']);
      await io.set('span:a', '1');
      got.push(
        await nr
          .multi()
          .set('span:h', 'lost')
          .exec()
          .catch((e: Error) => e.constructor.name),
      );
      got.push(await io.mget('span:a', 'span:h'));
      results.push(got);
    }
    expect(results[1]).toEqual(results[0]);
    expect((results[0] as unknown[])[2]).toBeNull();
  });
});

describe('a watched key evicted to disk (cairn)', () => {
  it('is unchanged: EXEC runs, and the key keeps its value and TTL', async () => {
    const small = await startServer({ args: ['--max-memory', '2mb'] });
    const c = new Redis({ host: '127.0.0.1', port: small.respPort, maxRetriesPerRequest: 1 });
    try {
      expect(await c.set('{ev}watched', 'v1', 'EX', 1000)).toBe('OK');
      expect(await c.watch('{ev}watched')).toBe('OK');
      // 6.4 MB of values on the watched key's shard, far past its share of the 2 MB hot tier
      const filler = 'x'.repeat(8 * 1024);
      for (let start = 0; start < 800; start += 100) {
        const p = c.pipeline();
        for (let i = start; i < start + 100; i++) p.set(`{ev}fill:${i}`, filler);
        await p.exec();
      }
      const info = (await c.call('CAIRN.INFO')) as string;
      expect(Number(/^evictions:(\d+)/m.exec(info)?.[1])).toBeGreaterThan(0);
      expect(await c.multi().get('{ev}watched').set('{ev}after', '1').exec()).toEqual([
        [null, 'v1'],
        [null, 'OK'],
      ]);
      expect(await c.ttl('{ev}watched')).toBeGreaterThan(990);
    } finally {
      c.disconnect();
      await small.stop();
    }
  }, 60_000);
});
