/**
 * A server's replication role (docs/replication.md): primary, or read-only replica of another
 * cairn's native port. Answers RESP ROLE / REPLICAOF and INFO's replication section, and says
 * whether client writes are refused.
 */
import { array, bulkString, err, integer, OK } from '../resp/encode.js';
import type { ReplicationHandle } from '../front/plan.js';
import type { Transport } from '../client/transport.js';
import { readFileSync, unlinkSync } from 'node:fs';
import { ReplicaLink, type ReplicaInfo, type SavedReplState } from './replica.js';
import type { ReplSource, Waiting } from './backlog.js';

export interface ReplicationOptions {
  /** the primary's password (--primary-password, else --password) */
  password: string | null;
  /** a fresh in-process transport to this server's own shards */
  local: () => Transport;
  log: (line: string) => void;
  /** the primary side: offset, backlog, attached replicas */
  source?: ReplSource;
  /** the replica's saved offset (replication.json in the data directory) */
  stateFile?: string | null;
  /** an offset saved while running (not by a clean stop) is good after a crash (--durability sync) */
  trustRunningState?: boolean;
  /** this server's native port, reported to a primary */
  listeningPort?: () => number;
}

/** Replication gauges for /metrics (the gateway asks the acceptor for them with its front stats). */
export interface ReplicationMetrics {
  /** 1 while this server follows a primary */
  replica: number;
  /** the primary's offset: this server's own (primary), or the last one applied (replica) */
  offset: number;
  backlogBytes: number;
  backlogFirstOffset: number;
  connectedReplicas: number;
  /** per attached replica: events sent and not yet acknowledged applied */
  replicaLag: { replica: string; lag: number }[];
  /** replica side: events received and not applied; link up (1) or not (0) */
  lagEvents: number;
  linkUp: number;
  fullSyncs: number;
  partialSyncs: number;
}

/** the replication id of this process when there is no source (as Redis' master_replid: 40 hex digits) */
const REPLID = Array.from({ length: 40 }, () => Math.floor(Math.random() * 16).toString(16)).join('');

export class Replication implements ReplicationHandle {
  private link: ReplicaLink | null = null;
  /** the state a replica saved before this process started; only `follow(target, true)` at startup uses it */
  private saved: SavedReplState | null = null;

  constructor(private readonly o: ReplicationOptions) {
    const file = o.stateFile;
    if (!file) return;
    try {
      const state = JSON.parse(readFileSync(file, 'utf8')) as SavedReplState;
      if (typeof state.runId === 'string' && Number.isSafeInteger(state.offset) && (state.clean || o.trustRunningState)) this.saved = state;
      else o.log(`cairn: ${file} was not saved by a clean stop; a full copy will be needed`);
    } catch {
      // none, or unreadable: a full copy
    }
    // whatever happens next (writes as a primary, a copy), the file no longer describes the data
    try {
      unlinkSync(file);
    } catch {
      // absent
    }
  }

  /** client writes are refused while this server follows a primary */
  readonly readOnly = (): boolean => this.link !== null;

  /** Follow host:port (a full copy, then its writes); null: become a primary (promote). */
  async follow(target: { host: string; port: number } | null, resume = false): Promise<void> {
    const old = this.link;
    this.link = null;
    if (old) await old.stop();
    const saved = resume ? this.saved : null;
    this.saved = null;
    if (target === null) {
      // a promoted replica takes writes: its saved offset no longer describes its data
      if (this.o.stateFile) {
        try {
          unlinkSync(this.o.stateFile);
        } catch {
          // absent
        }
      }
      if (old) this.o.log('cairn: promoted to primary (REPLICAOF NO ONE); writes are accepted');
      return;
    }
    this.link = new ReplicaLink({
      host: target.host,
      port: target.port,
      password: this.o.password,
      local: this.o.local,
      log: this.o.log,
      stateFile: this.o.stateFile ?? null,
      resume: saved,
      listeningPort: this.o.listeningPort?.(),
    });
    // the link is installed before it starts, so writes are refused from this moment
    this.o.log(`cairn: replica of ${target.host}:${target.port}; client writes are refused`);
    this.link.start();
  }

  info(): ReplicaInfo | null {
    return this.link?.info() ?? null;
  }

  async close(): Promise<void> {
    const l = this.link;
    this.link = null;
    await l?.stop();
  }

  run(name: string, args: Buffer[]): Buffer {
    if (name === 'role') {
      const i = this.info();
      if (!i) {
        const src = this.o.source?.stats();
        const reps = (src?.replicas ?? []).map((r) => array([bulkString(r.ip), bulkString(String(r.port)), bulkString(String(r.ackOffset))]));
        return array([bulkString('master'), integer(src?.offset ?? 0), array(reps)]);
      }
      const state = i.state === 'connected' ? 'connected' : i.state === 'sync' ? 'sync' : 'connect';
      return array([bulkString('slave'), bulkString(i.primaryHost), integer(i.primaryPort), bulkString(state), integer(i.offset)]);
    }
    // replicaof host port | replicaof no one
    const host = args[1].toString('latin1');
    const portText = args[2].toString('latin1');
    if (host.toLowerCase() === 'no' && portText.toLowerCase() === 'one') {
      void this.follow(null);
      return OK;
    }
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return err('Invalid master port');
    const current = this.info();
    if (current && current.primaryHost === host && current.primaryPort === port) {
      return Buffer.from('+OK Already connected to specified master\r\n');
    }
    void this.follow({ host, port });
    return OK;
  }

  waitAcks(replicas: number, timeoutMs: number): number | Waiting | Buffer {
    if (this.link) {
      return err(
        'WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.',
      );
    }
    return this.o.source?.waitAcks(replicas, timeoutMs) ?? 0;
  }

  /** Redis' primary-side fields: attached replicas, offset, backlog */
  private sourceLines(): string[] {
    const src = this.o.source?.stats();
    if (!src) return ['connected_slaves:0', `master_replid:${REPLID}`, 'master_repl_offset:0'];
    return [
      `connected_slaves:${src.replicas.length}`,
      ...src.replicas.map(
        (r, n) => `slave${n}:ip=${r.ip},port=${r.port},state=online,offset=${r.ackOffset},lag=${Math.floor((Date.now() - r.lastAck) / 1000)}`,
      ),
      `master_replid:${src.runId}`,
      `master_repl_offset:${src.offset}`,
      `repl_backlog_active:${src.backlogLimit > 0 ? 1 : 0}`,
      `repl_backlog_size:${src.backlogLimit}`,
      `repl_backlog_first_byte_offset:${src.backlogFirst}`,
      `repl_backlog_histlen:${src.backlogEvents}`,
      `cairn_repl_backlog_bytes:${src.backlogBytes}`,
      `sync_full:${src.fullSyncs}`,
      `sync_partial_ok:${src.partialOk}`,
      `sync_partial_err:${src.partialErr}`,
    ];
  }

  infoLines(): string[] {
    const i = this.info();
    if (!i) return ['role:master', ...this.sourceLines(), 'master_failover_state:no-failover'];
    const up = i.state === 'connected';
    return [
      'role:slave',
      `master_host:${i.primaryHost}`,
      `master_port:${i.primaryPort}`,
      `master_link_status:${up ? 'up' : 'down'}`,
      `master_last_io_seconds_ago:${i.lastIo ? Math.floor((Date.now() - i.lastIo) / 1000) : -1}`,
      `master_sync_in_progress:${i.state === 'sync' ? 1 : 0}`,
      `slave_read_repl_offset:${i.offset + i.lag}`,
      `slave_repl_offset:${i.offset}`,
      ...(up ? [] : [`master_link_down_since_seconds:${i.downSince ? Math.floor((Date.now() - i.downSince) / 1000) : -1}`]),
      'slave_read_only:1',
      `cairn_repl_lag_events:${i.lag}`,
      `cairn_repl_full_syncs:${i.fullSyncs}`,
      `cairn_repl_partial_syncs:${i.partialSyncs}`,
      `cairn_repl_copied_keys:${i.copied}`,
      `cairn_repl_primary_run_id:${i.runId ?? ''}`,
      // the replica's own source (its shards' events); master_repl_offset is the primary's offset it applied
      ...this.sourceLines().filter((l) => !l.startsWith('master_repl_offset:') && !l.startsWith('master_replid:')),
      `master_replid:${i.runId ?? REPLID}`,
      `master_repl_offset:${i.offset}`,
    ];
  }

  /** Gauges for /metrics (the gateway asks the acceptor for them with its stats). */
  metrics(): ReplicationMetrics {
    const i = this.info();
    const src = this.o.source?.stats();
    return {
      replica: i ? 1 : 0,
      offset: i ? i.offset : (src?.offset ?? 0),
      backlogBytes: src?.backlogBytes ?? 0,
      backlogFirstOffset: src?.backlogFirst ?? 0,
      connectedReplicas: src?.replicas.length ?? 0,
      replicaLag: (src?.replicas ?? []).map((r) => ({ replica: `${r.ip}:${r.port}`, lag: Math.max(0, src!.offset - r.ackOffset) })),
      lagEvents: i?.lag ?? 0,
      linkUp: i?.state === 'connected' ? 1 : 0,
      fullSyncs: i?.fullSyncs ?? 0,
      partialSyncs: i?.partialSyncs ?? 0,
    };
  }
}
