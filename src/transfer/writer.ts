/**
 * Writes record batches into a running cairn through the SDK, keeping flags, absolute expiry and type
 * (a collection is its encoding, written with SET / MSET {type}).
 *
 * In a batch, records that share (flags, expiresAt, type) — typically every string without expiry —
 * go out as one MSET (the SDK splits it per shard); the rest as SETs, all pipelined in one write. A
 * bounded number of batches is in flight, which is the backpressure on whatever reads the source.
 */
import { TYPE_NAMES } from '../engine/collections/types.js';
import { CairnError, ErrorCode, isCairnError } from '../errors.js';
import type { CairnClient, SetOptions } from '../client/index.js';
import type { RecordBatch } from './packed.js';

export type ImportMode = 'replace' | 'nx';

/** Errors about one item: it is counted as failed and the import goes on. Anything else stops it. */
const PER_KEY = new Set<string>([ErrorCode.KEY_TOO_LARGE, ErrorCode.VALUE_TOO_LARGE, ErrorCode.BAD_ARGUMENT, ErrorCode.OUT_OF_MEMORY]);

/** Smallest group of equal (flags, expiresAt) worth an MSET rather than single SETs. */
const MSET_MIN = 4;

export interface WriterCounts {
  /** keys written */
  stored: number;
  /** --nx: keys left alone because the target had them */
  existing: number;
  /** records dropped because their expiry had passed */
  expired: number;
  /** records the target refused (too large, out of memory) */
  failed: number;
}

/** counts by value type (ValueType) as counts by Redis' type name */
export function byTypeName(counts: Record<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [t, n] of Object.entries(counts)) out[TYPE_NAMES[Number(t)] ?? `type ${t}`] = n;
  return out;
}

export function printableKey(key: Uint8Array): string {
  const text = Buffer.from(key.buffer, key.byteOffset, key.length).toString('utf8');
  const clean = /^[\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes('\ufffd');
  const shown = clean ? JSON.stringify(text) : `0x${Buffer.from(key.buffer, key.byteOffset, key.length).toString('hex')}`;
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

export class CairnWriter implements WriterCounts {
  stored = 0;
  existing = 0;
  expired = 0;
  failed = 0;
  /** records followed by a later record of the same key in the same batch (not sent) */
  superseded = 0;
  /** of the keys stored, the collections by type (ValueType) */
  readonly collections: Record<number, number> = {};
  /** the first few refusals, for the summary */
  readonly failures: string[] = [];
  private inflight = 0;
  private fatal: Error | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: CairnClient,
    private readonly mode: ImportMode,
    private readonly maxInflight = 8,
  ) {}

  /** records written or settled (stored + existing + expired + failed) */
  get done(): number {
    return this.stored + this.existing + this.expired + this.failed + this.superseded;
  }

  /** Starts writing a batch; resolves once there is room for another one. */
  async write(batch: RecordBatch): Promise<void> {
    if (this.fatal) throw this.fatal;
    while (this.inflight >= this.maxInflight) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (this.fatal) throw this.fatal;
    }
    this.inflight++;
    this.run(batch).then(
      () => this.settle(),
      (err: unknown) => {
        this.fatal ??= err as Error;
        this.settle();
      },
    );
  }

  /** Resolves when every batch started is written; rejects with the first fatal error. */
  async flush(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.fatal) throw this.fatal;
  }

  private settle(): void {
    this.inflight--;
    for (const w of this.waiters.splice(0)) w();
  }

  private refused(key: Uint8Array, err: unknown): void {
    if (!isCairnError(err) || !PER_KEY.has(err.code)) throw err;
    this.failed++;
    if (this.failures.length < 10) this.failures.push(`${printableKey(key)}: ${err.message} (${err.code})`);
  }

  private async setOne(batch: RecordBatch, i: number): Promise<void> {
    const opts: SetOptions = {};
    if (batch.flags[i] !== 0) opts.flags = batch.flags[i];
    if (batch.expiresAt[i] !== 0) opts.expiresAt = batch.expiresAt[i];
    if (batch.types[i] !== 0) opts.type = batch.types[i];
    if (this.mode === 'nx') opts.nx = true;
    try {
      const r = await this.client.setResult(batch.keys[i], batch.values[i], opts);
      if (r.status === 'stored') this.storedOne(batch.types[i], 1);
      else if (r.status === 'not_stored') this.existing++;
      else throw new CairnError(ErrorCode.INTERNAL, `unexpected SET status ${r.status}`);
    } catch (err) {
      this.refused(batch.keys[i], err);
    }
  }

  private storedOne(type: number, n: number): void {
    this.stored += n;
    if (type !== 0) this.collections[type] = (this.collections[type] ?? 0) + n;
  }

  private async run(batch: RecordBatch): Promise<void> {
    const now = Date.now();
    const singles: number[] = [];
    const groups = new Map<string, number[]>();
    // The writes of a batch run concurrently: when a key occurs twice, only its last record is sent.
    const last = new Map<string, number>();
    for (let i = 0; i < batch.count; i++) {
      const k = batch.keys[i];
      last.set(Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1'), i);
    }
    const repeated = last.size < batch.count;
    for (let i = 0; i < batch.count; i++) {
      if (repeated) {
        const k = batch.keys[i];
        if (last.get(Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1')) !== i) {
          this.superseded++;
          continue;
        }
      }
      const exp = batch.expiresAt[i];
      if (exp !== 0 && exp <= now) {
        this.expired++;
        continue;
      }
      if (this.mode === 'nx') {
        singles.push(i);
        continue;
      }
      const id = `${batch.flags[i]}:${exp}:${batch.types[i]}`;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = []));
      g.push(i);
    }
    const work: Promise<void>[] = [];
    for (const g of groups.values()) {
      if (g.length < MSET_MIN) singles.push(...g);
      else work.push(this.msetGroup(batch, g));
    }
    for (const i of singles) work.push(this.setOne(batch, i));
    await Promise.all(work);
  }

  private async msetGroup(batch: RecordBatch, group: number[]): Promise<void> {
    const flags = batch.flags[group[0]];
    const exp = batch.expiresAt[group[0]];
    const type = batch.types[group[0]];
    try {
      await this.client.mset(
        group.map((i) => [batch.keys[i], batch.values[i]] as const),
        { ...(flags !== 0 ? { flags } : {}), ...(exp !== 0 ? { expiresAt: exp } : {}), ...(type !== 0 ? { type } : {}) },
      );
      this.storedOne(type, group.length);
    } catch (err) {
      // One bad item refuses its whole frame: find it (and store the rest) one key at a time.
      if (!isCairnError(err) || !PER_KEY.has(err.code)) throw err;
      await Promise.all(group.map((i) => this.setOne(batch, i)));
    }
  }
}
