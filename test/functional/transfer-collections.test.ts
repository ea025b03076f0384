/**
 * Collections through export / import and `cairn import --from redis://`, with real processes on
 * loopback: the compiled CLI against real cairn servers and a real redis-server. Hashes, lists, sets
 * and sorted sets, small and large (read by Redis in pages), with TTLs, some on the cold tier; export
 * files of format version 2 carry their type, version-1 files still import.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CairnClient, type EntryMeta } from '../../src/client/index.js';
import { decodeCollection, HashValue, ListValue, SetValue, ValueType, ZSetValue } from '../../src/engine/collections/index.js';
import { packageRoot } from '../../src/paths.js';
import { encodeTrailer } from '../../src/transfer/codec.js';
import { encodeItem, FORMAT_NAME, TAG_BLOCK, TAG_HEADER } from '../../src/transfer/format.js';
import { addScored } from '../../src/transfer/redis-collections.js';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const CLI = join(packageRoot, 'dist', 'src', 'cli.js');

function cairn(args: string[], timeoutMs = 50_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** a sorted-set member's score: the one lookup of these tests that depends on the sorted set's interface */
function scoreOf(z: ZSetValue, m: string): number | undefined {
  return z.score(m);
}

/**
 * The collection in `meta` holds exactly `want` (and is of its type), checked through lookups: hash
 * `field=value`, set members and sorted-set `member=score` in any order, list elements in order (its
 * encoding equals that of a list of them).
 */
function expectCollection(key: string, meta: EntryMeta | null, type: number, want: string[]): void {
  expect(meta?.type, key).toBe(type);
  const obj = decodeCollection(type, Buffer.from(meta!.value));
  if (obj instanceof ListValue) {
    const l = new ListValue();
    for (const e of want) l.push(e, false);
    expect(obj.encode().equals(l.encode()), key).toBe(true);
    return;
  }
  expect(obj.size, key).toBe(want.length);
  for (const w of want) {
    if (obj instanceof SetValue) {
      expect(obj.has(w), `${key} ${w}`).toBe(true);
      continue;
    }
    const eq = w.lastIndexOf('=');
    const [m, v] = [w.slice(0, eq), w.slice(eq + 1)];
    if (obj instanceof HashValue) expect(obj.get(m), `${key} ${m}`).toBe(v);
    else expect(String(scoreOf(obj as ZSetValue, m)), `${key} ${m}`).toBe(v);
  }
}

async function allKeys(client: CairnClient): Promise<Buffer[]> {
  const seen = new Map<string, Buffer>();
  for await (const k of client.scanKeys({ count: 1000 })) seen.set(Buffer.from(k).toString('latin1'), Buffer.from(k));
  return [...seen.values()];
}

function hash(pairs: Record<string, string>): HashValue {
  const h = new HashValue();
  for (const [f, v] of Object.entries(pairs)) h.set(f, v);
  return h;
}

const dir = tempDir('cairn-transfer-types-');
let source: TestServer;
let target: TestServer;
let src: CairnClient;
let dst: CairnClient;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ args: ['--max-memory', '2mb', '--shards', '2'] }), startServer({ args: ['--shards', '3'] })]);
  [src, dst] = await Promise.all([createClient({ port: source.port, timeoutMs: 30_000 }), createClient({ port: target.port, timeoutMs: 30_000 })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([src?.close(), dst?.close()]);
  await Promise.all([source?.stop(), target?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('export and import of collections', () => {
  it('moves hashes, lists, sets and sorted sets of both tiers with their type, flags and expiry (format version 2)', async () => {
    const now = Date.now();
    const writes: Promise<boolean>[] = [];
    // about 3.3 MB of hashes (packed: 100 fields of ~50 bytes each) over a 2 MB budget, so part of them is on disk only
    for (let i = 0; i < 500; i++) {
      const fields: Record<string, string> = {};
      for (let f = 0; f < 100; f++) fields[`f${f}`] = `${i}:${f}:${'h'.repeat(40)}`;
      writes.push(src.set(`hash:${i}`, hash(fields).encode(), { type: ValueType.HASH, ...(i % 3 === 0 ? { expiresAt: now + 3_600_000 + i } : {}) }));
    }
    for (let i = 0; i < 20; i++) {
      const l = new ListValue();
      for (let e = 0; e < 10 + i; e++) l.push(`el${e}`, false);
      writes.push(src.set(`list:${i}`, l.encode(), { type: ValueType.LIST, flags: i }));
      const s = new SetValue();
      for (let m = 0; m < 5 + i; m++) s.add(`m${m}`);
      writes.push(src.set(`set:${i}`, s.encode(), { type: ValueType.SET, ttl: 600_000 }));
      const z = new ZSetValue();
      for (let m = 0; m < 5 + i; m++) addScored(z, `z${m}`, m * 1.5 - 3);
      writes.push(src.set(`zset:${i}`, z.encode(), { type: ValueType.ZSET }));
      writes.push(src.set(`str:${i}`, `string ${i}`));
    }
    await Promise.all(writes);
    const counts = await src.count();
    expect(counts.total).toBe(580);
    expect(counts.hot).toBeLessThan(counts.total);

    const file = join(dir, 'types.cairn.gz');
    const exp = await cairn(['export', '--port', String(source.port), '--out', file, '--workers', '1']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).toContain('exported 580 keys');
    expect(exp.stdout).toContain('of them 560 collections (hash: 500, list: 20, set: 20, zset: 20)');

    const imp = await cairn(['import', '--port', String(target.port), file]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain('imported 580 keys');
    expect(imp.stdout).toContain('of them 560 collections (hash: 500, list: 20, set: 20, zset: 20)');
    expect(imp.stderr).toMatch(/import: [\d,]+ \/ ~580 keys/);

    const keys = await allKeys(src);
    expect(keys).toHaveLength(580);
    const [a, b] = await Promise.all([Promise.all(keys.map((k) => src.getMeta(k))), Promise.all(keys.map((k) => dst.getMeta(k)))]);
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i].toString('latin1');
      expect(b[i], name).not.toBeNull();
      expect(b[i]!.type, name).toBe(a[i]!.type);
      // both servers encode a collection read from the same bytes the same way
      expect(Buffer.from(b[i]!.value).equals(Buffer.from(a[i]!.value)), name).toBe(true);
      expect(b[i]!.flags, name).toBe(a[i]!.flags);
      expect(b[i]!.expiresAt, name).toBe(a[i]!.expiresAt);
    }
    expect((await dst.count()).total).toBe(580);
  });

  describe('files', () => {
    const packr = new Packr({ useRecords: false });
    const header = (version: number): Uint8Array =>
      encodeItem(TAG_HEADER, 0, packr.pack({ format: FORMAT_NAME, version, source: 'test', createdAt: Date.now(), keysEstimate: 3 }));
    const importBytes = async (name: string, bytes: Uint8Array[]) => {
      const file = join(dir, name);
      writeFileSync(file, Buffer.concat(bytes));
      return cairn(['import', '--port', String(target.port), file, '--replace', '--quiet']);
    };
    const records = (list: unknown[]): Uint8Array => Buffer.concat(list.map((r) => packr.pack(r)));

    it('a version-1 file imports as strings (a type field there is an unknown one); version 3 is refused', async () => {
      const h = hash({ a: '1' }).encode();
      const block = records([
        { key: Buffer.from('v1:plain'), value: Buffer.from('one'), flags: 0, expiresAt: 0 },
        { key: Buffer.from('v1:typed'), value: h, flags: 0, expiresAt: 0, type: ValueType.HASH },
      ]);
      const r = await importBytes('v1.cairn', [header(1), encodeItem(TAG_BLOCK, 2, block), encodeTrailer({ records: 2, finishedAt: 0 })]);
      expect(r.code, r.stderr).toBe(0);
      expect(await dst.getString('v1:plain')).toBe('one');
      const typed = await dst.getMeta('v1:typed');
      expect(typed?.type).toBeUndefined();
      expect(Buffer.from(typed!.value).equals(h)).toBe(true);
      await dst.mdel(['v1:plain', 'v1:typed']);

      const v3 = await importBytes('v3.cairn', [header(3), encodeTrailer({ records: 0, finishedAt: 0 })]);
      expect(v3.code).toBe(1);
      expect(v3.stderr).toContain('the file is in cairn export format version 3; this cairn reads versions 1 and 2');
    });

    it('version 2: a collection the target cannot decode is refused and listed, the rest imported; an unknown type is a corrupt record', async () => {
      const good = hash({ f: 'v' }).encode();
      const block = records([
        { key: Buffer.from('v2:good'), value: good, flags: 3, expiresAt: 0, type: ValueType.HASH },
        { key: Buffer.from('v2:bad'), value: Buffer.from('not a set'), flags: 0, expiresAt: 0, type: ValueType.SET },
        { key: Buffer.from('v2:str'), value: Buffer.from('s'), flags: 0, expiresAt: 0 },
      ]);
      const r = await importBytes('v2.cairn', [header(2), encodeItem(TAG_BLOCK, 3, block), encodeTrailer({ records: 3, finishedAt: 0 })]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the target refused 1 keys');
      expect(r.stderr).toMatch(/"v2:bad": .*not a set's encoding.*CAIRN_ERR_BAD_ARGUMENT/);
      expect(await dst.getMeta('v2:good')).toMatchObject({ type: ValueType.HASH, flags: 3 });
      expect(await dst.getString('v2:str')).toBe('s');
      await dst.mdel(['v2:good', 'v2:str']);

      const odd = records([{ key: Buffer.from('v2:odd'), value: good, flags: 0, expiresAt: 0, type: 9 }]);
      const r2 = await importBytes('v2odd.cairn', [header(2), encodeItem(TAG_BLOCK, 1, odd), encodeTrailer({ records: 1, finishedAt: 0 })]);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain('record 1 is corrupt: type 9 is not a value type');
    });
  });
});

describe('migration from redis', () => {
  let other: TestServer;
  let c: CairnClient;
  let redisServer: ServiceHandle | null = null;
  let redis: Redis | null = null;
  beforeAll(async () => {
    [other, redisServer] = await Promise.all([startServer({ args: ['--shards', '2'] }), startRedisServer()]);
    c = await createClient({ port: other.port, timeoutMs: 30_000 });
    redis = new Redis({ port: redisServer.port, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await c?.close();
    await Promise.all([other?.stop(), redisServer?.stop()]);
  });

  it('copies hashes, lists, sets and sorted sets, small and paged, with their TTLs; other types are skipped', async () => {
    const r = redis!;
    const pipe = r.pipeline();
    // small ones (one page: listpack, intset) and large ones (HSCAN / SSCAN / ZSCAN / LRANGE pages of 1000)
    pipe.hset('h:small', 'f1', 'v1', 'f2', Buffer.from([0, 0xff, 1]));
    const big: Record<string, string> = {};
    for (let i = 0; i < 2500; i++) big[`field:${i}`] = `value:${i}`;
    pipe.hset('h:big', big);
    pipe.pexpire('h:big', 900_000);
    pipe.rpush('l:small', 'a', 'b', 'a');
    pipe.rpush('l:big', ...Array.from({ length: 2500 }, (_, i) => `item ${i}`));
    pipe.pexpire('l:small', 600_000);
    pipe.sadd('s:ints', 1, 2, 3, 100);
    pipe.sadd('s:big', ...Array.from({ length: 1500 }, (_, i) => `member-${i}`));
    pipe.zadd('z:small', 1.5, 'a', -2, 'b', 'inf', 'top', '-inf', 'bottom');
    pipe.zadd('z:big', ...Array.from({ length: 1200 }, (_, i) => [String(i / 7), `zm${i}`]).flat());
    pipe.pexpire('z:big', 1_200_000);
    pipe.set('plain', 'a string', 'PX', 500_000);
    pipe.xadd('a-stream', '*', 'f', 'v');
    await pipe.exec();

    const imp = await cairn(['import', '--from', `redis://127.0.0.1:${redisServer!.port}`, '--port', String(other.port)]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain('imported 9 keys from redis');
    expect(imp.stdout).toContain('of them 8 collections (hash: 2, list: 2, set: 2, zset: 2)');
    expect(imp.stdout).toContain('skipped 1 keys of other types (stream: 1)');
    expect(imp.stderr).toMatch(/import from redis 127\.0\.0\.1:\d+: 10 \/ ~10 keys/);
    expect((await c.count()).total).toBe(9);

    const sorted = (xs: (string | Buffer)[]): string[] => xs.map((x) => (Buffer.isBuffer(x) ? x.toString('latin1') : x)).sort();
    const pairs = (flat: Buffer[]): string[] => {
      const out: string[] = [];
      for (let i = 0; i < flat.length; i += 2) out.push(`${flat[i].toString('latin1')}=${flat[i + 1].toString('latin1')}`);
      return out.sort();
    };
    const expected = new Map<string, { type: number; members: string[] }>([
      [
        'h:small',
        { type: ValueType.HASH, members: pairs(await r.hgetallBuffer('h:small').then((o) => Object.entries(o).flatMap(([f, v]) => [Buffer.from(f), v]))) },
      ],
      [
        'h:big',
        {
          type: ValueType.HASH,
          members: Object.entries(big)
            .map(([f, v]) => `${f}=${v}`)
            .sort(),
        },
      ],
      ['l:small', { type: ValueType.LIST, members: ['a', 'b', 'a'] }],
      ['l:big', { type: ValueType.LIST, members: Array.from({ length: 2500 }, (_, i) => `item ${i}`) }],
      ['s:ints', { type: ValueType.SET, members: sorted(await r.smembers('s:ints')) }],
      ['s:big', { type: ValueType.SET, members: sorted(await r.smembers('s:big')) }],
      ['z:small', { type: ValueType.ZSET, members: ['a=1.5', 'b=-2', 'bottom=-Infinity', 'top=Infinity'] }],
      ['z:big', { type: ValueType.ZSET, members: Array.from({ length: 1200 }, (_, i) => `zm${i}=${i / 7}`).sort() }],
    ]);
    for (const [key, want] of expected) {
      const meta = await c.getMeta(key);
      expectCollection(key, meta, want.type, want.members);
      expect(meta!.expiresAt, key).toBe(Math.max(0, await r.pexpiretime(key)));
    }
    expect(await c.getString('plain')).toBe('a string');
    expect((await c.getMeta('plain'))!.expiresAt).toBe(await r.pexpiretime('plain'));
    expect(await c.exists('a-stream')).toBe(false);
  });
});
