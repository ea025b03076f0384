import type { Socket } from 'node:net';
import { NativeRouter } from '../native/router.js';
import type { ServerInfo } from '../native/session.js';
import type { Connection, ConnectionContext } from './connection.js';

/** A native protocol client on a TCP socket. */
export class NativeConnection implements Connection {
  private readonly router: NativeRouter;
  private commandsSeen = 0;
  held = 0;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    info: ServerInfo,
  ) {
    this.router = new NativeRouter(
      id,
      ctx.backend,
      info,
      {
        write: (bytes) => ctx.write(this, bytes),
        push: (bytes) => {
          if (!ctx.dropIfBehind(this)) ctx.write(this, bytes);
        },
        end: () => socket.end(),
        destroy: () => socket.destroy(),
      },
      ctx.events,
      ctx.bus ?? null,
      ctx.readOnly ?? null,
    );
    this.router.peer = socket.remoteAddress ?? '';
    this.router.repl = ctx.replSource ?? null;
    this.router.replicationStats = ctx.replicationStats ?? null;
    this.router.admit = () => ctx.admit(this);
  }

  onClose(): void {
    this.router.close();
  }

  get inFlight(): number {
    return this.router.inFlight;
  }

  get buffered(): number {
    return this.router.buffered;
  }

  onData(chunk: Buffer): void {
    this.router.onData(chunk);
    this.afterRun();
  }

  resume(): void {
    this.router.resume();
    this.afterRun();
  }

  private afterRun(): void {
    this.ctx.commands += this.router.commands - this.commandsSeen;
    this.commandsSeen = this.router.commands;
  }

  onReply(kind: number, seq: number, payload: Buffer): void {
    this.router.onReply(kind, seq, payload);
  }
}
