/**
 * Synthetic key traces for the hit-ratio harness: arrays of key ids, reproducible from a seed.
 * Ids are scrambled by a fixed permutation so that popularity says nothing about a key's bytes.
 */

/** mulberry32: small, fast, good enough for workload generation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Zipf(alpha) sampler over ranks 0..n-1 (rank 0 most popular), by inverse CDF. */
export function zipfSampler(n: number, alpha: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** alpha;
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function scramble(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface Trace {
  name: string;
  description: string;
  ids: Uint32Array;
  distinct: number;
}

function finish(name: string, description: string, ids: Uint32Array): Trace {
  const seen = new Uint8Array(ids.reduce((a, b) => Math.max(a, b), 0) + 1);
  let distinct = 0;
  for (let i = 0; i < ids.length; i++) {
    if (seen[ids[i]] === 0) {
      seen[ids[i]] = 1;
      distinct++;
    }
  }
  return { name, description, ids, distinct };
}

export function zipfTrace(requests: number, keys: number, alpha: number, seed: number): Trace {
  const r = rng(seed);
  const next = zipfSampler(keys, alpha, r);
  const perm = scramble(keys, seed ^ 0x5bd1e995);
  const ids = new Uint32Array(requests);
  for (let i = 0; i < requests; i++) ids[i] = perm[next()];
  return finish(`zipf${alpha}`, `Zipf ${alpha} over ${keys} keys`, ids);
}

/**
 * Zipf 0.99 over `keys` hot keys, and every `every` requests a sequential scan of `scanLen` cold
 * keys, walking on through a cold range of `coldKeys` (so a cold key comes back only after
 * coldKeys / scanLen scans: too late for any cache here to keep it).
 */
export function scanTrace(requests: number, keys: number, every: number, scanLen: number, coldKeys: number, seed: number): Trace {
  const r = rng(seed);
  const next = zipfSampler(keys, 0.99, r);
  const perm = scramble(keys, seed ^ 0x5bd1e995);
  const ids = new Uint32Array(requests);
  let cold = 0;
  let i = 0;
  while (i < requests) {
    for (let k = 0; k < every && i < requests; k++) ids[i++] = perm[next()];
    for (let k = 0; k < scanLen && i < requests; k++) {
      ids[i++] = keys + cold;
      cold = (cold + 1) % coldKeys;
    }
  }
  const share = Math.round((scanLen / (every + scanLen)) * 100);
  return finish('scan', `Zipf 0.99 over ${keys} keys, ${share}% of requests in scans of ${scanLen} cold keys`, ids);
}

/** keys 0..keys-1 in order, again and again: larger than every cache size tried. */
export function loopTrace(requests: number, keys: number, seed: number): Trace {
  const perm = scramble(keys, seed);
  const ids = new Uint32Array(requests);
  for (let i = 0; i < requests; i++) ids[i] = perm[i % keys];
  return finish('loop', `a loop over ${keys} keys`, ids);
}
