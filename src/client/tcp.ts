/** The Node TCP transport: the only SDK file that imports node:net. */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Endpoint, Transport, TransportFactory } from './transport.js';

export interface TcpTransportOptions {
  /** give up on a connection attempt after this long (ms); default 10000. */
  connectTimeoutMs?: number;
  /** TCP keep-alive probe delay (ms); 0 disables. Default 30000. */
  keepAliveMs?: number;
  /** speak TLS (a server started with --tls-cert/--tls-key): true, or node:tls options (ca, servername, ...) */
  tls?: boolean | ConnectionOptions;
}

class TcpTransport implements Transport {
  private socket: Socket | null = null;
  private readonly dataListeners: ((chunk: Uint8Array) => void)[] = [];
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  private lastError: Error | undefined;
  private closed = false;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly options: TcpTransportOptions,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const tls = this.options.tls;
      const socket: Socket = tls
        ? tlsConnect({ host: this.endpoint.host, port: this.endpoint.port, ...(tls === true ? {} : tls) })
        : netConnect({ host: this.endpoint.host, port: this.endpoint.port });
      this.socket = socket;
      socket.setNoDelay(true);
      const keepAlive = this.options.keepAliveMs ?? 30_000;
      if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
      const timeout = this.options.connectTimeoutMs ?? 10_000;
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(new Error(`connect to ${this.endpoint.host}:${this.endpoint.port} timed out after ${timeout} ms`));
      }, timeout);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      });
      socket.on('error', (err) => {
        this.lastError = err;
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(err);
        }
      });
      socket.on('data', (chunk: Buffer) => {
        for (const listener of this.dataListeners) listener(chunk);
      });
      socket.once('close', () => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(this.lastError ?? new Error('connection closed before it was established'));
          return;
        }
        if (this.closed) return;
        this.closed = true;
        for (const listener of this.closeListeners) listener(this.lastError);
      });
    });
  }

  write(bytes: Uint8Array): void {
    this.socket?.write(bytes);
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    this.socket?.destroy();
  }
}

export function tcpTransport(options: TcpTransportOptions = {}): TransportFactory {
  return (endpoint) => new TcpTransport(endpoint, options);
}
