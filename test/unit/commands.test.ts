/**
 * The command core, typed in and typed out, against the real tiered store (LevelDB in a temp dir).
 * The protocol tests check the wording; these check what each command does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as C from '../../src/commands/index.js';
import { parseLongDouble } from '../../src/commands/numbers.js';
import { TieredShardStore } from '../../src/store/shard-store.js';

const NOW = 1_700_000_000_000;
const dirs: string[] = [];
const stores: TieredShardStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function context(opts: { durability?: 'spill' | 'writeback' | 'sync'; maxValueSize?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-commands-'));
  dirs.push(dir);
  const clock = { now: NOW };
  const store = await TieredShardStore.open({ shard: 0, dir, maxMemory: 1 << 20, clock: () => clock.now, durability: opts.durability });
  stores.push(store);
  const ctx = C.createContext(store, opts.maxValueSize ?? 1 << 20);
  ctx.now = NOW;
  return { ctx, store, clock };
}

const k = (s: string): Buffer => Buffer.from(s);
const text = (e: { value: Uint8Array } | null): string | null => (e === null ? null : Buffer.from(e.value).toString());

describe('command core: strings', () => {
  it('set: modes, cas, returnOld, keepTtl, flags', async () => {
    const { ctx } = await context();
    expect(C.set(ctx, { key: k('a'), value: k('1'), mode: 'xx' }).status).toBe('not_stored');
    const first = C.set(ctx, { key: k('a'), value: k('1'), mode: 'nx', flags: 7, expiresAt: NOW + 10_000 });
    expect(first.status).toBe('stored');
    expect(C.set(ctx, { key: k('a'), value: k('2'), mode: 'nx' }).status).toBe('not_stored');
    const swapped = C.set(ctx, { key: k('a'), value: k('3'), returnOld: true, keepTtl: true });
    expect(text(swapped.old ?? null)).toBe('1');
    const e = C.get(ctx, k('a'))!;
    expect([text(e), e.expiresAt, e.flags]).toEqual(['3', NOW + 10_000, 0]);
    // cas: the current one stores, a stale one is 'exists', a missing key 'not_found', 0 never matches
    expect(C.set(ctx, { key: k('a'), value: k('4'), cas: e.cas }).status).toBe('stored');
    expect(C.set(ctx, { key: k('a'), value: k('5'), cas: e.cas }).status).toBe('exists');
    expect(C.set(ctx, { key: k('a'), value: k('5'), cas: 0 }).status).toBe('exists');
    expect(C.set(ctx, { key: k('nope'), value: k('5'), cas: 2 ** 60 }).status).toBe('not_found');
    expect(text(C.get(ctx, k('a')))).toBe('4');
    // an expiry in the past deletes
    C.set(ctx, { key: k('a'), value: k('x'), expiresAt: NOW - 1 });
    expect(C.get(ctx, k('a'))).toBeNull();
  });

  it('getdel, getex (time, past, persist), touch', async () => {
    const { ctx } = await context();
    C.set(ctx, { key: k('a'), value: k('1') });
    expect(text(C.getex(ctx, k('a'), NOW + 5000))).toBe('1');
    expect(C.expireTime(ctx, k('a'))).toBe(NOW + 5000);
    expect(text(C.getex(ctx, k('a'), 0))).toBe('1');
    expect(C.expireTime(ctx, k('a'))).toBe(-1);
    expect(text(C.getex(ctx, k('a'), NOW))).toBe('1'); // at now: deleted, value still returned
    expect(C.exists(ctx, [k('a')])).toBe(0);
    C.set(ctx, { key: k('b'), value: k('2') });
    expect(text(C.touch(ctx, k('b'), NOW + 1000))).toBe('2');
    expect(C.expireTime(ctx, k('b'))).toBe(NOW + 1000);
    expect(text(C.getdel(ctx, k('b')))).toBe('2');
    expect(C.getdel(ctx, k('b'))).toBeNull();
  });

  it('mget, mset, msetnx', async () => {
    const { ctx } = await context();
    expect(C.mset(ctx, [k('a'), k('1'), k('b'), k('2')])).toBe(2);
    expect(C.mget(ctx, [k('a'), k('x'), k('b')]).map(text)).toEqual(['1', null, '2']);
    expect(C.msetnx(ctx, [k('c'), k('3'), k('a'), k('9')])).toBe(false);
    expect(C.get(ctx, k('c'))).toBeNull();
    expect(C.msetnx(ctx, [k('c'), k('3'), k('d'), k('4')])).toBe(true);
    expect(C.mget(ctx, [k('c'), k('d')]).map(text)).toEqual(['3', '4']);
  });

  it('incrBy / decrBy (signed) and incrUnsigned (memcached) with their failures', async () => {
    const { ctx } = await context();
    expect(C.incrBy(ctx, k('n'), 5n)).toBe(5n);
    expect(C.decrBy(ctx, k('n'), 7n)).toBe(-2n);
    expect(C.decrBy(ctx, k('n'), -(2n ** 63n))).toEqual(C.fail(C.Fault.DECREMENT_OVERFLOW));
    C.set(ctx, { key: k('n'), value: k(String(2n ** 63n - 1n)) });
    expect((C.incrBy(ctx, k('n'), 1n) as C.Failure).fault).toBe('OVERFLOW');
    C.set(ctx, { key: k('s'), value: k('abc') });
    expect((C.incrBy(ctx, k('s'), 1n) as C.Failure).fault).toBe('NOT_INTEGER');
    expect(C.incrUnsigned(ctx, k('missing'), 1n, false)).toBeNull();
    C.set(ctx, { key: k('u'), value: k('3') });
    expect(C.incrUnsigned(ctx, k('u'), 5n, true)).toBe(0n); // decr stops at 0
    C.set(ctx, { key: k('u'), value: k(String(2n ** 64n - 1n)) });
    expect(C.incrUnsigned(ctx, k('u'), 2n, false)).toBe(1n); // incr wraps at 2^64
    expect((C.incrUnsigned(ctx, k('s'), 1n, false) as C.Failure).fault).toBe('NOT_INTEGER');
  });

  it('incrByFloat: Redis formatting, not-a-float, NaN or Infinity', async () => {
    const { ctx } = await context();
    expect(Buffer.from(C.incrByFloat(ctx, k('f'), parseLongDouble(k('10.5'))) as Buffer).toString()).toBe('10.5');
    expect(Buffer.from(C.incrByFloat(ctx, k('f'), parseLongDouble(k('0.1'))) as Buffer).toString()).toBe('10.6');
    expect(text(C.get(ctx, k('f')))).toBe('10.6');
    expect((C.incrByFloat(ctx, k('f'), parseLongDouble(k('x'))) as C.Failure).fault).toBe('NOT_FLOAT');
    expect((C.incrByFloat(ctx, k('f'), parseLongDouble(k('inf'))) as C.Failure).fault).toBe('NAN_OR_INFINITY');
    C.set(ctx, { key: k('s'), value: k('abc') });
    expect((C.incrByFloat(ctx, k('s'), parseLongDouble(k('1'))) as C.Failure).fault).toBe('NOT_FLOAT');
  });

  it('append / prepend (create or not), strlen, getrange, setrange', async () => {
    const { ctx } = await context({ maxValueSize: 100 });
    expect(C.append(ctx, k('a'), k('x'), false, false)).toBe(-1);
    expect(C.append(ctx, k('a'), k('bc'), false, true)).toBe(2);
    expect(C.append(ctx, k('a'), k('a'), true, false)).toBe(3);
    expect(text(C.get(ctx, k('a')))).toBe('abc');
    expect(C.strlen(ctx, k('a'))).toBe(3);
    expect(C.strlen(ctx, k('none'))).toBe(0);
    expect(Buffer.from(C.getrange(ctx, k('a'), 1n, -1n)).toString()).toBe('bc');
    expect(C.getrange(ctx, k('a'), -1n, -2n).length).toBe(0);
    expect(C.getrange(ctx, k('none'), 0n, -1n).length).toBe(0);
    expect(C.setrange(ctx, k('a'), 5n, k('z'))).toBe(6);
    expect(text(C.get(ctx, k('a')))).toBe('abc\0\0z');
    expect((C.setrange(ctx, k('a'), -1n, k('z')) as C.Failure).fault).toBe('OUT_OF_RANGE');
    expect((C.setrange(ctx, k('a'), 100n, k('z')) as C.Failure).fault).toBe('VALUE_TOO_LARGE');
    expect(C.setrange(ctx, k('new'), 0n, k(''))).toBe(0);
    expect(C.exists(ctx, [k('new')])).toBe(0);
  });
});

describe('command core: keyspace', () => {
  it('del (a key named twice counts once), delIfCas, exists, type', async () => {
    const { ctx } = await context();
    C.mset(ctx, [k('a'), k('1'), k('b'), k('2')]);
    expect(C.exists(ctx, [k('a'), k('a'), k('x')])).toBe(2);
    expect(C.type(ctx, k('a'))).toBe('string');
    expect(C.del(ctx, [k('a'), k('a'), k('x')])).toBe(1);
    expect(C.type(ctx, k('a'))).toBe('none');
    const cas = C.get(ctx, k('b'))!.cas;
    expect(C.delIfCas(ctx, k('b'), cas + 1)).toBe(false);
    expect(C.delIfCas(ctx, k('b'), cas)).toBe(true);
    expect(C.exists(ctx, [k('b')])).toBe(0);
  });

  it('expire with NX/XX/GT/LT, expireTime, persist, a past time deletes', async () => {
    const { ctx } = await context();
    C.set(ctx, { key: k('a'), value: k('1') });
    expect(C.expire(ctx, k('a'), NOW + 100, C.ExpireIf.XX)).toBe(false);
    expect(C.expire(ctx, k('a'), NOW + 100, C.ExpireIf.GT)).toBe(false); // no expiry is infinite
    expect(C.expire(ctx, k('a'), NOW + 100, C.ExpireIf.NX)).toBe(true);
    expect(C.expire(ctx, k('a'), NOW + 50, C.ExpireIf.GT)).toBe(false);
    expect(C.expire(ctx, k('a'), NOW + 200, C.ExpireIf.GT)).toBe(true);
    expect(C.expire(ctx, k('a'), NOW + 150, C.ExpireIf.LT | C.ExpireIf.XX)).toBe(true);
    expect(C.expireTime(ctx, k('a'))).toBe(NOW + 150);
    expect(C.persist(ctx, k('a'))).toBe(true);
    expect(C.persist(ctx, k('a'))).toBe(false);
    expect(C.expireTime(ctx, k('a'))).toBe(-1);
    expect(C.expireTime(ctx, k('missing'))).toBe(-2);
    expect(C.expire(ctx, k('a'), NOW, C.ExpireIf.ALWAYS)).toBe(true);
    expect(C.exists(ctx, [k('a')])).toBe(0);
    expect(C.expire(ctx, k('a'), NOW + 100, C.ExpireIf.ALWAYS)).toBe(false);
  });

  it('frequency, restore', async () => {
    const { ctx } = await context();
    C.set(ctx, { key: k('a'), value: k('1') });
    const f = C.frequency(ctx, k('a'));
    expect(f === null || typeof f === 'number' || f instanceof C.Failure).toBe(true);
    expect(C.frequency(ctx, k('missing'))).toBeNull();
    expect(C.restore(ctx, k('a'))).toBe(true);
    expect(C.restore(ctx, k('missing'))).toBe(false);
  });

  it('dbsize, keys (glob), scan (match, type, bad cursor), randomkey, flush, stats', async () => {
    const { ctx } = await context();
    for (let i = 0; i < 30; i++) C.set(ctx, { key: k(`user:${i}`), value: k(String(i)) });
    C.set(ctx, { key: k('other'), value: k('x') });
    expect(await C.dbsize(ctx)).toBe(31);
    expect((await C.keys(ctx, k('user:1*'))).map(String).sort()).toEqual(['user:1', ...Array.from({ length: 10 }, (_, i) => `user:1${i}`)].sort());
    expect((await C.keys(ctx, null)).length).toBe(31);
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const page = await C.scan(ctx, { cursor, count: 7, match: k('user:*') });
      if (page instanceof C.Failure) throw new Error(page.fault);
      for (const key of page.keys) seen.add(String(key));
      cursor = page.cursor;
    } while (cursor !== '0');
    expect(seen.size).toBe(30);
    const typed = await C.scan(ctx, { cursor: '0', count: 100, type: 'hash' });
    expect(typed instanceof C.Failure ? typed.fault : typed.keys).toEqual([]);
    const bad = await C.scan(ctx, { cursor: 'nonsense!', count: 10 });
    expect(bad instanceof C.Failure ? bad.fault : bad).toBe('INVALID_CURSOR');
    expect(await C.randomkey(ctx)).not.toBeNull();
    const report = await C.stats(ctx);
    expect(report.keys.total).toBe(31);
    await C.flush(ctx);
    expect(await C.dbsize(ctx)).toBe(0);
    expect(await C.randomkey(ctx)).toBeNull();
  });

  it('a delayed flush happens at its time; a newer flush cancels it', async () => {
    const { ctx } = await context();
    C.set(ctx, { key: k('a'), value: k('1') });
    await C.flush(ctx, 60_000);
    await C.flush(ctx, 0); // replaces the pending one
    C.set(ctx, { key: k('b'), value: k('2') });
    await C.flush(ctx, 30);
    expect(C.exists(ctx, [k('b')])).toBe(1);
    for (let i = 0; i < 200 && C.exists(ctx, [k('b')]) === 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(C.exists(ctx, [k('b')])).toBe(0);
  });
});

describe('command core: expiry arithmetic', () => {
  it('Redis option expiry: positive only, i64 overflow refused', () => {
    expect(C.optionExpiry(10n, 'ex', NOW)).toBe(BigInt(NOW) + 10_000n);
    expect(C.optionExpiry(10n, 'pxat', NOW)).toBe(10n);
    expect(C.optionExpiry(0n, 'px', NOW)).toEqual(C.fail(C.Fault.INVALID_EXPIRE));
    expect(C.optionExpiry(2n ** 62n, 'ex', NOW)).toEqual(C.fail(C.Fault.INVALID_EXPIRE));
    expect(C.optionExpiry(2n ** 63n - 1n, 'px', NOW)).toEqual(C.fail(C.Fault.INVALID_EXPIRE));
  });

  it('EXPIRE family: negatives allowed, overflow refused; store times clamp', () => {
    expect(C.expireCommandTime(-5n, 'ex', NOW)).toBe(BigInt(NOW) - 5000n);
    expect(C.expireCommandTime(-(2n ** 62n), 'ex', NOW)).toEqual(C.fail(C.Fault.INVALID_EXPIRE));
    expect(C.expireCommandTime(2n ** 63n - 1n, 'px', NOW)).toEqual(C.fail(C.Fault.INVALID_EXPIRE));
    expect(C.expireCommandTime(2n ** 63n - 1n, 'pxat', NOW)).toBe(2n ** 63n - 1n);
    expect(C.storeTime(-3n)).toBe(1);
    expect(C.storeTime(2n ** 63n)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('memcached exptime, native ttl, TTL reporting', () => {
    expect(C.memcachedExpiry(0, NOW)).toBe(0);
    expect(C.memcachedExpiry(-1, NOW)).toBe(1);
    expect(C.memcachedExpiry(60, NOW)).toBe(NOW + 60_000);
    expect(C.memcachedExpiry(C.REALTIME_MAXDELTA + 1, NOW)).toBe((C.REALTIME_MAXDELTA + 1) * 1000);
    expect(C.ttlExpiry(0, NOW)).toBe(NOW);
    expect(C.ttlExpiry(250, NOW)).toBe(NOW + 250);
    expect(C.msLeft(-2, NOW)).toBe(-2);
    expect(C.msLeft(NOW - 5, NOW)).toBe(0);
    expect(C.toSeconds(1499)).toBe(1);
    expect(C.toSeconds(1500)).toBe(2);
    expect(C.toSeconds(-1)).toBe(-1);
  });
});

describe('command core: table and acknowledgement', () => {
  it('every protocol asks the table whether a command writes', () => {
    expect(C.isWrite(C.COMMANDS.get('set')!)).toBe(true);
    expect(C.isWrite(C.COMMANDS.get('get')!)).toBe(false);
    expect([...C.MEMCACHE_WRITES].sort()).toEqual(
      ['add', 'append', 'cas', 'decr', 'delete', 'flush_all', 'gat', 'gats', 'incr', 'prepend', 'replace', 'set', 'touch'].sort(),
    );
    expect(C.NATIVE_WRITES[0x12]).toBe(1); // SET
    expect(C.NATIVE_WRITES[0x10]).toBe(0); // GET
    expect(C.NATIVE_COMMANDS.get(0x11)!.name).toBe('get');
  });

  it('a reply to a change waits for sync durability; a read does not', async () => {
    const { ctx, store } = await context({ durability: 'sync' });
    const fail = (e: unknown) => `failed: ${String(e)}`;
    let before = store.changes;
    C.set(ctx, { key: k('a'), value: k('1') });
    const write = C.acknowledged(store, before, 'ok', fail);
    expect(write).toBeInstanceOf(Promise);
    expect(await write).toBe('ok');
    before = store.changes;
    C.get(ctx, k('a'));
    expect(C.acknowledged(store, before, 'read', fail)).toBe('read');
  });

  it('store errors become coded failures', () => {
    expect(C.failureOf(Object.assign(new Error('IO error'), { code: 'LEVEL_IO_ERROR' })).fault).toBe('DISK');
    expect(C.failureOf(new Error('boom')).fault).toBe('INTERNAL');
  });
});
