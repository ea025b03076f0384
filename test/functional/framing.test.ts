/**
 * One client streaming a huge command does not stall the others: while a DEL with 400,000
 * one-byte arguments (2.8 MB) is still arriving, another client's GETs keep being answered, and the huge
 * command itself is answered correctly once its last byte is in.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** a request/reply client for one-line replies */
async function lineClient(port: number): Promise<{ ask(req: string, reply: string): Promise<void>; close(): void }> {
  const s = await open(port);
  let got = '';
  let waiter: (() => void) | null = null;
  s.on('data', (d: Buffer) => {
    got += d.toString('latin1');
    waiter?.();
  });
  return {
    async ask(req, reply) {
      s.write(req);
      while (got.length < reply.length) await new Promise<void>((r) => (waiter = r));
      waiter = null;
      const head = got.slice(0, reply.length);
      got = got.slice(reply.length);
      expect(head).toBe(reply);
    },
    close: () => s.destroy(),
  };
}

describe('a huge command streamed by one client', () => {
  it("does not hold up another client's GETs while it is still arriving", async () => {
    const n = 400_000;
    const getter = await lineClient(server.respPort);
    await getter.ask('*3\r\n$3\r\nSET\r\n$4\r\nfr:k\r\n$2\r\nok\r\n', '+OK\r\n');

    const head = Buffer.from(`*${n + 1}\r\n$3\r\nDEL\r\n`);
    const arg = Buffer.from('$1\r\nx\r\n');
    const body = Buffer.allocUnsafe(head.length + n * arg.length);
    head.copy(body, 0);
    for (let i = 0, at = head.length; i < n; i++, at += arg.length) {
      arg.copy(body, at);
      body[at + 4] = 0x61 + (i % 26); // keys a..z, spread over the shards
    }

    const streamer = await open(server.respPort);
    let delReply = '';
    streamer.on('data', (d: Buffer) => (delReply += d.toString('latin1')));

    // the getter loops until the stream is over, noting how far the stream was at each answer
    let written = 0;
    let streaming = true;
    const answeredAt: number[] = [];
    const getting = (async () => {
      while (streaming) {
        await getter.ask('*2\r\n$3\r\nGET\r\n$4\r\nfr:k\r\n', '$2\r\nok\r\n');
        answeredAt.push(written);
      }
    })();

    // Stream 32 KB at a time, each write handed to the kernel before the next; at the middle and
    // before the last byte, wait (for a state, not a time) until the getter has been answered
    // several times while the command is incomplete.
    const chunk = 32 * 1024;
    const last = body.length - 1;
    const middle = Math.floor(body.length / 2);
    const deadline = Date.now() + 60_000;
    const answeredSince = async (mark: number): Promise<void> => {
      while (answeredAt.filter((w) => w === mark).length < 5 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    for (const [from, to] of [
      [0, middle],
      [middle, last],
    ]) {
      for (let at = from; at < to; at += chunk) {
        const piece = body.subarray(at, Math.min(at + chunk, to));
        await new Promise<void>((resolve, reject) => streamer.write(piece, (err) => (err ? reject(err) : resolve())));
        written = at + piece.length;
      }
      await answeredSince(to);
    }
    // answered while the command was incomplete: halfway through it and with all but its last byte in
    expect(answeredAt.filter((w) => w === middle).length).toBeGreaterThanOrEqual(5);
    expect(answeredAt.filter((w) => w === last).length).toBeGreaterThanOrEqual(5);
    expect(delReply).toBe('');

    streamer.write(body.subarray(last));
    while (!delReply.endsWith('\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(delReply).toBe(':0\r\n');
    streaming = false;
    await getting;
    getter.close();
    streamer.destroy();
  });
});
