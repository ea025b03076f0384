import type { ShardStore } from './types.js';

/**
 * Runs one command against the store and gives its result once the changes it made are as durable
 * as the store promises: at once when it changed nothing or nothing needs waiting, else when
 * `settled()` resolves (rejecting with CAIRN_ERR_DISK when the disk refuses them). This is the rule
 * every reply of a shard follows.
 */
export function acknowledge<T>(store: ShardStore, run: () => T): T | Promise<T> {
  const before = store.changes;
  const result = run();
  if (store.changes === before) return result;
  const wait = store.settled();
  return wait === null ? result : wait.then(() => result);
}
