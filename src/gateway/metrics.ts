/**
 * The server's figures in one snapshot (shards' metrics reports + each front thread's counters), and
 * that snapshot as Prometheus text exposition format (version 0.0.4) and as the dashboard's JSON.
 */
import type { HubStats } from '../events/hub.js';
import { binLabel } from '../resp/info.js';
import { hottest, valueSizes } from '../store/report.js';
import { LATENCY_BUCKETS, LATENCY_CLASSES, type ShardMetricsReport } from '../shards/metrics.js';
import type { ReplicationMetrics } from '../replication/manager.js';

/** What one front thread (the acceptor, a gateway thread) counts. */
export interface FrontStats {
  front: string;
  /** protocol → open connections */
  connections: Record<string, number>;
  /** protocol → connections accepted so far */
  connectionsTotal: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  hub: HubStats;
  /** WebSocket messages and drops (gateway only) */
  messagesIn?: number;
  messagesOut?: number;
  dropped?: number;
  /** replication figures (acceptor only; src/replication/manager.ts) */
  replication?: ReplicationMetrics;
}

export interface Snapshot {
  /** ms since the epoch */
  time: number;
  startedAt: number;
  version: string;
  shards: ShardMetricsReport[];
  fronts: FrontStats[];
}

function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(l: Record<string, string | number>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Writer {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, l: Record<string, string | number>, value: number): void {
    this.lines.push(`${name}${labels(l)} ${Number.isFinite(value) ? value : 0}`);
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export function renderPrometheus(s: Snapshot): string {
  const w = new Writer();
  w.family('cairn_info', 'gauge', 'Server version.');
  w.sample('cairn_info', { version: s.version }, 1);
  w.family('cairn_uptime_seconds', 'gauge', 'Seconds since the server started.');
  w.sample('cairn_uptime_seconds', {}, Math.round((s.time - s.startedAt) / 1000));
  w.family('cairn_shards', 'gauge', 'Shard worker threads.');
  w.sample('cairn_shards', {}, s.shards.length);

  const perShard = (name: string, type: 'counter' | 'gauge', help: string, value: (r: ShardMetricsReport) => number): void => {
    w.family(name, type, help);
    for (const r of s.shards) w.sample(name, { shard: r.shard }, value(r));
  };
  w.family('cairn_shard_up', 'gauge', 'The shard answered and its LevelDB is open.');
  for (const r of s.shards) w.sample('cairn_shard_up', { shard: r.shard }, r.open ? 1 : 0);
  w.family('cairn_hits_total', 'counter', 'Reads that found the key, by the tier that served them.');
  for (const r of s.shards) {
    w.sample('cairn_hits_total', { shard: r.shard, tier: 'hot' }, r.stats.hits.hot);
    w.sample('cairn_hits_total', { shard: r.shard, tier: 'cold' }, r.stats.hits.cold);
  }
  perShard('cairn_misses_total', 'counter', 'Reads of keys on neither tier.', (r) => r.stats.misses);
  w.family('cairn_evictions_total', 'counter', 'Entries that left memory, by reason (they stay on disk).');
  for (const r of s.shards) {
    for (const [reason, n] of Object.entries(r.stats.evictions)) w.sample('cairn_evictions_total', { shard: r.shard, reason }, n);
  }
  perShard('cairn_spills_total', 'counter', 'Dirty entries written to disk as they left memory.', (r) => r.stats.spills);
  perShard('cairn_restores_total', 'counter', 'Entries read back from disk into memory.', (r) => r.stats.restores);
  perShard('cairn_expirations_total', 'counter', 'Keys removed because their TTL passed.', (r) => r.stats.expirations);
  w.family('cairn_value_size_keys', 'gauge', 'Keys in memory by value size: bin = the smallest size in it (0, 1, 2, 4, ... bytes; as Redis 8 INFO keysizes).');
  for (const r of s.shards) (r.stats.valueSizes ?? []).forEach((n, i) => n > 0 && w.sample('cairn_value_size_keys', { shard: r.shard, bin: binLabel(i) }, n));
  perShard('cairn_writes_total', 'counter', 'Changes to the store.', (r) => r.stats.writes);
  w.family('cairn_items', 'gauge', 'Entries per tier (a key may be in both).');
  for (const r of s.shards) {
    w.sample('cairn_items', { shard: r.shard, tier: 'hot' }, r.stats.hot.items);
    w.sample('cairn_items', { shard: r.shard, tier: 'cold' }, r.stats.cold.items);
  }
  w.family('cairn_bytes', 'gauge', 'Bytes per tier: memory in use, data on disk.');
  for (const r of s.shards) {
    w.sample('cairn_bytes', { shard: r.shard, tier: 'hot' }, r.stats.hot.bytes);
    w.sample('cairn_bytes', { shard: r.shard, tier: 'cold' }, r.stats.cold.bytes);
  }
  perShard('cairn_memory_limit_bytes', 'gauge', 'Hot-tier byte budget.', (r) => r.stats.hot.maxBytes);
  perShard(
    'cairn_writeback_lag_seconds',
    'gauge',
    'Age of the oldest write not yet on disk (0: all on disk): what a crash would lose now.',
    (r) => (r.stats.writeback?.lagMs ?? 0) / 1000,
  );
  perShard('cairn_writeback_unwritten_keys', 'gauge', 'Keys with a write not yet on disk.', (r) => r.stats.writeback?.ops ?? 0);
  perShard('cairn_writeback_unwritten_bytes', 'gauge', 'Estimated bytes of the writes not yet on disk.', (r) => r.stats.writeback?.bytes ?? 0);

  const conns = new Map<string, [number, number]>();
  for (const f of s.fronts) {
    for (const [p, n] of Object.entries(f.connections)) conns.set(p, [(conns.get(p)?.[0] ?? 0) + n, conns.get(p)?.[1] ?? 0]);
    for (const [p, n] of Object.entries(f.connectionsTotal)) conns.set(p, [conns.get(p)?.[0] ?? 0, (conns.get(p)?.[1] ?? 0) + n]);
  }
  w.family('cairn_connections', 'gauge', 'Open client connections by protocol.');
  for (const [p, [open]] of conns) w.sample('cairn_connections', { protocol: p }, open);
  w.family('cairn_connections_total', 'counter', 'Client connections accepted by protocol.');
  for (const [p, [, total]] of conns) w.sample('cairn_connections_total', { protocol: p }, total);

  w.family('cairn_network_bytes_total', 'counter', 'Client bytes by front thread and direction.');
  for (const f of s.fronts) {
    w.sample('cairn_network_bytes_total', { front: f.front, direction: 'in' }, f.bytesIn);
    w.sample('cairn_network_bytes_total', { front: f.front, direction: 'out' }, f.bytesOut);
  }
  w.family('cairn_subscriptions', 'gauge', 'Key-event subscriptions by front thread.');
  for (const f of s.fronts) w.sample('cairn_subscriptions', { front: f.front }, f.hub.subscriptions);
  w.family('cairn_key_events_total', 'counter', 'Key events received from the shards by front thread.');
  for (const f of s.fronts) w.sample('cairn_key_events_total', { front: f.front }, f.hub.events);
  w.family('cairn_pushes_total', 'counter', 'PUSH frames written to subscribers by front thread.');
  for (const f of s.fronts) w.sample('cairn_pushes_total', { front: f.front }, f.hub.pushes);
  const repl = s.fronts.find((f) => f.replication)?.replication;
  if (repl) {
    w.family('cairn_repl_is_replica', 'gauge', '1 while this server follows a primary.');
    w.sample('cairn_repl_is_replica', {}, repl.replica);
    w.family('cairn_repl_offset', 'gauge', "Replication offset: the primary's own, or the last one a replica applied.");
    w.sample('cairn_repl_offset', {}, repl.offset);
    w.family('cairn_repl_backlog_bytes', 'gauge', 'Bytes held in the replication backlog.');
    w.sample('cairn_repl_backlog_bytes', {}, repl.backlogBytes);
    w.family('cairn_repl_backlog_first_offset', 'gauge', 'Offset of the oldest event in the backlog.');
    w.sample('cairn_repl_backlog_first_offset', {}, repl.backlogFirstOffset);
    w.family('cairn_repl_connected_replicas', 'gauge', 'Replicas attached to this primary.');
    w.sample('cairn_repl_connected_replicas', {}, repl.connectedReplicas);
    w.family('cairn_repl_replica_lag_events', 'gauge', 'Per attached replica: events sent and not yet acknowledged as applied.');
    for (const r of repl.replicaLag) w.sample('cairn_repl_replica_lag_events', { replica: r.replica }, r.lag);
    w.family('cairn_repl_lag_events', 'gauge', 'On a replica: events received from the primary and not yet applied.');
    w.sample('cairn_repl_lag_events', {}, repl.lagEvents);
    w.family('cairn_repl_link_up', 'gauge', 'On a replica: 1 while the link to the primary is in sync.');
    w.sample('cairn_repl_link_up', {}, repl.linkUp);
    w.family('cairn_repl_syncs_total', 'counter', 'Resyncs a replica did, by kind (full copy or partial from the backlog).');
    w.sample('cairn_repl_syncs_total', { kind: 'full' }, repl.fullSyncs);
    w.sample('cairn_repl_syncs_total', { kind: 'partial' }, repl.partialSyncs);
  }
  const gw = s.fronts.filter((f) => f.messagesIn !== undefined);
  if (gw.length > 0) {
    w.family('cairn_websocket_messages_total', 'counter', 'WebSocket messages by direction.');
    for (const f of gw) {
      w.sample('cairn_websocket_messages_total', { front: f.front, direction: 'in' }, f.messagesIn ?? 0);
      w.sample('cairn_websocket_messages_total', { front: f.front, direction: 'out' }, f.messagesOut ?? 0);
    }
    w.family('cairn_websocket_dropped_total', 'counter', 'WebSocket messages dropped at the backpressure limit (the socket is closed).');
    for (const f of gw) w.sample('cairn_websocket_dropped_total', { front: f.front }, f.dropped ?? 0);
  }

  w.family('cairn_commands_total', 'counter', 'Commands run by the shards, by protocol and command.');
  const commands = new Map<string, number>();
  for (const r of s.shards) {
    for (const [protocol, byName] of Object.entries(r.commands)) {
      for (const [command, n] of Object.entries(byName)) {
        const k = `${protocol}\u0000${command}`;
        commands.set(k, (commands.get(k) ?? 0) + n);
      }
    }
  }
  for (const [k, n] of [...commands].sort()) {
    const [protocol, command] = k.split('\u0000');
    w.sample('cairn_commands_total', { protocol, command }, n);
  }

  w.family('cairn_command_duration_seconds', 'histogram', 'Shard service time of a command (queue to reply, disk waits included), by class.');
  for (const cls of LATENCY_CLASSES) {
    const buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
    let sum = 0;
    for (const r of s.shards) {
      const h = r.latency[cls];
      if (!h) continue;
      h.buckets.forEach((n, i) => (buckets[i] += n));
      sum += h.sum;
    }
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += buckets[i];
      w.sample('cairn_command_duration_seconds_bucket', { class: cls, le: String(le) }, cumulative);
    });
    cumulative += buckets[LATENCY_BUCKETS.length];
    w.sample('cairn_command_duration_seconds_bucket', { class: cls, le: '+Inf' }, cumulative);
    w.sample('cairn_command_duration_seconds_sum', { class: cls }, sum);
    w.sample('cairn_command_duration_seconds_count', { class: cls }, cumulative);
  }
  return w.text();
}

/** The dashboard's figures: the snapshot with command totals folded, small enough to poll every second. */
export function dashboardJson(s: Snapshot): unknown {
  let commands = 0;
  for (const r of s.shards) for (const byName of Object.values(r.commands)) for (const n of Object.values(byName)) commands += n;
  const latency: Record<string, number[]> = {};
  for (const cls of LATENCY_CLASSES) {
    const b = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
    for (const r of s.shards) r.latency[cls]?.buckets.forEach((n, i) => (b[i] += n));
    latency[cls] = b;
  }
  const connections: Record<string, number> = {};
  for (const f of s.fronts) for (const [p, n] of Object.entries(f.connections)) connections[p] = (connections[p] ?? 0) + n;
  return {
    time: s.time,
    uptime: (s.time - s.startedAt) / 1000,
    version: s.version,
    commands,
    buckets: LATENCY_BUCKETS,
    latency,
    connections,
    subscriptions: s.fronts.reduce((a, f) => a + f.hub.subscriptions, 0),
    shards: s.shards.map((r) => ({ ...r.stats, open: r.open })),
    hotKeys: hottest(s.shards),
    hotKeyRate: s.shards[0]?.stats.hotKeyRate ?? 0,
    valueSizes: valueSizes(s.shards),
  };
}
