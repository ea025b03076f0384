/**
 * The channel message bus of one front thread (the acceptor, or the gateway): RESP, native and
 * WebSocket subscribers of channels and glob patterns, PUBLISH, PUBSUB introspection, and keyspace
 * notifications made from the key events the shards already send.
 *
 * The two front threads are joined peer to peer (docs/pubsub.md): each tells the other how many of
 * its connections subscribe to each channel and pattern (deltas, so both keep an exact mirror), and
 * a PUBLISH is delivered to the local subscribers at once and forwarded to the peer only when the
 * mirror says somebody there listens. That makes PUBLISH's receiver count and PUBSUB NUMSUB exact
 * across threads without any shard work. Keyspace notifications are not forwarded: every front gets
 * the shards' key events itself and makes notifications for its own subscribers.
 */
import { binaryString } from '../events/index.js';
import { KeyEvent, NOTIFY_NAMES, notifyOf } from '../events/codes.js';
import { globMatch } from '../commands/glob.js';

/** A connection that can receive channel messages. */
export interface ChannelSubscriber {
  /** one message; pattern is null for a channel subscription's message */
  pushMessage(pattern: Buffer | null, channel: Buffer, message: Buffer): void;
}

/** What one front tells the other (structured-cloned over the worker's message port). */
export type BusWire =
  | { op: 'sub'; pattern: boolean; name: Uint8Array; delta: number }
  | { op: 'msg'; channel: Uint8Array; message: Uint8Array }
  | { op: 'notify'; flags: string };

export interface BusStats {
  channels: number;
  patterns: number;
  subscribers: number;
  published: number;
  delivered: number;
  notifications: number;
}

interface Entry {
  bytes: Buffer;
  subs: Set<ChannelSubscriber>;
}

interface Mine {
  channels: Set<string>;
  patterns: Set<string>;
}

// ---- keyspace notification flags (Redis' notify-keyspace-events) ----------------------------------

export const NOTIFY = {
  KEYSPACE: 1 << 0, // K
  KEYEVENT: 1 << 1, // E
  GENERIC: 1 << 2, // g
  STRING: 1 << 3, // $
  LIST: 1 << 4, // l
  SET: 1 << 5, // s
  HASH: 1 << 6, // h
  ZSET: 1 << 7, // z
  EXPIRED: 1 << 8, // x
  EVICTED: 1 << 9, // e
  STREAM: 1 << 10, // t
  KEY_MISS: 1 << 11, // m
  MODULE: 1 << 12, // d
  NEW: 1 << 13, // n
} as const;

const FLAG_CHARS: [string, number][] = [
  ['g', NOTIFY.GENERIC],
  ['$', NOTIFY.STRING],
  ['l', NOTIFY.LIST],
  ['s', NOTIFY.SET],
  ['h', NOTIFY.HASH],
  ['z', NOTIFY.ZSET],
  ['x', NOTIFY.EXPIRED],
  ['e', NOTIFY.EVICTED],
  ['t', NOTIFY.STREAM],
  ['m', NOTIFY.KEY_MISS],
  ['d', NOTIFY.MODULE],
  ['n', NOTIFY.NEW],
  ['K', NOTIFY.KEYSPACE],
  ['E', NOTIFY.KEYEVENT],
];
/** 'A' = g$lshzxetd, as in Redis */
const ALL_CLASSES =
  NOTIFY.GENERIC | NOTIFY.STRING | NOTIFY.LIST | NOTIFY.SET | NOTIFY.HASH | NOTIFY.ZSET | NOTIFY.EXPIRED | NOTIFY.EVICTED | NOTIFY.STREAM | NOTIFY.MODULE;

/** Parse a notify-keyspace-events string; null when it has a character Redis would refuse. */
export function parseNotifyFlags(text: string): number | null {
  let flags = 0;
  for (const ch of text) {
    if (ch === 'A') {
      flags |= ALL_CLASSES;
      continue;
    }
    const found = FLAG_CHARS.find(([c]) => c === ch);
    if (!found) return null;
    flags |= found[1];
  }
  // without K or E nothing is published, as in Redis
  if ((flags & (NOTIFY.KEYSPACE | NOTIFY.KEYEVENT)) === 0) flags = 0;
  return flags;
}

/** The normalized string CONFIG GET answers ('AKE' for 'KEA'). */
export function notifyFlagsString(flags: number): string {
  let out = '';
  if ((flags & ALL_CLASSES) === ALL_CLASSES) out += 'A';
  for (const [c, bit] of FLAG_CHARS) {
    if (c === 'K' || c === 'E') continue;
    if ((ALL_CLASSES & bit) !== 0 && out.startsWith('A')) continue;
    if (flags & bit) out += c;
  }
  if (flags & NOTIFY.KEYSPACE) out += 'K';
  if (flags & NOTIFY.KEYEVENT) out += 'E';
  return out;
}

const KEYSPACE_PREFIX = Buffer.from('__keyspace@0__:');
const KEYEVENT_PREFIX = Buffer.from('__keyevent@0__:');

/** a notification: its event name (the keyspace channel's message), keyevent channel and class bit */
interface Notification {
  event: Buffer;
  channel: Buffer;
  cls: number;
}

function notification(name: string, cls: number): Notification {
  const event = Buffer.from(name);
  return { event, channel: Buffer.concat([KEYEVENT_PREFIX, event]), cls };
}

/**
 * cairn's key events as Redis notifications: event name and class. `flush` has no notification
 * (Redis publishes none for FLUSHALL); `restore` and `drop` are cairn's own tier events, in class e.
 */
const NOTIFICATION: Record<number, Notification> = {
  [KeyEvent.SET]: notification('set', NOTIFY.STRING),
  [KeyEvent.DELETE]: notification('del', NOTIFY.GENERIC),
  [KeyEvent.EXPIRE]: notification('expired', NOTIFY.EXPIRED),
  [KeyEvent.EVICT]: notification('evicted', NOTIFY.EVICTED),
  [KeyEvent.RESTORE]: notification('restored', NOTIFY.EVICTED),
  [KeyEvent.DROP]: notification('dropped', NOTIFY.EVICTED),
  [KeyEvent.TTL]: notification('expire', NOTIFY.GENERIC),
};

/** the data-type commands' own names (an event code from 32 up names one: src/events/codes.ts), by Notify value */
const NAMED: readonly (Notification | undefined)[] = NOTIFY_NAMES.map((n) => (n === null ? undefined : notification(n[0], classBit(n[1]))));

function classBit(letter: string): number {
  const found = FLAG_CHARS.find(([c]) => c === letter);
  if (!found) throw new Error(`no notification class ${letter}`);
  return found[1];
}

export class ChannelBus {
  private readonly channels = new Map<string, Entry>();
  private readonly patterns = new Map<string, Entry>();
  private readonly bySub = new Map<ChannelSubscriber, Mine>();
  /** the peer front's subscriber counts */
  private readonly remoteChannels = new Map<string, number>();
  private readonly remotePatterns = new Map<string, { bytes: Buffer; count: number }>();
  private peer: ((msg: BusWire) => void) | null = null;
  private notifyFlags = 0;
  private listening = false;
  private published = 0;
  private delivered = 0;
  private notifications = 0;

  /**
   * `listen(on)` asks the shards for key events (keyspace notifications are made from them); it is
   * on only while notifications are enabled and this front has some channel subscription.
   */
  constructor(
    private readonly listen: (on: boolean) => void = () => undefined,
    notify = 0,
  ) {
    this.notifyFlags = notify;
  }

  /** Join the other front thread; it learns every current local subscription at once. */
  attachPeer(send: ((msg: BusWire) => void) | null): void {
    this.peer = send;
    if (!send) {
      this.remoteChannels.clear();
      this.remotePatterns.clear();
      return;
    }
    for (const [, e] of this.channels) send({ op: 'sub', pattern: false, name: e.bytes, delta: e.subs.size });
    for (const [, e] of this.patterns) send({ op: 'sub', pattern: true, name: e.bytes, delta: e.subs.size });
    if (this.notifyFlags !== 0) send({ op: 'notify', flags: notifyFlagsString(this.notifyFlags) });
  }

  /** A message from the peer front. */
  fromPeer(msg: BusWire): void {
    if (msg.op === 'msg') {
      this.deliver(Buffer.from(msg.channel), Buffer.from(msg.message));
    } else if (msg.op === 'sub') {
      const key = binaryString(msg.name);
      if (msg.pattern) {
        const e = this.remotePatterns.get(key);
        const count = (e?.count ?? 0) + msg.delta;
        if (count <= 0) this.remotePatterns.delete(key);
        else this.remotePatterns.set(key, { bytes: Buffer.from(msg.name), count });
      } else {
        const count = (this.remoteChannels.get(key) ?? 0) + msg.delta;
        if (count <= 0) this.remoteChannels.delete(key);
        else this.remoteChannels.set(key, count);
      }
    } else if (msg.op === 'notify') {
      this.setNotify(parseNotifyFlags(msg.flags) ?? 0, false);
    }
  }

  // ---- notifications -------------------------------------------------------------------------

  get notify(): number {
    return this.notifyFlags;
  }

  /** Change notify-keyspace-events (and tell the peer, unless it came from there). */
  setNotify(flags: number, tellPeer = true): void {
    this.notifyFlags = flags;
    if (tellPeer) this.peer?.({ op: 'notify', flags: notifyFlagsString(flags) });
    this.updateListen();
  }

  private updateListen(): void {
    const on = this.notifyFlags !== 0 && this.bySub.size > 0;
    if (on === this.listening) return;
    this.listening = on;
    this.listen(on);
  }

  /** A key event from a shard: keyspace notifications for this front's subscribers. */
  keyEvent(code: number, key: Uint8Array): void {
    const flags = this.notifyFlags;
    if (flags === 0 || this.bySub.size === 0) return;
    const named = notifyOf(code);
    const n = named === 0 ? NOTIFICATION[code] : NAMED[named];
    if (n === undefined || (flags & n.cls) === 0) return;
    if (flags & NOTIFY.KEYSPACE) {
      this.notifications++;
      this.deliver(Buffer.concat([KEYSPACE_PREFIX, key]), n.event);
    }
    if (flags & NOTIFY.KEYEVENT) {
      this.notifications++;
      this.deliver(n.channel, Buffer.from(key));
    }
  }

  // ---- subscriptions ---------------------------------------------------------------------------

  /** Channels plus patterns the connection holds (what Redis' (un)subscribe replies count). */
  count(sub: ChannelSubscriber): number {
    const mine = this.bySub.get(sub);
    return mine ? mine.channels.size + mine.patterns.size : 0;
  }

  channelsOf(sub: ChannelSubscriber): Buffer[] {
    const mine = this.bySub.get(sub);
    return mine ? [...mine.channels].map((k) => Buffer.from(k, 'latin1')) : [];
  }

  patternsOf(sub: ChannelSubscriber): Buffer[] {
    const mine = this.bySub.get(sub);
    return mine ? [...mine.patterns].map((k) => Buffer.from(k, 'latin1')) : [];
  }

  /** Subscribe to a channel (pattern = false) or a glob pattern; returns the connection's count. */
  subscribe(sub: ChannelSubscriber, name: Uint8Array, pattern = false): number {
    const key = binaryString(name);
    let mine = this.bySub.get(sub);
    if (!mine) this.bySub.set(sub, (mine = { channels: new Set(), patterns: new Set() }));
    const set = pattern ? mine.patterns : mine.channels;
    if (!set.has(key)) {
      set.add(key);
      const map = pattern ? this.patterns : this.channels;
      let e = map.get(key);
      if (!e) map.set(key, (e = { bytes: Buffer.from(name), subs: new Set() }));
      e.subs.add(sub);
      this.peer?.({ op: 'sub', pattern, name: e.bytes, delta: 1 });
    }
    this.updateListen();
    return mine.channels.size + mine.patterns.size;
  }

  /** Unsubscribe from one channel or pattern; returns the connection's count left. */
  unsubscribe(sub: ChannelSubscriber, name: Uint8Array, pattern = false): number {
    const mine = this.bySub.get(sub);
    if (!mine) return 0;
    const key = binaryString(name);
    const set = pattern ? mine.patterns : mine.channels;
    if (set.delete(key)) {
      const map = pattern ? this.patterns : this.channels;
      const e = map.get(key);
      if (e) {
        e.subs.delete(sub);
        if (e.subs.size === 0) map.delete(key);
        this.peer?.({ op: 'sub', pattern, name: e.bytes, delta: -1 });
      }
    }
    const left = mine.channels.size + mine.patterns.size;
    if (left === 0) this.bySub.delete(sub);
    this.updateListen();
    return left;
  }

  /** Forget every subscription of a connection (it closed). */
  drop(sub: ChannelSubscriber): void {
    const mine = this.bySub.get(sub);
    if (!mine) return;
    for (const k of [...mine.channels]) this.unsubscribe(sub, Buffer.from(k, 'latin1'), false);
    for (const k of [...mine.patterns]) this.unsubscribe(sub, Buffer.from(k, 'latin1'), true);
    this.bySub.delete(sub);
    this.updateListen();
  }

  // ---- messages --------------------------------------------------------------------------------

  /** PUBLISH: deliver here and to the peer front; the number of receivers (as Redis counts them). */
  publish(channel: Uint8Array, message: Uint8Array): number {
    this.published++;
    const ch = Buffer.isBuffer(channel) ? channel : Buffer.from(channel);
    const msg = Buffer.isBuffer(message) ? message : Buffer.from(message);
    let count = this.deliver(ch, msg);
    if (this.peer) {
      const remote = this.remoteCount(ch);
      if (remote > 0) {
        count += remote;
        this.peer({ op: 'msg', channel: ch, message: msg });
      }
    }
    return count;
  }

  private remoteCount(channel: Buffer): number {
    let n = this.remoteChannels.get(binaryString(channel)) ?? 0;
    for (const p of this.remotePatterns.values()) if (globMatch(p.bytes, channel)) n += p.count;
    return n;
  }

  /** Deliver to this front's subscribers; the number of pushes. */
  private deliver(channel: Buffer, message: Buffer): number {
    let n = 0;
    const e = this.channels.size > 0 ? this.channels.get(binaryString(channel)) : undefined;
    if (e) {
      for (const sub of e.subs) {
        sub.pushMessage(null, channel, message);
        n++;
      }
    }
    if (this.patterns.size > 0) {
      for (const p of this.patterns.values()) {
        if (!globMatch(p.bytes, channel)) continue;
        for (const sub of p.subs) {
          sub.pushMessage(p.bytes, channel, message);
          n++;
        }
      }
    }
    this.delivered += n;
    return n;
  }

  // ---- PUBSUB ----------------------------------------------------------------------------------

  /** PUBSUB CHANNELS [pattern]: active channels on both fronts. */
  activeChannels(pattern: Uint8Array | null): Buffer[] {
    const names = new Map<string, Buffer>();
    for (const [k, e] of this.channels) names.set(k, e.bytes);
    for (const k of this.remoteChannels.keys()) if (!names.has(k)) names.set(k, Buffer.from(k, 'latin1'));
    const out: Buffer[] = [];
    for (const b of names.values()) if (pattern === null || globMatch(pattern, b)) out.push(b);
    return out;
  }

  /** PUBSUB NUMSUB: channel subscribers on both fronts. */
  numsub(channel: Uint8Array): number {
    const k = binaryString(channel);
    return (this.channels.get(k)?.subs.size ?? 0) + (this.remoteChannels.get(k) ?? 0);
  }

  /** PUBSUB NUMPAT: distinct patterns subscribed on both fronts. */
  numpat(): number {
    let n = this.patterns.size;
    for (const k of this.remotePatterns.keys()) if (!this.patterns.has(k)) n++;
    return n;
  }

  stats(): BusStats {
    return {
      channels: this.channels.size,
      patterns: this.patterns.size,
      subscribers: this.bySub.size,
      published: this.published,
      delivered: this.delivered,
      notifications: this.notifications,
    };
  }
}
