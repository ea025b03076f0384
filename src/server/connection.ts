import type { Socket } from 'node:net';
import type { SubscriptionHub } from '../events/hub.js';
import type { ChannelBus } from '../pubsub/bus.js';
import type { ReplHandler } from '../native/router.js';
import type { ShardBackend } from '../front/backend.js';

/** What every protocol connection looks like to the acceptor. */
export interface Connection {
  readonly id: number;
  readonly socket: Socket;
  /** requests sent to shards and not answered yet */
  readonly inFlight: number;
  /** bytes of an incomplete request held (the acceptor's --client-timeout watches it) */
  readonly buffered?: number;
  /** a blocking command (BLPOP, ...) waits: input held meanwhile waits for the server, not the client */
  readonly blocked?: boolean;
  /** reply bytes this connection held (reserved for requests in flight, or unsent) at the acceptor's last count; the acceptor's to keep */
  held: number;
  onData(chunk: Buffer): void;
  /** go on with requests read but held back while `admit` said no */
  resume(): void;
  onReply(kind: number, seq: number, payload: Buffer): void;
  /** the socket closed */
  onClose?(): void;
}

/** The acceptor's services a connection uses. */
export interface ConnectionContext {
  backend: ShardBackend;
  /** key-event subscriptions of this thread's connections */
  events: SubscriptionHub;
  /** channel pub/sub of this thread's connections (absent: PUBLISH and channel subscriptions fail) */
  bus?: ChannelBus;
  /** a read-only replica: client writes are refused */
  readOnly?: () => boolean;
  /** the primary side of replication (REPLSYNC / REPLACK on the native port) */
  replSource?: ReplHandler;
  /** replication status, added to the native STATS reply */
  replicationStats?: () => unknown;
  /** commands routed so far, all protocols */
  commands: number;
  /** queue bytes for the socket; writes are corked per reply batch */
  write(conn: Connection, bytes: Uint8Array): void;
  /**
   * May the connection send one more request to a shard now (within --output-limit and
   * --output-limit-total)? When not, its input is paused and `resume()` is called once it may.
   */
  admit(conn: Connection): boolean;
  /**
   * Before unasked bytes (pub/sub messages, key events) are queued: a connection whose unread bytes
   * already pass --output-limit is dropped instead (true), since nothing else bounds what it is sent.
   */
  dropIfBehind(conn: Connection): boolean;
}
