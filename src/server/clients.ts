/**
 * The acceptor's RESP connections by id, for CLIENT LIST / INFO / KILL (src/resp/clients.ts).
 * Connections of the other protocols, and the gateway thread's WebSocket clients, are not listed.
 */
import type { ClientDirectory, ClientView, ConnState } from '../front/plan.js';
import type { TextConnection } from './text-conn.js';
import type { RespFrame } from '../resp/index.js';

type RespConnection = TextConnection<ConnState, RespFrame>;

/** `ip:port` as Redis prints it (anetFormatAddr: an IPv6 address in brackets; IPv4-mapped ones as IPv4) */
function address(ip: string | undefined, port: number | undefined): string {
  const host = ip?.startsWith('::ffff:') ? ip.slice(7) : (ip ?? '?');
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

class Entry implements ClientView {
  readonly addr: string;
  readonly laddr: string;
  constructor(private readonly conn: RespConnection) {
    const s = conn.socket;
    this.addr = address(s.remoteAddress, s.remotePort);
    this.laddr = address(s.localAddress, s.localPort);
  }
  get state(): ConnState {
    return this.conn.state;
  }
  get fd(): number {
    // Node keeps the descriptor on the socket's handle; it is not public API, hence the guard
    const fd = (this.conn.socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    return typeof fd === 'number' ? fd : -1;
  }
  get createdAt(): number {
    return this.conn.createdAt;
  }
  get lastActive(): number {
    return this.conn.lastActive;
  }
  get queryBuffer(): number {
    return this.conn.buffered;
  }
  get outputBytes(): number {
    return this.conn.socket.writableLength;
  }
  kill(): void {
    this.conn.kill();
  }
}

export class ClientRegistry implements ClientDirectory {
  private readonly entries = new Map<number, Entry>();

  add(conn: RespConnection): void {
    this.entries.set(conn.id, new Entry(conn));
  }

  delete(id: number): void {
    this.entries.delete(id);
  }

  list(): ClientView[] {
    return [...this.entries.values()].sort((a, b) => a.state.id - b.state.id);
  }

  get(id: number): ClientView | undefined {
    return this.entries.get(id);
  }

  kill(id: number): void {
    this.entries.get(id)?.kill();
  }
}
