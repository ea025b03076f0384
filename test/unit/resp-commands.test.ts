/**
 * RESP commands end to end without sockets: framer → planner → executor on the owning shard → join,
 * against the Map-backed test double with one and three shards, and against the real tiered store
 * when it can be loaded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createConnState } from '../../src/front/plan.js';
import type { ShardStore } from '../../src/store/types.js';
import { MapStoreDouble, resp, respSession, type Session } from './resp-store-double.js';

const T0 = 1_700_000_000_000;

interface Fixture {
  stores: ShardStore[];
  setNow(ms: number): void;
  close(): Promise<void>;
}

type Factory = (shards: number) => Promise<Fixture>;

const doubleFactory: Factory = async (shards) => {
  const stores = Array.from({ length: shards }, (_, i) => new MapStoreDouble(i));
  return {
    stores,
    setNow: (ms) => stores.forEach((s) => (s.now = ms)),
    close: async () => undefined,
  };
};

// The real store, when its module loads (it is written in parallel with this layer).
let realFactory: Factory | null = null;
const dirs: string[] = [];
try {
  const mod = (await import('../../src/store/shard-store.js')) as {
    TieredShardStore: { open(o: Record<string, unknown>): Promise<ShardStore> };
  };
  realFactory = async (shards) => {
    let now = T0;
    const dir = mkdtempSync(join(tmpdir(), 'cairn-resp-'));
    dirs.push(dir);
    const stores = await Promise.all(
      Array.from({ length: shards }, (_, i) => mod.TieredShardStore.open({ shard: i, dir: join(dir, `shard-${i}`), maxMemory: 8 << 20, clock: () => now })),
    );
    return { stores, setNow: (ms) => (now = ms), close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
  };
} catch {
  realFactory = null;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const suites: [string, Factory | null, number][] = [
  ['test double, 1 shard', doubleFactory, 1],
  ['test double, 3 shards', doubleFactory, 3],
  ['tiered store, 3 shards', realFactory, 3],
];

for (const [label, factory, shards] of suites) {
  describe.skipIf(factory === null)(`RESP commands (${label})`, () => {
    let fx: Fixture;
    let s: Session;
    let now = T0;
    const setNow = (ms: number) => {
      now = ms;
      fx.setNow(ms);
    };
    const r = (...parts: string[]) => s.cmd(resp(...parts));

    beforeEach(async () => {
      if (fx) await fx.close();
      fx = await factory!(shards);
      now = T0;
      fx.setNow(T0);
      s = respSession(createConnState(1, shards), fx.stores, { now: () => now });
    });
    afterAll(async () => fx && (await fx.close()));

    it('SET / GET with NX, XX, GET and the expiry options', async () => {
      expect(await r('GET', 'k')).toBe('$-1\r\n');
      expect(await r('SET', 'k', 'v1')).toBe('+OK\r\n');
      expect(await r('GET', 'k')).toBe('$2\r\nv1\r\n');
      expect(await r('SET', 'k', 'v2', 'NX')).toBe('$-1\r\n');
      expect(await r('SET', 'k', 'v2', 'XX', 'GET')).toBe('$2\r\nv1\r\n');
      expect(await r('SET', 'new', 'x', 'XX')).toBe('$-1\r\n');
      expect(await r('SET', 'new', 'x', 'NX', 'GET')).toBe('$-1\r\n');
      expect(await r('GET', 'new')).toBe('$1\r\nx\r\n');
      expect(await r('SET', 'k', 'v', 'EX', '10')).toBe('+OK\r\n');
      expect(await r('PTTL', 'k')).toBe(':10000\r\n');
      expect(await r('SET', 'k', 'v3', 'KEEPTTL')).toBe('+OK\r\n');
      expect(await r('TTL', 'k')).toBe(':10\r\n');
      expect(await r('SET', 'k', 'v4')).toBe('+OK\r\n');
      expect(await r('TTL', 'k')).toBe(':-1\r\n');
      expect(await r('SET', 'k', 'v', 'PX', '1500')).toBe('+OK\r\n');
      expect(await r('TTL', 'k')).toBe(':2\r\n'); // rounded as Redis does
      expect(await r('SET', 'k', 'v', 'EXAT', String(T0 / 1000 + 100))).toBe('+OK\r\n');
      expect(await r('EXPIRETIME', 'k')).toBe(`:${T0 / 1000 + 100}\r\n`);
      expect(await r('SET', 'k', 'v', 'PXAT', String(T0 + 5))).toBe('+OK\r\n');
      expect(await r('PEXPIRETIME', 'k')).toBe(`:${T0 + 5}\r\n`);
      expect(await r('SET', 'k', 'v', 'PXAT', String(T0 - 5))).toBe('+OK\r\n');
      expect(await r('EXISTS', 'k')).toBe(':0\r\n');
      setNow(T0 + 1);
      expect(await r('SET', 't', 'v', 'PX', '100')).toBe('+OK\r\n');
      setNow(T0 + 101);
      expect(await r('GET', 't')).toBe('$-1\r\n');
    });

    it('SET errors as Redis words them', async () => {
      expect(await r('SET', 'k', 'v', 'EX', '0')).toBe("-ERR invalid expire time in 'set' command\r\n");
      expect(await r('SET', 'k', 'v', 'EX', '-5')).toBe("-ERR invalid expire time in 'set' command\r\n");
      expect(await r('SET', 'k', 'v', 'EX', 'ten')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('SET', 'k', 'v', 'EX', '9223372036854775807')).toBe("-ERR invalid expire time in 'set' command\r\n");
      expect(await r('SET', 'k', 'v', 'NX', 'XX')).toBe('-ERR syntax error\r\n');
      expect(await r('SET', 'k', 'v', 'EX', '1', 'PX', '1')).toBe('-ERR syntax error\r\n');
      expect(await r('SET', 'k', 'v', 'EX', '1', 'KEEPTTL')).toBe('-ERR syntax error\r\n');
      expect(await r('SET', 'k', 'v', 'EX')).toBe('-ERR syntax error\r\n');
      expect(await r('SET', 'k', 'v', 'FOO')).toBe('-ERR syntax error\r\n');
      expect(await r('SET', 'k')).toBe("-ERR wrong number of arguments for 'set' command\r\n");
    });

    it('SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX', async () => {
      expect(await r('SETNX', 'a', '1')).toBe(':1\r\n');
      expect(await r('SETNX', 'a', '2')).toBe(':0\r\n');
      expect(await r('SETEX', 'a', '5', 'x')).toBe('+OK\r\n');
      expect(await r('TTL', 'a')).toBe(':5\r\n');
      expect(await r('SETEX', 'a', '0', 'x')).toBe("-ERR invalid expire time in 'setex' command\r\n");
      expect(await r('PSETEX', 'a', '-1', 'x')).toBe("-ERR invalid expire time in 'psetex' command\r\n");
      expect(await r('PSETEX', 'a', '2500', 'y')).toBe('+OK\r\n');
      expect(await r('PTTL', 'a')).toBe(':2500\r\n');
      expect(await r('GETSET', 'a', 'z')).toBe('$1\r\ny\r\n');
      expect(await r('TTL', 'a')).toBe(':-1\r\n');
      expect(await r('GETSET', 'none', 'z')).toBe('$-1\r\n');
      expect(await r('GETDEL', 'a')).toBe('$1\r\nz\r\n');
      expect(await r('GETDEL', 'a')).toBe('$-1\r\n');
      await r('SET', 'g', 'v');
      expect(await r('GETEX', 'g', 'EX', '100')).toBe('$1\r\nv\r\n');
      expect(await r('TTL', 'g')).toBe(':100\r\n');
      expect(await r('GETEX', 'g', 'PERSIST')).toBe('$1\r\nv\r\n');
      expect(await r('TTL', 'g')).toBe(':-1\r\n');
      expect(await r('GETEX', 'g', 'PXAT', String(T0 - 1))).toBe('$1\r\nv\r\n');
      expect(await r('GET', 'g')).toBe('$-1\r\n');
      // Redis looks the key up before it reads the time: a bad time is an error on an existing key only
      expect(await r('GETEX', 'g', 'EX', '0')).toBe('$-1\r\n');
      await r('SET', 'g', 'v');
      expect(await r('GETEX', 'g', 'EX', '0')).toBe("-ERR invalid expire time in 'getex' command\r\n");
      expect(await r('GETEX', 'g', 'EX', '1', 'PERSIST')).toBe('-ERR syntax error\r\n');
      expect(await r('GETEX', 'g', 'NX')).toBe('-ERR syntax error\r\n');
      expect(await r('GETEX', 'missing', 'EX', '10')).toBe('$-1\r\n');
    });

    it('MSET, MGET, MSETNX, DEL, UNLINK, EXISTS, TYPE across shards', async () => {
      expect(await r('MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4')).toBe('+OK\r\n');
      expect(await r('MGET', 'd', 'x', 'a', 'c', 'b', 'a')).toBe('*6\r\n$1\r\n4\r\n$-1\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n');
      expect(await r('EXISTS', 'a', 'a', 'b', 'zz')).toBe(':3\r\n');
      expect(await r('TYPE', 'a')).toBe('+string\r\n');
      expect(await r('TYPE', 'zz')).toBe('+none\r\n');
      expect(await r('MSETNX', 'e', '5', 'a', '9')).toBe(':0\r\n');
      expect(await r('GET', 'a')).toBe('$1\r\n1\r\n');
      // Across shards MSETNX is atomic per shard only: e may have been set on its own shard (documented).
      expect(await r('MSETNX', 'f', '6', 'g', '7')).toBe(':1\r\n');
      expect(await r('MGET', 'f', 'g')).toBe('*2\r\n$1\r\n6\r\n$1\r\n7\r\n');
      await r('DEL', 'e', 'f', 'g');
      expect(await r('DEL', 'a', 'b', 'a', 'nope')).toBe(':2\r\n');
      expect(await r('UNLINK', 'c', 'd')).toBe(':2\r\n');
      expect(await r('DBSIZE')).toBe(':0\r\n');
      expect(await r('MSET', 'a')).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
    });

    it('EXPIRE family with NX / XX / GT / LT, negative times, TTL, PERSIST', async () => {
      expect(await r('EXPIRE', 'k', '10')).toBe(':0\r\n');
      await r('SET', 'k', 'v');
      expect(await r('TTL', 'k')).toBe(':-1\r\n');
      expect(await r('TTL', 'nope')).toBe(':-2\r\n');
      expect(await r('PTTL', 'nope')).toBe(':-2\r\n');
      expect(await r('EXPIRETIME', 'k')).toBe(':-1\r\n');
      expect(await r('EXPIRE', 'k', '10', 'XX')).toBe(':0\r\n');
      expect(await r('EXPIRE', 'k', '10', 'GT')).toBe(':0\r\n');
      expect(await r('EXPIRE', 'k', '10', 'NX')).toBe(':1\r\n');
      expect(await r('EXPIRE', 'k', '20', 'NX')).toBe(':0\r\n');
      expect(await r('EXPIRE', 'k', '5', 'GT')).toBe(':0\r\n');
      expect(await r('EXPIRE', 'k', '50', 'GT')).toBe(':1\r\n');
      expect(await r('EXPIRE', 'k', '60', 'LT')).toBe(':0\r\n');
      expect(await r('PEXPIRE', 'k', '30000', 'LT')).toBe(':1\r\n');
      expect(await r('TTL', 'k')).toBe(':30\r\n');
      expect(await r('EXPIREAT', 'k', String(T0 / 1000 + 40))).toBe(':1\r\n');
      expect(await r('TTL', 'k')).toBe(':40\r\n');
      expect(await r('PEXPIREAT', 'k', String(T0 + 41000), 'XX')).toBe(':1\r\n');
      expect(await r('PERSIST', 'k')).toBe(':1\r\n');
      expect(await r('PERSIST', 'k')).toBe(':0\r\n');
      expect(await r('EXPIRE', 'k', '10', 'NX', 'XX')).toBe('-ERR NX and XX, GT or LT options at the same time are not compatible\r\n');
      expect(await r('EXPIRE', 'k', '10', 'GT', 'LT')).toBe('-ERR GT and LT options at the same time are not compatible\r\n');
      expect(await r('EXPIRE', 'k', '10', 'FOO')).toBe('-ERR Unsupported option FOO\r\n');
      expect(await r('EXPIRE', 'k', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('EXPIRE', 'k', '9223372036854775807')).toBe("-ERR invalid expire time in 'expire' command\r\n");
      expect(await r('EXPIRE', 'k', '-1')).toBe(':1\r\n');
      expect(await r('EXISTS', 'k')).toBe(':0\r\n');
      await r('SET', 'k', 'v');
      expect(await r('PEXPIREAT', 'k', '0')).toBe(':1\r\n');
      expect(await r('GET', 'k')).toBe('$-1\r\n');
    });

    it('INCR family', async () => {
      expect(await r('INCR', 'n')).toBe(':1\r\n');
      expect(await r('INCRBY', 'n', '41')).toBe(':42\r\n');
      expect(await r('DECR', 'n')).toBe(':41\r\n');
      expect(await r('DECRBY', 'n', '50')).toBe(':-9\r\n');
      expect(await r('INCRBY', 'n', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('DECRBY', 'n', '-9223372036854775808')).toBe('-ERR decrement would overflow\r\n');
      await r('SET', 'big', '9223372036854775807');
      expect(await r('INCR', 'big')).toBe('-ERR increment or decrement would overflow\r\n');
      await r('SET', 's', 'abc');
      expect(await r('INCR', 's')).toBe('-ERR value is not an integer or out of range\r\n');
      await r('SET', 'ttl', '1', 'EX', '100');
      await r('INCR', 'ttl');
      expect(await r('TTL', 'ttl')).toBe(':100\r\n');
    });

    it('INCRBYFLOAT formats like Redis', async () => {
      await r('SET', 'f', '10.50');
      expect(await r('INCRBYFLOAT', 'f', '0.1')).toBe('$4\r\n10.6\r\n');
      expect(await r('INCRBYFLOAT', 'f', '-5')).toBe('$3\r\n5.6\r\n');
      await r('SET', 'f', '5.0e3');
      expect(await r('INCRBYFLOAT', 'f', '2.0e2')).toBe('$4\r\n5200\r\n');
      expect(await r('INCRBYFLOAT', 'g', '0.1')).toBe('$3\r\n0.1\r\n');
      expect(await r('INCRBYFLOAT', 'g', '0.2')).toBe('$3\r\n0.3\r\n');
      expect(await r('INCRBYFLOAT', 'g', '-0.3')).toBe('$1\r\n0\r\n');
      expect(await r('INCRBYFLOAT', 'g', 'x')).toBe('-ERR value is not a valid float\r\n');
      expect(await r('INCRBYFLOAT', 'g', 'inf')).toBe('-ERR increment would produce NaN or Infinity\r\n');
      await r('SET', 's', 'abc');
      expect(await r('INCRBYFLOAT', 's', '1')).toBe('-ERR value is not a valid float\r\n');
    });

    it('APPEND, STRLEN, GETRANGE, SETRANGE', async () => {
      expect(await r('APPEND', 's', 'Hello')).toBe(':5\r\n');
      expect(await r('APPEND', 's', ' World')).toBe(':11\r\n');
      expect(await r('STRLEN', 's')).toBe(':11\r\n');
      expect(await r('STRLEN', 'none')).toBe(':0\r\n');
      expect(await r('GETRANGE', 's', '0', '4')).toBe('$5\r\nHello\r\n');
      expect(await r('GETRANGE', 's', '-5', '-1')).toBe('$5\r\nWorld\r\n');
      expect(await r('GETRANGE', 's', '-1', '-5')).toBe('$0\r\n\r\n');
      expect(await r('GETRANGE', 's', '5', '100')).toBe('$6\r\n World\r\n');
      expect(await r('GETRANGE', 'none', '0', '1')).toBe('$0\r\n\r\n');
      expect(await r('GETRANGE', 's', 'a', '1')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('SETRANGE', 's', '6', 'Redis')).toBe(':11\r\n');
      expect(await r('GET', 's')).toBe('$11\r\nHello Redis\r\n');
      expect(await r('SETRANGE', 'pad', '3', 'x')).toBe(':4\r\n');
      expect(await r('GET', 'pad')).toBe('$4\r\n\0\0\0x\r\n');
      expect(await r('SETRANGE', 'empty', '5', '')).toBe(':0\r\n');
      expect(await r('EXISTS', 'empty')).toBe(':0\r\n');
      expect(await r('SETRANGE', 's', '-1', 'x')).toBe('-ERR offset is out of range\r\n');
      expect(await r('SETRANGE', 's', '536870911', 'xx')).toBe('-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n');
    });

    it('DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL over every shard', async () => {
      const names = Array.from({ length: 25 }, (_, i) => `key:${i}`);
      await r('MSET', ...names.flatMap((n) => [n, 'v']), 'other', 'v');
      expect(await r('DBSIZE')).toBe(':26\r\n');
      const keys = await r('KEYS', 'key:*');
      expect(keys.startsWith('*25\r\n')).toBe(true);
      expect(await r('KEYS', 'key:1?')).toMatch(/^\*10\r\n/);
      // SCAN until the cursor comes back to 0: every key at least once.
      const seen = new Set<string>();
      let cursor = '0';
      let rounds = 0;
      do {
        const reply = await r('SCAN', cursor, 'MATCH', 'key:*', 'COUNT', '4');
        const m = /^\*2\r\n\$\d+\r\n(\d+)\r\n\*(\d+)\r\n/.exec(reply)!;
        cursor = m[1];
        for (const k of reply.matchAll(/\$\d+\r\n(key:\d+)\r\n/g)) seen.add(k[1]);
        expect(++rounds).toBeLessThan(200);
      } while (cursor !== '0');
      expect([...seen].sort()).toEqual([...names].sort());
      expect(await r('SCAN', '0', 'TYPE', 'hash')).toMatch(/^\*2\r\n\$\d+\r\n\d+\r\n\*0\r\n$/);
      expect(await r('SCAN', '0', 'COUNT', '0')).toBe('-ERR syntax error\r\n');
      expect(await r('SCAN', '0', 'COUNT', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('SCAN', '0', 'FOO')).toBe('-ERR syntax error\r\n');
      expect(await r('RANDOMKEY')).toMatch(/^\$\d+\r\n(key:\d+|other)\r\n$/);
      expect(await r('FLUSHALL')).toBe('+OK\r\n');
      expect(await r('DBSIZE')).toBe(':0\r\n');
      expect(await r('RANDOMKEY')).toBe('$-1\r\n');
      expect(await r('KEYS', '*')).toBe('*0\r\n');
      expect(await r('FLUSHDB', 'SYNC')).toBe('+OK\r\n');
    });

    it('INFO, CAIRN.INFO and CAIRN.RESTORE', async () => {
      await r('SET', 'a', '1');
      const info = await r('INFO');
      for (const section of ['# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Keyspace', '# Cairn']) {
        expect(info).toContain(`${section}\r\n`);
      }
      expect(info).toContain('redis_version:7.0.15\r\n');
      expect(info).toContain('loading:0\r\n');
      expect(info).toContain('db0:keys=1,expires=0,avg_ttl=0\r\n');
      expect(info).toContain(`shards:${shards}\r\n`);
      const only = await r('INFO', 'keyspace');
      expect(only).toMatch(/^\$\d+\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n$/);
      const cairn = await r('CAIRN.INFO');
      expect(cairn).toMatch(/^\$\d+\r\n# Cairn\r\nshards:\d+\r\nkeys:1\r\nhot_items:/);
      expect(cairn).toContain('shard0:keys=');
      expect(await r('CAIRN.RESTORE', 'a')).toBe(':1\r\n');
      expect(await r('CAIRN.RESTORE', 'nope')).toBe(':0\r\n');
    });

    it('pipelines: replies in command order from one send', async () => {
      const out = await s.send(resp('SET', 'p', '1') + 'INCR p\r\n' + resp('MGET', 'p', 'q', 'p') + 'PING\r\n' + resp('ECHO', 'e'));
      expect(out.out.toString()).toBe('+OK\r\n:2\r\n*3\r\n$1\r\n2\r\n$-1\r\n$1\r\n2\r\n+PONG\r\n$1\r\ne\r\n');
      const quit = await s.send('QUIT\r\nPING\r\n');
      expect(quit).toEqual({ out: Buffer.from('+OK\r\n'), closed: true });
    });
  });
}
