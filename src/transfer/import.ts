/**
 * `cairn import FILE`: read an export file (gzip detected by its magic bytes), decode its blocks on
 * the codec pool, and write the records into a running cairn with their flags and absolute expiry.
 */
import { createReadStream, statSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createClient, type CairnClient } from '../client/index.js';
import { decodeHeader, decodeTrailer } from './codec.js';
import { ITEM_PREFIX_SIZE, MAX_BODY, TAG_BLOCK, TAG_END, TAG_HEADER, TransferError, readItemPrefix, tagName, type ExportHeader } from './format.js';
import { unpackRecords } from './packed.js';
import { createCodecPool, defaultWorkers } from './pool.js';
import { Progress, type ProgressStream } from './progress.js';
import { byTypeName, CairnWriter, type ImportMode } from './writer.js';

export interface TargetOptions {
  host?: string;
  port?: number;
  password?: string;
  /**
   * replace: an imported key overwrites the target's key of the same name; nx: the target's key is
   * kept; undefined: refuse to import into a server that holds any key.
   */
  mode?: ImportMode;
  progress?: boolean;
  stderr?: ProgressStream;
}

export interface ImportFileOptions extends TargetOptions {
  file: string;
  /** codec worker threads; 0 decodes on the main thread */
  workers?: number;
}

export interface ImportSummary {
  source: string;
  /** records read from the source */
  records: number;
  stored: number;
  existing: number;
  expired: number;
  failed: number;
  /** records followed by a later record of the same key (the later one was written) */
  superseded?: number;
  /** the first few keys the target refused, with the reason */
  failures: string[];
  /** of the keys stored, the collections by Redis type name (hash, list, set, zset) */
  collections?: Record<string, number>;
  /** migrations: keys skipped because their type has no cairn equivalent, by type */
  skippedTypes?: Record<string, number>;
  /** migrations: keys listed by the source that were gone when their value was read */
  vanished?: number;
  ms: number;
}

/** Connects to the target and applies the import mode's rule about a non-empty server. */
export async function openTarget(options: TargetOptions, name: string): Promise<{ client: CairnClient; writer: CairnWriter }> {
  const client = await createClient({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 7379,
    password: options.password,
    name,
    timeoutMs: 60_000,
    reconnect: false,
  });
  try {
    if (options.mode === undefined) {
      const { total } = await client.count();
      if (total > 0) {
        throw new TransferError(
          `the target server already holds ${total} keys: pass --replace to overwrite keys of the same name, or --nx to keep the ones it has`,
        );
      }
    }
  } catch (err) {
    await client.close();
    throw err;
  }
  return { client, writer: new CairnWriter(client, options.mode ?? 'replace') };
}

interface Item {
  tag: number;
  count: number;
  crc: number;
  body: ArrayBuffer;
  /** byte offset of the item in the (decompressed) stream */
  offset: number;
}

/**
 * Cuts a byte stream into items. `describe` says where the reader is, for messages about a stream
 * that ends in the middle of an item.
 */
async function* readItems(source: AsyncIterable<Buffer>, describe: () => string): AsyncGenerator<Item> {
  const parts: Buffer[] = [];
  let have = 0;
  let offset = 0;
  const it = source[Symbol.asyncIterator]();
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (have < n && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else if (r.value.length > 0) {
        parts.push(r.value);
        have += r.value.length;
      }
    }
    return have >= n;
  };
  const take = (target: Uint8Array): void => {
    let filled = 0;
    while (filled < target.length) {
      const head = parts[0];
      const n = Math.min(head.length, target.length - filled);
      target.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) parts.shift();
      else parts[0] = head.subarray(n);
    }
    have -= target.length;
    offset += target.length;
  };
  for (;;) {
    if (!(await fill(ITEM_PREFIX_SIZE))) {
      if (have === 0) return;
      throw new TransferError(`the file is truncated: it ends ${have} bytes into an item at byte ${offset}, ${describe()}`);
    }
    const prefixBytes = new Uint8Array(ITEM_PREFIX_SIZE);
    take(prefixBytes);
    const prefix = readItemPrefix(prefixBytes, 0);
    const at = offset - ITEM_PREFIX_SIZE;
    if (prefix === null) {
      if (at === 0) throw new TransferError('not a cairn export file (it does not start with an export header)');
      throw new TransferError(`the file is corrupt at byte ${at}: no item starts there, ${describe()}`);
    }
    if (prefix.length > MAX_BODY)
      throw new TransferError(`the file is corrupt at byte ${at}: a ${tagName(prefix.tag)} of ${prefix.length} bytes, ${describe()}`);
    if (!(await fill(prefix.length))) {
      throw new TransferError(`the file is truncated: a ${tagName(prefix.tag)} at byte ${at} needs ${prefix.length} bytes, ${have} remain, ${describe()}`);
    }
    const body = new ArrayBuffer(prefix.length);
    take(new Uint8Array(body));
    yield { tag: prefix.tag, count: prefix.count, crc: prefix.crc, body, offset: at };
  }
}

/**
 * The file's bytes, gunzipped when they start with the gzip magic (a .gz name is not required).
 * '-' reads standard input.
 */
async function openInput(file: string): Promise<{ raw: Readable; source: AsyncIterable<Buffer>; gz: boolean; size: number }> {
  let size = 0;
  let raw: Readable;
  if (file === '-') {
    raw = process.stdin;
  } else {
    try {
      size = statSync(file).size;
    } catch (err) {
      throw new TransferError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  }
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (err) {
    throw new TransferError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const gz = !first.done && first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  async function* bytes(): AsyncGenerator<Buffer> {
    if (first.done) return;
    yield first.value;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  if (!gz) return { raw, source: bytes(), gz, size };
  const gunzip = createGunzip();
  pipeline(Readable.from(bytes()), gunzip, () => {
    /* errors surface where gunzip is read */
  });
  return { raw, source: gunzip, gz, size };
}

export async function importFile(options: ImportFileOptions): Promise<ImportSummary> {
  const started = performance.now();
  const { raw, source, gz, size } = await openInput(options.file);

  let records = 0;
  let blockNo = 0;
  const describe = (): string => `after record ${records}${blockNo > 0 ? ` (block ${blockNo})` : ''}${gz ? ' (offsets are in the decompressed stream)' : ''}`;
  const items = readItems(source, describe);
  const next = async (): Promise<Item | null> => {
    try {
      const r = await items.next();
      return r.done ? null : r.value;
    } catch (err) {
      if (err instanceof TransferError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code.startsWith('Z_') || code === 'ERR_ZLIB') {
        throw new TransferError(`the gzip stream is corrupt or truncated ${describe()}: ${(err as Error).message}`);
      }
      throw new TransferError(`cannot read ${options.file}: ${(err as Error).message}`);
    }
  };

  let header: ExportHeader;
  let target: { client: CairnClient; writer: CairnWriter } | null = null;
  const pool = createCodecPool(options.workers ?? defaultWorkers());
  const progress = new Progress({ label: 'import', stream: options.stderr, enabled: options.progress !== false });
  try {
    const first = await next();
    if (first === null) throw new TransferError(`${options.file === '-' ? 'standard input' : options.file} is empty`);
    if (first.tag !== TAG_HEADER) throw new TransferError('not a cairn export file (it does not start with an export header)');
    header = decodeHeader(new Uint8Array(first.body), first.crc);
    progress.setTotal(header.keysEstimate);

    target = await openTarget(options, 'cairn-import');
    const { writer } = target;
    const decoded: { promise: Promise<ArrayBuffer> }[] = [];
    const maxDecoding = Math.max(2, pool.workers * 2);
    const now = Date.now();
    let consumed = 0;
    const report = (): void => {
      progress.setNote(writer.expired + writer.failed > 0 ? `${writer.expired} expired, ${writer.failed} failed` : '');
      progress.update(writer.done, header.keysEstimate > 0 || gz || size === 0 ? -1 : consumed / size);
    };
    const writeDecoded = async (keep: number): Promise<void> => {
      while (decoded.length > keep) {
        const packed = await decoded.shift()!.promise;
        const batch = unpackRecords(packed);
        writer.expired += batch.note;
        await writer.write(batch);
        report();
      }
    };

    let trailerRecords = -1;
    for (;;) {
      const item = await next();
      if (item === null) break;
      if (trailerRecords >= 0) throw new TransferError(`the file is corrupt: data after the end record at byte ${item.offset}`);
      if (item.tag === TAG_BLOCK) {
        blockNo++;
        const promise = pool.decode({ body: item.body, count: item.count, crc: item.crc, blockNo, firstRecord: records + 1, now, version: header.version });
        promise.catch(() => {}); // awaited in order
        decoded.push({ promise });
        records += item.count;
        consumed = item.offset + ITEM_PREFIX_SIZE + item.body.byteLength;
        await writeDecoded(maxDecoding);
      } else if (item.tag === TAG_END) {
        const trailer = decodeTrailer(new Uint8Array(item.body), item.crc);
        if (trailer.records !== records || item.count !== records) {
          throw new TransferError(`the file is corrupt: its end record counts ${trailer.records} records, the file holds ${records}`);
        }
        trailerRecords = records;
      } else {
        throw new TransferError(`the file is corrupt: a second header at byte ${item.offset}`);
      }
    }
    if (trailerRecords < 0) {
      throw new TransferError(`the file is truncated: it ends after record ${records}${blockNo > 0 ? ` (block ${blockNo})` : ''} without its end record`);
    }
    await writeDecoded(0);
    await writer.flush();
    report();
    progress.finish(writer.done);
    return {
      source: `${options.file} (${header.source}, ${new Date(header.createdAt).toISOString()})`,
      records,
      stored: writer.stored,
      existing: writer.existing,
      expired: writer.expired,
      failed: writer.failed,
      superseded: writer.superseded,
      failures: writer.failures,
      collections: byTypeName(writer.collections),
      ms: performance.now() - started,
    };
  } catch (err) {
    if (target && err instanceof TransferError) {
      await target.writer.flush().catch(() => {});
      err.message += ` — import stopped; ${target.writer.stored} keys had been written`;
    }
    throw err;
  } finally {
    progress.interrupt();
    raw.destroy();
    if (source instanceof Readable) source.destroy();
    void items.return(undefined);
    await pool.close();
    await target?.client.close();
  }
}
