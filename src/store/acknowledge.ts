/**
 * The one acknowledgement rule for a shard's replies: a reply to a command that changed the store
 * (its `changes` counter moved) goes out once the change is as durable as the store promises
 * (`settled()`: the commit in `sync` mode, the writeback lag bound otherwise); at once when nothing
 * needs waiting. A disk that refuses the writes turns the reply into `fail(err)`.
 */
import type { ShardStore } from './types.js';

export function acknowledged<R>(store: ShardStore, before: number, reply: R, fail: (err: unknown) => R): R | Promise<R> {
  if (store.changes === before) return reply;
  const wait = store.settled();
  return wait === null ? reply : wait.then(() => reply, fail);
}

/** Runs one command and gives its result by the rule above; a refused write rejects. */
export function acknowledge<T>(store: ShardStore, run: () => T): T | Promise<T> {
  return acknowledged(store, store.changes, run(), (err) => {
    throw err;
  });
}
