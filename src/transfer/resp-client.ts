/**
 * A small RESP2 client for migrations: pipelined commands on one TCP connection, replies matched in
 * order. Requests are encoded with the server's own encoder (src/resp/encode.ts); replies are parsed
 * incrementally here (the server side only ever parses requests).
 */
import { connect, type Socket } from 'node:net';
import { command } from '../resp/encode.js';

/** An error reply (`-ERR ...`), returned as a value so one failing command does not fail a pipeline. */
export class RespReplyError {
  constructor(readonly message: string) {}
  /** the first word: ERR, WRONGTYPE, NOAUTH, ... */
  get code(): string {
    const sp = this.message.indexOf(' ');
    return sp < 0 ? this.message : this.message.slice(0, sp);
  }
}

export type RespValue = string | number | Buffer | null | RespReplyError | RespValue[];

const INCOMPLETE = Symbol('incomplete');

/** Parses one reply at `pos`; INCOMPLETE when the buffer ends first. Sets `end` past it. */
class ReplyParser {
  end = 0;
  /** total bytes needed before a retry can make progress (a long bulk) */
  need = 0;

  parse(buf: Buffer, pos: number): RespValue | typeof INCOMPLETE {
    if (pos >= buf.length) return INCOMPLETE;
    const cr = buf.indexOf(13, pos + 1);
    if (cr < 0 || cr + 1 >= buf.length) return INCOMPLETE;
    if (buf[cr + 1] !== 10) throw new Error('RESP protocol error: a reply line without CRLF');
    const type = buf[pos];
    const line = buf.toString('latin1', pos + 1, cr);
    const next = cr + 2;
    switch (type) {
      case 43: // +
        this.end = next;
        return line;
      case 45: // -
        this.end = next;
        return new RespReplyError(buf.toString('utf8', pos + 1, cr));
      case 58: // :
        this.end = next;
        return Number(line);
      case 36: {
        // $
        const len = Number(line);
        if (len < 0) {
          this.end = next;
          return null;
        }
        if (!Number.isInteger(len)) throw new Error(`RESP protocol error: bad bulk length ${line}`);
        if (next + len + 2 > buf.length) {
          this.need = next + len + 2;
          return INCOMPLETE;
        }
        this.end = next + len + 2;
        return buf.subarray(next, next + len);
      }
      case 42: {
        // *
        const n = Number(line);
        if (n < 0) {
          this.end = next;
          return null;
        }
        if (!Number.isInteger(n)) throw new Error(`RESP protocol error: bad array length ${line}`);
        const items: RespValue[] = new Array(n);
        let p = next;
        for (let i = 0; i < n; i++) {
          const v = this.parse(buf, p);
          if (v === INCOMPLETE) return INCOMPLETE;
          items[i] = v;
          p = this.end;
        }
        this.end = p;
        return items;
      }
      default:
        throw new Error(`RESP protocol error: unexpected reply type byte 0x${type.toString(16)}`);
    }
  }
}

export class RespClient {
  private buf: Buffer = Buffer.alloc(0);
  private readonly parser = new ReplyParser();
  private readonly waiting: { resolve: (v: RespValue) => void; reject: (e: Error) => void }[] = [];
  private closed: Error | null = null;
  private corked = false;
  /** buffered bytes needed before parsing again can make progress */
  private need = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;

  private constructor(
    private readonly socket: Socket,
    readonly label: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new Error(`${label}: ${err.message}`)));
    socket.on('close', () => this.fail(new Error(`${label}: connection closed`)));
  }

  static connect(host: string, port: number, timeoutMs = 10_000): Promise<RespClient> {
    const label = `redis ${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`no connection after ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket, label));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${label}: ${err.message}`));
      });
    });
  }

  /** Sends a command (pipelined with others sent in the same tick); resolves with its reply, errors included. */
  send(args: readonly (string | Uint8Array)[]): Promise<RespValue> {
    if (this.closed) return Promise.reject(this.closed);
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(command(args));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Like send, but an error reply rejects. */
  async call(args: readonly (string | Uint8Array)[]): Promise<RespValue> {
    const v = await this.send(args);
    if (v instanceof RespReplyError) throw new Error(`${this.label}: ${String(args[0]).toUpperCase()}: ${v.message}`);
    return v;
  }

  close(): void {
    this.closed ??= new Error(`${this.label}: closed`);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    // A long bulk arriving in many chunks is joined once, when all of it is here.
    this.parts.push(chunk);
    this.partsBytes += chunk.length;
    if (this.buf.length + this.partsBytes < this.need) return;
    this.buf = this.buf.length === 0 && this.parts.length === 1 ? chunk : Buffer.concat([this.buf, ...this.parts]);
    this.parts = [];
    this.partsBytes = 0;
    this.need = 0;
    let pos = 0;
    try {
      while (pos < this.buf.length) {
        this.parser.need = 0;
        const v = this.parser.parse(this.buf, pos);
        if (v === INCOMPLETE) {
          this.need = Math.max(0, this.parser.need - pos);
          break;
        }
        pos = this.parser.end;
        const w = this.waiting.shift();
        if (!w) throw new Error('RESP protocol error: a reply nobody asked for');
        w.resolve(v);
      }
    } catch (err) {
      this.fail(new Error(`${this.label}: ${(err as Error).message}`));
      this.socket.destroy();
      return;
    }
    this.buf = pos === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  private fail(err: Error): void {
    this.closed ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.closed);
  }
}
