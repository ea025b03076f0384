/**
 * The socket loop both one-thread yardsticks share (yardstick-resp.ts, yardstick-memcache.ts): every
 * complete command of a read chunk is handled, all replies go out in one write, an incomplete tail
 * waits for the next chunk. `step` handles the command at `pos`, pushing its replies to `out`, and
 * returns where the next command starts, or -1 when the command is not complete yet.
 *
 * Listens on loopback at argv[2] (0: any free port) and prints "ready <port>" once listening.
 */
import { createServer, type Socket } from 'node:net';

export type YardstickStep = (buf: Buffer, pos: number, out: Buffer[], socket: Socket) => number;

export function serveYardstick(step: YardstickStep): void {
  const server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    let pending: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      const buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < buf.length) {
        const next = step(buf, pos, out, socket);
        if (next < 0) break;
        pos = next;
      }
      if (pos < buf.length) pending = Buffer.from(buf.subarray(pos));
      if (out.length > 0 && !socket.destroyed) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`ready ${port}\n`);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
}
