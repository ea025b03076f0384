/**
 * The one command table. Each row is a command as Redis 7 declares it (arity, flags, key positions,
 * docs: RESP planning, arity errors, COMMAND and COMMAND DOCS) and how the acceptor routes it. The
 * memcached words and native opcodes are mapped onto these rows below, so "is this a write", routing
 * and metrics names come from here for every protocol.
 */

/**
 * key: one key at argv[1], sent to its shard. keys: keys at argv[1..], split per shard (MGET, DEL,
 * UNLINK, EXISTS). pairs: key/value pairs (MSET, MSETNX). move: a source key at argv[1] and a
 * destination at argv[2] (RENAME, RENAMENX, COPY): their shard when they share one, else read,
 * written and deleted in steps by the acceptor. all: broadcast to every shard. scan: one shard
 * chosen by the cursor. local: answered by the acceptor. pubsub: the connection's pub/sub
 * (src/pubsub/resp.ts), also CONFIG SET and RESET. script: EVAL and friends on the shard owning
 * their KEYS, SCRIPT on every shard (src/resp/scripting.ts).
 */
export type { Route };

export interface CommandSpec {
  /** lower case; subcommands as `container|sub`. */
  name: string;
  /** Redis arity: n means exactly n arguments (name included), -n at least n. */
  arity: number;
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  acl: string[];
  group: string;
  since: string;
  summary: string;
  route: Route;
  /** allowed before AUTH. */
  noAuth?: boolean;
  subcommands?: Map<string, CommandSpec>;
}

import { ALL_KEYS, type Def, NO_KEYS, numkeyIndexes, ONE_KEY, PAIRS, type Route, TWO_KEYS } from './def.js';
import { HASH_DEFS } from './rows-hash.js';
import { LIST_DEFS } from './rows-list.js';
import { SET_DEFS } from './rows-set.js';
import { STREAM_DEFS, STREAM_SUBDEFS } from './rows-stream.js';
import { ZSET_DEFS } from './rows-zset.js';

const DEFS: Def[] = [
  [
    'append',
    3,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '2.0.0',
    'key',
    'Appends a string to the value of a key. Creates the key if it does not exist.',
  ],
  ['auth', -2, 'noscript loading stale fast no_auth allow_busy', NO_KEYS, 'fast connection', 'connection', '1.0.0', 'local', 'Authenticates the connection.'],
  ['cairn.info', -1, 'loading stale', NO_KEYS, 'slow', 'server', '0.1.0', 'all', 'Returns cairn tier statistics (memory and disk) per shard.'],
  [
    'cairn.restore',
    2,
    'write fast',
    ONE_KEY,
    'keyspace write fast',
    'generic',
    '0.1.0',
    'key',
    'Loads a key from the disk tier into memory now. Returns 1 when the key exists on either tier.',
  ],
  ['client', -2, '', NO_KEYS, 'slow', 'connection', '2.4.0', 'local', 'A container for client connection commands.'],
  ['command', -1, 'loading stale', NO_KEYS, 'slow connection', 'server', '2.8.13', 'local', 'Returns detailed information about all commands.'],
  ['config', -2, '', NO_KEYS, 'slow', 'server', '2.0.0', 'local', 'A container for server configuration commands.'],
  ['copy', -3, 'write denyoom', TWO_KEYS, 'keyspace write slow', 'generic', '6.2.0', 'move', 'Copies the value of a key to a new key.'],
  ['dbsize', 1, 'readonly fast', NO_KEYS, 'keyspace read fast', 'server', '1.0.0', 'all', 'Returns the number of keys in the database.'],
  [
    'decr',
    2,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '1.0.0',
    'key',
    'Decrements the integer value of a key by one. Uses 0 as initial value if the key does not exist.',
  ],
  [
    'decrby',
    3,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '1.0.0',
    'key',
    'Decrements a number from the integer value of a key. Uses 0 as initial value if the key does not exist.',
  ],
  ['del', -2, 'write', ALL_KEYS, 'keyspace write slow', 'generic', '1.0.0', 'keys', 'Deletes one or more keys.'],
  [
    'eval',
    -3,
    'noscript stale skip_monitor no_mandatory_keys movablekeys',
    NO_KEYS,
    'slow scripting',
    'scripting',
    '2.6.0',
    'script',
    'Executes a server-side Lua script.',
  ],
  [
    'eval_ro',
    -3,
    'readonly noscript stale skip_monitor no_mandatory_keys movablekeys',
    NO_KEYS,
    'slow scripting',
    'scripting',
    '7.0.0',
    'script',
    'Executes a read-only server-side Lua script.',
  ],
  [
    'evalsha',
    -3,
    'noscript stale skip_monitor no_mandatory_keys movablekeys',
    NO_KEYS,
    'slow scripting',
    'scripting',
    '2.6.0',
    'script',
    'Executes a server-side Lua script by SHA1 digest.',
  ],
  [
    'evalsha_ro',
    -3,
    'readonly noscript stale skip_monitor no_mandatory_keys movablekeys',
    NO_KEYS,
    'slow scripting',
    'scripting',
    '7.0.0',
    'script',
    'Executes a read-only server-side Lua script by SHA1 digest.',
  ],
  ['echo', 2, 'fast', NO_KEYS, 'fast connection', 'connection', '1.0.0', 'local', 'Returns the given string.'],
  ['exists', -2, 'readonly fast', ALL_KEYS, 'keyspace read fast', 'generic', '1.0.0', 'keys', 'Determines whether one or more keys exist.'],
  ['expire', -3, 'write fast', ONE_KEY, 'keyspace write fast', 'generic', '1.0.0', 'key', 'Sets the expiration time of a key in seconds.'],
  ['expireat', -3, 'write fast', ONE_KEY, 'keyspace write fast', 'generic', '1.2.0', 'key', 'Sets the expiration time of a key to a Unix timestamp.'],
  ['expiretime', 2, 'readonly fast', ONE_KEY, 'keyspace read fast', 'generic', '7.0.0', 'key', 'Returns the expiration time of a key as a Unix timestamp.'],
  ['flushall', -1, 'write', NO_KEYS, 'keyspace write slow dangerous', 'server', '1.0.0', 'all', 'Removes all keys from all databases.'],
  ['flushdb', -1, 'write', NO_KEYS, 'keyspace write slow dangerous', 'server', '1.0.0', 'all', 'Remove all keys from the current database.'],
  ['get', 2, 'readonly fast', ONE_KEY, 'read string fast', 'string', '1.0.0', 'key', 'Returns the string value of a key.'],
  ['getdel', 2, 'write fast', ONE_KEY, 'write string fast', 'string', '6.2.0', 'key', 'Returns the string value of a key after deleting the key.'],
  ['getex', -2, 'write fast', ONE_KEY, 'write string fast', 'string', '6.2.0', 'key', 'Returns the string value of a key after setting its expiration time.'],
  ['getrange', 4, 'readonly', ONE_KEY, 'read string slow', 'string', '2.4.0', 'key', 'Returns a substring of the string stored at a key.'],
  [
    'getset',
    3,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '1.0.0',
    'key',
    'Returns the previous string value of a key after setting it to a new value.',
  ],
  [
    'hello',
    -1,
    'noscript loading stale fast no_auth allow_busy',
    NO_KEYS,
    'fast connection',
    'connection',
    '6.0.0',
    'local',
    'Handshakes with the Redis server.',
  ],
  [
    'incr',
    2,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '1.0.0',
    'key',
    'Increments the integer value of a key by one. Uses 0 as initial value if the key does not exist.',
  ],
  [
    'incrby',
    3,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '1.0.0',
    'key',
    'Increments the integer value of a key by a number. Uses 0 as initial value if the key does not exist.',
  ],
  [
    'incrbyfloat',
    3,
    'write denyoom fast',
    ONE_KEY,
    'write string fast',
    'string',
    '2.6.0',
    'key',
    'Increment the floating point value of a key by a number. Uses 0 as initial value if the key does not exist.',
  ],
  ['info', -1, 'loading stale', NO_KEYS, 'slow dangerous', 'server', '1.0.0', 'all', 'Returns information and statistics about the server.'],
  ['keys', 2, 'readonly', NO_KEYS, 'keyspace read slow dangerous', 'generic', '1.0.0', 'all', 'Returns all key names that match a pattern.'],
  ['mget', -2, 'readonly fast', ALL_KEYS, 'read string fast', 'string', '1.0.0', 'keys', 'Atomically returns the string values of one or more keys.'],
  [
    'mset',
    -3,
    'write denyoom',
    PAIRS,
    'write string slow',
    'string',
    '1.0.1',
    'pairs',
    'Atomically creates or modifies the string values of one or more keys.',
  ],
  [
    'msetnx',
    -3,
    'write denyoom',
    PAIRS,
    'write string slow',
    'string',
    '1.0.1',
    'pairs',
    "Atomically modifies the string values of one or more keys only when all keys don't exist.",
  ],
  ['object', -2, '', NO_KEYS, 'slow', 'generic', '2.2.3', 'local', 'A container for object introspection commands.'],
  ['persist', 2, 'write fast', ONE_KEY, 'keyspace write fast', 'generic', '2.2.0', 'key', 'Removes the expiration time of a key.'],
  ['pexpire', -3, 'write fast', ONE_KEY, 'keyspace write fast', 'generic', '2.6.0', 'key', 'Sets the expiration time of a key in milliseconds.'],
  [
    'pexpireat',
    -3,
    'write fast',
    ONE_KEY,
    'keyspace write fast',
    'generic',
    '2.6.0',
    'key',
    'Sets the expiration time of a key to a Unix milliseconds timestamp.',
  ],
  [
    'pexpiretime',
    2,
    'readonly fast',
    ONE_KEY,
    'keyspace read fast',
    'generic',
    '7.0.0',
    'key',
    'Returns the expiration time of a key as a Unix milliseconds timestamp.',
  ],
  ['ping', -1, 'fast', NO_KEYS, 'fast connection', 'connection', '1.0.0', 'local', "Returns the server's liveliness response."],
  [
    'psetex',
    4,
    'write denyoom',
    ONE_KEY,
    'write string slow',
    'string',
    '2.6.0',
    'key',
    "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
  ],
  ['pttl', 2, 'readonly fast', ONE_KEY, 'keyspace read fast', 'generic', '2.6.0', 'key', 'Returns the expiration time in milliseconds of a key.'],
  ['quit', -1, 'allow_busy noscript loading stale fast no_auth', NO_KEYS, 'fast connection', 'connection', '1.0.0', 'local', 'Closes the connection.'],
  ['randomkey', 1, 'readonly', NO_KEYS, 'keyspace read slow', 'generic', '1.0.0', 'all', 'Returns a random key name from the database.'],
  ['rename', 3, 'write', TWO_KEYS, 'keyspace write slow', 'generic', '1.0.0', 'move', 'Renames a key and overwrites the destination.'],
  ['renamenx', 3, 'write fast', TWO_KEYS, 'keyspace write fast', 'generic', '1.0.0', 'move', "Renames a key only when the target key name doesn't exist."],
  ['script', -2, '', NO_KEYS, 'slow', 'scripting', '2.6.0', 'script', 'A container for Lua scripts management commands.'],
  ['scan', -2, 'readonly', NO_KEYS, 'keyspace read slow', 'generic', '2.8.0', 'scan', 'Iterates over the key names in the database.'],
  ['select', 2, 'loading stale fast', NO_KEYS, 'fast connection', 'connection', '1.0.0', 'local', 'Changes the selected database.'],
  [
    'set',
    -3,
    'write denyoom',
    ONE_KEY,
    'write string slow',
    'string',
    '1.0.0',
    'key',
    "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
  ],
  [
    'setex',
    4,
    'write denyoom',
    ONE_KEY,
    'write string slow',
    'string',
    '2.0.0',
    'key',
    "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
  ],
  ['setnx', 3, 'write denyoom fast', ONE_KEY, 'write string fast', 'string', '1.0.0', 'key', "Set the string value of a key only when the key doesn't exist."],
  [
    'setrange',
    4,
    'write denyoom',
    ONE_KEY,
    'write string slow',
    'string',
    '2.2.0',
    'key',
    "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
  ],
  ['strlen', 2, 'readonly fast', ONE_KEY, 'read string fast', 'string', '2.2.0', 'key', 'Returns the length of a string value.'],
  ['time', 1, 'loading stale fast', NO_KEYS, 'fast', 'server', '2.6.0', 'local', 'Returns the server time.'],
  ['ttl', 2, 'readonly fast', ONE_KEY, 'keyspace read fast', 'generic', '1.0.0', 'key', 'Returns the expiration time in seconds of a key.'],
  ['type', 2, 'readonly fast', ONE_KEY, 'keyspace read fast', 'generic', '1.0.0', 'key', 'Determines the type of value stored at a key.'],
  ['unlink', -2, 'write fast', ALL_KEYS, 'keyspace write fast', 'generic', '4.0.0', 'keys', 'Asynchronously deletes one or more keys.'],
  [
    'wait',
    3,
    'noscript',
    NO_KEYS,
    'slow connection',
    'generic',
    '3.0.0',
    'local',
    'Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.',
  ],
  // transactions: planned by src/resp/multi.ts before any route is taken
  ['multi', 1, 'noscript loading stale fast allow_busy', NO_KEYS, 'fast transaction', 'transactions', '1.2.0', 'local', 'Starts a transaction.'],
  ['exec', 1, 'noscript loading stale skip_slowlog', NO_KEYS, 'slow transaction', 'transactions', '1.2.0', 'local', 'Executes all commands in a transaction.'],
  ['discard', 1, 'noscript loading stale fast allow_busy', NO_KEYS, 'fast transaction', 'transactions', '2.0.0', 'local', 'Discards a transaction.'],
  [
    'watch',
    -2,
    'noscript loading stale fast allow_busy',
    ALL_KEYS,
    'fast transaction',
    'transactions',
    '2.2.0',
    'local',
    'Monitors changes to keys to determine the execution of a transaction.',
  ],
  [
    'unwatch',
    1,
    'noscript loading stale fast allow_busy',
    NO_KEYS,
    'fast transaction',
    'transactions',
    '2.2.0',
    'local',
    'Forgets about watched keys of a transaction.',
  ],
  // pub/sub (src/pubsub/resp.ts)
  [
    'psubscribe',
    -2,
    'pubsub noscript loading stale',
    NO_KEYS,
    'pubsub slow',
    'pubsub',
    '2.0.0',
    'pubsub',
    'Listens for messages published to channels that match one or more patterns.',
  ],
  ['publish', 3, 'pubsub loading stale fast', NO_KEYS, 'pubsub fast', 'pubsub', '2.0.0', 'pubsub', 'Posts a message to a channel.'],
  ['pubsub', -2, '', NO_KEYS, 'slow', 'pubsub', '2.8.0', 'pubsub', 'A container for Pub/Sub commands.'],
  [
    'punsubscribe',
    -1,
    'pubsub noscript loading stale',
    NO_KEYS,
    'pubsub slow',
    'pubsub',
    '2.0.0',
    'pubsub',
    'Stops listening to messages published to channels that match one or more patterns.',
  ],
  [
    'replicaof',
    3,
    'admin noscript stale no_async_loading',
    NO_KEYS,
    'admin slow dangerous',
    'server',
    '5.0.0',
    'replication',
    'Configures a server as replica of another, or promotes it to a primary.',
  ],
  ['role', 1, 'noscript loading stale fast', NO_KEYS, 'admin fast dangerous', 'server', '2.8.12', 'replication', 'Returns the replication role.'],
  ['reset', 1, 'noscript loading stale fast no_auth allow_busy', NO_KEYS, 'fast connection', 'connection', '6.2.0', 'pubsub', 'Resets the connection.'],
  ['subscribe', -2, 'pubsub noscript loading stale', NO_KEYS, 'pubsub slow', 'pubsub', '2.0.0', 'pubsub', 'Listens for messages published to channels.'],
  ['unsubscribe', -1, 'pubsub noscript loading stale', NO_KEYS, 'pubsub slow', 'pubsub', '2.0.0', 'pubsub', 'Stops listening to messages posted to channels.'],
];

const SUBDEFS: Def[] = [
  ['client|getname', 2, 'noscript loading stale', NO_KEYS, 'slow connection', 'connection', '2.6.9', 'local', 'Returns the name of the connection.'],
  ['client|help', 2, 'loading stale', NO_KEYS, 'slow connection', 'connection', '5.0.0', 'local', 'Returns helpful text about the different subcommands.'],
  ['client|id', 2, 'noscript loading stale', NO_KEYS, 'slow connection', 'connection', '5.0.0', 'local', 'Returns the unique client ID of the connection.'],
  [
    'client|setinfo',
    4,
    'noscript loading stale',
    NO_KEYS,
    'slow connection',
    'connection',
    '7.2.0',
    'local',
    'Sets information specific to the client or connection.',
  ],
  ['client|info', 2, 'noscript loading stale', NO_KEYS, 'slow connection', 'connection', '6.2.0', 'local', 'Returns information about the connection.'],
  [
    'client|kill',
    -3,
    'admin noscript loading stale',
    NO_KEYS,
    'admin slow dangerous connection',
    'connection',
    '2.4.0',
    'local',
    'Terminates open connections.',
  ],
  ['client|list', -2, 'admin noscript loading stale', NO_KEYS, 'admin slow dangerous connection', 'connection', '2.4.0', 'local', 'Lists open connections.'],
  [
    'client|no-evict',
    3,
    'admin noscript loading stale',
    NO_KEYS,
    'admin slow dangerous connection',
    'connection',
    '7.0.0',
    'local',
    'Sets the client eviction mode of the connection.',
  ],
  ['client|setname', 3, 'noscript loading stale', NO_KEYS, 'slow connection', 'connection', '2.6.9', 'local', 'Sets the connection name.'],
  ['command|count', 2, 'loading stale', NO_KEYS, 'slow connection', 'server', '2.8.13', 'local', 'Returns a count of commands.'],
  [
    'command|docs',
    -2,
    'loading stale',
    NO_KEYS,
    'slow connection',
    'server',
    '7.0.0',
    'local',
    'Returns documentary information about one, multiple or all commands.',
  ],
  ['command|getkeys', -3, 'loading stale', NO_KEYS, 'slow connection', 'server', '2.8.13', 'local', 'Extracts the key names from an arbitrary command.'],
  ['command|help', 2, 'loading stale', NO_KEYS, 'slow connection', 'server', '5.0.0', 'local', 'Returns helpful text about the different subcommands.'],
  ['command|info', -2, 'loading stale', NO_KEYS, 'slow connection', 'server', '2.8.13', 'local', 'Returns information about one, multiple or all commands.'],
  ['command|list', -2, 'loading stale', NO_KEYS, 'slow connection', 'server', '7.0.0', 'local', 'Returns a list of command names.'],
  [
    'config|get',
    -3,
    'admin noscript loading stale',
    NO_KEYS,
    'admin slow dangerous',
    'server',
    '2.0.0',
    'local',
    'Returns the effective values of configuration parameters.',
  ],
  ['config|help', 2, 'loading stale', NO_KEYS, 'slow', 'server', '5.0.0', 'local', 'Returns helpful text about the different subcommands.'],
  [
    'config|set',
    -4,
    'admin noscript loading stale',
    NO_KEYS,
    'admin slow dangerous',
    'server',
    '2.0.0',
    'pubsub',
    'Sets configuration parameters in-flight (cairn: notify-keyspace-events).',
  ],
  ['object|encoding', 3, 'readonly', [2, 2, 1], 'keyspace read slow', 'generic', '2.2.3', 'key', 'Returns the internal encoding of a Redis object.'],
  [
    'object|freq',
    3,
    'readonly',
    [2, 2, 1],
    'keyspace read slow',
    'generic',
    '4.0.0',
    'key',
    'Returns the logarithmic access frequency counter of a Redis object.',
  ],
  ['object|help', 2, 'loading stale', NO_KEYS, 'keyspace slow', 'generic', '6.2.0', 'local', 'Returns helpful text about the different subcommands.'],
  [
    'script|exists',
    -3,
    'noscript',
    NO_KEYS,
    'slow scripting',
    'scripting',
    '2.6.0',
    'script',
    'Determines whether server-side Lua scripts exist in the script cache.',
  ],
  ['script|flush', -2, 'noscript', NO_KEYS, 'slow scripting', 'scripting', '2.6.0', 'script', 'Removes all server-side Lua scripts from the script cache.'],
  ['script|kill', 2, 'noscript allow_busy', NO_KEYS, 'slow scripting', 'scripting', '2.6.0', 'script', 'Terminates a server-side Lua script during execution.'],
  ['script|load', 3, 'noscript stale', NO_KEYS, 'slow scripting', 'scripting', '2.6.0', 'script', 'Loads a server-side Lua script to the script cache.'],
  ['pubsub|channels', -2, 'pubsub loading stale', NO_KEYS, 'pubsub slow', 'pubsub', '2.8.0', 'pubsub', 'Returns the active channels.'],
  ['pubsub|help', 2, 'loading stale', NO_KEYS, 'slow', 'pubsub', '6.2.0', 'pubsub', 'Returns helpful text about the different subcommands.'],
  ['pubsub|numpat', 2, 'pubsub loading stale', NO_KEYS, 'pubsub slow', 'pubsub', '2.8.0', 'pubsub', 'Returns a count of unique pattern subscriptions.'],
  ['pubsub|numsub', -2, 'pubsub loading stale', NO_KEYS, 'pubsub slow', 'pubsub', '2.8.0', 'pubsub', 'Returns a count of subscribers to channels.'],
];

function toSpec(def: Def): CommandSpec {
  const [name, arity, flags, keys, acl, group, since, route, summary] = def;
  const flagList = flags.split(' ').filter((f) => f.length > 0);
  return {
    name,
    arity,
    flags: flagList,
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    acl: acl.split(' ').filter((a) => a.length > 0),
    group,
    since,
    summary,
    route,
    noAuth: flagList.includes('no_auth'),
  };
}

export const COMMANDS: ReadonlyMap<string, CommandSpec> = (() => {
  const map = new Map<string, CommandSpec>();
  for (const def of [...DEFS, ...HASH_DEFS, ...LIST_DEFS, ...SET_DEFS, ...ZSET_DEFS, ...STREAM_DEFS]) map.set(def[0], toSpec(def));
  for (const def of [...SUBDEFS, ...STREAM_SUBDEFS]) {
    const spec = toSpec(def);
    const [container, sub] = spec.name.split('|');
    const parent = map.get(container)!;
    parent.subcommands ??= new Map();
    parent.subcommands.set(sub, spec);
  }
  return map;
})();

export function arityOk(spec: CommandSpec, argc: number): boolean {
  return spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
}

/**
 * lower-cased command name. GET and SET, most of any cache's traffic, are recognised from their bytes
 * and answered with constant strings: no string is made per command on the acceptor or the shard.
 */
export function commandName(arg: Buffer): string {
  // `| 0x20` lower-cases ASCII letters; of all bytes only 'E'/'e' become 'e', and so on
  if (arg.length === 3 && (arg[1] | 0x20) === 0x65 && (arg[2] | 0x20) === 0x74) {
    const first = arg[0] | 0x20;
    if (first === 0x67) return 'get';
    if (first === 0x73) return 'set';
  }
  return arg.toString('latin1').toLowerCase();
}

/** the argument indexes holding keys, per the spec's first/last/step. */
/** the argument indexes of a command's keys: its key spec, or after the count of a numkeys command (given `args`) */
export function keyIndexes(spec: CommandSpec, argc: number, args?: readonly Uint8Array[]): number[] {
  const numkeys = args === undefined ? undefined : numkeyIndexes(spec.name, args);
  if (numkeys !== undefined) return numkeys;
  if (spec.firstKey === 0) return [];
  const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
  const out: number[] = [];
  for (let i = spec.firstKey; i <= last && i < argc; i += spec.step) out.push(i);
  return out;
}

/** true for a command that changes data: a read-only replica refuses it, whatever the protocol. */
export function isWrite(spec: CommandSpec): boolean {
  return spec.flags.includes('write');
}

function row(name: string): CommandSpec {
  const [container, sub] = name.split('|');
  const spec = sub === undefined ? COMMANDS.get(container) : COMMANDS.get(container)?.subcommands?.get(sub);
  if (spec === undefined) throw new Error(`no command row '${name}'`);
  return spec;
}

/**
 * memcached words onto the table's rows (as dragonfly maps them): set/add/replace/cas are SET with a
 * mode, get/gets a multi-get, gat/gats and touch a get-and-touch, incr/decr unsigned INCRBY/DECRBY,
 * append/prepend APPEND at either end, delete DEL, flush_all FLUSHALL.
 */
export const MEMCACHE_COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  (
    [
      ['get', 'mget'],
      ['gets', 'mget'],
      ['bget', 'mget'],
      ['gat', 'getex'],
      ['gats', 'getex'],
      ['touch', 'getex'],
      ['set', 'set'],
      ['add', 'set'],
      ['replace', 'set'],
      ['cas', 'set'],
      ['append', 'append'],
      ['prepend', 'append'],
      ['incr', 'incrby'],
      ['decr', 'decrby'],
      ['delete', 'del'],
      ['flush_all', 'flushall'],
    ] as const
  ).map(([word, name]) => [word, row(name)]),
);

/** memcached words that change data (a read-only replica refuses them). */
export const MEMCACHE_WRITES: ReadonlySet<string> = new Set([...MEMCACHE_COMMANDS].filter(([, spec]) => isWrite(spec)).map(([word]) => word));

/**
 * Native opcodes (docs/protocol.md; the numbers are src/native/opcodes.ts's) onto the table's rows:
 * the shard-side command each one runs.
 */
export const NATIVE_COMMANDS: ReadonlyMap<number, CommandSpec> = new Map(
  (
    [
      [0x10, 'get'], // GET
      [0x11, 'get'], // GETMETA: GET with flags, expiry and CAS
      [0x12, 'set'], // SET
      [0x13, 'del'], // DEL
      [0x14, 'exists'], // EXISTS
      [0x15, 'pexpireat'], // EXPIRE {ttl} | {expiresAt}
      [0x16, 'persist'], // PERSIST
      [0x17, 'pttl'], // TTL
      [0x18, 'getex'], // TOUCH
      [0x19, 'incrby'], // INCR
      [0x1a, 'decrby'], // DECR
      [0x1b, 'append'], // APPEND
      [0x1c, 'append'], // PREPEND
      [0x1d, 'getdel'], // GETDEL
      [0x1e, 'cairn.restore'], // RESTORE
      [0x20, 'mget'], // MGET
      [0x21, 'mset'], // MSET
      [0x22, 'del'], // MDEL
      [0x30, 'cairn.info'], // STATS
      [0x31, 'dbsize'], // COUNT
      [0x32, 'flushall'], // FLUSH
      [0x33, 'scan'], // SCAN
    ] as const
  ).map(([opcode, name]) => [opcode, row(name)]),
);

/** native opcodes that change data, indexed by opcode byte (1: write). */
export const NATIVE_WRITES: Uint8Array = (() => {
  const out = new Uint8Array(256);
  for (const [opcode, spec] of NATIVE_COMMANDS) if (isWrite(spec)) out[opcode] = 1;
  return out;
})();

/**
 * Where a memcached word's keys stand among its words (the rows above count Redis arguments, which
 * memcached's lines do not follow): the index of the first key, and whether every later word is a key
 * too (the multi-gets; gat/gats put the exptime first). Every other word but flush_all has one key,
 * right after the word.
 */
export const MEMCACHE_KEYS: ReadonlyMap<string, { readonly first: number; readonly multi: boolean }> = (() => {
  const multi: Record<string, number> = { get: 1, gets: 1, bget: 1, gat: 2, gats: 2 };
  const out = new Map<string, { first: number; multi: boolean }>();
  for (const word of MEMCACHE_COMMANDS.keys()) {
    if (word === 'flush_all') continue;
    out.set(word, word in multi ? { first: multi[word], multi: true } : { first: 1, multi: false });
  }
  return out;
})();
