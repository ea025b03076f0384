/**
 * The cairn SDK for browsers: the same client as `cairn/client`, over WebSocket to the gateway.
 * Built into one ES module (dist/browser/cairn-client.js) that the gateway serves at /cairn-client.js:
 *
 *   import { createClient } from 'http://localhost:7382/cairn-client.js';
 *   const client = await createClient({ url: 'ws://localhost:7382/ws' });
 *   await client.set('greeting', 'hello');
 *   await client.subscribe({ prefix: 'user:' }, (ev) => console.log(ev.event, ev.keyString));
 */
import { CairnClient, type ClientOptions } from './client.js';
import { webSocketTransport, type WebSocketTransportOptions } from './ws.js';

export { CairnClient } from './client.js';
export type { ClientOptions, ServerInfo, SetOptions, SetResult, ScanPage, EntryMeta } from './client.js';
export type { FieldValues, Member, ScoredMember, ScoreMember, ZaddOptions, ZrangeOptions } from './data-types.js';
export { Subscription } from './subscription.js';
export type { KeyEventMessage, SubscribeOptions, KeyEventCallback } from './subscription.js';
export type { ChannelMessage, ChannelSubscribeOptions, ChannelMessageCallback } from './subscription.js';
export { webSocketTransport } from './ws.js';
export type { WebSocketTransportOptions, WebSocketLike } from './ws.js';
export { CairnError, ErrorCode, isCairnError } from '../errors.js';
export { KEY_EVENT_NAMES } from '../events/codes.js';
export type { KeyEventName } from '../events/codes.js';

export interface BrowserClientOptions extends ClientOptions, Pick<WebSocketTransportOptions, 'WebSocket' | 'connectTimeoutMs'> {
  /** the gateway's WebSocket URL; default: /ws on the page's own host */
  url?: string;
}

function defaultUrl(): string | undefined {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!loc?.host) return undefined;
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

/** Connect over WebSocket and run the handshake. */
export async function createClient(options: BrowserClientOptions = {}): Promise<CairnClient> {
  const transport =
    options.transport ?? webSocketTransport({ url: options.url ?? defaultUrl(), WebSocket: options.WebSocket, connectTimeoutMs: options.connectTimeoutMs });
  const client = new CairnClient({ ...options, port: options.port ?? 7382, transport });
  await client.connect();
  return client;
}
