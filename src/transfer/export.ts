/**
 * `cairn export`: stream every key of a running cairn (both tiers) into an export file.
 *
 * SCAN pages come in order; the values (GETMETA, auto-pipelined a page at a time, a few pages in
 * flight) follow; records are packed into blocks that the codec pool encodes (and gzips, for .gz)
 * while the next pages are fetched; blocks are written in scan order.
 */
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createClient, type CairnClient, type EntryMeta } from '../client/index.js';
import { parseScanCursor } from '../native/merge.js';
import { encodeHeader, encodeTrailer } from './codec.js';
import { FORMAT_NAME, FORMAT_VERSION, TransferError } from './format.js';
import { packRecords, type TransferRecord } from './packed.js';
import { createCodecPool, defaultWorkers } from './pool.js';
import { Progress, type ProgressStream } from './progress.js';
import { byTypeName } from './writer.js';

export interface ExportOptions {
  host?: string;
  port?: number;
  password?: string;
  /** the file to write; '-' for stdout. Written as FILE.partial, renamed when complete. */
  out: string;
  /** gzip the stream (default: when out ends in .gz) */
  gzip?: boolean;
  /** gzip level 1–9 (default 6) */
  gzipLevel?: number;
  /** codec worker threads; 0 encodes on the main thread (default: min(4, cores - 1)) */
  workers?: number;
  /** keys per SCAN page (default 1000) */
  pageSize?: number;
  /** SCAN pages whose values are being fetched at once, over all shards (default 8; at least 2 per shard) */
  depth?: number;
  /** records per block (default 2000; a block also closes at 4 MiB) */
  blockRecords?: number;
  /** distinct keys remembered per shard to drop the keys a scan returns twice (default 2,000,000) */
  dedupeLimit?: number;
  progress?: boolean;
  stderr?: ProgressStream;
}

export interface ExportSummary {
  file: string;
  records: number;
  /** keys the scan returned more than once, written once */
  duplicates: number;
  /** keys the scan returned that were gone (deleted or expired) when their value was read */
  vanished: number;
  /** of the records, the collections by Redis type name (hash, list, set, zset) */
  collections: Record<string, number>;
  /** true when a shard had more keys than dedupeLimit: later duplicates, if any, are in the file twice */
  dedupeOverflow: boolean;
  keysEstimate: number;
  bytes: number;
  ms: number;
  workers: number;
}

const BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Remembers the keys one shard's scan returned, to drop the ones it returns twice (a key in both
 * tiers). Bounded: past `limit` keys it stops remembering, and a later duplicate is written twice,
 * which an import handles (the later record, read later, wins).
 */
class Dedupe {
  private readonly seen = new Set<string>();
  duplicates = 0;
  overflow = false;

  constructor(private readonly limit: number) {}

  filter(keys: Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const k of keys) {
      const id = Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1');
      if (this.seen.has(id)) {
        this.duplicates++;
        continue;
      }
      if (this.seen.size < this.limit) this.seen.add(id);
      else this.overflow = true;
      out.push(k);
    }
    return out;
  }
}

export async function exportCairn(options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const toStdout = options.out === '-';
  const gzip = options.gzip ?? options.out.endsWith('.gz');
  const gzipLevel = options.gzipLevel ?? 6;
  const workers = options.workers ?? defaultWorkers();
  const pageSize = options.pageSize ?? 1000;
  const depth = options.depth ?? 8;
  const blockRecords = options.blockRecords ?? 2000;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 7379;

  const pool = createCodecPool(workers);
  let client: CairnClient;
  try {
    client = await createClient({ host, port, password: options.password, name: 'cairn-export', timeoutMs: 60_000, reconnect: false });
  } catch (err) {
    await pool.close();
    throw err;
  }
  const partial = toStdout ? '' : `${options.out}.partial`;
  let stream: Writable | null = null;
  let complete = false;
  const progress = new Progress({ label: 'export', stream: options.stderr, enabled: options.progress !== false });
  try {
    const info = client.serverInfo!;
    const shards = info.shards;
    const keysEstimate = (await client.count()).total;
    progress.setTotal(keysEstimate);

    let streamError: Error | null = null;
    stream = toStdout ? process.stdout : createWriteStream(partial);
    stream.on('error', (err: Error) => (streamError ??= err));
    if (!toStdout) {
      try {
        await once(stream, 'open');
      } catch (err) {
        throw new TransferError(`cannot write ${partial}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    let bytes = 0;
    const out = stream;
    const write = async (chunk: Uint8Array): Promise<void> => {
      if (streamError) throw streamError;
      bytes += chunk.length;
      if (!out.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off('drain', done);
            out.off('error', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
        });
      }
      if (streamError) throw streamError;
    };
    const frame = (item: Uint8Array): Uint8Array => (gzip ? gzipSync(item, { level: gzipLevel }) : item);

    await write(
      frame(
        encodeHeader({
          format: FORMAT_NAME,
          version: FORMAT_VERSION,
          source: `cairn ${info.serverVersion} at ${host}:${port}`,
          createdAt: Date.now(),
          keysEstimate,
        }),
      ),
    );

    const dedupeLimit = options.dedupeLimit ?? 2_000_000;
    let duplicates = 0;
    let dedupeOverflow = false;
    let records = 0;
    let vanished = 0;
    const collections: Record<number, number> = {};
    let block: TransferRecord[] = [];
    let blockBytes = 0;
    const blocks: Promise<Uint8Array>[] = [];
    const maxBlocks = Math.max(2, workers * 2);

    // Blocks are written one at a time, in the order they were closed.
    let draining: Promise<void> = Promise.resolve();
    const drainBlocks = (keep: number): Promise<void> =>
      (draining = draining.then(async () => {
        while (blocks.length > keep) await write(await blocks.shift()!);
      }));
    const closeBlock = async (): Promise<void> => {
      if (block.length === 0) return;
      const packed = packRecords(block);
      records += block.length;
      block = [];
      blockBytes = 0;
      const p = pool.encode({ packed, gzipLevel: gzip ? gzipLevel : -1 });
      p.catch(() => {}); // awaited in order by drainBlocks
      blocks.push(p);
      if (blocks.length > maxBlocks) await drainBlocks(maxBlocks);
    };
    const consume = async (keys: Uint8Array[], metas: (EntryMeta | null)[]): Promise<void> => {
      for (let i = 0; i < keys.length; i++) {
        const m = metas[i];
        if (m === null) {
          vanished++;
          continue;
        }
        // a collection is its encoding with its type (format version 2)
        block.push({ key: keys[i], value: m.value, flags: m.flags, expiresAt: Number(m.expiresAt), type: m.type ?? 0 });
        if (m.type) collections[m.type] = (collections[m.type] ?? 0) + 1;
        blockBytes += keys[i].length + m.value.length;
        if (block.length >= blockRecords || blockBytes >= BLOCK_BYTES) await closeBlock();
      }
      progress.setNote(vanished > 0 ? `${vanished} vanished` : '');
      progress.update(records + block.length);
    };

    // Every shard is scanned at once, each from its own cursor "<shard>:0" (docs/protocol.md, Scan):
    // one shard's scan stops where the server's cursor moves on to the next shard.
    const depthPerShard = Math.max(2, Math.ceil(depth / shards));
    const scanShard = async (shard: number): Promise<void> => {
      const dedupe = new Dedupe(dedupeLimit);
      const pages: Promise<[Uint8Array[], (EntryMeta | null)[]]>[] = [];
      let cursor = `${shard}:0`;
      try {
        for (;;) {
          const page = await client.scan(cursor, pageSize);
          const keys = dedupe.filter(page.keys);
          const metas = Promise.all(keys.map((k) => client.getMeta(k)));
          metas.catch(() => {}); // awaited in order below
          pages.push(metas.then((m) => [keys, m]));
          while (pages.length >= depthPerShard) await consume(...(await pages.shift()!));
          if (page.cursor === '0' || parseScanCursor(page.cursor, shards)?.shard !== shard) break;
          cursor = page.cursor;
        }
        while (pages.length > 0) await consume(...(await pages.shift()!));
      } finally {
        duplicates += dedupe.duplicates;
        dedupeOverflow ||= dedupe.overflow;
      }
    };
    await Promise.all(Array.from({ length: shards }, (_, s) => scanShard(s)));
    await closeBlock();
    await drainBlocks(0);
    await write(frame(encodeTrailer({ records, finishedAt: Date.now() })));

    if (!toStdout) {
      const ws = stream as WriteStream;
      await new Promise<void>((resolve, reject) => {
        if (streamError) return reject(streamError);
        ws.once('error', reject);
        ws.once('finish', resolve);
        ws.end();
      });
      renameSync(partial, options.out);
    }
    complete = true;
    progress.finish(records);
    return {
      file: options.out,
      records,
      duplicates,
      vanished,
      collections: byTypeName(collections),
      dedupeOverflow,
      keysEstimate,
      bytes,
      ms: performance.now() - started,
      workers: pool.workers,
    };
  } finally {
    progress.interrupt();
    await client.close();
    await pool.close();
    if (!complete && !toStdout && stream) {
      (stream as WriteStream).destroy();
      rmSync(partial, { force: true });
    }
  }
}
