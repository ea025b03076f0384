/**
 * The byte pipe under the SDK. The client core never imports a platform module; a transport
 * brings the bytes: TCP in Node (tcp.ts), WebSocket in a browser later. One Transport object
 * serves one connection attempt; the client asks its factory for a new one on every reconnect.
 */
export interface Transport {
  /** Open the connection; resolve once bytes can be written, reject if it cannot be opened. */
  connect(): Promise<void>;
  /** Send bytes. The transport owns `bytes` after the call (the client does not reuse them). */
  write(bytes: Uint8Array): void;
  /** Bytes from the server, in order. A chunk may hold any part of a frame, or many frames. */
  onData(listener: (chunk: Uint8Array) => void): void;
  /** The connection is gone (after connect() resolved), with the reason when there is one. Called once. */
  onClose(listener: (error?: Error) => void): void;
  /** Close now; onClose listeners still run. */
  close(): void;
}

export interface Endpoint {
  host: string;
  port: number;
}

export type TransportFactory = (endpoint: Endpoint) => Transport;
