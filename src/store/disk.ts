/**
 * One shard's LevelDB and the bookkeeping that lives beside it: opening the directory (and refusing
 * one that is not this shard's), the meta record (format, shard, CAS ceiling, cold counts, access
 * position, clean-shutdown and flush markers), settling counts a crash left unsure, reads on the read
 * path, committing the batches the writeback queue hands over (built by src/store/batch.ts), the
 * flush clear, reopening after a failed write, and noticing a directory removed under it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { CairnError, ErrorCode } from '../errors.js';
import { BatchBuilder, type HotView } from './batch.js';
import { AFTER_META, dataKey, decodeMeta, encodeMeta, FORMAT_VERSION, META_KEY, type Meta } from './format.js';
import { type Op, PRIOR_UNKNOWN } from './ops.js';
import type { StoreSettings } from './options.js';
import { checkShardDir, rebuildBookkeeping, repairAdvice } from './repair.js';

const CAS_RESERVATION = 1 << 20;
/** ops of a disk batch built between two turns of the event loop */
const BUILD_SLICE = 512;
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An error's message with those of its causes ("Database failed to open: IO error: ..."). */
export function causes(err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}

/** What a batch commit needs of the hot tier beyond the builder's view. */
export interface CommitSource extends HotView {
  /** the engine's CAS counter now: the meta record's ceiling is kept above it */
  casCounter(): number;
}

export class ShardDisk {
  db: ClassicLevel<Buffer, Buffer>;
  // Cold tier bookkeeping (exact: updated with each committed batch, persisted in the meta record).
  items: number;
  bytes: number;
  accessSeq: number;
  casCeiling: number;
  /** the meta record at open said the access index is complete */
  readonly accessIndexedAtOpen: boolean;
  /** a flush's disk clear has not finished: reads skip the disk, the meta record carries the marker */
  clearOwed = false;
  /** a disk batch failed: reopen LevelDB before the next one (clears LevelDB's sticky background error) */
  reopenOwed = false;
  /** set once the directory is found gone: every disk read and batch fails with it from then on */
  lostDir: CairnError | null = null;
  /** Test hook: while set, every disk batch fails when written (see TieredShardStore.injectDiskFault). */
  fault: string | null = null;
  /** LevelDB's CURRENT file: gone while the shard runs means its directory was removed */
  private readonly currentFile: string;

  private constructor(
    private readonly s: StoreSettings,
    db: ClassicLevel<Buffer, Buffer>,
    meta: Meta,
  ) {
    this.db = db;
    this.currentFile = join(s.dir, 'CURRENT');
    this.items = meta.items;
    this.bytes = meta.bytes;
    this.accessSeq = meta.accessSeq;
    this.casCeiling = meta.casHigh;
    this.accessIndexedAtOpen = meta.accessIndexed;
  }

  /**
   * Opens (or creates) the shard's directory and reads its meta record. Refuses a directory of
   * another shard, format or program; settles the counts an interrupted flush or an unclean shutdown
   * of an older build left unsure. The meta record is not rewritten here (see `writeMeta`).
   */
  static async open(s: StoreSettings): Promise<ShardDisk> {
    mkdirSync(s.dir, { recursive: true });
    checkShardDir(s.dir);
    const db = new ClassicLevel<Buffer, Buffer>(s.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open({ createIfMissing: true, cacheSize: s.cacheSize, blockSize: s.blockSize });
    } catch (err) {
      // classic-level wraps LevelDB's status ("Corruption: ...", "IO error: ...") in its cause
      const parts: string[] = [];
      for (let e = err as Error | undefined; e && parts.length < 4; e = e.cause as Error | undefined) parts.push(e.message);
      const detail = parts.join(': ');
      const advice = /corrupt/i.test(detail) ? `; ${repairAdvice(s.dir)}` : '';
      throw new CairnError(ErrorCode.DATA_DIR, `cannot open shard ${s.shard} data directory ${s.dir}: ${detail}${advice}`, { cause: err });
    }
    let meta: Meta | null;
    try {
      meta = ShardDisk.readMeta(db, s);
    } catch (err) {
      await db.close();
      throw err;
    }
    if (!meta) {
      const any = await db.keys({ limit: 1 }).all();
      if (any.length > 0) {
        await db.close();
        throw new CairnError(
          ErrorCode.DATA_DIR,
          `${s.dir} holds a LevelDB database that is not a cairn shard (no meta record); point the shard at an empty directory`,
        );
      }
      meta = {
        format: FORMAT_VERSION,
        shard: s.shard,
        casHigh: 0,
        items: 0,
        bytes: 0,
        accessSeq: 0,
        cleanShutdown: false,
        accessIndexed: true,
        flushing: false,
        flushMarked: true,
      };
    } else if (meta.flushing || (!meta.cleanShutdown && !meta.flushMarked)) {
      try {
        meta = await ShardDisk.settleCounts(db, s, meta);
      } catch (err) {
        await db.close();
        throw err;
      }
    }
    return new ShardDisk(s, db, meta);
  }

  /**
   * Counts the meta record cannot vouch for. A flush cut short by a crash (its marker is set) is
   * finished: what it had not deleted yet goes too, and the counts are zero. A directory left by an
   * unclean shutdown of a build that did not mark its flushes may hold the counts of a flush cut
   * short, which nothing on disk tells apart: its bookkeeping is rebuilt from the data records, once
   * (one pass, as `cairn repair` does).
   */
  private static async settleCounts(db: ClassicLevel<Buffer, Buffer>, s: StoreSettings, meta: Meta): Promise<Meta> {
    if (meta.flushing) {
      await db.clear({ gte: AFTER_META });
      return { ...meta, items: 0, bytes: 0, accessIndexed: true, flushing: false };
    }
    await rebuildBookkeeping(db, s.dir, s.shard);
    return ShardDisk.readMeta(db, s)!;
  }

  private static readMeta(db: ClassicLevel<Buffer, Buffer>, s: StoreSettings): Meta | null {
    const raw = db.getSync(META_KEY);
    if (!raw) return null;
    const meta = decodeMeta(raw);
    if (!meta) throw new CairnError(ErrorCode.DATA_DIR, `${s.dir}: unreadable meta record; the directory is not a cairn shard`);
    if (meta.format !== FORMAT_VERSION)
      throw new CairnError(ErrorCode.DATA_DIR, `${s.dir}: on-disk format ${meta.format}, this build reads format ${FORMAT_VERSION}`);
    if (meta.shard !== s.shard)
      throw new CairnError(ErrorCode.DATA_DIR, `${s.dir} holds shard ${meta.shard}, not shard ${s.shard}; check the data directory and shard count`);
    return meta;
  }

  metaRecord(cleanShutdown: boolean, items = this.items, bytes = this.bytes): Buffer {
    return encodeMeta({
      format: FORMAT_VERSION,
      shard: this.s.shard,
      casHigh: this.casCeiling,
      items,
      bytes,
      accessSeq: this.accessSeq,
      cleanShutdown,
      accessIndexed: this.s.indexAccess,
      flushing: this.clearOwed,
      flushMarked: true,
    });
  }

  /** Writes the meta record as it stands; `cleanShutdown` only on a graceful close. */
  writeMeta(cleanShutdown: boolean, sync: boolean): Promise<void> {
    return this.db.put(META_KEY, this.metaRecord(cleanShutdown), { sync });
  }

  /** Raises the persisted CAS ceiling when the engine's counter comes near it; true when it moved. */
  reserveCas(casCounter: number): boolean {
    if (casCounter + CAS_RESERVATION / 2 < this.casCeiling) return false;
    this.casCeiling = casCounter + CAS_RESERVATION;
    return true;
  }

  /**
   * Is the LevelDB directory still there? LevelDB keeps writing to the files it has open after their
   * directory is removed (the writes go nowhere), so the store looks for itself: once CURRENT is gone
   * the disk tier is treated as failed (CAIRN_ERR_DISK on every read that needs it and every batch),
   * and the shard keeps serving what memory holds. One stat per maintenance tick and per batch.
   */
  dirPresent(): boolean {
    if (this.lostDir !== null) return false;
    if (existsSync(this.currentFile)) return true;
    this.lostDir = new CairnError(
      ErrorCode.DISK,
      `LevelDB directory ${this.s.dir} was removed while cairn ran: the keys it held are gone ` +
        `and new writes stay in memory only. Stop cairn; it will refuse to start until the directory is restored ` +
        `from a backup or \`cairn repair\` accepts the loss`,
    );
    this.s.onError(this.lostDir);
    return false;
  }

  /** Throws CAIRN_ERR_DISK when the disk tier cannot be read (directory gone, database closed after a failed reopen). */
  usable(): void {
    if (this.lostDir !== null) throw this.lostDir;
    if (this.db.status !== 'open')
      throw new CairnError(
        ErrorCode.DISK,
        `shard ${this.s.shard}: the disk tier is unavailable (LevelDB could not be reopened after a failed write; retried every second)`,
      );
  }

  /** One data record read on the read path; LevelDB failures come back as CAIRN_ERR_DISK. */
  read(dkey: Buffer): Buffer | undefined {
    this.usable();
    try {
      return this.db.getSync(dkey);
    } catch (err) {
      throw new CairnError(ErrorCode.DISK, `shard ${this.s.shard}: disk read failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * LevelDB keeps a failed background write (a compaction on a full disk, say) as a sticky error that
   * fails every later write, even after space returns; only reopening the database clears it. The
   * ops of the failed batches wait in memory meanwhile, so nothing is lost. While the database is
   * closed (the reopen failed: the disk is still full), reads that need the disk fail; reads of what
   * memory holds do not.
   */
  private async reopen(): Promise<void> {
    try {
      await this.db.close();
    } catch {
      // it failed already; the new handle decides
    }
    const db = new ClassicLevel<Buffer, Buffer>(this.s.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open({ createIfMissing: false, cacheSize: this.s.cacheSize, blockSize: this.s.blockSize });
    } catch (err) {
      // "Database failed to open" says nothing; the cause ("IO error: ... No space left on device") does
      throw new Error(`reopening LevelDB: ${causes(err)}`, { cause: err });
    }
    this.db = db;
    this.reopenOwed = false;
  }

  /**
   * Deletes every record but the meta record; run in the writer's turn (no batch commits meanwhile,
   * so what it leaves is nothing). LevelDB clears a range in many batches; the meta record says a
   * clear is under way (fsynced before it starts), so a crash part-way is finished at the next open
   * instead of leaving the counts of the full tier over a half-cleared one. A clear that fails stays
   * owed: the next disk batch finishes it before writing anything.
   */
  async clear(casCounter: () => number): Promise<void> {
    if (!this.clearOwed) return;
    if (!this.dirPresent()) throw this.lostDir!;
    await this.db.put(META_KEY, this.metaRecord(false), { sync: true });
    await this.db.clear({ gte: AFTER_META });
    this.items = 0;
    this.bytes = 0;
    this.clearOwed = false;
    this.reserveCas(casCounter());
    await this.db.put(META_KEY, this.metaRecord(false), { sync: this.s.durability === 'sync' });
  }

  /**
   * Commits one writeback batch, in the writer's turn: reads the disk records the ops replace (except
   * those known from memory) with one getMany, builds the batch a slice of ops at a time (letting the
   * shard serve requests between slices; an op snapshots its key when its turn comes, and the put it
   * becomes stands for it in `batch`), and writes it atomically with the meta record. The cold counts
   * change only once it is written. Returns the builder (its counts, snapshots and events), or null
   * when the ops had nothing to write.
   */
  async commit(batch: Map<string, Op>, hot: CommitSource, announce: boolean): Promise<BatchBuilder | null> {
    if (!this.dirPresent()) throw this.lostDir!;
    if (this.reopenOwed) await this.reopen();
    if (this.clearOwed) await this.clear(() => hot.casCounter());
    const kstrs = [...batch.keys()];
    const ops = [...batch.values()];
    const dkeys = ops.map((op) => dataKey(op.key));
    let unknown = 0;
    for (const op of ops) if (op.prior === PRIOR_UNKNOWN) unknown++;
    const olds: (Buffer | undefined)[] = unknown === ops.length ? await this.db.getMany(dkeys) : unknown === 0 ? [] : await this.readUnknown(ops, dkeys);
    // A chained batch: each write goes straight to the native batch (about 1.6x the throughput of an
    // array batch, whose per-op object copies dominate the writer's CPU time).
    const writes = this.db.batch();
    const built = new BatchBuilder(writes, hot, this.s, this.s.now(), this, announce);
    try {
      for (let i = 0; i < ops.length; i++) {
        // Let the shard serve requests between slices of a large batch rather than stall for all of
        // it (no other batch can commit meanwhile).
        if (i > 0 && i % BUILD_SLICE === 0) await yieldToLoop();
        const snapshot = built.add(ops[i], dkeys[i], olds[i]);
        if (snapshot !== null) batch.set(kstrs[i], snapshot);
      }
    } catch (err) {
      await writes.close();
      throw err;
    }
    this.accessSeq = built.accessSeq;
    if (built.writes === 0) {
      await writes.close();
      return null;
    }
    this.reserveCas(hot.casCounter());
    built.meta(this.metaRecord(false, built.items, built.bytes));
    if (this.fault !== null) {
      // where LevelDB refuses a batch: after it was read for and built, as a full disk does
      await writes.close();
      throw new Error(this.fault);
    }
    await writes.write({ sync: this.s.durability === 'sync' });
    this.items = built.items;
    this.bytes = built.bytes;
    return built;
  }

  /** The disk records of the ops whose prior is unknown, at their positions (undefined elsewhere). */
  private async readUnknown(ops: Op[], dkeys: Buffer[]): Promise<(Buffer | undefined)[]> {
    const at: number[] = [];
    for (let i = 0; i < ops.length; i++) if (ops[i].prior === PRIOR_UNKNOWN) at.push(i);
    const got = await this.db.getMany(at.map((i) => dkeys[i]));
    const out: (Buffer | undefined)[] = new Array(ops.length);
    for (let j = 0; j < at.length; j++) out[at[j]] = got[j];
    return out;
  }
}
