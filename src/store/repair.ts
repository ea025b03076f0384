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
  checkRecord,
  DATA_END,
  DATA_START,
  decodeMeta,
  encodeMeta,
  EXPIRY_START,
  expiryKey,
  FORMAT_VERSION,
  HEADER_SIZE,
  META_KEY,
  PREFIX_EXPIRY,
  recordBytes,
  recordCas,
  recordExpiresAt,
  recordSeq,
} from './format.js';

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
      `${dir} has LevelDB files (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', ...' : ''}) but no CURRENT file; ` +
        repairAdvice(dir),
    );
  }
}

export interface RepairReport {
  dir: string;
  items: number;
  bytes: number;
  /** data records that failed their header check and were removed */
  badRecords: number;
}

const CAS_RESERVATION = 1 << 20;

/** Repair one shard directory in place (the server must not be running on it). */
export async function repairShardDir(dir: string, shard: number): Promise<RepairReport> {
  await ClassicLevel.repair(dir);
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: false });
  try {
    const old = await db.get(META_KEY);
    const meta = old ? decodeMeta(old) : null;
    if (meta && meta.shard !== shard) {
      throw new CairnError(ErrorCode.DATA_DIR, `${dir} holds shard ${meta.shard}, not shard ${shard}`);
    }
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
    for await (const [k, rec] of db.iterator({ gte: DATA_START, lt: DATA_END })) {
      const key = k.subarray(1);
      if (!checkRecord(rec)) {
        batch.del(k);
        badRecords++;
      } else {
        items++;
        bytes += recordBytes(key.length, rec.length - HEADER_SIZE);
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
    batch.put(
      META_KEY,
      encodeMeta({ format: FORMAT_VERSION, shard, casHigh: maxCas + CAS_RESERVATION, items, bytes, accessSeq: maxSeq, cleanShutdown: true, accessIndexed: true }),
    );
    await batch.write({ sync: true });
    return { dir, items, bytes, badRecords };
  } finally {
    await db.close();
  }
}

/** Repair every shard directory of a data directory (shard-<i>). */
export async function repairDataDir(data: string, log: (line: string) => void): Promise<RepairReport[]> {
  const shards = readdirSync(data)
    .map((f) => /^shard-(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (shards.length === 0) throw new CairnError(ErrorCode.DATA_DIR, `${data} has no shard-<i> directories to repair`);
  const out: RepairReport[] = [];
  for (const shard of shards) {
    const dir = join(data, `shard-${shard}`);
    const r = await repairShardDir(dir, shard);
    log(`cairn repair: ${dir}: ${r.items} records (${r.bytes} bytes) kept${r.badRecords ? `, ${r.badRecords} unreadable records removed` : ''}`);
    out.push(r);
  }
  return out;
}
