/**
 * cairn export / import and migrations from Redis and memcached, with real processes on loopback:
 * the compiled CLI (dist/src/cli.js) against real cairn servers, a real redis-server and memcached.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createClient, type CairnClient } from '../../src/client/index.js';
import { packageRoot } from '../../src/paths.js';
import { encodeHeader, encodeTrailer } from '../../src/transfer/codec.js';
import { encodeItem, FORMAT_NAME, TAG_BLOCK } from '../../src/transfer/format.js';
import { Packr } from 'msgpackr';
import { startMemcached, startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const CLI = join(packageRoot, 'dist', 'src', 'cli.js');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cairn(args: string[], timeoutMs = 50_000): Promise<CliResult> {
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

async function allKeys(client: CairnClient): Promise<Buffer[]> {
  const seen = new Map<string, Buffer>();
  for await (const k of client.scanKeys({ count: 1000 })) seen.set(Buffer.from(k).toString('latin1'), Buffer.from(k));
  return [...seen.values()];
}

/** Every key of `from` is in `to` with the same value and flags, and an expiry within `toleranceMs`. */
async function expectSameKeys(from: CairnClient, to: CairnClient, toleranceMs = 0): Promise<number> {
  const keys = await allKeys(from);
  const [a, b] = await Promise.all([Promise.all(keys.map((k) => from.getMeta(k))), Promise.all(keys.map((k) => to.getMeta(k)))]);
  let compared = 0;
  for (let i = 0; i < keys.length; i++) {
    if (a[i] === null) continue; // expired meanwhile
    const want = a[i]!;
    const got = b[i];
    expect(got, `key ${keys[i].toString('latin1')}`).not.toBeNull();
    expect(Buffer.from(got!.value).equals(Buffer.from(want.value)), `value of ${keys[i].toString('latin1')}`).toBe(true);
    expect(got!.flags).toBe(want.flags);
    if (want.expiresAt === 0) expect(got!.expiresAt).toBe(0);
    else expect(Math.abs(got!.expiresAt - want.expiresAt)).toBeLessThanOrEqual(toleranceMs);
    compared++;
  }
  expect((await to.count()).total).toBe(compared);
  return compared;
}

const N = 6_000;
const dir = tempDir('cairn-transfer-');
let source: TestServer;
let target: TestServer;
let src: CairnClient;
let dst: CairnClient;

beforeAll(async () => {
  [source, target] = await Promise.all([startServer({ args: ['--max-memory', '2mb', '--shards', '2'] }), startServer({ args: ['--max-value-size', '1mb'] })]);
  [src, dst] = await Promise.all([createClient({ port: source.port, timeoutMs: 30_000 }), createClient({ port: target.port, timeoutMs: 30_000 })]);
  const now = Date.now();
  const value = 'v'.repeat(500);
  for (let i = 0; i < N; i += 1000) {
    const writes: Promise<boolean>[] = [];
    for (let j = i; j < i + 1000; j++) {
      writes.push(
        src.set(`key:${j}`, `${value}:${j}`, {
          ...(j % 3 === 0 ? { expiresAt: now + 3_600_000 + j } : {}),
          ...(j % 7 === 0 ? { flags: j } : {}),
        }),
      );
    }
    await Promise.all(writes);
  }
  // awkward keys and values: binary, non-UTF-8, empty value, the largest flags
  await src.set(Buffer.from([0, 1, 2, 0xff, 0xfe]), Buffer.from([0, 0, 0]));
  await src.set('empty', '', { flags: 0xffffffff });
  await src.set('big', Buffer.alloc(200_000, 7), { ttl: 600_000 });
}, 60_000);

afterAll(async () => {
  await Promise.all([src?.close(), dst?.close()]);
  await Promise.all([source?.stop(), target?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('export and import', () => {
  it('moves every key of both tiers, with flags and absolute expiry, into an empty server', async () => {
    const counts = await src.count();
    expect(counts.total).toBe(N + 3);
    expect(counts.cold).toBeGreaterThan(0);
    expect(counts.hot).toBeLessThan(counts.total); // some keys live on disk only

    const file = join(dir, 'dump.cairn');
    const exp = await cairn(['export', '--port', String(source.port), '--out', file]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).toContain(`exported ${(N + 3).toLocaleString('en-US')} keys`);
    expect(exp.stderr).toMatch(/export: [\d,]+ \/ ~[\d,]+ keys/); // the progress lines (not a TTY)

    const imp = await cairn(['import', '--port', String(target.port), file]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain(`imported ${(N + 3).toLocaleString('en-US')} keys`);
    expect(await expectSameKeys(src, dst)).toBe(N + 3);
  });

  it('gzip files, --nx and --replace, and refuses a non-empty target without either', async () => {
    const file = join(dir, 'dump.cairn.gz');
    const exp = await cairn(['export', '--port', String(source.port), '--out', file, '--quiet', '--workers', '2']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    const refused = await cairn(['import', '--port', String(target.port), file, '--quiet']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already holds');
    expect(refused.stderr).toContain('--replace');

    await dst.set('key:1', 'changed');
    const nx = await cairn(['import', '--port', String(target.port), file, '--nx', '--quiet']);
    expect(nx.code, nx.stderr).toBe(0);
    expect(nx.stdout).toMatch(/imported 0 keys/);
    expect(nx.stdout).toContain(`${(N + 3).toLocaleString('en-US')} keys already in the target were kept`);
    expect(await dst.getString('key:1')).toBe('changed');

    const replace = await cairn(['import', '--port', String(target.port), file, '--replace', '--quiet', '--workers', '0']);
    expect(replace.code, replace.stderr).toBe(0);
    expect(await expectSameKeys(src, dst)).toBe(N + 3);
  });

  describe('bad files give a clear error', () => {
    const packr = new Packr({ useRecords: false });
    const header = (version = 1): Uint8Array =>
      version === 1
        ? encodeHeader({ format: FORMAT_NAME, version: 1, source: 'test', createdAt: Date.now(), keysEstimate: 3 })
        : encodeItem(0x48, 0, packr.pack({ format: FORMAT_NAME, version }));
    const importBytes = async (name: string, bytes: Uint8Array[]): Promise<CliResult> => {
      const file = join(dir, name);
      writeFileSync(file, Buffer.concat(bytes));
      return cairn(['import', '--port', String(target.port), file, '--replace', '--quiet']);
    };
    const records = (list: unknown[]): Uint8Array => Buffer.concat(list.map((r) => packr.pack(r)));
    const good = (i: number): unknown => ({ key: Buffer.from(`bad:${i}`), value: Buffer.from('x'), flags: 0, expiresAt: 0 });

    it('a corrupt byte: the block and its records are named', async () => {
      const bytes = Buffer.from(readFileSync(join(dir, 'dump.cairn')));
      bytes[Math.floor(bytes.length / 2)] ^= 0x55;
      const r = await importBytes('corrupt.cairn', [bytes]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cairn import: block \d+ \(records \d+–\d+\) is corrupt: checksum mismatch/);
    });

    it('a truncated file', async () => {
      const bytes = readFileSync(join(dir, 'dump.cairn'));
      const r = await importBytes('truncated.cairn', [bytes.subarray(0, Math.floor(bytes.length * 0.7))]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the file is truncated: a block at byte \d+ needs \d+ bytes, \d+ remain, after record \d+/);
      const gz = readFileSync(join(dir, 'dump.cairn.gz'));
      const r2 = await importBytes('truncated.cairn.gz', [gz.subarray(0, Math.floor(gz.length * 0.7))]);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toMatch(/truncated/);
    });

    it('a file cut between blocks (no end record)', async () => {
      const r = await importBytes('noend.cairn', [header(), encodeItem(TAG_BLOCK, 2, records([good(1), good(2)]))]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the file is truncated: it ends after record 2 (block 1) without its end record');
    });

    it('a bad record with a valid checksum names the record', async () => {
      const block = records([good(1), good(2), { key: 7, value: Buffer.from('x') }, good(4)]);
      const r = await importBytes('badrecord.cairn', [header(), encodeItem(TAG_BLOCK, 4, block), encodeTrailer({ records: 4, finishedAt: 0 })]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('record 3 is corrupt: key is missing or not bytes');
    });

    it('a key twice: the later record wins; a value the target refuses is listed, the rest imported', async () => {
      const rec = (key: string, value: Buffer | string, flags = 0): unknown => ({ key: Buffer.from(key), value: Buffer.from(value), flags, expiresAt: 0 });
      const b1 = records([rec('dup:a', 'first'), rec('dup:b', 'one', 1), rec('dup:a', 'second'), rec('dup:c', Buffer.alloc(2 * 1024 * 1024))]);
      const b2 = records([rec('dup:b', 'two', 2), rec('dup:d', 'dee')]);
      const r = await importBytes('dups.cairn', [
        header(),
        encodeItem(TAG_BLOCK, 4, b1),
        encodeItem(TAG_BLOCK, 2, b2),
        encodeTrailer({ records: 6, finishedAt: 0 }),
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the target refused 1 keys');
      expect(r.stderr).toMatch(/"dup:c": .*CAIRN_ERR_VALUE_TOO_LARGE/);
      expect(r.stdout).toContain('1 records were superseded by a later record of the same key');
      expect(await dst.getString('dup:a')).toBe('second');
      expect(await dst.getString('dup:b')).toBe('two');
      expect((await dst.getMeta('dup:b'))!.flags).toBe(2);
      expect(await dst.getString('dup:d')).toBe('dee');
      expect(await dst.get('dup:c')).toBeNull();
      await dst.mdel(['dup:a', 'dup:b', 'dup:d']);
    });

    it('records whose expiry has passed are skipped', async () => {
      const now = Date.now();
      const block = records([
        { key: Buffer.from('exp:gone'), value: Buffer.from('x'), flags: 0, expiresAt: now - 1000 },
        { key: Buffer.from('exp:stays'), value: Buffer.from('y'), flags: 3, expiresAt: now + 600_000 },
      ]);
      const r = await importBytes('expired.cairn', [header(), encodeItem(TAG_BLOCK, 2, block), encodeTrailer({ records: 2, finishedAt: now })]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('1 expired records were skipped');
      expect(await dst.get('exp:gone')).toBeNull();
      expect(await dst.getMeta('exp:stays')).toMatchObject({ flags: 3, expiresAt: now + 600_000 });
      await dst.del('exp:stays');
    });

    it('another format version, and not an export at all', async () => {
      const r = await importBytes('v3.cairn', [header(3), encodeTrailer({ records: 0, finishedAt: 0 })]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the file is in cairn export format version 3; this cairn reads versions 1 and 2');
      const r2 = await importBytes('text.cairn', [Buffer.from('hello, this is not an export file at all\n')]);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain('not a cairn export file');
      const r3 = await cairn(['import', '--port', String(target.port), join(dir, 'missing.cairn')]);
      expect(r3.code).toBe(1);
      expect(r3.stderr).toContain('cannot read');
    });
  });
});

describe('migration', () => {
  let other: TestServer;
  let c: CairnClient;
  beforeAll(async () => {
    other = await startServer();
    c = await createClient({ port: other.port, timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await c?.close();
    await other?.stop();
  });

  it('from redis: string keys with their TTLs; collections too; other types are reported and skipped', async () => {
    let redisServer: ServiceHandle | null = null;
    let redis: Redis | null = null;
    try {
      redisServer = await startRedisServer();
      redis = new Redis({ port: redisServer.port, lazyConnect: true });
      await redis.connect();
      const pipe = redis.pipeline();
      for (let i = 0; i < 2000; i++) {
        if (i % 4 === 0) pipe.set(`str:${i}`, `value ${i}`, 'PX', 600_000 + i);
        else pipe.set(`str:${i}`, `value ${i}`);
      }
      pipe.set(Buffer.from([0x6b, 0xff, 0x00]), Buffer.from([1, 2, 3]));
      pipe.hset('a-hash', 'f', 'v');
      pipe.rpush('a-list', 'x', 'y');
      pipe.xadd('a-stream', '*', 'f', 'v');
      await pipe.exec();

      const r = await cairn(['import', '--from', `redis://127.0.0.1:${redisServer.port}`, '--port', String(other.port)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('imported 2,003 keys from redis');
      expect(r.stdout).toContain('of them 2 collections (hash: 1, list: 1)');
      expect(r.stdout).toContain('skipped 1 keys of other types (stream: 1)');
      expect(r.stderr).toMatch(/import from redis 127\.0\.0\.1:\d+: [\d,]+ \/ ~2,004 keys/);

      expect((await c.count()).total).toBe(2003);
      for (let i = 0; i < 2000; i += 1) {
        const meta = await c.getMeta(`str:${i}`);
        expect(meta, `str:${i}`).not.toBeNull();
        expect(Buffer.from(meta!.value).toString()).toBe(`value ${i}`);
        if (i % 4 === 0) expect(meta!.expiresAt).toBe(await redis.pexpiretime(`str:${i}`));
        else expect(meta!.expiresAt).toBe(0);
      }
      expect(Buffer.from((await c.get(Buffer.from([0x6b, 0xff, 0x00])))!)).toEqual(Buffer.from([1, 2, 3]));

      // --match copies a subset
      await c.flush();
      const m = await cairn(['import', '--from', `redis://127.0.0.1:${redisServer.port}`, '--match', 'str:1??', '--port', String(other.port), '--quiet']);
      expect(m.code, m.stderr).toBe(0);
      expect((await c.count()).total).toBe(100);
      expect(await c.getString('str:150')).toBe('value 150');
    } finally {
      redis?.disconnect();
      await redisServer?.stop();
      await c.flush();
    }
  });

  it('from memcached: values with flags and exptimes', async () => {
    let mc: ServiceHandle | null = null;
    try {
      mc = await startMemcached();
      const now = Math.floor(Date.now() / 1000);
      const expected = new Map<string, { value: string; flags: number; expiresAt: number }>();
      let script = '';
      for (let i = 0; i < 1000; i++) {
        const key = i === 0 ? 'weird%key/ü' : `mc:${i}`;
        const value = `memcached value ${i}`;
        const flags = i % 5 === 0 ? i * 1000 : 0;
        // 0 never, a relative exptime (seconds), or an absolute Unix time
        const exptime = i % 3 === 0 ? 0 : i % 3 === 1 ? 3600 : now + 7200;
        const expiresAt = exptime === 0 ? 0 : exptime === 3600 ? (now + 3600) * 1000 : exptime * 1000;
        expected.set(key, { value, flags, expiresAt });
        script += `set ${key} ${flags} ${exptime} ${Buffer.byteLength(value)}\r\n${value}\r\n`;
      }
      await new Promise<void>((resolve, reject) => {
        const s = connect({ port: mc!.port, host: '127.0.0.1' });
        let got = '';
        s.on('data', (d: Buffer) => {
          got += d.toString();
          if ((got.match(/STORED\r\n/g) ?? []).length === 1000) {
            s.end();
            resolve();
          } else if (/ERROR/.test(got)) reject(new Error(got));
        });
        s.on('error', reject);
        s.write(script);
      });

      const r = await cairn(['import', '--from', `memcached://127.0.0.1:${mc.port}`, '--port', String(other.port)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('imported 1,000 keys from memcached');
      expect((await c.count()).total).toBe(1000);
      for (const [key, want] of expected) {
        const meta = await c.getMeta(key);
        expect(meta, key).not.toBeNull();
        expect(Buffer.from(meta!.value).toString()).toBe(want.value);
        expect(meta!.flags).toBe(want.flags);
        if (want.expiresAt === 0) expect(meta!.expiresAt).toBe(0);
        else expect(Math.abs(meta!.expiresAt - want.expiresAt), key).toBeLessThanOrEqual(2000);
      }
    } finally {
      await mc?.stop();
    }
  });

  it('an unreachable or unknown source is a clear error', async () => {
    const r = await cairn(['import', '--from', 'redis://127.0.0.1:1', '--port', String(other.port)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cairn import: cannot connect to redis 127\.0\.0\.1:1/);
    const u = await cairn(['import', '--from', 'mongodb://x', '--port', String(other.port)]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain('unknown scheme mongodb:');
  });
});
