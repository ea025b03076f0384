/**
 * Client timeouts of the acceptor (slowloris and stalled readers). Once per sweep (a quarter of the
 * shortest timeout, at most one second) every connection is checked:
 *
 * - `--client-timeout` (default 30 s): a connection that has held an *incomplete request* this long
 *   (bytes of a frame or command without its end, and no complete request since), or that has had
 *   replies waiting with *none of them read* by the client this long, is closed. A pipelining client
 *   always completes requests, and a reading client always makes progress, so neither is affected;
 *   a client that dribbles one byte at a time, or never reads, is.
 * - `--idle-timeout` (default off): a connection with nothing in flight that sent nothing this long.
 *
 * Connections whose input the acceptor paused for backpressure are not judged on input (their
 * buffered bytes wait for the server, not the client).
 */
import type { Connection } from './connection.js';

interface Watch {
  /** when the current incomplete request started to wait (0: none) */
  partialSince: number;
  lastInput: number;
  /** reply bytes handed to the kernel at the last sweep */
  dispatched: number;
  /** when replies started waiting with no progress (0: none waiting) */
  stallSince: number;
}

export class ClientGuard {
  private readonly watches = new Map<Connection, Watch>();
  private readonly timer: NodeJS.Timeout | null = null;
  /** connections closed by each rule, for logs and tests */
  readonly closed = { partial: 0, stalled: 0, idle: 0 };

  constructor(
    private readonly clientTimeoutMs: number,
    private readonly idleTimeoutMs: number,
    private readonly isPaused: (conn: Connection) => boolean,
    private readonly log: (line: string) => void,
  ) {
    const shortest = Math.min(clientTimeoutMs || Infinity, idleTimeoutMs || Infinity);
    if (shortest !== Infinity) {
      this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(1000, Math.floor(shortest / 4))));
      this.timer.unref();
    }
  }

  get enabled(): boolean {
    return this.timer !== null;
  }

  track(conn: Connection): void {
    if (this.timer) this.watches.set(conn, { partialSince: 0, lastInput: Date.now(), dispatched: 0, stallSince: 0 });
  }

  untrack(conn: Connection): void {
    this.watches.delete(conn);
  }

  /** After the connection consumed a chunk: `before` is what it held before the chunk. */
  afterData(conn: Connection, before: number, chunkBytes: number): void {
    const w = this.watches.get(conn);
    if (!w) return;
    const now = Date.now();
    w.lastInput = now;
    const after = conn.buffered ?? 0;
    if (after === 0) w.partialSince = 0;
    else if (w.partialSince === 0 || after < before + chunkBytes) w.partialSince = now; // a request completed
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sweep(): void {
    const now = Date.now();
    const limit = this.clientTimeoutMs;
    for (const [conn, w] of this.watches) {
      const socket = conn.socket;
      if (socket.destroyed) continue;
      if (limit > 0) {
        if (w.partialSince !== 0 && !this.isPaused(conn) && now - w.partialSince > limit) {
          this.drop(conn, 'partial', `an incomplete request was held for more than ${limit} ms (--client-timeout)`);
          continue;
        }
        if (this.isPaused(conn)) w.partialSince = w.partialSince === 0 ? 0 : now;
        const waiting = socket.writableLength;
        const dispatched = socket.bytesWritten - waiting;
        if (waiting === 0 || dispatched !== w.dispatched) {
          w.dispatched = dispatched;
          w.stallSince = waiting === 0 ? 0 : now;
        } else if (w.stallSince === 0) w.stallSince = now;
        else if (now - w.stallSince > limit) {
          this.drop(conn, 'stalled', `${waiting} reply bytes went unread for more than ${limit} ms (--client-timeout)`);
          continue;
        }
      }
      if (this.idleTimeoutMs > 0 && conn.inFlight === 0 && socket.writableLength === 0 && now - w.lastInput > this.idleTimeoutMs) {
        this.drop(conn, 'idle', `idle for more than ${this.idleTimeoutMs} ms (--idle-timeout)`);
      }
    }
  }

  private drop(conn: Connection, rule: 'partial' | 'stalled' | 'idle', why: string): void {
    this.closed[rule]++;
    this.watches.delete(conn);
    if (rule !== 'idle') this.log(`cairn: connection ${conn.id} closed: ${why}`);
    conn.socket.destroy();
  }
}
