import type { LinkMemory } from '../hop/link.js';
import type { ServerInfo } from '../native/session.js';
import type { FrontStats } from './metrics.js';
import type { BusWire } from '../pubsub/bus.js';

export interface GatewayWorkerData {
  /** the gateway's own ring set to every shard (front 1) */
  link: LinkMemory;
  info: ServerInfo;
  bind: string;
  port: number;
  password: string | null;
  outputLimit: number;
  outputLimitTotal: number;
  /** bytes each request in flight reserves (replyReserve in src/config.ts) */
  reserve: number;
  maxConnections: number;
  version: string;
  startedAt: number;
  /** PEM files: serve HTTPS and wss:// (the same --tls-cert / --tls-key as the native port) */
  tls: { cert: string; key: string } | null;
}

/** main thread → gateway */
export type ToGateway =
  | { type: 'close' }
  | { type: 'acceptor-stats'; id: number; value: FrontStats | null }
  /** channel pub/sub between the two fronts (src/pubsub/bus.ts) */
  | { type: 'bus'; msg: BusWire }
  /**
   * a shard's worker exited / serves again (the pool restarts it): the gateway's failover follows;
   * the restarted worker (generation `epoch`) reads the gateway's requests once it has failed over
   */
  | { type: 'shard-down'; shard: number; why: string; epoch: number }
  | { type: 'shard-up'; shard: number };

/** gateway → main thread */
export type FromGateway =
  | { type: 'ready'; port: number }
  | { type: 'error'; message: string }
  | { type: 'acceptor-stats'; id: number }
  | { type: 'log'; line: string }
  | { type: 'bus'; msg: BusWire }
  | { type: 'closed' };
