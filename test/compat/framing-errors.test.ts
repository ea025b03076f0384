/**
 * Bad input side by side with the reference servers: each request goes to redis-server (or
 * memcached) and to cairn over raw sockets, and the whole reply streams must be equal byte for
 * byte, including whether the server closed the connection. After a RESP protocol error both close
 * the socket outright, so the client's further writes fail (a half-closed socket would take them).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMemcached, startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';

let cairn: TestServer;
let redis: ServiceHandle;
let memcached: ServiceHandle;

beforeAll(async () => {
  [cairn, redis, memcached] = await Promise.all([startServer(), startRedisServer(), startMemcached()]);
});

afterAll(async () => {
  await Promise.all([cairn?.stop(), redis?.stop(), memcached?.stop()]);
});

interface Outcome {
  /** every byte the server sent */
  reply: string;
  /** the server ended the connection */
  closed: boolean;
}

/** A raw client that may keep writing after the server's FIN (so a refused write can be seen). */
class Wire {
  private got = Buffer.alloc(0);
  ended = false;
  failed: string | null = null;
  private wake: () => void = () => undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.got = Buffer.concat([this.got, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failed = err.code ?? err.message;
      this.wake();
    });
    socket.on('close', () => this.wake());
  }

  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
      s.once('connect', () => resolve(new Wire(s)));
      s.once('error', reject);
    });
  }

  /** waits until `done()` holds, or `ms` pass */
  async until(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now())));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  text(): string {
    return this.got.toString('latin1');
  }

  /** true once a write is refused: the server closed its socket rather than half-closing it */
  async writesFail(ms = 10_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.failed === null && !this.socket.destroyed && Date.now() < deadline) {
      this.socket.write('PING\r\n');
      await this.until(() => this.failed !== null || this.socket.destroyed, 50);
    }
    return this.failed !== null || this.socket.destroyed;
  }
}

/**
 * Sends `request` and reads until the server closes, `complete(reply)` holds, or (for a server that
 * waits for more, as Redis does after a NUL byte) a quiet spell passes.
 */
async function exchange(port: number, request: Buffer, complete: (reply: string) => boolean, waitMs = 10_000): Promise<Outcome & { wire: Wire }> {
  const wire = await Wire.open(port);
  wire.socket.write(request);
  await wire.until(() => wire.ended || complete(wire.text()), waitMs);
  if (!wire.ended) {
    // nothing more is due; a little longer shows whether anything else comes (or a close)
    const before = wire.text().length;
    await wire.until(() => wire.ended || wire.text().length !== before, 300);
  }
  return { reply: wire.text(), closed: wire.ended, wire };
}

describe('RESP protocol errors, side by side with redis-server', () => {
  const filler = (n: number): string => 'a'.repeat(n);
  const cases: [string, string][] = [
    ['a bad multibulk count', '*abc\r\n'],
    ['an empty multibulk count', '*\r\n'],
    ['a missing $', '*1\r\nabc\r\n'],
    ['a bad bulk length', '*1\r\n$abc\r\n'],
    ['a negative bulk length', '*1\r\n$-1\r\n'],
    ['an empty bulk length', '*1\r\n$\r\n'],
    ['a * where a bulk is due', '*2\r\n$3\r\nGET\r\n*1\r\n'],
    ['unbalanced quotes', 'SET "a b\r\n'],
    ['commands before the bad bytes run first', 'PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n'],
    // Redis finds line ends with strchr, so a NUL byte hides them: it waits, then fails past 64 KB
    ['a request starting with a zero byte, past 64 KB', `\0${filler(65536)}`],
    ['a zero byte in a bulk length line, past 64 KB', `*1\r\n\0${filler(65536)}`],
    ['a zero byte in a multibulk count line, past 64 KB', `*\0${filler(65536)}`],
  ];

  it.each(cases)('%s: the same reply, then the socket is closed and writes fail', async (_name, input) => {
    const request = Buffer.from(input, 'latin1');
    const done = (r: string): boolean => r.includes('Protocol error');
    const want = await exchange(redis.port, request, done);
    const got = await exchange(cairn.respPort, request, done);
    try {
      expect(want.closed, `redis-server closes after ${JSON.stringify(input.slice(0, 40))}`).toBe(true);
      expect(JSON.stringify(got.reply)).toBe(JSON.stringify(want.reply));
      expect(got.closed).toBe(true);
      expect(await want.wire.writesFail()).toBe(true);
      expect(await got.wire.writesFail(), 'a write after the close is refused').toBe(true);
    } finally {
      want.wire.socket.destroy();
      got.wire.socket.destroy();
    }
  });

  it.each([
    // (no reply is due: the wait is a quiet spell)
    ['a zero byte before the line end: no reply, the connection waits', '\0PING\r\n', 1000],
    ['a zero byte in a bulk length line: no reply, the connection waits', '*1\r\n\0\r\n', 1000],
    ['$ followed by garbage is an inline command', '$abc\r\nPING\r\n', 10_000],
    ['*-1 is skipped', '*-1\r\nPING\r\n', 10_000],
    ['the two bytes after a bulk are not checked', '*1\r\n$4\r\nPINGxxPING\r\n', 10_000],
  ])('%s', async (_name, input, waitMs) => {
    const request = Buffer.from(input, 'latin1');
    const done = (r: string): boolean => r.endsWith('+PONG\r\n');
    const want = await exchange(redis.port, request, done, waitMs);
    const got = await exchange(cairn.respPort, request, done, waitMs);
    want.wire.socket.destroy();
    got.wire.socket.destroy();
    expect(JSON.stringify(got.reply)).toBe(JSON.stringify(want.reply));
    expect(got.closed).toBe(want.closed);
  });
});

describe('memcached malformed storage lines, side by side with memcached', () => {
  // Each case is followed by a valid command and a sentinel get; the streams must stay in step.
  const cases: [string, string][] = [
    ['too few words', 'set k 0 0\r\n'],
    ['only a key', 'set k\r\n'],
    ['bad flags, then the block', 'set k abc 0 1\r\nz\r\n'],
    ['bad byte count', 'set k 0 0 abc\r\n'],
    ['bad byte count, then a would-be block', 'set k 0 0 abc\r\nz\r\n'],
    ['negative byte count', 'set k 0 0 -1\r\n'],
    ['too many words', 'add k 0 0 1 extra junk here\r\n'],
    ['too many words, then a would-be block', 'add k 0 0 1 extra junk here\r\nz\r\n'],
    ['bad exptime, then the block', 'set k 0 abc 1\r\nz\r\n'],
    ['bad cas unique, then the block', 'cas k 0 0 1 abc\r\nz\r\n'],
    ['a 251-byte key, then the block', `set ${'k'.repeat(251)} 0 0 1\r\nz\r\n`],
    ['bad byte count under noreply', 'set k 0 0 abc noreply\r\n'],
    ['negative byte count under noreply', 'set k 0 0 -1 noreply\r\n'],
    ['bad flags under noreply, then the block', 'set k abc 0 1 noreply\r\nz\r\n'],
    ['a block longer than announced', 'set k 0 0 1\r\nzzz\r\n'],
    ['a block ending in \\n only', 'set k 0 0 1\r\nz\n'],
    ['a byte count past INT_MAX - 2', 'set k 0 0 2147483646\r\n'],
  ];
  const SENTINEL = 'get mf:sentinel\r\n';
  const SENTINEL_REPLY = 'VALUE mf:sentinel 0 4\r\ndone\r\nEND\r\n';

  beforeAll(async () => {
    for (const port of [memcached.port, cairn.memcachePort]) {
      const w = await exchange(port, Buffer.from('set mf:sentinel 0 0 4\r\ndone\r\n'), (r) => r === 'STORED\r\n');
      w.wire.socket.destroy();
      expect(w.reply).toBe('STORED\r\n');
    }
  });

  it.each(cases.map(([name, line], i) => [name, line, i] as const))('%s: the same reply stream', async (_name, line, i) => {
    const key = `mf:${i}`;
    const request = Buffer.from(`${line.replaceAll(' k ', ` ${key} `)}set ${key} 7 0 2\r\nok\r\nget ${key}\r\n${SENTINEL}`, 'latin1');
    const done = (r: string): boolean => r.endsWith(SENTINEL_REPLY);
    const want = await exchange(memcached.port, request, done);
    const got = await exchange(cairn.memcachePort, request, done);
    want.wire.socket.destroy();
    got.wire.socket.destroy();
    expect(want.reply.endsWith(SENTINEL_REPLY), `memcached stays in step: ${JSON.stringify(want.reply)}`).toBe(true);
    expect(JSON.stringify(got.reply)).toBe(JSON.stringify(want.reply));
    expect(got.closed).toBe(want.closed);
  });
});
