/**
 * A small memcached text-protocol client for migrations: pipelined requests on one TCP connection,
 * replies read in order. Three reply shapes are enough: one line (`version`), lines up to END
 * (`stats`, `lru_crawler metadump`, streamed to a callback) and VALUE blocks up to END (`get`).
 * Tokenizing and number parsing reuse the server's memcached framer (src/memcache/framer.ts).
 */
import { connect, type Socket } from 'node:net';
import { parseU32, tokenize } from '../memcache/framer.js';

export interface McValue {
  key: Buffer;
  flags: number;
  value: Buffer;
}

type Pending =
  | { kind: 'line'; resolve: (line: string) => void; reject: (e: Error) => void }
  | { kind: 'lines'; onLine: (line: Buffer) => void; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'values'; items: McValue[]; resolve: (items: McValue[]) => void; reject: (e: Error) => void };

const ERROR_WORDS = ['ERROR', 'CLIENT_ERROR', 'SERVER_ERROR', 'BUSY'];

function errorLine(line: Buffer): string | null {
  const text = line.toString('latin1', 0, Math.min(line.length, 13));
  for (const w of ERROR_WORDS) if (text === w || text.startsWith(`${w} `)) return line.toString('utf8');
  return null;
}

function isEnd(line: Buffer): boolean {
  return line.length === 3 && line[0] === 69 && line[1] === 78 && line[2] === 68; // END
}

export class McError extends Error {}

export class MemcacheTextClient {
  private buf: Buffer = Buffer.alloc(0);
  private need = 0;
  private readonly queue: Pending[] = [];
  private closed: Error | null = null;
  private corked = false;

  private constructor(
    private readonly socket: Socket,
    readonly label: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new Error(`${label}: ${err.message}`)));
    socket.on('close', () => this.fail(new Error(`${label}: connection closed`)));
  }

  static connect(host: string, port: number, timeoutMs = 10_000): Promise<MemcacheTextClient> {
    const label = `memcached ${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`no connection after ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new MemcacheTextClient(socket, label));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${label}: ${err.message}`));
      });
    });
  }

  /** a request whose reply is one line (e.g. `version`) */
  line(request: string): Promise<string> {
    return new Promise((resolve, reject) => this.send(Buffer.from(`${request}\r\n`), { kind: 'line', resolve, reject }));
  }

  /** a request answered by lines up to END, each passed to onLine (without its line end) */
  lines(request: string, onLine: (line: Buffer) => void): Promise<void> {
    return new Promise((resolve, reject) => this.send(Buffer.from(`${request}\r\n`), { kind: 'lines', onLine, resolve, reject }));
  }

  /** `get k1 k2 ...`: the keys that were found, with their flags */
  get(keys: readonly Uint8Array[]): Promise<McValue[]> {
    const parts: Uint8Array[] = [Buffer.from('get')];
    for (const k of keys) parts.push(Buffer.from(' '), k);
    parts.push(Buffer.from('\r\n'));
    return new Promise((resolve, reject) => this.send(Buffer.concat(parts), { kind: 'values', items: [], resolve, reject }));
  }

  /** stop / restart reading (backpressure on a long `lines` reply) */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.closed ??= new Error(`${this.label}: closed`);
    this.socket.destroy();
  }

  private send(bytes: Buffer, pending: Pending): void {
    if (this.closed) {
      pending.reject(this.closed);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.queue.push(pending);
    this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length < this.need) return;
    this.need = 0;
    let pos = 0;
    const buf = this.buf;
    try {
      outer: while (this.queue.length > 0) {
        const head = this.queue[0];
        for (;;) {
          const nl = buf.indexOf(10, pos);
          if (nl < 0) break outer;
          const line = buf.subarray(pos, nl > pos && buf[nl - 1] === 13 ? nl - 1 : nl);
          if (head.kind === 'line') {
            pos = nl + 1;
            this.queue.shift();
            const err = errorLine(line);
            if (err) head.reject(new McError(`${this.label}: ${err}`));
            else head.resolve(line.toString('utf8'));
            continue outer;
          }
          if (isEnd(line)) {
            pos = nl + 1;
            this.queue.shift();
            if (head.kind === 'lines') head.resolve();
            else head.resolve(head.items);
            continue outer;
          }
          const err = errorLine(line);
          if (err) {
            pos = nl + 1;
            this.queue.shift();
            head.reject(new McError(`${this.label}: ${err}`));
            continue outer;
          }
          if (head.kind === 'lines') {
            pos = nl + 1;
            head.onLine(line);
            continue;
          }
          // VALUE <key> <flags> <bytes> [<cas>]
          const words = tokenize(line);
          const flags = words.length >= 4 ? parseU32(words[2]) : null;
          const len = words.length >= 4 ? Number(words[3].toString('latin1')) : NaN;
          if (words[0]?.toString('latin1') !== 'VALUE' || flags === null || !Number.isInteger(len) || len < 0) {
            throw new Error(`unexpected reply line ${JSON.stringify(line.toString('latin1').slice(0, 80))}`);
          }
          const end = nl + 1 + len + 2;
          if (end > buf.length) {
            this.need = end - pos;
            break outer;
          }
          head.items.push({ key: Buffer.from(words[1]), flags, value: Buffer.from(buf.subarray(nl + 1, nl + 1 + len)) });
          pos = end;
        }
      }
      if (this.queue.length === 0 && pos < buf.length) throw new Error('a reply nobody asked for');
    } catch (err) {
      this.fail(new Error(`${this.label}: protocol error: ${(err as Error).message}`));
      this.socket.destroy();
      return;
    }
    this.buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  }

  private fail(err: Error): void {
    this.closed ??= err;
    for (const p of this.queue.splice(0)) p.reject(this.closed);
  }
}
