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
 *
 * Codes from 32 up are a key event that names its keyspace notification (notifiedEvent): `code & 15`
 * is the key event (0: none, a notification only) and `code >> 5` a Notify name. Key-event
 * subscribers and replication read only the key event; the pub/sub bus publishes the name. So a
 * change to a hash is a `set` key event for native and WebSocket subscribers and `hset` in class h for
 * Redis clients, and the name travels in the ring message's seq word, no payload added.
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

/**
 * Keyspace notification names of the data-type commands, as Redis 7.0 publishes them (t_hash.c,
 * t_list.c, t_set.c, t_zset.c, t_stream.c). NONE: a change Redis does not notify (XACK, an SMOVE
 * into a set that already held the member), still a `set` key event for key-event subscribers.
 */
export const Notify = {
  NONE: 1,
  HSET: 2,
  HDEL: 3,
  HINCRBY: 4,
  HINCRBYFLOAT: 5,
  LPUSH: 6,
  RPUSH: 7,
  LPOP: 8,
  RPOP: 9,
  LINSERT: 10,
  LSET: 11,
  LREM: 12,
  LTRIM: 13,
  SADD: 14,
  SREM: 15,
  SPOP: 16,
  SINTERSTORE: 17,
  SUNIONSTORE: 18,
  SDIFFSTORE: 19,
  ZADD: 20,
  ZINCR: 21,
  ZREM: 22,
  ZREMRANGEBYRANK: 23,
  ZREMRANGEBYSCORE: 24,
  ZREMRANGEBYLEX: 25,
  ZPOPMIN: 26,
  ZPOPMAX: 27,
  ZUNIONSTORE: 28,
  ZINTERSTORE: 29,
  ZDIFFSTORE: 30,
  ZRANGESTORE: 31,
  XADD: 32,
  XTRIM: 33,
  XDEL: 34,
  XSETID: 35,
  XGROUP_CREATE: 36,
  XGROUP_CREATECONSUMER: 37,
  XGROUP_DELCONSUMER: 38,
  XGROUP_DESTROY: 39,
  XGROUP_SETID: 40,
} as const;

/** The notification name and Redis class letter (h l s z t) of each Notify value (index = value). */
export const NOTIFY_NAMES: readonly (readonly [name: string, cls: string] | null)[] = [
  null,
  null,
  ['hset', 'h'],
  ['hdel', 'h'],
  ['hincrby', 'h'],
  ['hincrbyfloat', 'h'],
  ['lpush', 'l'],
  ['rpush', 'l'],
  ['lpop', 'l'],
  ['rpop', 'l'],
  ['linsert', 'l'],
  ['lset', 'l'],
  ['lrem', 'l'],
  ['ltrim', 'l'],
  ['sadd', 's'],
  ['srem', 's'],
  ['spop', 's'],
  ['sinterstore', 's'],
  ['sunionstore', 's'],
  ['sdiffstore', 's'],
  ['zadd', 'z'],
  ['zincr', 'z'],
  ['zrem', 'z'],
  ['zremrangebyrank', 'z'],
  ['zremrangebyscore', 'z'],
  ['zremrangebylex', 'z'],
  ['zpopmin', 'z'],
  ['zpopmax', 'z'],
  ['zunionstore', 'z'],
  ['zinterstore', 'z'],
  ['zdiffstore', 'z'],
  ['zrangestore', 'z'],
  ['xadd', 't'],
  ['xtrim', 't'],
  ['xdel', 't'],
  ['xsetid', 't'],
  ['xgroup-create', 't'],
  ['xgroup-createconsumer', 't'],
  ['xgroup-delconsumer', 't'],
  ['xgroup-destroy', 't'],
  ['xgroup-setid', 't'],
];

const NOTIFY_SHIFT = 5;

/** The code of key event `event` (0: none) notified as `notify` (a Notify value; 0: the event's own name). */
export function notifiedEvent(event: number, notify: number): number {
  return notify === 0 ? event : event | (notify << NOTIFY_SHIFT);
}

/** The key event of an event code (0 for a notification only); a code below 32 is its own. */
export function keyEventOf(code: number): number {
  return code < 1 << NOTIFY_SHIFT ? code : code & 15;
}

/** The Notify value an event code names (0: the key event's own notification). */
export function notifyOf(code: number): number {
  return code >>> NOTIFY_SHIFT;
}

/** The PUSH body kind of key events: `['keyevent', event, key]`. */
export const PUSH_KEYEVENT = 'keyevent';

/** PUSH bodies of channel messages: `['message', channel, message]`, `['pmessage', pattern, channel, message]`. */
export const PUSH_MESSAGE = 'message';
export const PUSH_PMESSAGE = 'pmessage';

/** A shard's key-event listener: the key is a view the listener must copy if it keeps it. */
export type KeyEventListener = (code: number, key: Uint8Array) => void;
