/**
 * Tier statistics: each shard reports its figures (the internal CAIRN.SHARDSTATS command, never
 * reachable by clients); the acceptor joins the reports into INFO, CAIRN.INFO or memcached stats.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { binFloor } from '../engine/index.js';
import { hottest, valueSizes } from '../store/report.js';
import type { HotKeyStat } from '../store/types.js';

import type { ConnState, ServerInfo } from '../front/plan.js';
import { threadHeap, totals, type ShardReport, type ThreadHeap } from '../commands/stats.js';

function heapLine(name: string, h: ThreadHeap): string {
  return `${name}:heap_used=${h.used},heap_total=${h.total},external=${h.external},array_buffers=${h.arrayBuffers}`;
}

export { decodeReports, shardReport, threadHeap, type ShardReport, type ThreadHeap } from '../commands/stats.js';

/** the Redis version cairn reports to clients (the Redis 7 behaviour it follows). */
export const REDIS_COMPAT_VERSION = '7.0.15';

/** the `# Cairn` INFO section: totals, then one line per shard. Lines end with CRLF. */
export function cairnSection(reports: readonly ShardReport[]): string {
  const t = totals(reports);
  const lines = [
    '# Cairn',
    `shards:${t.shards}`,
    `keys:${t.keys}`,
    `hot_items:${t.hotItems}`,
    `hot_bytes:${t.hotBytes}`,
    `hot_max_bytes:${t.hotMaxBytes}`,
    `cold_items:${t.coldItems}`,
    `cold_bytes:${t.coldBytes}`,
    `hits_hot:${t.hitsHot}`,
    `hits_cold:${t.hitsCold}`,
    `misses:${t.misses}`,
    `evictions:${t.evictedTotal}`,
    ...Object.entries(t.evictions).map(([reason, n]) => `evictions_${reason}:${n}`),
    `spills:${t.spills}`,
    `restores:${t.restores}`,
    `expirations:${t.expirations}`,
    `writes:${t.writes}`,
  ];
  for (const r of reports) {
    const s = r.stats;
    lines.push(
      `shard${r.shard}:keys=${r.keys.total},hot_items=${r.keys.hot},hot_bytes=${s.hot.bytes},hot_max_bytes=${s.hot.maxBytes},` +
        `cold_items=${r.keys.cold},cold_bytes=${s.cold.bytes},hits_hot=${s.hits.hot},hits_cold=${s.hits.cold},` +
        `misses=${s.misses},spills=${s.spills},restores=${s.restores},expirations=${s.expirations},writes=${s.writes}`,
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * Redis' name for the eviction policy where Redis has one (lru and lfu evict from all keys, as
 * allkeys-*); fifo, ttl, sieve and s3fifo have no Redis equivalent and keep their own names.
 */
export function maxmemoryPolicy(eviction: string | undefined): string {
  switch (eviction ?? 'lru') {
    case 'lru':
      return 'allkeys-lru';
    case 'lfu':
      return 'allkeys-lfu';
    case 'random':
      return 'allkeys-random';
    default:
      return eviction!;
  }
}

const RUN_ID = randomBytes(20).toString('hex');
const PROCESS_STARTED = Date.now() - Math.round(process.uptime() * 1000);

function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes}B` : `${v.toFixed(2)}${units[i]}`;
}

export const INFO_SECTIONS = [
  'server',
  'clients',
  'memory',
  'persistence',
  'stats',
  'replication',
  'cpu',
  'modules',
  'errorstats',
  'keyspace',
  'keysizes',
  'hotkeys',
  'cairn',
] as const;
/** sections only `all` and `everything` bring, as Redis' commandstats */
const NOT_DEFAULT = ['commandstats'] as const;

/** a key as Redis prints binary-safe strings (sdscatrepr): quoted, with C escapes */
export function reprKey(bytes: Uint8Array): string {
  let out = '"';
  for (const c of bytes) {
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x07) out += '\\a';
    else if (c === 0x08) out += '\\b';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out + '"';
}

export function hotKeyBytes(h: HotKeyStat): Buffer {
  return Buffer.from(h.key, h.binary ? 'base64' : 'utf8');
}

/** a bin's label as Redis 8 writes them: its smallest size, 1K, 2M, ... */
export function binLabel(bin: number): string {
  const v = binFloor(bin);
  for (const [suffix, unit] of [
    ['G', 2 ** 30],
    ['M', 2 ** 20],
    ['K', 2 ** 10],
  ] as const) {
    if (v >= unit) return `${v / unit}${suffix}`;
  }
  return String(v);
}

/** INFO text for the requested sections (lower case; empty, "default", "all" or "everything": all). */
export function infoText(requested: readonly string[], reports: readonly ShardReport[], conn: ConnState): string {
  const server: ServerInfo = conn.server ?? {};
  const wanted = new Set<string>();
  for (const r of requested.length === 0 ? ['default'] : requested) {
    if (r === 'default' || r === 'all' || r === 'everything') INFO_SECTIONS.forEach((s) => wanted.add(s));
    if (r === 'all' || r === 'everything') NOT_DEFAULT.forEach((s) => wanted.add(s));
    else if (r !== 'default') wanted.add(r);
  }
  const t = totals(reports);
  const now = Date.now();
  const started = server.startedAt ?? PROCESS_STARTED;
  const uptime = Math.max(0, Math.floor((now - started) / 1000));
  const sections: string[] = [];
  const add = (name: string, title: string, lines: string[]): void => {
    if (wanted.has(name)) sections.push([`# ${title}`, ...lines].join('\r\n') + '\r\n');
  };
  add('server', 'Server', [
    `redis_version:${REDIS_COMPAT_VERSION}`,
    'redis_git_sha1:00000000',
    'redis_git_dirty:0',
    'redis_build_id:0',
    'redis_mode:standalone',
    `os:${os.type()} ${os.release()} ${os.arch()}`,
    `arch_bits:${process.arch.endsWith('64') ? 64 : 32}`,
    'multiplexing_api:libuv',
    `process_id:${process.pid}`,
    `run_id:${RUN_ID}`,
    `tcp_port:${server.port ?? 0}`,
    `server_time_usec:${now * 1000}`,
    `uptime_in_seconds:${uptime}`,
    `uptime_in_days:${Math.floor(uptime / 86400)}`,
    'hz:10',
    `executable:${process.execPath}`,
    'config_file:',
    `cairn_version:${server.version ?? '0.0.0'}`,
    `node_version:${process.version}`,
  ]);
  add('clients', 'Clients', [`connected_clients:${server.connectedClients?.() ?? 1}`, 'blocked_clients:0', 'tracking_clients:0']);
  const rss = process.memoryUsage.rss();
  add('memory', 'Memory', [
    `used_memory:${rss}`,
    `used_memory_human:${human(rss)}`,
    `used_memory_rss:${rss}`,
    `used_memory_rss_human:${human(rss)}`,
    `used_memory_dataset:${t.hotBytes}`,
    `maxmemory:${t.hotMaxBytes}`,
    `maxmemory_human:${human(t.hotMaxBytes)}`,
    `maxmemory_policy:${maxmemoryPolicy(reports[0]?.stats.eviction ?? server.eviction)}`,
    heapLine('thread_acceptor', threadHeap()),
    ...reports.flatMap((r) => (r.heap ? [heapLine(`thread_shard${r.shard}`, r.heap)] : [])),
  ]);
  add('persistence', 'Persistence', [
    'loading:0',
    'async_loading:0',
    'rdb_changes_since_last_save:0',
    'rdb_bgsave_in_progress:0',
    'aof_enabled:0',
    'aof_rewrite_in_progress:0',
    // what a crash would lose now: the writes acknowledged but not yet on disk (docs/storage.md)
    `cairn_writeback_lag_ms:${t.writebackLagMs}`,
    `cairn_writeback_unwritten_keys:${t.writebackOps}`,
    `cairn_writeback_unwritten_bytes:${t.writebackBytes}`,
  ]);
  add('stats', 'Stats', [
    `total_connections_received:${server.totalConnections?.() ?? 0}`,
    `total_commands_processed:${server.totalCommands?.() ?? 0}`,
    `total_net_input_bytes:${server.netInput?.() ?? 0}`,
    `total_net_output_bytes:${server.netOutput?.() ?? 0}`,
    `expired_keys:${t.expirations}`,
    `evicted_keys:${t.evictedTotal}`,
    `keyspace_hits:${t.hitsHot + t.hitsCold}`,
    `keyspace_misses:${t.misses}`,
    `total_error_replies:${server.commandStats?.totalErrors ?? 0}`,
  ]);
  add(
    'replication',
    'Replication',
    conn.replication?.infoLines() ?? [
      'role:master',
      'connected_slaves:0',
      'master_failover_state:no-failover',
      `master_replid:${RUN_ID}`,
      'master_repl_offset:0',
    ],
  );
  const cpu = process.cpuUsage();
  add('cpu', 'CPU', [`used_cpu_sys:${(cpu.system / 1e6).toFixed(6)}`, `used_cpu_user:${(cpu.user / 1e6).toFixed(6)}`]);
  add('modules', 'Modules', []);
  if (wanted.has('commandstats')) {
    const usec = new Map<string, number>();
    for (const r of reports) for (const [name, us] of Object.entries(r.usec ?? {})) usec.set(name, (usec.get(name) ?? 0) + us);
    add('commandstats', 'Commandstats', server.commandStats?.commandLines(usec) ?? []);
  }
  add('errorstats', 'Errorstats', server.commandStats?.errorLines() ?? []);
  add('keyspace', 'Keyspace', t.keys > 0 ? [`db0:keys=${t.keys},expires=0,avg_ttl=0`] : []);
  const bins = valueSizes(reports);
  const binned = bins.flatMap((n, i) => (n > 0 ? [`${binLabel(i)}=${n}`] : []));
  add('keysizes', 'Keysizes', binned.length > 0 ? [`db0_distrib_strings_sizes:${binned.join(',')}`] : []);
  add('hotkeys', 'Hotkeys', [
    `hotkeys_sample_rate:${reports[0]?.stats.hotKeyRate ?? 0}`,
    ...hottest(reports).map((h, i) => `hotkey_${i}:key=${reprKey(hotKeyBytes(h))},shard=${h.shard},count=${h.count}`),
  ]);
  if (wanted.has('cairn')) sections.push(cairnSection(reports));
  // Redis separates sections with an empty line and ends with the last line's CRLF.
  return sections.join('\r\n');
}
