/**
 * `cairn import --from redis://...` and `--from memcached://...`: copy a running Redis or memcached
 * into cairn over their own text protocols, keeping TTLs (as absolute times) and memcached flags.
 */
import { TransferError } from './format.js';
import { McError, MemcacheTextClient } from './memcache-client.js';
import type { RecordBatch, TransferRecord } from './packed.js';
import { Progress } from './progress.js';
import { RespClient, RespReplyError, type RespValue } from './resp-client.js';
import { openTarget, type ImportSummary, type TargetOptions } from './import.js';
import { COLLECTION_TYPES, readCollections } from './redis-collections.js';
import { byTypeName } from './writer.js';

export interface MigrateOptions extends TargetOptions {
  /** redis://[user:password@]host[:port][/db] or memcached://host[:port] */
  from: string;
  /** Redis SCAN MATCH pattern (glob) */
  match?: string;
  /** keys per SCAN page / get batch (default 1000 for Redis, 100 for memcached) */
  batch?: number;
}

function toBatch(records: TransferRecord[]): RecordBatch {
  const n = records.length;
  const batch: RecordBatch = {
    count: n,
    keys: new Array(n),
    values: new Array(n),
    flags: new Uint32Array(n),
    expiresAt: new Float64Array(n),
    types: new Uint8Array(n),
    note: 0,
  };
  for (let i = 0; i < n; i++) {
    batch.keys[i] = records[i].key;
    batch.values[i] = records[i].value;
    batch.flags[i] = records[i].flags;
    batch.expiresAt[i] = records[i].expiresAt;
    batch.types[i] = records[i].type ?? 0;
  }
  return batch;
}

export function parseSourceUrl(from: string): { kind: 'redis' | 'memcached'; url: URL } {
  let url: URL;
  try {
    url = new URL(from);
  } catch {
    throw new TransferError(`--from ${from}: not a URL (redis://host:port or memcached://host:port)`);
  }
  if (url.protocol === 'redis:') return { kind: 'redis', url };
  if (url.protocol === 'memcached:' || url.protocol === 'memcache:') return { kind: 'memcached', url };
  if (url.protocol === 'rediss:')
    throw new TransferError('--from rediss://: TLS is not supported; migrate through a local TLS tunnel (e.g. stunnel) with redis://');
  throw new TransferError(`--from ${from}: unknown scheme ${url.protocol} (redis:// or memcached://)`);
}

export async function migrate(options: MigrateOptions): Promise<ImportSummary> {
  const { kind, url } = parseSourceUrl(options.from);
  return kind === 'redis' ? migrateRedis(options, url) : migrateMemcached(options, url);
}

/** Keys a scan returned twice are written twice (harmless); a bounded set drops most repeats. */
class SeenKeys {
  private set = new Set<string>();
  constructor(private readonly limit = 2_000_000) {}
  fresh(key: Uint8Array): boolean {
    const id = Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
    if (this.set.has(id)) return false;
    if (this.set.size < this.limit) this.set.add(id);
    return true;
  }
}

async function migrateRedis(options: MigrateOptions, url: URL): Promise<ImportSummary> {
  const started = performance.now();
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = url.port ? Number(url.port) : 6379;
  const db = url.pathname.length > 1 ? url.pathname.slice(1) : '';
  if (db !== '' && !/^[0-9]+$/.test(db)) throw new TransferError(`--from: the path of a redis URL is a database number, got "${db}"`);
  const redis = await RespClient.connect(host, port);
  let target: Awaited<ReturnType<typeof openTarget>> | null = null;
  const progress = new Progress({ label: `import from redis ${host}:${port}`, stream: options.stderr, enabled: options.progress !== false });
  try {
    if (url.password || url.username) {
      const pass = decodeURIComponent(url.password);
      const user = decodeURIComponent(url.username);
      await redis.call(user ? ['AUTH', user, pass] : ['AUTH', pass]);
    }
    if (db !== '') await redis.call(['SELECT', db]);
    const size = await redis.call(['DBSIZE']);
    progress.setTotal(typeof size === 'number' ? size : 0);
    // PEXPIRETIME (Redis 7) gives the absolute expiry; older servers give PTTL, read against our clock.
    const probe = await redis.send(['PEXPIRETIME', '__cairn_import_probe__']);
    const absolute = !(probe instanceof RespReplyError);

    target = await openTarget(options, 'cairn-import-redis');
    const { writer } = target;
    const skippedTypes: Record<string, number> = {};
    let skipped = 0;
    let records = 0;
    let vanished = 0;
    const seen = new SeenKeys();
    const count = String(options.batch ?? 1000);
    let cursor = '0';
    do {
      const args = ['SCAN', cursor, 'COUNT', count];
      if (options.match !== undefined) args.push('MATCH', options.match);
      const reply = (await redis.call(args)) as [Buffer, Buffer[]];
      cursor = reply[0].toString('latin1');
      const keys = reply[1].filter((k) => seen.fresh(k));
      const gets = keys.map((k) => redis.send(['GET', k]));
      const ttls = keys.map((k) => redis.send([absolute ? 'PEXPIRETIME' : 'PTTL', k]));
      const [values, expiries] = await Promise.all([Promise.all(gets), Promise.all(ttls)]);
      const now = Date.now();
      const batch: TransferRecord[] = [];
      // keys GET answered WRONGTYPE for, with their expiry: collections, or types cairn has not
      const other: { key: Buffer; expiresAt: number }[] = [];
      for (let i = 0; i < keys.length; i++) {
        const v: RespValue = values[i];
        const t: RespValue = expiries[i];
        if (t instanceof RespReplyError) throw new TransferError(`redis ${absolute ? 'PEXPIRETIME' : 'PTTL'}: ${t.message}`);
        const ms = Number(t);
        const expiresAt = ms < 0 ? 0 : absolute ? ms : now + ms;
        if (v instanceof RespReplyError) {
          if (v.code === 'WRONGTYPE') {
            other.push({ key: keys[i], expiresAt });
            continue;
          }
          throw new TransferError(`redis GET ${keys[i].toString('latin1')}: ${v.message}`);
        }
        if (v === null || t === -2) {
          vanished++;
          continue;
        }
        batch.push({ key: keys[i], value: v as Buffer, flags: 0, expiresAt });
      }
      if (other.length > 0) {
        const names = await Promise.all(other.map((o) => redis.send(['TYPE', o.key])));
        const wanted: { key: Buffer; expiresAt: number }[] = [];
        const wantedTypes: number[] = [];
        for (let i = 0; i < other.length; i++) {
          const name = typeof names[i] === 'string' ? (names[i] as string) : 'unknown';
          const type = COLLECTION_TYPES[name];
          if (type !== undefined) {
            wanted.push(other[i]);
            wantedTypes.push(type);
          } else if (name === 'none' || name === 'string') {
            // gone, or replaced by a string after its GET: as a key deleted while the walk ran
            vanished++;
          } else {
            skippedTypes[name] = (skippedTypes[name] ?? 0) + 1;
            skipped++;
          }
        }
        const read = await readCollections(
          redis,
          wanted.map((w) => w.key),
          wantedTypes,
        );
        for (let i = 0; i < wanted.length; i++) {
          const obj = read[i];
          if (obj === null) vanished++;
          else batch.push({ key: wanted[i].key, value: obj.encode(), flags: 0, expiresAt: wanted[i].expiresAt, type: obj.type });
        }
      }
      records += batch.length;
      if (batch.length > 0) await writer.write(toBatch(batch));
      const collections = Object.values(writer.collections).reduce((n, c) => n + c, 0);
      progress.setNote([collections > 0 ? `${collections} collections` : '', skipped > 0 ? `${skipped} skipped` : ''].filter(Boolean).join(', '));
      progress.update(writer.done + skipped);
    } while (cursor !== '0');
    await writer.flush();
    progress.finish(writer.done + skipped);
    return {
      vanished,
      source: `redis ${host}:${port}${db ? `/${db}` : ''}${options.match !== undefined ? ` keys matching ${options.match}` : ''}`,
      records,
      stored: writer.stored,
      existing: writer.existing,
      expired: writer.expired,
      failed: writer.failed,
      failures: writer.failures,
      collections: byTypeName(writer.collections),
      skippedTypes,
      ms: performance.now() - started,
    };
  } finally {
    progress.interrupt();
    redis.close();
    await target?.client.close();
  }
}

/** memcached's uriencode undone: %XX to bytes (keys of the metadump) */
export function percentDecode(text: Buffer): Buffer {
  if (!text.includes(37)) return Buffer.from(text);
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === 37 && i + 2 < text.length) {
      const hex = text.toString('latin1', i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out[n++] = parseInt(hex, 16);
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** One metadump line: `key=<urlencoded> exp=<unix s | -1> la=... cas=... fetch=... cls=... size=...` */
export function parseMetadumpLine(line: Buffer): { key: Buffer; exp: number } | null {
  let key: Buffer | null = null;
  let exp = NaN;
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line[i] === 32) {
      if (i > start) {
        const eq = line.indexOf(61, start);
        if (eq > start && eq < i) {
          const name = line.toString('latin1', start, eq);
          if (name === 'key') key = percentDecode(line.subarray(eq + 1, i));
          else if (name === 'exp') exp = Number(line.toString('latin1', eq + 1, i));
        }
      }
      start = i + 1;
    }
  }
  return key !== null && key.length > 0 && Number.isInteger(exp) ? { key, exp } : null;
}

async function migrateMemcached(options: MigrateOptions, url: URL): Promise<ImportSummary> {
  const started = performance.now();
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = url.port ? Number(url.port) : 11211;
  const dump = await MemcacheTextClient.connect(host, port);
  let reader: MemcacheTextClient | null = null;
  let target: Awaited<ReturnType<typeof openTarget>> | null = null;
  const progress = new Progress({ label: `import from memcached ${host}:${port}`, stream: options.stderr, enabled: options.progress !== false });
  try {
    reader = await MemcacheTextClient.connect(host, port);
    let items = 0;
    await reader.lines('stats', (line) => {
      const m = /^STAT curr_items (\d+)/.exec(line.toString('latin1'));
      if (m) items = Number(m[1]);
    });
    progress.setTotal(items);
    target = await openTarget(options, 'cairn-import-memcached');
    const { writer } = target;
    const batchSize = options.batch ?? 100;
    let records = 0;
    let listed = 0;
    let pending: { key: Buffer; exp: number }[] = [];
    const gets: Promise<void>[] = [];
    let failure: Error | null = null;
    const mc = reader;

    const fetch = async (list: { key: Buffer; exp: number }[]): Promise<void> => {
      const values = await mc.get(list.map((e) => e.key));
      const exps = new Map<string, number>();
      for (const e of list) exps.set(e.key.toString('latin1'), e.exp);
      const batch = values.map((v) => {
        const exp = exps.get(v.key.toString('latin1')) ?? -1;
        return { key: v.key, value: v.value, flags: v.flags, expiresAt: exp < 0 ? 0 : exp * 1000 };
      });
      records += batch.length;
      if (batch.length > 0) await writer.write(toBatch(batch));
      progress.update(writer.done);
    };
    const launch = (): void => {
      const list = pending;
      pending = [];
      const p = fetch(list).catch((err: Error) => {
        failure ??= err;
      });
      gets.push(p);
      void p.then(() => {
        gets.splice(gets.indexOf(p), 1);
        if (gets.length < 8) dump.resume();
      });
      if (gets.length >= 8) dump.pause();
    };

    // memcached answers BUSY while another crawl runs: retry for a while.
    for (let attempt = 0; ; attempt++) {
      try {
        await dump.lines('lru_crawler metadump all', (line) => {
          const entry = parseMetadumpLine(line);
          if (entry === null) return;
          listed++;
          pending.push(entry);
          if (pending.length >= batchSize) launch();
        });
        break;
      } catch (err) {
        const busy = err instanceof McError && /\bBUSY\b/.test(err.message);
        if (busy && attempt < 50 && listed === 0) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        if (err instanceof McError) {
          throw new TransferError(`lru_crawler metadump failed (${err.message}); memcached 1.4.31+ with the LRU crawler enabled is needed`);
        }
        throw err;
      }
    }
    if (pending.length > 0) launch();
    while (gets.length > 0) await Promise.all([...gets]);
    if (failure) throw failure;
    await writer.flush();
    progress.finish(writer.done);
    return {
      vanished: listed - records,
      source: `memcached ${host}:${port}`,
      records,
      stored: writer.stored,
      existing: writer.existing,
      expired: writer.expired,
      failed: writer.failed,
      failures: writer.failures,
      ms: performance.now() - started,
    };
  } finally {
    progress.interrupt();
    dump.close();
    reader?.close();
    await target?.client.close();
  }
}
