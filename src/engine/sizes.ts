/**
 * How many entries of a shard hold values of each size, in power-of-two bins: bin 0 counts empty
 * values, bin i (i ≥ 1) values of 2^(i-1) to 2^i - 1 bytes. Kept up to date on every write and
 * removal (one Math.clz32 and two counter updates), so reading it costs nothing.
 */
export const SIZE_BINS = 31;

export function sizeBin(len: number): number {
  return len === 0 ? 0 : 32 - Math.clz32(len);
}

/** the smallest length of a bin (0 for bin 0), as Redis 8 labels `INFO keysizes` bins */
export function binFloor(bin: number): number {
  return bin === 0 ? 0 : 2 ** (bin - 1);
}

export class SizeHistogram {
  readonly bins = new Float64Array(SIZE_BINS);
  add(len: number): void {
    this.bins[sizeBin(len)]++;
  }
  remove(len: number): void {
    this.bins[sizeBin(len)]--;
  }
  clear(): void {
    this.bins.fill(0);
  }
  /** counts per bin, trailing empty bins dropped */
  counts(): number[] {
    let last = SIZE_BINS - 1;
    while (last >= 0 && this.bins[last] === 0) last--;
    return Array.from(this.bins.subarray(0, last + 1));
  }
}
