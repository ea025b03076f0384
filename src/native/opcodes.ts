/**
 * The native protocol's opcodes and their routing classes (docs/protocol.md, protocol version 1).
 *
 * The acceptor routes a request frame by its opcode's class alone, without decoding the body:
 * - `local`: answered by the acceptor itself (handshake, ping, auth);
 * - `routed`: one key, the route key; the whole frame goes to shardOf(routeKey);
 * - `multi`: several keys that the client has already grouped by shard; the route key is the first
 *   key of the group, so the frame is routed exactly like a `routed` one;
 * - `broadcast`: the frame goes to every shard and the replies are merged (see merge.ts);
 * - `cursor`: scan; the route key is the scan cursor, which names the one shard to ask.
 *
 * CALL carries any data command of the command table by name with Redis' arguments (the hash, list,
 * set and sorted-set commands): routed by the command's first key like GET, run on the shard by the
 * command core's own argument parser (src/native/call.ts).
 */

export const PROTOCOL_VERSION = 1;

export const Opcode = {
  HELLO: 0x01,
  PING: 0x02,
  AUTH: 0x03,
  SUBSCRIBE: 0x04,
  UNSUBSCRIBE: 0x05,
  PUBLISH: 0x06,
  REPLSYNC: 0x07,
  REPLACK: 0x08,

  GET: 0x10,
  GETMETA: 0x11,
  SET: 0x12,
  DEL: 0x13,
  EXISTS: 0x14,
  EXPIRE: 0x15,
  PERSIST: 0x16,
  TTL: 0x17,
  TOUCH: 0x18,
  INCR: 0x19,
  DECR: 0x1a,
  APPEND: 0x1b,
  PREPEND: 0x1c,
  GETDEL: 0x1d,
  RESTORE: 0x1e,

  MGET: 0x20,
  MSET: 0x21,
  MDEL: 0x22,

  STATS: 0x30,
  COUNT: 0x31,
  FLUSH: 0x32,
  SCAN: 0x33,

  CALL: 0x40,
} as const;

export type Opcode = (typeof Opcode)[keyof typeof Opcode];

export type OpClass = 'local' | 'routed' | 'multi' | 'broadcast' | 'cursor';

/** Numeric class codes, for the acceptor's per-frame lookup in OPCODE_CLASS. */
export const OpClassCode = {
  UNKNOWN: 0,
  LOCAL: 1,
  ROUTED: 2,
  MULTI: 3,
  BROADCAST: 4,
  CURSOR: 5,
} as const;

export interface OpcodeInfo {
  opcode: number;
  name: string;
  class: OpClass;
  /** argument list after the route key, as documented in docs/protocol.md. */
  args: string;
  reply: string;
}

const CLASS_CODE: Record<OpClass, number> = {
  local: OpClassCode.LOCAL,
  routed: OpClassCode.ROUTED,
  multi: OpClassCode.MULTI,
  broadcast: OpClassCode.BROADCAST,
  cursor: OpClassCode.CURSOR,
};

/** The opcode table, in the order docs/protocol.md lists it. */
export const OPCODES: readonly OpcodeInfo[] = [
  {
    opcode: Opcode.HELLO,
    name: 'hello',
    class: 'local',
    args: '[{version, password?, name?}]',
    reply: '{version, server, serverVersion, shards, keyHash, limits}',
  },
  { opcode: Opcode.PING, name: 'ping', class: 'local', args: '[message?]', reply: "'PONG' or the message" },
  { opcode: Opcode.AUTH, name: 'auth', class: 'local', args: '[password]', reply: 'true' },
  {
    opcode: Opcode.SUBSCRIBE,
    name: 'subscribe',
    class: 'local',
    args: '[{key} | {prefix}, with events?: [name, ...]] or [{channel} | {pattern}]',
    reply: 'int: subscriptions on the connection',
  },
  {
    opcode: Opcode.UNSUBSCRIBE,
    name: 'unsubscribe',
    class: 'local',
    args: '[{key} | {prefix} | {channel} | {pattern}] or [] for all',
    reply: 'int: subscriptions left',
  },
  { opcode: Opcode.PUBLISH, name: 'publish', class: 'local', args: '[channel, message]', reply: 'int: receivers' },
  {
    opcode: Opcode.REPLSYNC,
    name: 'replsync',
    class: 'local',
    args: '[{runId?, offset?, port?}]',
    reply: "{mode: 'partial' | 'full', runId, offset}, then PUSH ['repl', offset, code, key] per event",
  },
  { opcode: Opcode.REPLACK, name: 'replack', class: 'local', args: '[{offset}]', reply: "int: the primary's offset" },

  { opcode: Opcode.GET, name: 'get', class: 'routed', args: '[]', reply: 'bin | nil' },
  { opcode: Opcode.GETMETA, name: 'getmeta', class: 'routed', args: '[]', reply: '{value, flags, expiresAt, cas} | nil' },
  { opcode: Opcode.SET, name: 'set', class: 'routed', args: '[value, options?]', reply: '[status, cas] or [status, cas, old] with returnOld' },
  { opcode: Opcode.DEL, name: 'del', class: 'routed', args: '[{cas?}?]', reply: 'bool' },
  { opcode: Opcode.EXISTS, name: 'exists', class: 'routed', args: '[]', reply: 'bool' },
  { opcode: Opcode.EXPIRE, name: 'expire', class: 'routed', args: '[{ttl} | {expiresAt}]', reply: 'bool' },
  { opcode: Opcode.PERSIST, name: 'persist', class: 'routed', args: '[]', reply: 'bool' },
  { opcode: Opcode.TTL, name: 'ttl', class: 'routed', args: '[absolute?]', reply: 'int: ms left (or expiry time), -1 none, -2 missing' },
  { opcode: Opcode.TOUCH, name: 'touch', class: 'routed', args: '[{ttl} | {expiresAt} | {}]', reply: '{value, flags, expiresAt, cas} | nil' },
  { opcode: Opcode.INCR, name: 'incr', class: 'routed', args: '[delta?]', reply: 'int (i64)' },
  { opcode: Opcode.DECR, name: 'decr', class: 'routed', args: '[delta?]', reply: 'int (i64)' },
  { opcode: Opcode.APPEND, name: 'append', class: 'routed', args: '[bytes]', reply: 'int: new length' },
  { opcode: Opcode.PREPEND, name: 'prepend', class: 'routed', args: '[bytes]', reply: 'int: new length' },
  { opcode: Opcode.GETDEL, name: 'getdel', class: 'routed', args: '[]', reply: 'bin | nil' },
  { opcode: Opcode.RESTORE, name: 'restore', class: 'routed', args: '[]', reply: 'bool' },

  { opcode: Opcode.MGET, name: 'mget', class: 'multi', args: '[[key, ...]]', reply: '[bin | nil, ...]' },
  { opcode: Opcode.MSET, name: 'mset', class: 'multi', args: '[[key, value, key, value, ...], options?]', reply: 'int: keys stored' },
  { opcode: Opcode.MDEL, name: 'mdel', class: 'multi', args: '[[key, ...]]', reply: 'int: keys deleted' },

  { opcode: Opcode.STATS, name: 'stats', class: 'broadcast', args: '[]', reply: '{total, shards: [ShardStats, ...]}' },
  { opcode: Opcode.COUNT, name: 'count', class: 'broadcast', args: '[]', reply: '{hot, cold, total}' },
  { opcode: Opcode.FLUSH, name: 'flush', class: 'broadcast', args: '[]', reply: 'true' },
  { opcode: Opcode.SCAN, name: 'scan', class: 'cursor', args: '[count?]  (route key = cursor)', reply: '[cursor, [key, ...]]' },

  {
    opcode: Opcode.CALL,
    name: 'call',
    class: 'routed',
    args: '[command, arg, ...]  (route key = the first key)',
    reply: "the command's Redis reply as msgpack: int, bin, nil, str, arrays of them",
  },
];

/** Class code per opcode byte (OpClassCode); 0 for an unknown opcode. Indexed by the frame's opcode byte. */
export const OPCODE_CLASS: Uint8Array = new Uint8Array(256);
/** Name per opcode byte, for errors, logs and metrics. */
export const OPCODE_NAME: readonly (string | undefined)[] = (() => {
  const names: (string | undefined)[] = new Array(256).fill(undefined);
  for (const info of OPCODES) {
    OPCODE_CLASS[info.opcode] = CLASS_CODE[info.class];
    names[info.opcode] = info.name;
  }
  return names;
})();

const BY_NAME = new Map(OPCODES.map((info) => [info.name, info]));

export function opcodeByName(name: string): OpcodeInfo | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function opcodeInfo(opcode: number): OpcodeInfo | undefined {
  return OPCODES.find((info) => info.opcode === opcode);
}

/** Defaults advertised in HELLO unless the server is configured otherwise. */
export const DEFAULT_LIMITS = {
  /** largest value of a frame's length field (the bytes after the 4-byte prefix). */
  maxFrame: 8 * 1024 * 1024,
  /** the store keeps key lengths in 16 bits; the empty key is a key. */
  maxKey: 65535,
  maxValue: 1024 * 1024,
} as const;

export interface Limits {
  maxFrame: number;
  maxKey: number;
  maxValue: number;
}
