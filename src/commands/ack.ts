/**
 * The one acknowledgement rule for every protocol's replies: a reply to a command that changed the
 * store (its `changes` counter moved) goes out once the change is as durable as the store promises
 * (`settled()`: the commit in `sync` mode, the writeback lag bound otherwise); at once when nothing
 * needs waiting. A disk that refuses the writes turns the reply into `fail(err)`.
 */
import type { ShardStore } from '../store/types.js';

export function acknowledged<R>(store: ShardStore, before: number, reply: R, fail: (err: unknown) => R): R | Promise<R> {
  if (store.changes === before) return reply;
  const wait = store.settled();
  return wait === null ? reply : wait.then(() => reply, fail);
}
