/** cairn's embedded library: the sharded two-tier cache in this process. The SDK is `cairn/client`. */
export { openCache, Cache, type CacheOptions } from './cache.js';
export { CairnError, ErrorCode, isCairnError } from './errors.js';
export { TypedCollection } from './client/typed.js';
export type { SetOptions, SetResult, ScanPage, TierCounts, ServerStats, EntryMeta, Key, Value } from './client/client.js';
