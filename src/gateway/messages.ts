import type { LinkMemory } from '../hop/link.js';
import type { ServerInfo } from '../native/session.js';
import type { FrontStats } from './metrics.js';

export interface GatewayWorkerData {
  /** the gateway's own ring set to every shard (front 1) */
  link: LinkMemory;
  info: ServerInfo;
  bind: string;
  port: number;
  password: string | null;
  outputLimit: number;
  maxConnections: number;
  version: string;
  startedAt: number;
}

/** main thread → gateway */
export type ToGateway = { type: 'close' } | { type: 'acceptor-stats'; id: number; value: FrontStats | null };

/** gateway → main thread */
export type FromGateway =
  | { type: 'ready'; port: number }
  | { type: 'error'; message: string }
  | { type: 'acceptor-stats'; id: number }
  | { type: 'log'; line: string }
  | { type: 'closed' };
