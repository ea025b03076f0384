/**
 * A front thread's subscriptions (acceptor or gateway): which connections want which key events,
 * and the fan-out of the events shards send. One hub per front thread; it tells the shards to send
 * events only while it has at least one subscription. The hub speaks no wire format: the protocol
 * that carries subscriptions (the native one, src/native/event-frames.ts) hands it its frames.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { ALL_KEY_EVENTS, KEY_EVENT_NAMES, KeyEvent, keyEventMask, keyEventOf } from './codes.js';
import { binaryString, SubscriptionIndex } from './index.js';

/** A connection that can receive PUSH frames. */
export interface EventSubscriber {
  /** the hub's per-event mark, so a connection with several matching subscriptions gets one push */
  eventStamp: number;
  pushEvent(frame: Uint8Array): void;
}

/** The frames of the protocol that carries subscriptions. */
export interface EventFrames {
  /** the request code of SUBSCRIBE (any other code handed to `handle` unsubscribes) */
  readonly subscribe: number;
  /** the reply to a SUBSCRIBE or UNSUBSCRIBE: the connection's subscription count */
  count(requestId: number, count: number): Uint8Array;
  /** the reply to a refused SUBSCRIBE or UNSUBSCRIBE */
  error(requestId: number, err: CairnError): Uint8Array;
  /** one event, pushed to every subscriber it matches */
  push(event: string, key: Uint8Array): Uint8Array;
}

export interface HubStats {
  subscribers: number;
  subscriptions: number;
  /** events received from the shards */
  events: number;
  /** PUSH frames written to connections */
  pushes: number;
}

/** At most this many subscriptions per connection. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100_000;

interface Filter {
  prefix: boolean;
  text: string;
}

export class SubscriptionHub {
  private readonly index = new SubscriptionIndex<EventSubscriber>();
  private readonly bySubscriber = new Map<EventSubscriber, Map<string, Filter>>();
  private stamp = 0;
  private events = 0;
  private pushes = 0;

  /** `listen(on)` asks the shards to start or stop sending events to this front. */
  constructor(
    private readonly listen: (on: boolean) => void,
    private readonly frames: EventFrames,
  ) {}

  stats(): HubStats {
    return { subscribers: this.bySubscriber.size, subscriptions: this.index.size, events: this.events, pushes: this.pushes };
  }

  /** Run a SUBSCRIBE or UNSUBSCRIBE frame's arguments; the reply frame. */
  handle(sub: EventSubscriber, opcode: number, requestId: number, args: unknown[]): Uint8Array {
    try {
      const count = opcode === this.frames.subscribe ? this.subscribe(sub, args) : this.unsubscribe(sub, args);
      return this.frames.count(requestId, count);
    } catch (err) {
      if (err instanceof CairnError) return this.frames.error(requestId, err);
      throw err;
    }
  }

  private subscribe(sub: EventSubscriber, args: unknown[]): number {
    const filter = parseFilter(args[0], 'SUBSCRIBE');
    const opts = args[0] as { events?: unknown };
    let mask = ALL_KEY_EVENTS;
    if (opts.events !== undefined && opts.events !== null) {
      const names = opts.events;
      const m = Array.isArray(names) && names.every((n) => typeof n === 'string') ? keyEventMask(names as string[]) : null;
      if (m === null || m === 0) {
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `events must be a list of ${KEY_EVENT_NAMES.filter(Boolean).join(', ')}`);
      }
      mask = m;
    }
    let mine = this.bySubscriber.get(sub);
    const id = (filter.prefix ? 'p' : 'k') + filter.text;
    if (!mine?.has(id) && (mine?.size ?? 0) >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `a connection may hold at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions`);
    }
    if (!mine) this.bySubscriber.set(sub, (mine = new Map()));
    mine.set(id, filter);
    this.index.add(sub, filter.prefix, filter.text, mask);
    this.listen(true);
    return mine.size;
  }

  private unsubscribe(sub: EventSubscriber, args: unknown[]): number {
    const mine = this.bySubscriber.get(sub);
    if (args.length === 0 || args[0] === null || args[0] === undefined) {
      this.drop(sub);
      return 0;
    }
    const filter = parseFilter(args[0], 'UNSUBSCRIBE');
    if (!mine) return 0;
    const id = (filter.prefix ? 'p' : 'k') + filter.text;
    if (mine.delete(id)) this.index.remove(sub, filter.prefix, filter.text);
    if (mine.size === 0) this.bySubscriber.delete(sub);
    if (this.index.size === 0) this.listen(false);
    return mine.size;
  }

  /** Forget every subscription of a connection (it closed, or sent UNSUBSCRIBE without arguments). */
  drop(sub: EventSubscriber): void {
    const mine = this.bySubscriber.get(sub);
    if (!mine) return;
    for (const f of mine.values()) this.index.remove(sub, f.prefix, f.text);
    this.bySubscriber.delete(sub);
    if (this.index.size === 0) this.listen(false);
  }

  /** An event from a shard: one PUSH frame, written to every connection with a matching subscription. */
  dispatch(eventCode: number, key: Uint8Array): void {
    this.events++;
    // a data-type command's notification name is for keyspace notifications only (codes.ts)
    const code = keyEventOf(eventCode);
    const name = KEY_EVENT_NAMES[code];
    if (name === undefined || this.index.size === 0) return;
    const stamp = (this.stamp = (this.stamp + 1) | 0 || 1); // never 0, a new subscriber's mark
    let frame: Uint8Array | null = null;
    const visit = (sub: EventSubscriber): void => {
      if (sub.eventStamp === stamp) return;
      sub.eventStamp = stamp;
      frame ??= this.frames.push(name, key);
      this.pushes++;
      sub.pushEvent(frame);
    };
    const bit = 1 << code;
    if (code === KeyEvent.FLUSH) this.index.all(bit, visit);
    else this.index.match(binaryString(key), bit, visit);
  }
}

const utf8 = new TextEncoder();

function asBytes(value: unknown): Uint8Array | null {
  if (typeof value === 'string') return utf8.encode(value);
  if (value instanceof Uint8Array) return value;
  return null;
}

function parseFilter(arg: unknown, command: string): Filter {
  const usage = `${command} takes [{key} | {prefix}, ...]: exactly one of key or prefix (bytes, either may be empty)`;
  if (!arg || typeof arg !== 'object' || Array.isArray(arg) || arg instanceof Uint8Array) throw new CairnError(ErrorCode.BAD_ARGUMENT, usage);
  const o = arg as Record<string, unknown>;
  for (const field of Object.keys(o)) {
    if (field !== 'key' && field !== 'prefix' && field !== 'events') throw new CairnError(ErrorCode.BAD_ARGUMENT, `unknown ${command} option ${field}`);
  }
  const hasKey = o.key !== undefined && o.key !== null;
  const hasPrefix = o.prefix !== undefined && o.prefix !== null;
  if (hasKey === hasPrefix) throw new CairnError(ErrorCode.BAD_ARGUMENT, usage);
  const bytes = asBytes(hasKey ? o.key : o.prefix);
  if (!bytes) throw new CairnError(ErrorCode.BAD_ARGUMENT, usage);
  if (bytes.length > 65535) throw new CairnError(ErrorCode.KEY_TOO_LARGE, `a ${hasKey ? 'key' : 'prefix'} of ${bytes.length} bytes exceeds the limit of 65535`);
  return { prefix: hasPrefix, text: binaryString(bytes) };
}
