/**
 * Hot keys of one shard, estimated from a sample of accesses.
 *
 * Every access costs one countdown; one access in `rate` (on average: the gap is drawn at random so
 * a periodic access pattern cannot hide from it) is counted in a count-min sketch (`depth` rows of
 * `width` counters, indexed by mixes of the table hash the engine already computed). A key whose
 * estimate beats the smallest of the `capacity` keys held is copied in (the only allocation, and
 * rare once the top is settled). Every `halfLife` samples all counts are halved, so the list follows
 * what is hot now rather than what was hot an hour ago. Fixed memory: width × depth × 4 bytes plus
 * `capacity` keys, outside the engine's budget (it is not data).
 */

export interface HotKey {
  key: Buffer;
  /** estimated accesses since counts were last halved (sampled count × rate) */
  count: number;
}

export interface HotKeyOptions {
  /** sample one access in `rate` on average; 0 turns tracking off. Default 16. */
  rate?: number;
  /** keys kept. Default 32. */
  capacity?: number;
  /** counters per sketch row, a power of two. Default 1024. */
  width?: number;
  /** sketch rows. Default 4. */
  depth?: number;
  /** samples between two halvings. Default 65536. */
  halfLife?: number;
}

export class HotKeyTracker {
  readonly rate: number;
  private readonly width: number;
  private readonly depth: number;
  private readonly halfLife: number;
  private readonly sketch: Uint32Array;
  private readonly keys: (Buffer | null)[];
  private readonly hashes: Uint32Array;
  private readonly counts: Float64Array;
  private size = 0;
  private samples = 0;
  /** accesses left before the next sample */
  countdown: number;

  constructor(
    private readonly random: () => number,
    options: HotKeyOptions = {},
  ) {
    this.rate = Math.max(0, Math.floor(options.rate ?? 16));
    const capacity = options.capacity ?? 32;
    this.width = options.width ?? 1024;
    if ((this.width & (this.width - 1)) !== 0) throw new Error('hot key sketch width must be a power of two');
    this.depth = options.depth ?? 4;
    this.halfLife = options.halfLife ?? 65536;
    this.sketch = new Uint32Array(this.rate === 0 ? 0 : this.width * this.depth);
    this.keys = new Array<Buffer | null>(capacity).fill(null);
    this.hashes = new Uint32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.countdown = this.rate === 0 ? Infinity : this.gap();
  }

  /** the next sampling gap: uniform in [1, 2 × rate - 1], mean `rate` */
  private gap(): number {
    return 1 + Math.floor(this.random() * (2 * this.rate - 1));
  }

  /** Count one sampled access of `key` (a view: copied only if it enters the list). */
  record(key: Uint8Array, hash: number): void {
    this.countdown = this.gap();
    const w = this.width;
    const mask = w - 1;
    const sk = this.sketch;
    let est = 0xffffffff;
    let h = hash >>> 0;
    for (let row = 0, base = 0; row < this.depth; row++, base += w) {
      // a fresh mix per row: rows must disagree on collisions for the minimum to mean anything
      h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
      h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
      const i = base + ((h ^ (h >>> 15)) & mask);
      const c = sk[i] + 1;
      sk[i] = c;
      if (c < est) est = c;
    }
    this.admit(key, hash >>> 0, est);
    if (++this.samples >= this.halfLife) this.halve();
  }

  private admit(key: Uint8Array, hash: number, est: number): void {
    const keys = this.keys;
    const counts = this.counts;
    let min = 0;
    for (let j = 0; j < this.size; j++) {
      if (this.hashes[j] === hash && equal(keys[j]!, key)) {
        counts[j] = est;
        return;
      }
      if (counts[j] < counts[min]) min = j;
    }
    let slot: number;
    if (this.size < keys.length) slot = this.size++;
    else if (est > counts[min]) slot = min;
    else return;
    keys[slot] = Buffer.from(key);
    this.hashes[slot] = hash;
    counts[slot] = est;
  }

  private halve(): void {
    this.samples = 0;
    const sk = this.sketch;
    for (let i = 0; i < sk.length; i++) sk[i] >>>= 1;
    for (let j = 0; j < this.size; j++) this.counts[j] = Math.floor(this.counts[j] / 2);
  }

  /** The hottest keys, hottest first, at most `n`. */
  top(n = this.keys.length): HotKey[] {
    const out: HotKey[] = [];
    for (let j = 0; j < this.size; j++) {
      if (this.counts[j] > 0) out.push({ key: this.keys[j]!, count: this.counts[j] * this.rate });
    }
    out.sort((a, b) => b.count - a.count || Buffer.compare(a.key, b.key));
    return out.slice(0, n);
  }

  clear(): void {
    this.sketch.fill(0);
    this.keys.fill(null);
    this.size = 0;
    this.samples = 0;
  }
}

function equal(a: Buffer, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
