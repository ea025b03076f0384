/**
 * The cairn SDK for Node: `import { createClient } from 'cairn/client'`.
 *
 *   const client = await createClient({ host: '127.0.0.1', port: 7379 });
 *   await client.set('user:1', 'ada', { ttl: 60_000 });
 *   const name = await client.getString('user:1');
 *
 * The core (client.ts) has no Node imports; only the default TCP transport does.
 */
import { CairnClient, type ClientOptions } from './client.js';
import { tcpTransport } from './tcp.js';

export { CairnClient } from './client.js';
export type {
  ClientOptions,
  ClientEvents,
  ClientState,
  EntryMeta,
  ExpiryOptions,
  Key,
  MsetOptions,
  ReconnectOptions,
  RequestOptions,
  ScanPage,
  ServerInfo,
  ServerStats,
  SetOptions,
  SetResult,
  SetStatus,
  TierCounts,
  Value,
} from './client.js';
export type {
  FieldValues,
  HashScanPage,
  LexBound,
  LimitOptions,
  ListEnd,
  LposOptions,
  Member,
  ScanOptions,
  ScoreBound,
  ScoredMember,
  ScoreMember,
  SetScanPage,
  ValueTypeName,
  ZaddOptions,
  ZcombineOptions,
  ZrangeOptions,
  ZsetScanPage,
} from './data-types.js';
export { TypedCollection, encodeTyped, decodeTyped } from './typed.js';
export type { TypedSetOptions } from './typed.js';
export type { Transport, TransportFactory, Endpoint } from './transport.js';
export { tcpTransport } from './tcp.js';
export type { TcpTransportOptions } from './tcp.js';
export { webSocketTransport } from './ws.js';
export type { WebSocketTransportOptions, WebSocketLike, WebSocketConstructor } from './ws.js';
export { Subscription } from './subscription.js';
export type { KeyEventMessage, SubscribeOptions, KeyEventCallback } from './subscription.js';
export type { ChannelMessage, ChannelSubscribeOptions, ChannelMessageCallback } from './subscription.js';
export type { KeyEventName } from '../events/codes.js';
export { CairnError, ErrorCode, isCairnError } from '../errors.js';
export { shardOf } from '../hash.js';
export { PROTOCOL_VERSION, Opcode } from '../native/opcodes.js';

/** Connect and run the handshake; rejects when the server cannot be reached or refuses the handshake. */
export async function createClient(options: ClientOptions = {}): Promise<CairnClient> {
  const client = new CairnClient({ ...options, transport: options.transport ?? tcpTransport() });
  await client.connect();
  return client;
}
