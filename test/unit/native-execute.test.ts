import { Unpackr } from 'msgpackr';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShardStore } from '../../src/store/types.js';
import { ErrorCode } from '../../src/errors.js';
import { shardOf } from '../../src/hash.js';
import { executeNative, handleNativeFrame } from '../../src/native/execute.js';
import { encodeArgs, encodeRequest, Status } from '../../src/native/frame.js';
import { formatScanCursor, mergeBroadcast, mergeBroadcastReplies, parseScanCursor, scanCursorShard } from '../../src/native/merge.js';
import { Opcode } from '../../src/native/opcodes.js';
import { MapShardStoreDouble } from '../helpers/native-loopback.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'bigint' });
const b = (s: string) => Buffer.from(s);

let now = 1_000_000;
let store: ShardStore;
let nextId = 1;

async function call(opcode: number, key: string | Uint8Array, args: unknown[] = [], shard = 0, shards = 1) {
  const id = nextId++;
  const reply = await handleNativeFrame(store, shard, shards, encodeRequest(opcode, id, typeof key === 'string' ? b(key) : key, args), {
    now: () => now,
  });
  expect(new DataView(reply.buffer, reply.byteOffset).getUint32(0)).toBe(reply.length - 4);
  expect(new DataView(reply.buffer, reply.byteOffset).getUint32(5)).toBe(id);
  return { status: reply[4], value: unpackr.unpack(reply.subarray(9)) as unknown };
}

async function ok(opcode: number, key: string | Uint8Array, args: unknown[] = []) {
  const r = await call(opcode, key, args);
  if (r.status !== Status.OK) throw new Error(`expected OK, got ${JSON.stringify(r.value)}`);
  return r.value;
}

async function fails(opcode: number, key: string | Uint8Array, args: unknown[], code: string) {
  const r = await call(opcode, key, args);
  expect(r.status).toBe(Status.ERROR);
  expect((r.value as string[])[0]).toBe(code);
  expect(typeof (r.value as string[])[1]).toBe('string');
  return (r.value as string[])[1];
}

type StoreFactory = (shard: number) => Promise<ShardStore>;
const opened: { store: ShardStore; dir?: string }[] = [];

const mapDouble: StoreFactory = async (shard) => new MapShardStoreDouble(shard, () => now);

/** The real two-tier store (src/store/shard-store.ts), when it is there. */
async function realStoreFactory(): Promise<StoreFactory | null> {
  let mod: typeof import('../../src/store/shard-store.js');
  try {
    mod = await import('../../src/store/shard-store.js');
  } catch {
    return null;
  }
  return async (shard) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-native-exec-'));
    const s = await mod.TieredShardStore.open({ shard, dir, maxMemory: 16 << 20, clock: () => now, sweepIntervalMs: 50 });
    opened.push({ store: s, dir });
    return s;
  };
}

const real = await realStoreFactory();
const backends: [string, StoreFactory][] = [['Map-backed test double', mapDouble]];
if (real) backends.push(['TieredShardStore (LevelDB in a temp dir)', real]);

let makeStore: StoreFactory = mapDouble;

afterEach(async () => {
  for (const { store: s, dir } of opened.splice(0)) {
    await s.close().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

describe.each(backends)('executeNative / handleNativeFrame against %s', (_name, factory) => {
  beforeEach(async () => {
    now = 1_700_000_000_000;
    makeStore = factory;
    store = await factory(0);
  });

  it('get / set / del / exists', async () => {
    expect(await ok(Opcode.GET, 'k')).toBeNull();
    expect(await ok(Opcode.SET, 'k', [b('v1')])).toEqual(['stored', expect.any(Number)]);
    expect(Buffer.from((await ok(Opcode.GET, 'k')) as Uint8Array).toString()).toBe('v1');
    expect(await ok(Opcode.EXISTS, 'k')).toBe(true);
    expect(await ok(Opcode.DEL, 'k')).toBe(true);
    expect(await ok(Opcode.DEL, 'k')).toBe(false);
    expect(await ok(Opcode.EXISTS, 'k')).toBe(false);
  });

  it('accepts str values as their UTF-8 bytes, empty keys and binary keys', async () => {
    await ok(Opcode.SET, 's', ['héllo']);
    expect(Buffer.from((await ok(Opcode.GET, 's')) as Uint8Array).toString()).toBe('héllo');
    // the empty key is a key, as in Redis: as a route key and inside MSET / MGET / MDEL
    await ok(Opcode.SET, '', [b('v')]);
    expect(Buffer.from((await ok(Opcode.GET, '')) as Uint8Array).toString()).toBe('v');
    expect(await ok(Opcode.EXISTS, '')).toBe(true);
    expect(await ok(Opcode.MSET, '', [[b(''), b('w'), b('a'), b('1')]])).toBe(2);
    expect(((await ok(Opcode.MGET, '', [[b(''), b('a')]])) as Uint8Array[]).map((v) => v && Buffer.from(v).toString())).toEqual(['w', '1']);
    expect(await ok(Opcode.MDEL, '', [[b('')]])).toBe(1);
    expect(await ok(Opcode.EXISTS, '')).toBe(false);
    const key = new Uint8Array([0, 255, 0, 1]);
    await ok(Opcode.SET, key, [new Uint8Array([9, 0, 9])]);
    expect([...((await ok(Opcode.GET, key)) as Uint8Array)]).toEqual([9, 0, 9]);
  });

  it('set options: nx, xx, ttl, expiresAt, keepTtl, flags, cas, returnOld', async () => {
    expect(await ok(Opcode.SET, 'k', [b('a'), { xx: true }])).toEqual(['not_stored', 0]);
    const [, cas1] = (await ok(Opcode.SET, 'k', [b('a'), { nx: true, ttl: 5000, flags: 42 }])) as [string, number];
    expect(await ok(Opcode.SET, 'k', [b('b'), { nx: true }])).toEqual(['not_stored', 0]);
    expect(await ok(Opcode.GETMETA, 'k')).toEqual({ value: b('a'), flags: 42, expiresAt: now + 5000, cas: cas1 });
    expect(await ok(Opcode.TTL, 'k')).toBe(5000);
    expect(await ok(Opcode.TTL, 'k', [true])).toBe(now + 5000);
    // keepTtl keeps the expiry; a plain set clears it
    await ok(Opcode.SET, 'k', [b('c'), { keepTtl: true }]);
    expect(await ok(Opcode.TTL, 'k')).toBe(5000);
    const [, cas2] = (await ok(Opcode.SET, 'k', [b('d')])) as [string, number];
    expect(await ok(Opcode.TTL, 'k')).toBe(-1);
    // cas
    expect(await ok(Opcode.SET, 'k', [b('e'), { cas: cas2 + 1000 }])).toEqual(['exists', 0]);
    expect(await ok(Opcode.SET, 'missing', [b('e'), { cas: 5 }])).toEqual(['not_found', 0]);
    const [status] = (await ok(Opcode.SET, 'k', [b('e'), { cas: cas2 }])) as [string];
    expect(status).toBe('stored');
    // returnOld
    const [, , old] = (await ok(Opcode.SET, 'k', [b('f'), { returnOld: true, expiresAt: now + 100 }])) as [string, number, { value: Uint8Array }];
    expect(Buffer.from(old.value).toString()).toBe('e');
    expect(((await ok(Opcode.SET, 'new', [b('x'), { returnOld: true }])) as unknown[])[2]).toBeNull();
    expect(await ok(Opcode.TTL, 'k')).toBe(100);
    now += 100;
    expect(await ok(Opcode.GET, 'k')).toBeNull();
  });

  it('rejects bad set options with BAD_ARGUMENT', async () => {
    await fails(Opcode.SET, 'k', [], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [42], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { nx: true, xx: true }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { ttl: 1, expiresAt: 5 }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { ttl: 0 }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { ttl: 1.5 }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { keepTtl: true, ttl: 5 }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { flags: -1 }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { flags: 2 ** 32 }], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SET, 'k', [b('v'), { cas: 1, nx: true }], ErrorCode.BAD_ARGUMENT);
    const msg = await fails(Opcode.SET, 'k', [b('v'), { tll: 5 }], ErrorCode.BAD_ARGUMENT);
    expect(msg).toContain('tll');
    await fails(Opcode.SET, 'k', [b('v'), 'nx'], ErrorCode.BAD_ARGUMENT);
    expect(await ok(Opcode.EXISTS, 'k')).toBe(false);
  });

  it('enforces key and value limits', async () => {
    const r = await handleNativeFrame(store, 0, 1, encodeRequest(Opcode.SET, 1, b('kk'), [new Uint8Array(11)]), { maxValue: 10 });
    expect(r[4]).toBe(Status.ERROR);
    expect((unpackr.unpack(r.subarray(9)) as string[])[0]).toBe(ErrorCode.VALUE_TOO_LARGE);
    const r2 = await handleNativeFrame(store, 0, 1, encodeRequest(Opcode.GET, 2, new Uint8Array(9)), { maxKey: 8 });
    expect((unpackr.unpack(r2.subarray(9)) as string[])[0]).toBe(ErrorCode.KEY_TOO_LARGE);
    const big = new Uint8Array(1024 * 1024 + 1);
    await fails(Opcode.SET, 'k', [big], ErrorCode.VALUE_TOO_LARGE);
    await fails(Opcode.GET, new Uint8Array(65536), [], ErrorCode.KEY_TOO_LARGE);
    await ok(Opcode.SET, new Uint8Array(65535).fill(1), [new Uint8Array(1024 * 1024)]);
  });

  it('expire / persist / ttl / touch', async () => {
    expect(await ok(Opcode.EXPIRE, 'k', [{ ttl: 10 }])).toBe(false);
    expect(await ok(Opcode.TTL, 'k')).toBe(-2);
    await ok(Opcode.SET, 'k', [b('v')]);
    expect(await ok(Opcode.PERSIST, 'k')).toBe(false);
    expect(await ok(Opcode.EXPIRE, 'k', [{ ttl: 10_000 }])).toBe(true);
    expect(await ok(Opcode.TTL, 'k')).toBe(10_000);
    expect(await ok(Opcode.EXPIRE, 'k', [{ expiresAt: now + 50 }])).toBe(true);
    expect(await ok(Opcode.TTL, 'k')).toBe(50);
    expect(await ok(Opcode.PERSIST, 'k')).toBe(true);
    expect(await ok(Opcode.TTL, 'k')).toBe(-1);
    const touched = (await ok(Opcode.TOUCH, 'k', [{ ttl: 300 }])) as { value: Uint8Array; expiresAt: number };
    expect(Buffer.from(touched.value).toString()).toBe('v');
    expect(touched.expiresAt).toBe(now + 300);
    expect(((await ok(Opcode.TOUCH, 'k', [{}])) as { expiresAt: number }).expiresAt).toBe(0);
    expect(await ok(Opcode.TOUCH, 'nope', [{ ttl: 5 }])).toBeNull();
    await fails(Opcode.EXPIRE, 'k', [], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.EXPIRE, 'k', [{ ttl: 'soon' }], ErrorCode.BAD_ARGUMENT);
    // ttl ≤ 0 deletes, like Redis
    expect(await ok(Opcode.EXPIRE, 'k', [{ ttl: -1 }])).toBe(true);
    expect(await ok(Opcode.EXISTS, 'k')).toBe(false);
  });

  it('incr / decr with signed 64-bit rules', async () => {
    expect(await ok(Opcode.INCR, 'n')).toBe(1);
    expect(await ok(Opcode.INCR, 'n', [41])).toBe(42);
    expect(await ok(Opcode.DECR, 'n', [50])).toBe(-8);
    expect(await ok(Opcode.DECR, 'n')).toBe(-9);
    expect(await ok(Opcode.INCR, 'big', [2n ** 62n])).toBe(2n ** 62n);
    expect(await ok(Opcode.INCR, 'big', [2n ** 62n - 1n])).toBe(2n ** 63n - 1n);
    await fails(Opcode.INCR, 'big', [1], ErrorCode.OVERFLOW);
    await fails(Opcode.INCR, 'n', [1.5], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.INCR, 'n', [2n ** 63n], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.DECR, 'n', [-(2n ** 63n)], ErrorCode.BAD_ARGUMENT);
    await ok(Opcode.SET, 's', [b('abc')]);
    await fails(Opcode.INCR, 's', [], ErrorCode.NOT_INTEGER);
  });

  it('append / prepend / getdel / restore', async () => {
    expect(await ok(Opcode.APPEND, 'a', [b('mid')])).toBe(3);
    expect(await ok(Opcode.APPEND, 'a', [b('>>')])).toBe(5);
    expect(await ok(Opcode.PREPEND, 'a', ['<<'])).toBe(7);
    expect(await ok(Opcode.RESTORE, 'a')).toBe(true);
    expect(Buffer.from((await ok(Opcode.GETDEL, 'a')) as Uint8Array).toString()).toBe('<<mid>>');
    expect(await ok(Opcode.GETDEL, 'a')).toBeNull();
    expect(await ok(Opcode.RESTORE, 'a')).toBe(false);
    await fails(Opcode.APPEND, 'a', [], ErrorCode.BAD_ARGUMENT);
  });

  it('del with cas deletes only the version read', async () => {
    const [, cas] = (await ok(Opcode.SET, 'k', [b('v')])) as [string, number];
    expect(await ok(Opcode.DEL, 'k', [{ cas: cas + 1 }])).toBe(false);
    expect(await ok(Opcode.EXISTS, 'k')).toBe(true);
    expect(await ok(Opcode.DEL, 'k', [{ cas }])).toBe(true);
    expect(await ok(Opcode.EXISTS, 'k')).toBe(false);
  });

  it('mget / mset / mdel on one shard', async () => {
    expect(await ok(Opcode.MSET, 'a', [[b('a'), b('1'), b('b'), b('2')], { ttl: 1000, flags: 3 }])).toBe(2);
    const got = (await ok(Opcode.MGET, 'a', [[b('a'), b('zz'), b('b')]])) as (Uint8Array | null)[];
    expect(got.map((v) => (v ? Buffer.from(v).toString() : null))).toEqual(['1', null, '2']);
    expect(((await ok(Opcode.GETMETA, 'b')) as { flags: number }).flags).toBe(3);
    expect(await ok(Opcode.MDEL, 'a', [[b('a'), b('b'), b('c')]])).toBe(2);
    expect(await ok(Opcode.MGET, 'a', [[]])).toEqual([]);
    await fails(Opcode.MSET, 'a', [[b('a')]], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.MGET, 'a', [b('a')], ErrorCode.BAD_ARGUMENT);
  });

  it('a multi-key batch with one bad item writes nothing', async () => {
    await fails(Opcode.MSET, 'a', [[b('a'), b('1'), b('b'), 17]], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.MSET, 'a', [[b('a'), b('1'), b('b'), new Uint8Array(1024 * 1024 + 1)]], ErrorCode.VALUE_TOO_LARGE);
    expect(await ok(Opcode.EXISTS, 'a')).toBe(false);
  });

  it('rejects keys that belong to another shard', async () => {
    const shards = 4;
    const mine: Buffer[] = [];
    const other: Buffer[] = [];
    for (let i = 0; mine.length < 2 || other.length < 1; i++) {
      const k = b(`key:${i}`);
      (shardOf(k, shards) === 1 ? mine : other).push(k);
    }
    store = await makeStore(1);
    const good = await call(Opcode.MSET, mine[0], [[mine[0], b('x'), mine[1], b('y')]], 1, shards);
    expect(good.value).toBe(2);
    const r = await call(Opcode.MSET, mine[0], [[mine[0], b('x'), other[0], b('y')]], 1, shards);
    expect(r.status).toBe(Status.ERROR);
    expect((r.value as string[])[1]).toContain('belongs to shard');
    const r2 = await call(Opcode.GET, other[0], [], 1, shards);
    expect(r2.status).toBe(Status.ERROR);
  });

  it('scan walks shards through the global cursor', async () => {
    for (let i = 0; i < 25; i++) await ok(Opcode.SET, `k${i}`, [b('v')]);
    const keys: string[] = [];
    let cursor = '0';
    let pages = 0;
    do {
      const [next, page] = (await ok(Opcode.SCAN, cursor, [10])) as [string, Uint8Array[]];
      keys.push(...page.map((k) => Buffer.from(k).toString()));
      cursor = next;
      pages++;
    } while (cursor !== '0');
    expect(new Set(keys).size).toBe(25);
    expect(pages).toBeGreaterThanOrEqual(3);
    await fails(Opcode.SCAN, 'garbage', [], ErrorCode.BAD_ARGUMENT);
    await fails(Opcode.SCAN, '0', [0], ErrorCode.BAD_ARGUMENT);
    // the last shard of several hands over to the next, then to '0'
    await ok(Opcode.FLUSH, '');
    const r = await call(Opcode.SCAN, '0', [10], 0, 3);
    expect((r.value as unknown[])[0]).toBe('1:0');
    store = await makeStore(2);
    const r2 = await call(Opcode.SCAN, '2:0', [10], 2, 3);
    expect((r2.value as unknown[])[0]).toBe('0');
    const r3 = await call(Opcode.SCAN, '1:0', [10], 2, 3);
    expect(r3.status).toBe(Status.ERROR);
  });

  it('count / flush / stats', async () => {
    await ok(Opcode.SET, 'a', [b('1')]);
    await ok(Opcode.SET, 'b', [b('1')]);
    expect(await ok(Opcode.COUNT, '')).toMatchObject({ hot: 2, total: 2 });
    expect(((await ok(Opcode.STATS, '')) as { shard: number }).shard).toBe(0);
    expect(await ok(Opcode.FLUSH, '')).toBe(true);
    expect(await ok(Opcode.COUNT, '')).toEqual({ hot: 0, cold: 0, total: 0 });
  });

  it('unknown and local opcodes, undecodable bodies: coded errors, never a throw', async () => {
    await fails(0x7f, 'k', [], ErrorCode.UNKNOWN_COMMAND);
    await fails(Opcode.HELLO, '', [{ version: 1 }], ErrorCode.UNKNOWN_COMMAND);
    const frame = encodeRequest(Opcode.GET, 5, b('k'));
    const broken = new Uint8Array(frame.length + 2);
    broken.set(frame);
    broken[frame.length - 1] = 0xc4; // bin 8 with a length running past the end
    broken[frame.length] = 0x40;
    new DataView(broken.buffer).setUint32(0, broken.length - 4);
    const r = await handleNativeFrame(store, 0, 1, broken);
    expect(r[4]).toBe(Status.ERROR);
    expect(new DataView(r.buffer, r.byteOffset).getUint32(5)).toBe(5);
    expect((unpackr.unpack(r.subarray(9)) as string[])[0]).toBe(ErrorCode.BAD_FRAME);
    // trailing bytes after the argument array
    const trailing = encodeRequest(Opcode.GET, 6, b('k'), [1]);
    const t2 = new Uint8Array(trailing.length + 1);
    t2.set(trailing);
    new DataView(t2.buffer).setUint32(0, t2.length - 4);
    const r2 = await handleNativeFrame(store, 0, 1, t2);
    expect((unpackr.unpack(r2.subarray(9)) as string[])[0]).toBe(ErrorCode.BAD_FRAME);
    // not an array
    const notArray = await executeNative(store, 0, 1, Opcode.GET, b('k'), new Uint8Array([0x01]));
    expect(notArray.status).toBe(Status.ERROR);
    // a truncated frame
    const short = await handleNativeFrame(store, 0, 1, new Uint8Array([0, 0, 0, 1, 2]));
    expect(short[4]).toBe(Status.ERROR);
  });

  it('a store failure becomes an error reply', async () => {
    const failing = new MapShardStoreDouble();
    failing.get = () => {
      throw Object.assign(new Error('disk on fire'), { code: 'LEVEL_IO_ERROR' });
    };
    failing.exists = () => {
      throw new TypeError('bug');
    };
    const r = await handleNativeFrame(failing, 0, 1, encodeRequest(Opcode.GET, 1, b('k')));
    expect(unpackr.unpack(r.subarray(9))).toEqual([ErrorCode.DISK, expect.stringContaining('disk on fire')]);
    const r2 = await handleNativeFrame(failing, 0, 1, encodeRequest(Opcode.EXISTS, 2, b('k')));
    expect(r2[4]).toBe(Status.ERROR);
  });

  it('executeNative returns status and encoded body', async () => {
    const r = await executeNative(store, 0, 1, Opcode.SET, b('k'), encodeArgs([b('v')]));
    expect(r.status).toBe(Status.OK);
    expect((unpackr.unpack(r.body) as unknown[])[0]).toBe('stored');
  });

  it('copies values out of the frame (the frame buffer may be reused)', async () => {
    const frame = encodeRequest(Opcode.SET, 1, b('k'), [b('original')]);
    await handleNativeFrame(store, 0, 1, frame);
    frame.fill(0);
    expect(Buffer.from((await ok(Opcode.GET, 'k')) as Uint8Array).toString()).toBe('original');
  });
});

describe('broadcast merges and scan cursors', () => {
  it('merges count, stats and flush', () => {
    expect(
      mergeBroadcast(Opcode.COUNT, [
        { hot: 1, cold: 2, total: 3 },
        { hot: 4, cold: 5, total: 6 },
      ]),
    ).toEqual({ hot: 5, cold: 7, total: 9 });
    expect(mergeBroadcast(Opcode.FLUSH, [true, true])).toBe(true);
    const s0 = new MapShardStoreDouble(0).stats();
    const s1 = new MapShardStoreDouble(1).stats();
    const merged = mergeBroadcast(Opcode.STATS, [s1, s0]) as { total: Record<string, unknown>; shards: { shard: number }[] };
    expect(merged.shards.map((x) => x.shard)).toEqual([0, 1]);
    expect((merged.total.hot as { maxBytes: number }).maxBytes).toBe(2 * (1 << 30));
    expect(merged.total.shards).toBe(2);
    expect(() => mergeBroadcast(Opcode.GET, [])).toThrow();
  });

  it('mergeBroadcastReplies passes the first shard error through', async () => {
    const ok1 = await handleNativeFrame(new MapShardStoreDouble(0), 0, 2, encodeRequest(Opcode.COUNT, 9, new Uint8Array(0)));
    const ok2 = await handleNativeFrame(new MapShardStoreDouble(1), 1, 2, encodeRequest(Opcode.COUNT, 9, new Uint8Array(0)));
    const merged = mergeBroadcastReplies(Opcode.COUNT, 77, [ok1, ok2]);
    expect(merged[4]).toBe(Status.OK);
    expect(new DataView(merged.buffer, merged.byteOffset).getUint32(5)).toBe(77);
    const failing = new MapShardStoreDouble(1);
    failing.count = async () => {
      throw new Error('boom');
    };
    const bad = await handleNativeFrame(failing, 1, 2, encodeRequest(Opcode.COUNT, 9, new Uint8Array(0)));
    const m2 = mergeBroadcastReplies(Opcode.COUNT, 78, [ok1, bad]);
    expect(m2[4]).toBe(Status.ERROR);
    expect((unpackr.unpack(m2.subarray(9)) as string[])[1]).toContain('boom');
  });

  it('scan cursors', () => {
    const cur = (s: string, n: number) => scanCursorShard(b(s), 0, s.length, n);
    expect(cur('0', 4)).toBe(0);
    expect(cur('3:abc', 4)).toBe(3);
    expect(cur('4:abc', 4)).toBe(-1);
    expect(cur('', 4)).toBe(-1);
    expect(cur('3', 4)).toBe(-1);
    expect(cur('3:', 4)).toBe(-1);
    expect(cur(':x', 4)).toBe(-1);
    expect(cur('a:x', 4)).toBe(-1);
    expect(cur('1234567:x', 4)).toBe(-1);
    expect(parseScanCursor('2:k00ff', 4)).toEqual({ shard: 2, local: 'k00ff' });
    expect(parseScanCursor('0', 4)).toEqual({ shard: 0, local: '0' });
    expect(parseScanCursor('9:0', 4)).toBeNull();
    expect(formatScanCursor(1, 'abc', 4)).toBe('1:abc');
    expect(formatScanCursor(1, '0', 4)).toBe('2:0');
    expect(formatScanCursor(3, '0', 4)).toBe('0');
  });
});
