/**
 * A raw TCP client for byte-level protocol checks: send bytes, read replies with a time limit.
 * Replies are compared as exact strings; `exchange` reads as many CRLF-terminated lines as the
 * expected reply has, so a wrong (shorter or different) reply fails at once with both texts shown.
 */
import { connect, type Socket } from 'node:net';

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  error: Error | null = null;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5_000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawClient(s));
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /**
   * Waits until `done(buffered)` returns a byte count > 0 (or the connection closes, or timeoutMs
   * passes), then takes and returns that many bytes (all that is buffered on close/timeout).
   */
  async readWhen(done: (buf: Buffer) => number, timeoutMs = 3_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = done(this.buf);
      if (n > 0) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return Buffer.from(out);
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) {
        const out = this.buf;
        this.buf = Buffer.alloc(0);
        return out;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** reads `lines` CRLF-terminated lines (bytes inside them count as they come) */
  async readLines(lines: number, timeoutMs = 3_000): Promise<string> {
    const b = await this.readWhen((buf) => {
      let pos = 0;
      for (let i = 0; i < lines; i++) {
        const at = buf.indexOf('\r\n', pos);
        if (at < 0) return 0;
        pos = at + 2;
      }
      return pos;
    }, timeoutMs);
    return b.toString('latin1');
  }

  /** reads up to and including `terminator` */
  async readUntil(terminator: string, timeoutMs = 3_000): Promise<string> {
    const b = await this.readWhen((buf) => {
      const at = buf.indexOf(terminator, 0, 'latin1');
      return at < 0 ? 0 : at + terminator.length;
    }, timeoutMs);
    return b.toString('latin1');
  }

  /** reads exactly n bytes (fewer on close or timeout) */
  async readBytes(n: number, timeoutMs = 3_000): Promise<Buffer> {
    return this.readWhen((buf) => (buf.length >= n ? n : 0), timeoutMs);
  }

  /** whatever arrives within ms (for checking that nothing is sent, e.g. after noreply) */
  async drain(ms = 150): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.buf.toString('latin1');
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** sends `request` and reads a reply with as many CRLF lines as `expected`; returns what came */
  async exchange(request: string | Buffer, expected: string, timeoutMs = 3_000): Promise<string> {
    this.send(request);
    const lines = expected.split('\r\n').length - 1;
    return this.readLines(Math.max(1, lines), timeoutMs);
  }

  /** resolves true once the server closes the connection (within timeoutMs) */
  async waitClosed(timeoutMs = 2_000): Promise<boolean> {
    await this.readWhen(() => 0, timeoutMs);
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** shows CR/LF and control bytes, for failure messages */
export function show(s: string): string {
  return JSON.stringify(s);
}
