/**
 * The command core: one table of commands (table.ts) and one shard-side function per command, typed
 * arguments in, a typed result or a coded Failure out. Protocol codecs (resp/, memcache/, native/)
 * only turn bytes into these calls and their results into bytes.
 */
export * from './types.js';
export * from './expiry.js';
export * from './strings.js';
export * from './keyspace.js';
export * from './collections.js';
export * from './lists.js';
export * from './blocking.js';
export * from './zsets.js';
export * from './hashes.js';
export * from './sets.js';
export * from './streams.js';
export { TYPE_NAMES, ValueType } from '../engine/collections/types.js';
export { acknowledged } from './ack.js';
export { stats, shardReport, type ShardReport } from './stats.js';
export {
  COMMANDS,
  MEMCACHE_COMMANDS,
  MEMCACHE_WRITES,
  NATIVE_COMMANDS,
  NATIVE_WRITES,
  arityOk,
  commandName,
  isWrite,
  keyIndexes,
  type CommandSpec,
  type Route,
} from './table.js';
export { parseI64, parseSafeInt, parseLongDouble, type Decimal, type ParsedFloat } from './numbers.js';
export type { Entry, ScanPage, SetOptions, SetResult, SetMode } from '../store/types.js';
