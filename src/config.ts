import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { EVICTION_POLICIES, isEvictionName, MAX_VALUE_LIMIT, type EvictionName } from './engine/index.js';
import { CairnError, ErrorCode } from './errors.js';
import { parseNotifyFlags } from './pubsub/bus.js';

export type Durability = 'spill' | 'writeback' | 'sync';

export interface ServerConfig {
  port: number | null;
  respPort: number | null;
  memcachePort: number | null;
  httpPort: number | null;
  bind: string;
  data: string;
  shards: number;
  maxMemory: number;
  eviction: EvictionName;
  durability: Durability;
  writebackDelay: number;
  /** writeback/spill: unwritten changes allowed before writes wait (the oldest's age, ms; and bytes, all shards) */
  writebackMaxLag: number;
  writebackMaxBytes: number;
  password: string | null;
  maxValueSize: number;
  maxItemSize: number;
  chunkMembers: number;
  /** ms a Lua script may run before it is stopped (Redis' busy-reply-threshold, formerly lua-time-limit; 0: never) */
  busyReplyThreshold: number;
  idle: number;
  coldMaxItems: number;
  coldMaxBytes: number;
  outputLimit: number;
  /** reply bytes all connections together may hold before every connection stops being read */
  outputLimitTotal: number;
  maxConnections: number;
  shutdownTimeout: number;
  /** a connection holding an incomplete request, or not reading its replies, this long is closed (0: never) */
  clientTimeout: number;
  /** a connection with nothing in flight and no input this long is closed (0: never) */
  idleTimeout: number;
  /** PEM files: with both, the native port speaks TLS */
  tlsCert: string | null;
  tlsKey: string | null;
  inline: boolean;
  config: string | null;
  /** Redis' notify-keyspace-events classes (e.g. 'KEA'); '' = off (docs/pubsub.md) */
  notifyKeyspaceEvents?: string;
  /** host:port of a primary's native port: this server is a read-only replica (docs/replication.md) */
  replicaOf?: string | null;
  /** the primary's password (default: --password) */
  primaryPassword?: string | null;
  /** write records a primary keeps for replicas that reconnect (docs/replication.md) */
  replBacklog?: number;
}

type Kind = 'port' | 'int' | 'size' | 'duration' | 'string' | 'durability' | 'bool' | 'eviction';

interface Setting {
  key: keyof ServerConfig;
  flag: string;
  kind: Kind;
  help: string;
  default: () => ServerConfig[keyof ServerConfig];
}

/** Every setting, in the order `cairn serve --help` lists them. */
export const SETTINGS: Setting[] = [
  { key: 'port', flag: 'port', kind: 'port', help: 'native protocol port ("off" disables it)', default: () => 7379 },
  { key: 'respPort', flag: 'resp-port', kind: 'port', help: 'Redis protocol (RESP2) port ("off" disables it)', default: () => 7380 },
  { key: 'memcachePort', flag: 'memcache-port', kind: 'port', help: 'memcached text protocol port ("off" disables it)', default: () => 7381 },
  { key: 'httpPort', flag: 'http-port', kind: 'port', help: 'HTTP/WebSocket gateway port ("off" disables it)', default: () => 7382 },
  { key: 'bind', flag: 'bind', kind: 'string', help: 'address to listen on', default: () => '127.0.0.1' },
  { key: 'data', flag: 'data', kind: 'string', help: 'data directory (one LevelDB per shard inside)', default: () => './data' },
  { key: 'shards', flag: 'shards', kind: 'int', help: 'shard worker threads (default: one per core)', default: () => availableParallelism() },
  { key: 'maxMemory', flag: 'max-memory', kind: 'size', help: 'hot-tier budget for all shards together, e.g. 512mb', default: () => 256 * 1024 * 1024 },
  {
    key: 'eviction',
    flag: 'eviction',
    kind: 'eviction',
    help: `which entry leaves memory first: ${EVICTION_POLICIES.join(' | ')} (docs/eviction.md)`,
    default: () => 'lru',
  },
  { key: 'durability', flag: 'durability', kind: 'durability', help: 'spill | writeback | sync', default: () => 'writeback' },
  {
    key: 'writebackDelay',
    flag: 'writeback-delay',
    kind: 'duration',
    help: 'writeback: how soon after a write the background writer starts a disk batch with it, e.g. 100ms',
    default: () => 100,
  },
  {
    key: 'writebackMaxLag',
    flag: 'writeback-max-lag',
    kind: 'duration',
    help: 'writeback: writes are acknowledged from memory while the oldest write not on disk is younger than this, then wait for the disk (what a crash can lose; at least --writeback-delay)',
    default: () => 1000,
  },
  {
    key: 'writebackMaxBytes',
    flag: 'writeback-max-bytes',
    kind: 'size',
    help: 'writeback: the same bound as bytes of writes not on disk, for all shards together',
    default: () => 64 * 1024 * 1024,
  },
  { key: 'password', flag: 'password', kind: 'string', help: 'password every client must present', default: () => null },
  {
    key: 'maxValueSize',
    flag: 'max-value-size',
    kind: 'size',
    help: "largest value accepted, at most 512mb (Redis' proto-max-bulk-len)",
    default: () => MAX_VALUE,
  },
  {
    key: 'maxItemSize',
    flag: 'max-item-size',
    kind: 'size',
    help: "values larger than this live on disk only; memcached's item size limit (memcached -I)",
    default: () => 1024 * 1024,
  },
  {
    key: 'chunkMembers',
    flag: 'chunk-members',
    kind: 'int',
    help: 'members per disk chunk of a large hash, set, sorted set or list (one of at least 4x this many is stored in chunks)',
    default: () => 64,
  },
  {
    key: 'busyReplyThreshold',
    flag: 'busy-reply-threshold',
    kind: 'duration',
    help: "a Lua script running longer is stopped with an error (Redis' busy-reply-threshold, formerly lua-time-limit; 0: never)",
    default: () => 5000,
  },
  { key: 'idle', flag: 'idle', kind: 'duration', help: 'an entry unused this long leaves memory but stays on disk (0: never)', default: () => 0 },
  { key: 'coldMaxItems', flag: 'cold-max-items', kind: 'int', help: 'cold tier item limit per server (0: none)', default: () => 0 },
  { key: 'coldMaxBytes', flag: 'cold-max-bytes', kind: 'size', help: 'cold tier byte limit per server (0: none)', default: () => 0 },
  {
    key: 'outputLimit',
    flag: 'output-limit',
    kind: 'size',
    help: 'reply bytes one client may hold (unread, and reserved for its requests in flight) before its requests wait',
    default: () => 64 * 1024 * 1024,
  },
  {
    key: 'outputLimitTotal',
    flag: 'output-limit-total',
    kind: 'size',
    help: 'the same for all clients together: past it every client waits',
    default: () => 1024 * 1024 * 1024,
  },
  { key: 'maxConnections', flag: 'max-connections', kind: 'int', help: 'connections per protocol port', default: () => 20000 },
  {
    key: 'shutdownTimeout',
    flag: 'shutdown-timeout',
    kind: 'duration',
    help: 'on shutdown: longest wait for in-flight requests, and for a disk that refuses the last writes',
    default: () => 10000,
  },
  {
    key: 'inline',
    flag: 'inline',
    kind: 'bool',
    help: 'run every shard on the main thread (for profilers that cannot see worker threads)',
    default: () => false,
  },
  {
    key: 'clientTimeout',
    flag: 'client-timeout',
    kind: 'duration',
    help: 'close a client that holds an incomplete request or leaves replies unread this long (0: never)',
    default: () => 30_000,
  },
  {
    key: 'idleTimeout',
    flag: 'idle-timeout',
    kind: 'duration',
    help: 'close a client that sends nothing and waits for nothing this long (0: never)',
    default: () => 0,
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    kind: 'string',
    help: 'PEM certificate (chain) file: the native port and the gateway (HTTPS, wss://) speak TLS (with --tls-key)',
    default: () => null,
  },
  { key: 'tlsKey', flag: 'tls-key', kind: 'string', help: 'PEM private key file for --tls-cert', default: () => null },
  {
    key: 'notifyKeyspaceEvents',
    flag: 'notify-keyspace-events',
    kind: 'string',
    help: 'keyspace notifications on pub/sub channels, Redis classes such as KEA ("" = off)',
    default: () => '',
  },
  { key: 'replicaOf', flag: 'replica-of', kind: 'string', help: "serve as a read-only replica of the primary's native port host:port", default: () => null },
  { key: 'primaryPassword', flag: 'primary-password', kind: 'string', help: "the primary's password (default: --password)", default: () => null },
  {
    key: 'replBacklog',
    flag: 'repl-backlog',
    kind: 'size',
    help: 'bytes of write records a primary keeps so a replica can catch up after a short cut',
    default: () => 16 * 1024 * 1024,
  },
  { key: 'config', flag: 'config', kind: 'string', help: 'JSON config file (keys as flags or camelCase)', default: () => null },
];

/** the largest value (Redis' proto-max-bulk-len; the engine's limit) */
export const MAX_VALUE = MAX_VALUE_LIMIT;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function bad(name: string, value: unknown, what: string): never {
  throw new CairnError(ErrorCode.BAD_ARGUMENT, `invalid ${name} ${JSON.stringify(value)}: ${what}`);
}

export function parseSize(value: string | number, name = 'size'): number {
  if (typeof value === 'number') return value >= 0 && Number.isFinite(value) ? Math.floor(value) : bad(name, value, 'expected a byte count');
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m || !(m[2].toLowerCase() in UNITS)) bad(name, value, 'expected a size such as 1048576, 512kb, 256mb or 2gb');
  return Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

export function parseDuration(value: string | number, name = 'duration'): number {
  if (typeof value === 'number') return value >= 0 ? value : bad(name, value, 'expected milliseconds');
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m || !(m[2].toLowerCase() in TIME_UNITS)) bad(name, value, 'expected a duration such as 250, 100ms, 5s or 10m');
  return Math.floor(Number(m[1]) * TIME_UNITS[m[2].toLowerCase()]);
}

function convert(s: Setting, raw: unknown): ServerConfig[keyof ServerConfig] {
  const name = `--${s.flag}`;
  switch (s.kind) {
    case 'port': {
      if (raw === null || raw === 'off' || raw === false) return null;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > 65535) bad(name, raw, 'expected a port 0-65535 or "off"');
      return n;
    }
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) bad(name, raw, 'expected a whole number');
      if (s.key === 'shards' && (n < 1 || n > 256)) bad(name, raw, 'expected 1 to 256 shards');
      return n;
    }
    case 'size':
      return parseSize(raw as string | number, name);
    case 'duration':
      return parseDuration(raw as string | number, name);
    case 'durability':
      if (raw !== 'spill' && raw !== 'writeback' && raw !== 'sync') bad(name, raw, 'expected spill, writeback or sync');
      return raw;
    case 'eviction':
      if (typeof raw !== 'string' || !isEvictionName(raw)) bad(name, raw, `expected one of ${EVICTION_POLICIES.join(', ')}`);
      return raw;
    case 'bool':
      if (raw === true || raw === 'true' || raw === 'on' || raw === '1' || raw === 1) return true;
      if (raw === false || raw === 'false' || raw === 'off' || raw === '0' || raw === 0) return false;
      return bad(name, raw, 'expected true or false');
    case 'string':
      if (raw === null) return null;
      if (typeof raw !== 'string' || raw === '') bad(name, raw, 'expected text');
      return raw;
  }
}

function envName(s: Setting): string {
  return `CAIRN_${s.flag.replace(/-/g, '_').toUpperCase()}`;
}

export function helpText(): string {
  const lines = ['Usage: cairn serve [options]', '', 'Options (flags beat CAIRN_* environment variables, which beat the config file):'];
  for (const s of SETTINGS) {
    const def = s.default();
    const shown = def === null ? '' : ` (default: ${s.kind === 'size' && typeof def === 'number' ? `${def} bytes` : String(def)})`;
    lines.push(`  --${s.flag.padEnd(18)} ${envName(s).padEnd(26)} ${s.help}${shown}`);
  }
  lines.push('  --help                                          show this text');
  return lines.join('\n');
}

const BOOL_FLAGS = new Set(SETTINGS.filter((s) => s.kind === 'bool').map((s) => s.flag));

/** Parse `--flag value` / `--flag=value` pairs; a boolean switch may stand alone. */
export function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new CairnError(ErrorCode.BAD_ARGUMENT, `unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) {
        // a switch given alone (--inline) means true
        if (BOOL_FLAGS.has(a.slice(2))) {
          out[a.slice(2)] = 'true';
          continue;
        }
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `${a} needs a value`);
      }
      out[a.slice(2)] = v;
      i++;
    }
  }
  return out;
}

/** Settings from flags, then CAIRN_* environment variables, then the config file, then defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const flags = parseFlags(argv);
  const known = new Set(SETTINGS.map((s) => s.flag));
  for (const f of Object.keys(flags)) {
    if (!known.has(f)) throw new CairnError(ErrorCode.BAD_ARGUMENT, `unknown option --${f} (see cairn serve --help)`);
  }
  const configPath = flags.config ?? env.CAIRN_CONFIG ?? null;
  let file: Record<string, unknown> = {};
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, 'utf8');
    } catch (err) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `cannot read config file ${configPath}: ${(err as Error).message}`);
    }
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `config file ${configPath} is not valid JSON: ${(err as Error).message}`);
    }
    for (const k of Object.keys(file)) {
      if (!SETTINGS.some((s) => s.key === k || s.flag === k)) {
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `unknown setting "${k}" in ${configPath}`);
      }
    }
  }
  const config = {} as Record<string, unknown>;
  const given = new Set<keyof ServerConfig>();
  for (const s of SETTINGS) {
    let raw: unknown;
    if (s.flag in flags) raw = flags[s.flag];
    else if (env[envName(s)] !== undefined) raw = env[envName(s)];
    else if (s.key in file) raw = file[s.key];
    else if (s.flag in file) raw = file[s.flag];
    else {
      config[s.key] = s.default();
      continue;
    }
    given.add(s.key);
    config[s.key] = convert(s, raw);
  }
  const c = config as unknown as ServerConfig;
  checkLimits(c, given);
  if ((c.tlsCert === null) !== (c.tlsKey === null)) {
    throw new CairnError(ErrorCode.BAD_ARGUMENT, '--tls-cert and --tls-key go together: give both or neither');
  }
  if (c.notifyKeyspaceEvents && parseNotifyFlags(c.notifyKeyspaceEvents) === null) {
    bad('--notify-keyspace-events', c.notifyKeyspaceEvents, "use classes of 'Ag$lshzxeKEtmdn'");
  }
  if (c.replicaOf && !/^[^\s:]+:\d{1,5}$/.test(c.replicaOf)) bad('--replica-of', c.replicaOf, 'expected host:port');
  if (c.maxMemory < c.shards * 1024 * 1024) {
    throw new CairnError(ErrorCode.BAD_ARGUMENT, `--max-memory ${c.maxMemory} is too small: give each of the ${c.shards} shards at least 1mb`);
  }
  return c;
}

/**
 * Bytes each request in flight reserves of its client's --output-limit: the largest reply a value in
 * memory makes (a floor keeps the count of requests in flight sane when --max-item-size is tiny).
 */
export function replyReserve(c: Pick<ServerConfig, 'maxItemSize' | 'outputLimit'>): number {
  return Math.max(1, Math.min(c.outputLimit, Math.max(c.maxItemSize, 4096)));
}

/**
 * The size limits must fit together (docs/reliability.md, "Memory per connection"): a value above the
 * item size lives on disk only, so the item size cannot exceed the value size (a default item size
 * shrinks to a smaller --max-value-size given alone); each request in flight reserves one in-memory
 * value's reply (--max-item-size) of its client's --output-limit, so that limit must hold one; and
 * the total must hold one client's limit.
 */
function checkLimits(c: ServerConfig, given: Set<keyof ServerConfig>): void {
  const refuse = (what: string): never => {
    throw new CairnError(ErrorCode.BAD_ARGUMENT, what);
  };
  if (c.maxValueSize > MAX_VALUE) refuse(`--max-value-size ${c.maxValueSize} is over the largest value cairn (and Redis) can hold, 512mb`);
  if (c.chunkMembers < 1) refuse(`--chunk-members must be at least 1, got ${c.chunkMembers}`);
  if (c.maxItemSize > c.maxValueSize) {
    if (!given.has('maxItemSize')) c.maxItemSize = c.maxValueSize;
    else refuse(`--max-item-size ${c.maxItemSize} is larger than --max-value-size ${c.maxValueSize}: no value could be that large`);
  }
  if (c.outputLimit < c.maxItemSize) {
    refuse(
      `--output-limit ${c.outputLimit} is smaller than --max-item-size ${c.maxItemSize}: a client could not receive one value from memory (raise --output-limit or lower --max-item-size)`,
    );
  }
  if (c.outputLimitTotal < c.outputLimit) {
    refuse(`--output-limit-total ${c.outputLimitTotal} is smaller than --output-limit ${c.outputLimit}: one client could never use its limit`);
  }
}
