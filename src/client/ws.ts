/**
 * The WebSocket transport: the native protocol's frames as binary WebSocket messages to the gateway
 * (`ws://host:port/ws`). No Node imports: it uses the platform's WebSocket (browsers, Node 22+) or
 * a compatible constructor passed in (the `ws` package on Node 20).
 *
 * A WebSocket connection is a byte stream of frames to cairn: message boundaries carry no meaning,
 * so a large batch is sent as several messages.
 */
import type { Endpoint, Transport, TransportFactory } from './transport.js';

/** The part of the WHATWG WebSocket API the transport uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketTransportOptions {
  /** the gateway's WebSocket URL; default `ws://<host>:<port>/ws` from the client's host and port */
  url?: string;
  /** a WebSocket constructor (default: globalThis.WebSocket) */
  WebSocket?: WebSocketConstructor;
  /** give up on a connection attempt after this long (ms); default 10000 */
  connectTimeoutMs?: number;
  /** largest message sent; larger writes are split (default 1 MiB) */
  maxMessageBytes?: number;
}

class WebSocketTransport implements Transport {
  private ws: WebSocketLike | null = null;
  private readonly dataListeners: ((chunk: Uint8Array) => void)[] = [];
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly options: WebSocketTransportOptions,
  ) {}

  connect(): Promise<void> {
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return Promise.reject(new Error('no WebSocket here: pass webSocketTransport({ WebSocket }) (e.g. the ws package on Node 20)'));
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      let ws: WebSocketLike;
      try {
        ws = new Ctor(this.url);
      } catch (err) {
        reject(err as Error);
        return;
      }
      this.ws = ws;
      ws.binaryType = 'arraybuffer';
      const timeout = this.options.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        ws.close();
        reject(new Error(`connect to ${this.url} timed out after ${timeout} ms`));
      }, timeout);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      };
      ws.onmessage = (ev) => {
        const data = ev.data;
        const chunk =
          data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
        if (!chunk) return; // cairn sends binary messages only
        for (const listener of this.dataListeners) listener(chunk);
      };
      ws.onerror = () => {
        // the close event follows with what there is to say
      };
      ws.onclose = (ev) => {
        const error = new Error(`WebSocket closed${ev.code ? ` (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})` : ''}`);
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(error);
          return;
        }
        if (this.closed) return;
        this.closed = true;
        for (const listener of this.closeListeners) listener(ev.code === 1000 ? undefined : error);
      };
    });
  }

  write(bytes: Uint8Array): void {
    const ws = this.ws;
    if (ws?.readyState !== 1) return;
    const max = this.options.maxMessageBytes ?? 1024 * 1024;
    for (let at = 0; at < bytes.length; at += max) ws.send(at === 0 && bytes.length <= max ? bytes : bytes.subarray(at, at + max));
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000);
    // a WebSocket reports its close later; the client wants to hear it now
    if (!this.closed) {
      this.closed = true;
      for (const listener of this.closeListeners) listener();
    }
  }
}

export function webSocketTransport(options: WebSocketTransportOptions = {}): TransportFactory {
  return (endpoint: Endpoint) => new WebSocketTransport(options.url ?? `ws://${endpoint.host}:${endpoint.port}/ws`, options);
}
