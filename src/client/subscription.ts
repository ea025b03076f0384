/**
 * Key-event subscriptions on the SDK side: a Subscription is both a callback target and an async
 * iterator. The client keeps one server-side subscription per distinct filter (the union of the
 * event names its local subscriptions want) and matches each PUSH against its local ones.
 */
import type { KeyEventName } from '../events/codes.js';

/** One key event, as the server pushed it. */
export interface KeyEventMessage {
  event: KeyEventName;
  /** the key's bytes (empty for `flush`) */
  key: Uint8Array;
  /** the key decoded as UTF-8 */
  keyString: string;
}

export interface SubscribeOptions {
  /** exactly one key */
  key?: string | Uint8Array;
  /** every key that starts with these bytes ('' = every key) */
  prefix?: string | Uint8Array;
  /** only these events (default: all) */
  events?: readonly KeyEventName[];
  /**
   * events an unread async iterator keeps before it drops the oldest (default 100000); counted in
   * `dropped`. Unused with a callback.
   */
  highWaterMark?: number;
}

export type KeyEventCallback = (event: KeyEventMessage) => void;

/** One channel message (PUBLISH from any protocol, or a keyspace notification). */
export interface ChannelMessage {
  /** the channel it was published to, decoded as UTF-8 */
  channel: string;
  /** the message bytes */
  message: Uint8Array;
  /** the message decoded as UTF-8 */
  messageString: string;
  /** the pattern that matched, for a pattern subscription */
  pattern?: string;
}

/** `client.subscribe({ channel })` or `client.subscribe({ pattern })` (a Redis glob: `news.*`). */
export type ChannelSubscribeOptions = ({ channel: string | Uint8Array; pattern?: undefined } | { pattern: string | Uint8Array; channel?: undefined }) & {
  /** messages an unread async iterator keeps before it drops the oldest (default 100000) */
  highWaterMark?: number;
};

export type ChannelMessageCallback = (message: ChannelMessage) => void;

export class Subscription<T = KeyEventMessage> implements AsyncIterable<T> {
  /** events an unread iterator dropped (see highWaterMark) */
  dropped = 0;
  private readonly queue: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | null = null;
  private ended = false;

  /** @internal */
  constructor(
    /** the filter, as given */
    readonly filter: { key?: Uint8Array; prefix?: Uint8Array; channel?: Uint8Array; pattern?: Uint8Array },
    /** bit mask of wanted event codes (0 for a channel subscription) */
    readonly mask: number,
    private readonly callback: ((event: T) => void) | undefined,
    private readonly highWaterMark: number,
    private readonly onUnsubscribe: (sub: Subscription<T>) => Promise<void>,
  ) {}

  get active(): boolean {
    return !this.ended;
  }

  /** Stop receiving events; a pending iteration ends. */
  async unsubscribe(): Promise<void> {
    if (this.ended) return;
    this.end();
    await this.onUnsubscribe(this);
  }

  /** @internal */
  deliver(event: T): void {
    if (this.ended) return;
    if (this.callback) {
      try {
        this.callback(event);
      } catch {
        // the callback's failure is its own business
      }
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: event, done: false });
      return;
    }
    this.queue.push(event);
    if (this.queue.length > this.highWaterMark) {
      this.queue.shift();
      this.dropped++;
    }
  }

  /** @internal the client closed, or unsubscribe() */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: (): Promise<IteratorResult<T>> => {
        if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: async (): Promise<IteratorResult<T>> => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }
}
