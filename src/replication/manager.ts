/**
 * A server's replication role (docs/replication.md): primary, or read-only replica of another
 * cairn's native port. Answers RESP ROLE / REPLICAOF and INFO's replication section, and says
 * whether client writes are refused.
 */
import { array, bulkString, err, integer, OK } from '../resp/encode.js';
import type { ReplicationHandle } from '../resp/plan.js';
import type { Transport } from '../client/transport.js';
import { ReplicaLink, type ReplicaInfo } from './replica.js';

export interface ReplicationOptions {
  /** the primary's password (--primary-password, else --password) */
  password: string | null;
  /** a fresh in-process transport to this server's own shards */
  local: () => Transport;
  log: (line: string) => void;
}

/** the replication id of this process (as Redis' master_replid: 40 hex digits) */
const REPLID = Array.from({ length: 40 }, () => Math.floor(Math.random() * 16).toString(16)).join('');

export class Replication implements ReplicationHandle {
  private link: ReplicaLink | null = null;

  constructor(private readonly o: ReplicationOptions) {}

  /** client writes are refused while this server follows a primary */
  readonly readOnly = (): boolean => this.link !== null;

  /** Follow host:port (a full copy, then its writes); null: become a primary (promote). */
  async follow(target: { host: string; port: number } | null): Promise<void> {
    const old = this.link;
    this.link = null;
    if (old) await old.stop();
    if (target === null) {
      if (old) this.o.log('cairn: promoted to primary (REPLICAOF NO ONE); writes are accepted');
      return;
    }
    this.link = new ReplicaLink({ host: target.host, port: target.port, password: this.o.password, local: this.o.local, log: this.o.log });
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
      if (!i) return array([bulkString('master'), integer(0), array([])]);
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

  infoLines(): string[] {
    const i = this.info();
    if (!i) {
      return ['role:master', 'connected_slaves:0', 'master_failover_state:no-failover', `master_replid:${REPLID}`, 'master_repl_offset:0'];
    }
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
      `cairn_repl_copied_keys:${i.copied}`,
      'connected_slaves:0',
      `master_replid:${REPLID}`,
      `master_repl_offset:${i.offset}`,
    ];
  }
}
