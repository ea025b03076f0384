/** memcached's `stats` command: the shards' reports summed, in memcached 1.6's names, plus cairn's own. */
import { totals, type ShardReport } from '../commands/stats.js';
import type { ServerInfo } from '../front/plan.js';

/** the memcached version cairn reports (`version`, `stats`). */
export const MEMCACHED_COMPAT_VERSION = '1.6.18';

const PROCESS_STARTED = Date.now() - Math.round(process.uptime() * 1000);

/** memcached `stats` lines (without END). */
export function memcacheStats(reports: readonly ShardReport[], server: ServerInfo = {}): string {
  const t = totals(reports);
  const now = Date.now();
  const started = server.startedAt ?? PROCESS_STARTED;
  const cpu = process.cpuUsage();
  const usage = (us: number): string => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
  const lines: [string, string | number][] = [
    ['pid', process.pid],
    ['uptime', Math.max(0, Math.floor((now - started) / 1000))],
    ['time', Math.floor(now / 1000)],
    ['version', MEMCACHED_COMPAT_VERSION],
    ['libevent', 'libuv'],
    ['pointer_size', process.arch.endsWith('64') ? 64 : 32],
    ['rusage_user', usage(cpu.user)],
    ['rusage_system', usage(cpu.system)],
    ['max_connections', 0],
    ['curr_connections', server.connectedClients?.() ?? 1],
    ['total_connections', server.totalConnections?.() ?? 0],
    ['cmd_get', t.hitsHot + t.hitsCold + t.misses],
    ['cmd_set', t.writes],
    ['get_hits', t.hitsHot + t.hitsCold],
    ['get_misses', t.misses],
    ['get_expired', 0],
    ['bytes_read', server.netInput?.() ?? 0],
    ['bytes_written', server.netOutput?.() ?? 0],
    ['limit_maxbytes', t.hotMaxBytes],
    ['threads', t.shards],
    ['bytes', t.hotBytes],
    ['curr_items', t.keys],
    ['total_items', t.writes],
    ['expired_unfetched', 0],
    ['evicted_unfetched', 0],
    ['evictions', t.evictedTotal],
    ['reclaimed', t.expirations],
    ['cairn_version', server.version ?? '0.0.0'],
    ['shards', t.shards],
    ['hot_items', t.hotItems],
    ['hot_bytes', t.hotBytes],
    ['hot_max_bytes', t.hotMaxBytes],
    ['cold_items', t.coldItems],
    ['cold_bytes', t.coldBytes],
    ['hot_hits', t.hitsHot],
    ['cold_hits', t.hitsCold],
    ['spills', t.spills],
    ['restores', t.restores],
    ['expirations', t.expirations],
    ...Object.entries(t.evictions).map(([reason, n]): [string, number] => [`evictions_${reason}`, n]),
  ];
  return lines.map(([k, v]) => `STAT ${k} ${v}\r\n`).join('');
}
