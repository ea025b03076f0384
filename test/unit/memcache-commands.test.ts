/**
 * memcached commands end to end without sockets: framer → planner → executor on the owning shard →
 * join, against the Map-backed test double (1 and 3 shards) and the real tiered store when it loads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { memcachedExpiry as exptimeToMs } from '../../src/commands/expiry.js';
import { planMemcache, valueBlocks } from '../../src/memcache/planner.js';
import { MemcacheFramer } from '../../src/memcache/framer.js';
import { createConnState } from '../../src/front/plan.js';
import type { ShardStore } from '../../src/store/types.js';
import { MapStoreDouble, memcacheSession, type Session } from './resp-store-double.js';

const T0 = 1_700_000_000_000;

interface Fixture {
  stores: ShardStore[];
  setNow(ms: number): void;
  close(): Promise<void>;
}
type Factory = (shards: number) => Promise<Fixture>;

const doubleFactory: Factory = async (shards) => {
  const stores = Array.from({ length: shards }, (_, i) => new MapStoreDouble(i));
  return { stores, setNow: (ms) => stores.forEach((s) => (s.now = ms)), close: async () => undefined };
};

let realFactory: Factory | null = null;
const dirs: string[] = [];
try {
  const mod = (await import('../../src/store/shard-store.js')) as {
    TieredShardStore: { open(o: Record<string, unknown>): Promise<ShardStore> };
  };
  realFactory = async (shards) => {
    let now = T0;
    const dir = mkdtempSync(join(tmpdir(), 'cairn-mc-'));
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
  describe.skipIf(factory === null)(`memcached commands (${label})`, () => {
    let fx: Fixture;
    let s: Session;
    let now = T0;
    const setNow = (ms: number) => {
      now = ms;
      fx.setNow(ms);
    };
    const m = (text: string) => s.cmd(text);

    beforeEach(async () => {
      if (fx) await fx.close();
      fx = await factory!(shards);
      now = T0;
      fx.setNow(T0);
      s = memcacheSession(createConnState(1, shards), fx.stores, { now: () => now, framer: { maxValueSize: 1024 } });
    });
    afterAll(async () => fx && (await fx.close()));

    it('set / get / gets with flags, and the storage modes', async () => {
      expect(await m('get a\r\n')).toBe('END\r\n');
      expect(await m('set a 42 0 5\r\nhello\r\n')).toBe('STORED\r\n');
      expect(await m('get a\r\n')).toBe('VALUE a 42 5\r\nhello\r\nEND\r\n');
      expect(await m('add a 0 0 1\r\nx\r\n')).toBe('NOT_STORED\r\n');
      expect(await m('add b 0 0 1\r\nx\r\n')).toBe('STORED\r\n');
      expect(await m('replace c 0 0 1\r\ny\r\n')).toBe('NOT_STORED\r\n');
      expect(await m('replace b 7 0 1\r\ny\r\n')).toBe('STORED\r\n');
      expect(await m('append b 0 0 2\r\nzz\r\n')).toBe('STORED\r\n');
      expect(await m('prepend b 0 0 2\r\naa\r\n')).toBe('STORED\r\n');
      expect(await m('append none 0 0 2\r\nzz\r\n')).toBe('NOT_STORED\r\n');
      expect(await m('get b a missing b\r\n')).toBe('VALUE b 7 5\r\naayzz\r\nVALUE a 42 5\r\nhello\r\nVALUE b 7 5\r\naayzz\r\nEND\r\n');
      expect(await m('set e 4294967295 0 0\r\n\r\n')).toBe('STORED\r\n');
      expect(await m('get e\r\n')).toBe('VALUE e 4294967295 0\r\n\r\nEND\r\n');
    });

    it('cas with the unique from gets', async () => {
      await m('set k 0 0 1\r\na\r\n');
      const reply = await m('gets k\r\n');
      const unique = /^VALUE k 0 1 (\d+)\r\na\r\nEND\r\n$/.exec(reply)![1];
      expect(await m(`cas k 0 0 1 ${BigInt(unique) + 1n}\r\nb\r\n`)).toBe('EXISTS\r\n');
      expect(await m(`cas k 0 0 1 ${unique}\r\nb\r\n`)).toBe('STORED\r\n');
      expect(await m(`cas k 0 0 1 ${unique}\r\nc\r\n`)).toBe('EXISTS\r\n');
      expect(await m('cas k 0 0 1 0\r\nc\r\n')).toBe('EXISTS\r\n');
      expect(await m('cas nope 0 0 1 5\r\nc\r\n')).toBe('NOT_FOUND\r\n');
      expect(await m('get k\r\n')).toBe('VALUE k 0 1\r\nb\r\nEND\r\n');
    });

    it('delete, incr / decr, touch, gat / gats', async () => {
      await m('set n 0 0 2\r\n10\r\n');
      expect(await m('incr n 5\r\n')).toBe('15\r\n');
      expect(await m('decr n 100\r\n')).toBe('0\r\n');
      expect(await m('incr n 18446744073709551615\r\n')).toBe('18446744073709551615\r\n');
      expect(await m('incr n 1\r\n')).toBe('0\r\n');
      expect(await m('incr nope 1\r\n')).toBe('NOT_FOUND\r\n');
      expect(await m('incr n x\r\n')).toBe('CLIENT_ERROR invalid numeric delta argument\r\n');
      await m('set s 0 0 3\r\nabc\r\n');
      expect(await m('incr s 1\r\n')).toBe('CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
      expect(await m('delete s\r\n')).toBe('DELETED\r\n');
      expect(await m('delete s\r\n')).toBe('NOT_FOUND\r\n');
      expect(await m('delete n 0\r\n')).toBe('DELETED\r\n');
      expect(await m('delete n 5\r\n')).toBe('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');
      await m('set t 3 0 1\r\nv\r\n');
      expect(await m('touch t 10\r\n')).toBe('TOUCHED\r\n');
      expect(await m('touch nope 10\r\n')).toBe('NOT_FOUND\r\n');
      expect(await m('touch t x\r\n')).toBe('CLIENT_ERROR invalid exptime argument\r\n');
      setNow(T0 + 9_000);
      expect(await m('gat 100 t nope\r\n')).toBe('VALUE t 3 1\r\nv\r\nEND\r\n');
      setNow(T0 + 50_000);
      expect(await m('get t\r\n')).toBe('VALUE t 3 1\r\nv\r\nEND\r\n');
      expect(await m('gats 0 t\r\n')).toMatch(/^VALUE t 3 1 \d+\r\nv\r\nEND\r\n$/);
      expect(await m('gat x t\r\n')).toBe('CLIENT_ERROR invalid exptime argument\r\n');
      expect(await m('gat 10\r\n')).toBe('END\r\n');
    });

    it('exptime: relative up to 30 days, absolute beyond, negative already expired', async () => {
      expect(await m('set r 0 10 1\r\nv\r\n')).toBe('STORED\r\n');
      expect(await m('set abs 0 ' + (T0 / 1000 + 20) + ' 1\r\nv\r\n')).toBe('STORED\r\n');
      expect(await m('set past 0 ' + (T0 / 1000 - 20) + ' 1\r\nv\r\n')).toBe('STORED\r\n');
      expect(await m('set neg 0 -1 1\r\nv\r\n')).toBe('STORED\r\n');
      expect(await m('get r abs past neg\r\n')).toBe('VALUE r 0 1\r\nv\r\nVALUE abs 0 1\r\nv\r\nEND\r\n');
      setNow(T0 + 10_000);
      expect(await m('get r abs\r\n')).toBe('VALUE abs 0 1\r\nv\r\nEND\r\n');
      setNow(T0 + 20_000);
      expect(await m('get abs\r\n')).toBe('END\r\n');
      expect(exptimeToMs(0, T0)).toBe(0);
      expect(exptimeToMs(2592000, T0)).toBe(T0 + 2592000 * 1000);
      expect(exptimeToMs(2592001, T0)).toBe(2592001 * 1000);
      expect(exptimeToMs(-5, T0)).toBe(1);
    });

    it('noreply silences replies, errors included', async () => {
      const out = await s.send(
        'set q 0 0 1 noreply\r\nv\r\nadd q 0 0 1 noreply\r\nx\r\nincr q 1 noreply\r\ndelete q noreply\r\n' +
          'touch q 1 noreply\r\nset q 0 0 1 noreply\r\nvvv\r\nflush_all noreply\r\nverbosity 1 noreply\r\nget q\r\n',
      );
      expect(out.out.toString()).toBe('ERROR\r\nEND\r\n'); // the "\r\n" left after the bad chunk ("vvv") is a line memcached answers ERROR
    });

    it('errors keep the connection usable', async () => {
      const big = 'x'.repeat(2000);
      expect(await m('set big 0 0 2000\r\n' + big + '\r\n')).toBe('SERVER_ERROR object too large for cache\r\n');
      await m('set old 0 0 1\r\nv\r\n');
      expect(await m('set old 0 0 2000\r\n' + big + '\r\n')).toBe('SERVER_ERROR object too large for cache\r\n');
      expect(await m('get old\r\n')).toBe('END\r\n'); // memcached drops the stale value
      expect(await m('set k 0 0 1\r\nabc\r\n')).toBe('CLIENT_ERROR bad data chunk\r\nERROR\r\n');
      expect(await m(`get ${'k'.repeat(251)}\r\n`)).toBe('CLIENT_ERROR bad command line format\r\n');
      expect(await m('get a\x01b\r\n')).toBe('CLIENT_ERROR bad command line format\r\n');
      expect(await m('GET a\r\n')).toBe('ERROR\r\n');
      expect(await m('bogus\r\n')).toBe('ERROR\r\n');
      expect(await m('\r\n')).toBe('ERROR\r\n');
      expect(await m('get\r\n')).toBe('ERROR\r\n');
      expect(await m('incr k\r\n')).toBe('ERROR\r\n');
      expect(await m('set k 0 0 1\r\nv\r\n')).toBe('STORED\r\n');
    });

    it('flush_all (now and delayed), version, verbosity, stats, quit', async () => {
      await m('set a 0 0 1\r\nv\r\n');
      expect(await m('flush_all\r\n')).toBe('OK\r\n');
      expect(await m('get a\r\n')).toBe('END\r\n');
      expect(await m('flush_all x\r\n')).toBe('CLIENT_ERROR invalid exptime argument\r\n');
      expect(await m('flush_all 0\r\n')).toBe('OK\r\n');
      expect(await m('version\r\n')).toBe('VERSION 1.6.18\r\n');
      expect(await m('verbosity 1\r\n')).toBe('OK\r\n');
      expect(await m('verbosity\r\n')).toBe('ERROR\r\n');
      await m('set a 0 0 1\r\nv\r\n');
      const stats = await m('stats\r\n');
      expect(stats).toMatch(/^STAT pid \d+\r\n/);
      expect(stats).toContain('STAT curr_items 1\r\n');
      expect(stats).toContain('STAT version 1.6.18\r\n');
      expect(stats).toMatch(/STAT hot_items \d+\r\n/);
      expect(stats).toMatch(/STAT cold_items \d+\r\n/);
      expect(stats).toContain(`STAT shards ${shards}\r\n`);
      expect(stats.endsWith('END\r\n')).toBe(true);
      expect(await m('stats reset\r\n')).toBe('RESET\r\n');
      expect(await m('stats nonsense\r\n')).toBe('ERROR\r\n');
      expect(await s.send('quit\r\nget a\r\n')).toEqual({ out: Buffer.alloc(0), closed: true });
    });
  });
}

describe('memcached planner', () => {
  const plan = (text: string, shards = 4) => {
    const f = new MemcacheFramer();
    f.push(Buffer.from(text));
    return planMemcache(f.next()!, createConnState(1, shards));
  };

  it('routes single-key commands with the raw bytes and splits multi-key gets', () => {
    expect(plan('set k 0 0 1\r\nv\r\n')).toMatchObject({ kind: 'shard', raw: Buffer.from('set k 0 0 1\r\nv\r\n') });
    expect(plan('get a b c\r\n', 1)).toMatchObject({ kind: 'shard', shard: 0 });
    expect(plan('version\r\n')).toEqual({ kind: 'local', reply: Buffer.from('VERSION 1.6.18\r\n') });
    expect(plan('quit\r\n')).toEqual({ kind: 'local', reply: Buffer.alloc(0), close: true });
  });

  it('joins split gets in key order', () => {
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const p = plan(`gets ${keys.join(' ')}\r\n`);
    expect(p.kind).toBe('split');
    if (p.kind !== 'split') return;
    const replies = p.parts.map((part) => {
      const ks = part.raw.toString().trim().split(' ').slice(1);
      return Buffer.from(
        ks
          .filter((k) => k !== 'k3')
          .map((k) => `VALUE ${k} 0 1 9\r\n${k.slice(1, 2)}\r\n`)
          .join('') + 'END\r\n',
      );
    });
    const joined = p.join(replies).toString();
    expect(joined).toBe(
      keys
        .filter((k) => k !== 'k3')
        .map((k) => `VALUE ${k} 0 1 9\r\n${k.slice(1, 2)}\r\n`)
        .join('') + 'END\r\n',
    );
    expect(p.join([Buffer.from('SERVER_ERROR boom\r\n'), ...replies.slice(1)]).toString()).toBe('SERVER_ERROR boom\r\n');
  });

  it('reads VALUE blocks', () => {
    expect(valueBlocks(Buffer.from('VALUE a 1 2\r\nxy\r\nEND\r\n'))?.map((b) => b.key.toString())).toEqual(['a']);
    expect(valueBlocks(Buffer.from('END\r\n'))).toEqual([]);
    expect(valueBlocks(Buffer.from('ERROR\r\n'))).toBeNull();
  });
});
