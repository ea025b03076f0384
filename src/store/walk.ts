/**
 * The walks of a shard's store over both tiers: SCAN's cursor (the hot table, then the disk
 * records), the exact live count per tier (DBSIZE, INFO) and RANDOMKEY.
 */
import type { Engine } from '../engine/index.js';
import type { ShardDisk } from './disk.js';
import { checkRecord, DATA_END, DATA_START, dataKey, EXPIRY_START, expiryBound, recordExpiresAt } from './format.js';
import { OP_DEL, OP_DIRTY, OP_PUT } from './ops.js';
import { badArgument } from './options.js';
import type { ScanPage } from './types.js';
import type { WritebackQueue } from './writeback.js';

function isPast(expiresAt: number, now: number): boolean {
  return expiresAt !== 0 && expiresAt <= now;
}

export class Walks {
  constructor(
    private readonly engine: Engine,
    private readonly disk: ShardDisk,
    private readonly writeback: WritebackQueue,
    private readonly now: () => number,
  ) {}

  /**
   * Cursor: '0' starts; 'h<n>' walks the hot tier's table; 'c' starts the walk of the data records
   * and 'k<hex>' goes on after the given key, which may be the empty key (its record, 'd' alone, is
   * the first of the range, so "after it" is not the start). 'c<hex>', the form before the empty key
   * was a key, still reads as 'k<hex>'. Before the first cold page the write queue is drained, so a
   * key evicted while the hot walk ran is on disk when the cold walk passes it. Each key is returned
   * by one walk: the hot walk skips the entries the cold walk will find on disk (see
   * `onDiskByColdWalk`), so a key comes twice only when it leaves memory for the disk between the
   * two walks.
   */
  async scan(cursor: string, count: number): Promise<ScanPage> {
    if (typeof cursor !== 'string') throw badArgument('scan cursor must be a string');
    if (!Number.isInteger(count) || count <= 0) throw badArgument(`scan count must be a positive integer, got ${count}`);
    const keys: Buffer[] = [];
    if (cursor === '0' || cursor.startsWith('h')) {
      let c = cursor === '0' ? 0 : Number(cursor.slice(1));
      if (!Number.isSafeInteger(c) || c < 0) throw badArgument(`bad scan cursor ${cursor}`);
      const now = this.now();
      const e = this.engine;
      do {
        c = e.scan(c, count - keys.length, (ref) => {
          const exp = e.expiresAtOf(ref);
          if ((exp === 0 || exp > now) && !this.onDiskByColdWalk(ref, now)) keys.push(e.keyOf(ref));
        });
      } while (c !== 0 && keys.length < count);
      if (c !== 0) return { cursor: `h${c}`, keys };
      if (this.disk.items === 0 && this.writeback.idle) return { cursor: '0', keys };
      await this.writeback.drain();
      return { cursor: 'c', keys };
    }
    if (!/^[ck]([0-9a-f]{2})*$/.test(cursor)) throw badArgument(`bad scan cursor ${cursor}`);
    this.disk.usable();
    const after = cursor === 'c' ? null : dataKey(Buffer.from(cursor.slice(1), 'hex'));
    const now = this.now();
    const it = this.disk.db.iterator(after ? { gt: after, lt: DATA_END, limit: count } : { gte: DATA_START, lt: DATA_END, limit: count });
    const rows = await it.all();
    for (const [dk, rec] of rows) {
      const key = dk.subarray(1);
      if (this.writeback.queued(key.toString('latin1'))?.kind === OP_DEL) continue;
      const exp = recordExpiresAt(rec);
      if (exp !== 0 && exp <= now) continue;
      keys.push(Buffer.from(key));
    }
    if (rows.length < count) return { cursor: '0', keys };
    return { cursor: `k${rows[rows.length - 1][0].subarray(1).toString('hex')}`, keys };
  }

  /**
   * Will the cold walk of a scan find this live hot entry on disk? Yes when it is clean (its record
   * is on disk, or in a queued or in-flight put, which the drain before the cold walk commits), or
   * when a put of it is queued or in flight, or when a record of the key is on disk already: none of
   * these goes away while the key lives. A dirty entry with none of them (spill mode, or a write the
   * writer has not taken yet) exists only in memory and is returned by the hot walk.
   */
  private onDiskByColdWalk(ref: number, now: number): boolean {
    const e = this.engine;
    if (!e.isDirty(ref)) return true;
    if (this.writeback.idle && this.disk.items === 0) return false;
    const key = e.keyOf(ref);
    const op = this.writeback.find(key.toString('latin1'));
    if (op !== undefined) return op.kind === OP_DIRTY || op.kind === OP_PUT;
    if (this.disk.items === 0 || this.disk.clearOwed) return false;
    const rec = this.disk.read(dataKey(key));
    return rec !== undefined && checkRecord(rec) && !(recordExpiresAt(rec) !== 0 && recordExpiresAt(rec) <= now);
  }

  /**
   * Live keys per tier, exact. cold: disk records (committed counts) minus those whose expiry has
   * passed but the sweep has not removed yet (read from the due prefix of the expiry index). total
   * adds the hot entries without a live disk record: a clean hot entry is always on disk, so only
   * dirty ones are looked up (bloom-filtered getSync). Walks the hot tier: O(hot items).
   */
  async count(): Promise<{ hot: number; cold: number; total: number }> {
    await this.writeback.drain();
    const now = this.now();
    const disk = this.disk;
    let cold = disk.items;
    if (cold > 0) {
      disk.usable();
      cold -= (await disk.db.keys({ gte: EXPIRY_START, lt: expiryBound(now) }).all()).length;
    }
    const e = this.engine;
    let hot = 0;
    let onlyHot = 0;
    let c = 0;
    do {
      c = e.scan(c, 1024, (ref) => {
        hot++;
        if (disk.items === 0) onlyHot++;
        else if (e.isDirty(ref)) {
          const rec = disk.read(dataKey(e.keyOf(ref)));
          if (rec === undefined || isPast(recordExpiresAt(rec), this.now())) onlyHot++;
        }
      });
    } while (c !== 0);
    return { hot, cold, total: cold + onlyHot };
  }

  async randomKey(): Promise<Buffer | null> {
    const now = this.now();
    for (let attempt = 0; attempt < 8; attempt++) {
      const ref = this.engine.randomRef();
      if (ref < 0) break;
      const exp = this.engine.expiresAtOf(ref);
      if (exp === 0 || exp > now) return this.engine.keyOf(ref);
    }
    if (this.disk.items === 0) return null;
    this.disk.usable();
    for (let attempt = 0; attempt < 8; attempt++) {
      // A random point in the key space; LevelDB finds the next data record from there.
      const probe = Buffer.concat([DATA_START, Buffer.from([Math.floor(Math.random() * 256), Math.floor(Math.random() * 256)])]);
      let rows = await this.disk.db.iterator({ gte: probe, lt: DATA_END, limit: 1 }).all();
      if (rows.length === 0) rows = await this.disk.db.iterator({ gte: DATA_START, lt: DATA_END, limit: 1 }).all();
      if (rows.length === 0) return null;
      const [dk, rec] = rows[0];
      const exp = recordExpiresAt(rec);
      const key = Buffer.from(dk.subarray(1));
      if ((exp === 0 || exp > now) && this.writeback.queued(key.toString('latin1'))?.kind !== OP_DEL) return key;
    }
    return null;
  }
}
