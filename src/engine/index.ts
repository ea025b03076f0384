/**
 * The shard engine: one shard's in-memory store (table, arena, LRU, expiry) in SharedArrayBuffers.
 * Pure code, no I/O; the disk tier listens to onRemove and restores with insertClean.
 */
export {
  Engine,
  SET_ALWAYS,
  SET_NX,
  SET_XX,
  STORED,
  NOT_STORED,
  EXISTS,
  NOT_FOUND,
  INCR_OK,
  INCR_NOT_FOUND,
  INCR_NOT_INTEGER,
  INCR_OVERFLOW,
  INCR_WRONG_TYPE,
  MAX_VALUE_LIMIT,
} from './engine.js';
export type { EngineOptions, RemoveReason } from './engine.js';
export { TYPE_PACKED } from './layout.js';
export { addDelta, decimalLength, parseSigned, parseUnsigned } from './incr.js';
export type { EvictionPolicy, EvictionName } from './lru.js';
export { EVICTION_POLICIES, isEvictionName } from './policies.js';
export type { HashFn } from './table.js';
export type { HotKey, HotKeyOptions } from './hotkeys.js';
export { binFloor, SIZE_BINS } from './sizes.js';
