/**
 * Damaged shard directories: detection before LevelDB opens one, and `cairn repair`.
 *
 * LevelDB recovers by itself from a torn write at the end of its log (a crash mid-write). What it
 * cannot open (a damaged MANIFEST, a missing table file) fails with "Corruption: ..."; cairn then
 * refuses to start and names the directory and `cairn repair`. One case LevelDB would get silently
 * wrong is guarded here: a directory whose CURRENT file is missing but that still holds tables and
 * logs would be opened as a *new* database (with createIfMissing) and its old tables deleted as
 * obsolete; cairn refuses it instead.
 *
 * `cairn repair --data <dir>` runs LevelDB's RepairDB on every shard directory (it rebuilds the
 * MANIFEST from the table and log files and keeps every record it can read), then rebuilds cairn's
 * own bookkeeping from the data records that survived: the access and expiry indexes, the exact cold
 * item and byte counts, the CAS ceiling (above every CAS on disk) and the access sequence.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { CairnError, ErrorCode } from '../errors.js';
import {
  ACCESS_END,
  ACCESS_START,
  accessKey,
  AFTER_META,
  checkRecord,
  CHUNK_END,
  CHUNK_START,
  DATA_END,
  DATA_START,
  decodeMeta,
  encodeMeta,
  EXPIRY_START,
  expiryKey,
  FORMAT_VERSION,
  recordValueLength,
  META_KEY,
  parseChunkKey,
  PREFIX_EXPIRY,
  recordBytes,
  recordCas,
  recordChunked,
  recordExpiresAt,
  recordSeq,
} from './format.js';
import { type OwnedChunks, ownedChunks, owns } from './chunk-records.js';

/** What to tell an operator about a shard directory LevelDB could not open. */
export function repairAdvice(dir: string): string {
  return (
    `the LevelDB database in ${dir} is damaged. Stop cairn, back up the data directory, then run ` +
    `\`cairn repair --data <data directory>\` (LevelDB RepairDB: it keeps every record it can still read ` +
    `and rebuilds cairn's indexes), and start cairn again`
  );
}

/** Throws CAIRN_ERR_DATA_DIR for a directory LevelDB would wrongly treat as new (no CURRENT, old files). */
export function checkShardDir(dir: string): void {
  if (!existsSync(dir) || existsSync(join(dir, 'CURRENT'))) return;
  const leftovers = readdirSync(dir).filter((f) => /^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$/.test(f));
  if (leftovers.length > 0) {
    throw new CairnError(
      ErrorCode.DATA_DIR,
      `${dir} has LevelDB files (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', ...' : ''}) but no CURRENT file; ` + repairAdvice(dir),
    );
  }
}

export interface RepairReport {
  dir: string;
  items: number;
  bytes: number;
  /** data records that failed their header check and were removed */
  badRecords: number;
  /** chunk records of collections in chunks that no data record owned, removed */
  orphanChunks: number;
}

const CAS_RESERVATION = 1 << 20;

/** Repair one shard directory in place (the server must not be running on it). */
export async function repairShardDir(dir: string, shard: number): Promise<RepairReport> {
  await ClassicLevel.repair(dir);
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: false });
  try {
    return { dir, ...(await rebuildBookkeeping(db, dir, shard)) };
  } finally {
    await db.close();
  }
}

/**
 * Rebuilds cairn's bookkeeping of an open shard database from its data records: both indexes, the
 * exact counts, the CAS ceiling and the access sequence; removes records that fail their header
 * check. One pass over the data records. Used by `cairn repair` and by an open that cannot trust the
 * meta record's counts.
 */
export async function rebuildBookkeeping(
  db: ClassicLevel<Buffer, Buffer>,
  dir: string,
  shard: number,
): Promise<{ items: number; bytes: number; badRecords: number; orphanChunks: number }> {
  const old = await db.get(META_KEY);
  const meta = old ? decodeMeta(old) : null;
  if (meta && meta.shard !== shard) {
    throw new CairnError(ErrorCode.DATA_DIR, `${dir} holds shard ${meta.shard}, not shard ${shard}`);
  }
  // a flush cut short by a crash: finish it, as opening the shard would
  if (meta?.flushing) await db.clear({ gte: AFTER_META });
  // Drop both indexes; they are rebuilt from the data records below.
  await db.clear({ gte: ACCESS_START, lt: ACCESS_END });
  await db.clear({ gte: EXPIRY_START, lt: Buffer.from([PREFIX_EXPIRY + 1]) });
  let items = 0;
  let bytes = 0;
  let badRecords = 0;
  let maxSeq = meta?.accessSeq ?? 0;
  let maxCas = meta?.casHigh ?? 0;
  let batch = db.batch();
  let ops = 0;
  /** the records in chunks, by key: the chunks each owns (the others are removed below) */
  const owners = new Map<string, OwnedChunks>();
  for await (const [k, rec] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
    const key = k.subarray(1);
    if (!checkRecord(rec)) {
      batch.del(k);
      badRecords++;
    } else {
      if (recordChunked(rec)) owners.set(key.toString('latin1'), ownedChunks(rec));
      items++;
      bytes += recordBytes(key.length, recordValueLength(rec));
      const seq = recordSeq(rec);
      maxSeq = Math.max(maxSeq, seq);
      maxCas = Math.max(maxCas, recordCas(rec));
      batch.put(accessKey(seq, key), Buffer.alloc(0));
      const exp = recordExpiresAt(rec);
      if (exp !== 0) batch.put(expiryKey(exp, key), Buffer.alloc(0));
    }
    if (++ops >= 4096) {
      await batch.write();
      batch = db.batch();
      ops = 0;
    }
  }
  // chunks whose record is gone (removed above, or lost with the damage) or no longer owns them
  let orphanChunks = 0;
  for await (const k of db.keys({ gte: CHUNK_START, lt: CHUNK_END })) {
    const { key, n } = parseChunkKey(k);
    const owner = owners.get(key.toString('latin1'));
    if (owner !== undefined && owns(owner, n)) continue;
    batch.del(k);
    orphanChunks++;
    if (++ops >= 4096) {
      await batch.write();
      batch = db.batch();
      ops = 0;
    }
  }
  batch.put(
    META_KEY,
    encodeMeta({
      format: FORMAT_VERSION,
      shard,
      casHigh: maxCas + CAS_RESERVATION,
      items,
      bytes,
      accessSeq: maxSeq,
      cleanShutdown: true,
      accessIndexed: true,
      flushing: false,
      flushMarked: true,
    }),
  );
  await batch.write({ sync: true });
  return { items, bytes, badRecords, orphanChunks };
}

/** Does a shard directory hold any LevelDB file at all (a database RepairDB can work on)? */
function hasLevelDbFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => f === 'CURRENT' || /^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$/.test(f));
}

/**
 * Repair every shard directory of a data directory (shard-<i>, i < shards). A shard whose directory
 * is missing or holds no LevelDB file has nothing to repair: its loss is reported, and it is returned
 * in `lost` (it starts empty).
 */
export async function repairDataDir(data: string, shards: number, log: (line: string) => void): Promise<{ reports: RepairReport[]; lost: number[] }> {
  const reports: RepairReport[] = [];
  const lost: number[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const dir = join(data, `shard-${shard}`);
    if (!hasLevelDbFiles(dir)) {
      log(`cairn repair: ${dir}: no LevelDB database left; shard ${shard}'s keys are lost and it starts empty`);
      lost.push(shard);
      continue;
    }
    const r = await repairShardDir(dir, shard);
    log(
      `cairn repair: ${dir}: ${r.items} records (${r.bytes} bytes) kept${r.badRecords ? `, ${r.badRecords} unreadable records removed` : ''}${r.orphanChunks ? `, ${r.orphanChunks} chunks of lost collections removed` : ''}`,
    );
    reports.push(r);
  }
  return { reports, lost };
}
