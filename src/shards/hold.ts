/**
 * A shard held by one connection (a transaction across shards, src/resp/multi.ts): from a HOLD
 * message until that connection's RELEASE, the shard runs only the holder's messages; every other
 * message, from any front thread, is deferred here (copied out of the ring) in arrival order and
 * runs when the hold ends. A held shard waits for nothing: it keeps taking messages off its rings and
 * answering the holder, so the holder never waits on a shard it holds (docs/architecture.md,
 * "Transactions": why it cannot deadlock).
 *
 * A holder that never sends its RELEASE (its front thread stuck or gone) is bounded: the hold ends by
 * itself after `timeoutMs`, and a RELEASE that comes later is refused without running anything, so
 * a transaction never runs on a shard that stopped holding for it.
 */
import { ErrorCode } from '../errors.js';
import { encodeFailure } from '../hop/failure.js';

export interface DeferredMessage {
  front: number;
  kind: number;
  conn: number;
  seq: number;
  payload: Buffer;
}

/** How long a shard stays held without its holder's RELEASE (docs/reliability.md, "Transaction holds"). */
export const HOLD_TIMEOUT_MS = 10_000;

export class ShardHold {
  /** the holding connection's id (ConnectionOrder.id), null when not held */
  private holder: number | null = null;
  private deferred: DeferredMessage[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** holds that ended by the timeout (metrics, tests) */
  expired = 0;

  constructor(
    /** the hold ended by the timeout: run what it deferred (the same as a release) */
    private readonly onExpire: (waiting: DeferredMessage[]) => void,
    private readonly timeoutMs = HOLD_TIMEOUT_MS,
  ) {}

  get held(): boolean {
    return this.holder !== null;
  }

  heldBy(id: number): boolean {
    return this.holder === id;
  }

  /** Defers the message (a copy) when the shard is held by another connection; false: run it now. */
  defer(id: number, front: number, kind: number, conn: number, seq: number, payload: Uint8Array): boolean {
    if (this.holder === null || this.holder === id) return false;
    this.deferred.push({ front, kind, conn, seq, payload: Buffer.from(payload) });
    return true;
  }

  /** The connection holds the shard (it runs only when no other holds it: deferred otherwise). */
  take(id: number): void {
    this.holder = id;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.expired++;
      this.onExpire(this.release());
    }, this.timeoutMs);
    // the bound must not keep an embedded cache's process alive by itself
    this.timer.unref?.();
  }

  /** Ends the hold: the messages it deferred, in arrival order, for the caller to run (they may be deferred again by a new hold). */
  release(): DeferredMessage[] {
    this.holder = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.deferred;
    this.deferred = [];
    return waiting;
  }
}

/** The FAILURE a RELEASE gets from a shard its sender does not hold (the hold timed out, or the shard restarted). */
export function notHeldFailure(shard: number): Buffer {
  return encodeFailure(ErrorCode.TIMEOUT, `shard ${shard} no longer held the transaction (its hold timed out, or the shard restarted); this part did not run`);
}
