import type { Socket } from 'node:net';
import type { ShardBackend } from '../shards/backend.js';

/** What every protocol connection looks like to the acceptor. */
export interface Connection {
  readonly id: number;
  readonly socket: Socket;
  /** requests sent to shards and not answered yet */
  readonly inFlight: number;
  onData(chunk: Buffer): void;
  onReply(kind: number, seq: number, payload: Buffer): void;
}

/** The acceptor's services a connection uses. */
export interface ConnectionContext {
  backend: ShardBackend;
  /** commands routed so far, all protocols */
  commands: number;
  /** queue bytes for the socket; writes are corked per reply batch */
  write(conn: Connection, bytes: Uint8Array): void;
  /** after a read: apply input backpressure if the connection has too much in flight */
  afterRead(conn: Connection): void;
}
