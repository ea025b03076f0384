/** The memcached text protocol: framer and planner (acceptor side), executor (shard side). */
export {
  MemcacheFramer,
  parseMemcacheCommand,
  type MemcacheCommand,
  type MemcacheFatalError,
  type MemcacheFrame,
  type MemcacheFramerOptions,
} from './framer.js';
export { planMemcache } from './planner.js';
export { executeMemcache, executeMemcacheBatch, type MemcacheExecOptions } from './executor.js';
