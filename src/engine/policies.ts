import { FifoPolicy, LruPolicy, TtlPolicy, EVICTION_POLICIES, type EvictionName, type EvictionPolicy, type PolicyContext } from './lru.js';
import { S3FifoPolicy } from './s3fifo.js';
import { LfuPolicy, RandomPolicy } from './sampled.js';
import { SievePolicy } from './sieve.js';

export { EVICTION_POLICIES, type EvictionName };

export function isEvictionName(s: string): s is EvictionName {
  return (EVICTION_POLICIES as readonly string[]).includes(s);
}

export function createPolicy(name: EvictionName, ctx: PolicyContext): EvictionPolicy {
  switch (name) {
    case 'lru':
      return new LruPolicy(ctx);
    case 'fifo':
      return new FifoPolicy(ctx);
    case 'ttl':
      return new TtlPolicy(ctx);
    case 'sieve':
      return new SievePolicy(ctx);
    case 's3fifo':
      return new S3FifoPolicy(ctx);
    case 'lfu':
      return new LfuPolicy(ctx);
    case 'random':
      return new RandomPolicy(ctx);
  }
}

/** xorshift32 in [0, 1): a seeded stream, so evictions that sample are reproducible. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
