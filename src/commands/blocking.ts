/**
 * Blocked commands of one shard (BLPOP, BRPOP, BLMOVE, BLMPOP; BZPOPMIN and friends can use it too):
 * the waiters per key, first blocked first served, as Redis serves them.
 *
 * A blocking command that finds nothing to take registers a waiter on each of its keys with an
 * `attempt`: what it does when a key may serve it (pop and reply). A command that adds to a key
 * marks it ready (`keyReady`); once the message that did it has run, `serveReady` offers every
 * ready key to its waiters in the order they blocked, while the key has something for them. So a
 * push is taken by a blocked client before the shard runs its next message, as Redis serves
 * blocked clients after the command that pushed and before the next one. A served waiter's own
 * push (BLMOVE's destination) makes that key ready in turn, in the same loop.
 *
 * A waiter ends once: served, timed out (its command's timeout reply), or cancelled because its
 * connection closed (answered with the timeout reply, which nobody reads): a waiter that is gone
 * takes nothing, so a push after a disconnect stays in the list.
 *
 * A waiter may also need to hear that a key went away (XREADGROUP: its stream deleted or replaced
 * by another type, which Redis answers with an error): it gives a `gone` test, and after a message
 * that changed the store the registry offers each such key whose test says so to its waiters, as
 * if ready. That costs one test per watched key per changing message, only while such waiters wait.
 *
 * Everything here is per store (one shard), keyed by the store object; while nobody waits anywhere
 * in the thread, marking a key costs one comparison.
 */
import type { ShardStore } from '../store/types.js';

/** an attempt's answer: this waiter cannot take from the key as it is (another type's waiter may) */
export const PASS: unique symbol = Symbol('pass');
/** an attempt's answer: the key has nothing for anyone now: stop offering it */
export const DRAINED: unique symbol = Symbol('drained');

/** what a waiter does when a key of it may serve it: its reply, or PASS / DRAINED */
export type Attempt<T> = (key: Buffer) => T | Promise<T> | typeof PASS | typeof DRAINED;

interface Waiter {
  conn: number;
  keys: string[];
  attempt: Attempt<unknown>;
  gone: ((key: Buffer) => boolean) | null;
  onTimeout: () => unknown;
  resolve: (reply: unknown) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

/** setTimeout's longest delay; a longer wait re-arms */
const MAX_DELAY = 2 ** 31 - 1;

export class Waiters {
  /** waiters in every registry of this thread: while 0, marking a key ready returns at once */
  static blocked = 0;

  /**
   * the connection a command may block for: set by the codec around a message the front sent as
   * blocking; null for everything else (MULTI, scripts, other protocols), where a blocking command
   * answers at once as Redis does when it may not block
   */
  blocker: number | null = null;
  private readonly byKey = new Map<string, Set<Waiter>>();
  private readonly byConn = new Map<number, Waiter>();
  private readonly readyKeys = new Set<string>();
  /** keys whose waiters gave a `gone` test, with those waiters */
  private readonly watched = new Map<string, Set<Waiter>>();
  /** the store's change count when the watched keys were last tested */
  private tested = -1;

  constructor(private readonly store: ShardStore) {}

  /** waiters now */
  get size(): number {
    return this.byConn.size;
  }

  /**
   * Blocks the current `blocker` on keys: the promise settles with the first attempt that serves
   * it, or with onTimeout() after timeoutMs (0: never), or when the connection is cancelled.
   * `gone`: whether a key of it went away, tested after each message that changed the store; a key
   * gone is offered to its waiters as a ready one is.
   */
  wait<T>(keys: readonly Uint8Array[], attempt: Attempt<T>, timeoutMs: number, onTimeout: () => T, gone: ((key: Buffer) => boolean) | null = null): Promise<T> {
    const conn = this.blocker;
    if (conn === null) throw new Error('wait: this message may not block');
    // one blocked command per connection (the front sends nothing else meanwhile): never two
    const before = this.byConn.get(conn);
    if (before !== undefined) this.finish(before, before.onTimeout());
    return new Promise<T>((resolve) => {
      const w: Waiter = {
        conn,
        keys: [],
        attempt,
        gone,
        onTimeout,
        resolve: resolve as (reply: unknown) => void,
        timer: null,
      };
      for (const k of keys) {
        const key = Buffer.from(k).toString('latin1');
        let queue = this.byKey.get(key);
        if (queue === undefined) this.byKey.set(key, (queue = new Set()));
        // a key named twice (BLPOP k k 0) is waited on once
        if (!queue.has(w)) {
          queue.add(w);
          w.keys.push(key);
          if (gone !== null) {
            let watchers = this.watched.get(key);
            if (watchers === undefined) this.watched.set(key, (watchers = new Set()));
            watchers.add(w);
          }
        }
      }
      if (gone !== null) this.tested = this.store.changes;
      this.byConn.set(conn, w);
      Waiters.blocked++;
      if (timeoutMs > 0) this.arm(w, Date.now() + timeoutMs);
    });
  }

  private arm(w: Waiter, at: number): void {
    const left = at - Date.now();
    w.timer = setTimeout(
      () => {
        if (at - Date.now() > 0) this.arm(w, at);
        else this.finish(w, w.onTimeout());
      },
      Math.min(Math.max(left, 0), MAX_DELAY),
    );
    // a waiter alone must not keep an embedded cache's process alive
    w.timer.unref?.();
  }

  /** a command added to the key: its waiters are offered it after the message (serve) */
  ready(key: Uint8Array): void {
    if (this.byKey.size === 0) return;
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    if (this.byKey.has(k)) this.readyKeys.add(k);
  }

  /** Offers each ready key to its waiters, first blocked first, until it has nothing for them. */
  serve(): void {
    if (this.watched.size > 0 && this.store.changes !== this.tested) this.testWatched();
    while (this.readyKeys.size > 0) {
      const keys = [...this.readyKeys];
      this.readyKeys.clear();
      for (const k of keys) {
        const queue = this.byKey.get(k);
        if (queue === undefined) continue;
        const key = Buffer.from(k, 'latin1');
        for (const w of queue) {
          const reply = w.attempt(key);
          if (reply === PASS) continue;
          if (reply === DRAINED) break;
          this.finish(w, reply);
        }
      }
    }
  }

  /** the watched keys that went away become ready */
  private testWatched(): void {
    this.tested = this.store.changes;
    for (const [k, watchers] of this.watched) {
      for (const w of watchers) {
        if (w.gone!(Buffer.from(k, 'latin1'))) this.readyKeys.add(k);
        break; // every watcher of a key tests it alike
      }
    }
  }

  /** The connection closed: its waiter ends without taking anything; false when it had none. */
  cancel(conn: number): boolean {
    const w = this.byConn.get(conn);
    if (w === undefined) return false;
    this.finish(w, w.onTimeout());
    return true;
  }

  private finish(w: Waiter, reply: unknown): void {
    if (this.byConn.get(w.conn) !== w) return;
    this.byConn.delete(w.conn);
    Waiters.blocked--;
    if (w.timer !== null) clearTimeout(w.timer);
    for (const k of w.keys) {
      const queue = this.byKey.get(k);
      if (queue === undefined) continue;
      queue.delete(w);
      if (queue.size === 0) this.byKey.delete(k);
      const watchers = w.gone === null ? undefined : this.watched.get(k);
      if (watchers !== undefined) {
        watchers.delete(w);
        if (watchers.size === 0) this.watched.delete(k);
      }
    }
    w.resolve(reply);
  }
}

const registries = new WeakMap<ShardStore, Waiters>();

/** the store's waiters, made at first use */
export function waitersOf(store: ShardStore): Waiters {
  let w = registries.get(store);
  if (w === undefined) registries.set(store, (w = new Waiters(store)));
  return w;
}

/** a command added to key: blocked clients may take it once the message has run */
export function keyReady(store: ShardStore, key: Uint8Array): void {
  if (Waiters.blocked === 0) return;
  registries.get(store)?.ready(key);
}

/** after each message: serve the waiters of keys it made ready */
export function serveReady(store: ShardStore): void {
  if (Waiters.blocked === 0) return;
  registries.get(store)?.serve();
}

/** the connection closed: drop its waiter (answered with its timeout reply); false when it had none */
export function cancelWaiter(store: ShardStore, conn: number): boolean {
  return registries.get(store)?.cancel(conn) ?? false;
}
