import { MOVING, type EvictionName, type EvictionPolicy, type PolicyContext, type RemoveHow } from './lru.js';

/**
 * Policies without a list: the victim is chosen among entries sampled from the hash table, as Redis
 * does. Header words w1 and w2 are free for them (LFU keeps its counter in w1).
 *
 * An entry that is being rewritten into a new block is out of the policy but still in the table
 * while room is made for it; `pinned` keeps the sampler off it.
 */
abstract class SampledPolicy implements EvictionPolicy {
  abstract readonly name: EvictionName;
  readonly bytes = 0;
  protected m: Uint32Array;
  protected pinned = 0;
  protected count = 0;
  protected readonly ok = (ref: number): boolean => ref !== this.pinned;
  constructor(protected readonly ctx: PolicyContext) {
    this.m = ctx.m;
  }
  setMemory(m: Uint32Array): void {
    this.m = m;
  }
  growBytes(): number {
    return 0;
  }
  insert(ref: number, _hash: number): void {
    this.pinned = 0;
    this.count++;
    this.enter(ref);
  }
  reinsert(ref: number, state: number): void {
    this.pinned = 0;
    this.count++;
    this.m[ref + 1] = state;
  }
  remove(ref: number, how: RemoveHow): number {
    if (how === MOVING) this.pinned = ref;
    this.count--;
    return this.m[ref + 1];
  }
  rewrite(ref: number): void {
    this.access(ref);
  }
  clear(): void {
    this.pinned = 0;
    this.count = 0;
  }
  verify(count: number): void {
    if (count !== this.count) throw new Error(`${this.name}: policy counts ${this.count} entries, engine ${count}`);
  }
  order(): null {
    return null;
  }
  protected abstract enter(ref: number): void;
  abstract access(ref: number): void;
  abstract victim(): number;
}

/** random: any live entry. No per-key state. */
export class RandomPolicy extends SampledPolicy {
  readonly name: EvictionName = 'random';
  protected enter(): void {}
  access(): void {}
  victim(): number {
    return this.count === 0 ? 0 : this.ctx.sample(this.ok);
  }
}

/** Redis's defaults: new keys start at 5, the counter halves its growth rate as it climbs. */
export const LFU_INIT = 5;
export const LFU_LOG_FACTOR = 10;
export const LFU_DECAY_MS = 60_000;

/** Redis LFULogIncr: +1 with probability 1 / ((counter - LFU_INIT) * factor + 1), saturating at 255. */
export function lfuIncr(counter: number, r: number): number {
  if (counter === 255) return 255;
  const base = counter > LFU_INIT ? counter - LFU_INIT : 0;
  return r < 1 / (base * LFU_LOG_FACTOR + 1) ? counter + 1 : counter;
}

/** Redis LFUDecrAndReturn: minus one per decay period elapsed since `ldt` (16-bit wrapping periods). */
export function lfuDecay(counter: number, ldt: number, nowPeriods: number): number {
  const elapsed = (nowPeriods - ldt) & 0xffff;
  return elapsed >= counter ? 0 : counter - elapsed;
}

/**
 * LFU as Redis does it (allkeys-lfu): w1 holds an 8-bit logarithmic counter (low byte) and the
 * 16-bit time of its last decrement in decay periods (bits 8..23). A hit decays the counter for
 * the periods elapsed, then bumps it with probability 1/((c-5)*10+1): 255 stands for about a
 * million hits. An eviction samples SAMPLES entries and drops the one with the lowest decayed
 * counter (first sampled wins ties). No list: a hit writes one word.
 */
export class LfuPolicy extends SampledPolicy {
  readonly name: EvictionName = 'lfu';
  static readonly SAMPLES = 8;
  private period(): number {
    return Math.floor(this.ctx.clock() / LFU_DECAY_MS) & 0xffff;
  }
  protected enter(ref: number): void {
    this.m[ref + 1] = (this.period() << 8) | LFU_INIT;
  }
  access(ref: number): void {
    const m = this.m;
    const w = m[ref + 1];
    const now = this.period();
    const c = lfuIncr(lfuDecay(w & 0xff, w >>> 8, now), this.ctx.random());
    m[ref + 1] = (now << 8) | c;
  }
  /** the counter decayed to now, as Redis' OBJECT FREQ reports it (reading does not decay it). */
  frequency(ref: number): number {
    const w = this.m[ref + 1];
    return lfuDecay(w & 0xff, w >>> 8, this.period());
  }
  victim(): number {
    if (this.count === 0) return 0;
    const m = this.m;
    const now = this.period();
    let best = 0;
    let bestC = 256;
    for (let k = 0; k < LfuPolicy.SAMPLES; k++) {
      const r = this.ctx.sample(this.ok);
      if (r === 0) break;
      const w = m[r + 1];
      const c = lfuDecay(w & 0xff, w >>> 8, now);
      if (c < bestC) {
        bestC = c;
        best = r;
      }
    }
    return best;
  }
}
