/**
 * The event bus between shards and front threads (acceptor, gateway): what travels, and how it is
 * coded. Platform-free, so the SDK shares the names.
 *
 * A shard sends an event to every front thread that has subscribers, as one ring message of kind
 * MessageKind.EVENT on that front's reply ring: `conn` 0, `seq` the event code, `payload` the key
 * bytes (no encoding: the shard does no msgpack work for events). The front matches it against its
 * connections' subscriptions and writes one PUSH frame per matching connection.
 *
 * Codes 1-15 are key events (payload = key). Code 16 is reserved for channel messages (RESP
 * PUBLISH and keyspace notifications, a later issue): payload `u32 LE channel length | channel |
 * message`; a front publishes by sending MessageKind.PUBLISH with that payload to the shard that
 * owns the channel (hash of the channel name), which forwards it to every subscribed front, so the
 * same rings and the same "anyone listening?" words carry both.
 */

export const KeyEvent = {
  /** a value was written (SET, MSET, INCR/DECR, APPEND/PREPEND, ...) */
  SET: 1,
  /** the key was deleted by a command (DEL, GETDEL, an expiry in the past) */
  DELETE: 2,
  /** the key's TTL passed and it was removed */
  EXPIRE: 3,
  /** the key left memory (LRU or idle limit); it stays on disk */
  EVICT: 4,
  /** the key was read back from disk into memory */
  RESTORE: 5,
  /** the key was dropped from the disk tier by its item/byte limits and is gone */
  DROP: 6,
  /** every key of a shard was removed (FLUSH); the key is empty and every subscription matches */
  FLUSH: 7,
  /** the key's expiry was set, changed or removed (EXPIRE, PERSIST, TOUCH); the value is unchanged */
  TTL: 8,
} as const;

export type KeyEventCode = (typeof KeyEvent)[keyof typeof KeyEvent];

/** Reserved: a channel message (see above). */
export const CHANNEL_MESSAGE = 16;

export type KeyEventName = 'set' | 'delete' | 'expire' | 'evict' | 'restore' | 'drop' | 'flush' | 'ttl';

/** Name per code (index = code). */
export const KEY_EVENT_NAMES: readonly (KeyEventName | undefined)[] = [undefined, 'set', 'delete', 'expire', 'evict', 'restore', 'drop', 'flush', 'ttl'];

export const ALL_KEY_EVENTS = 0x1fe; // bits 1..8

/** Bit mask of event names (each code c is bit 1 << c); null for an unknown name. */
export function keyEventMask(names: readonly string[]): number | null {
  let mask = 0;
  for (const name of names) {
    const code = KEY_EVENT_NAMES.indexOf(name as KeyEventName);
    if (code <= 0) return null;
    mask |= 1 << code;
  }
  return mask;
}

/** The PUSH body kind of key events: `['keyevent', event, key]`. */
export const PUSH_KEYEVENT = 'keyevent';

/** PUSH bodies of channel messages: `['message', channel, message]`, `['pmessage', pattern, channel, message]`. */
export const PUSH_MESSAGE = 'message';
export const PUSH_PMESSAGE = 'pmessage';

/** A shard's key-event listener: the key is a view the listener must copy if it keeps it. */
export type KeyEventListener = (code: number, key: Uint8Array) => void;
