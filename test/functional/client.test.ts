/**
 * The SDK and the native protocol against a real cairn server on loopback (test/helpers/server.ts
 * starts `node dist/src/cli.js serve`, so this runs after the build, as `npm test` does).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '../../src/errors.js';
import { createClient, type CairnClient, type ClientOptions } from '../../src/client/index.js';
import { encodeRequest, ReplyReader, Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const text = (v: Uint8Array | null) => (v === null ? null : Buffer.from(v).toString());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CairnError);
    return (err as CairnError).code;
  }
  throw new Error('expected a rejection');
}

/** A raw protocol conversation: write bytes, collect decoded replies, see whether the server closed. */
class Raw {
  readonly replies: { status: number; id: number; body: unknown }[] = [];
  closed = false;
  private readonly reader = new ReplyReader();
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.reader.feed(chunk);
      for (let f = this.reader.next(); f; f = this.reader.next()) {
        this.replies.push({ status: f.status, id: f.requestId, body: unpackr.unpack(f.bytes.subarray(f.bodyOffset)) });
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }
  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ port, host: '127.0.0.1' }, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
  async waitFor(n: number, orClose = false, timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.replies.length < n && !(orClose && this.closed)) {
      if (Date.now() > until) throw new Error(`only ${this.replies.length} of ${n} replies`);
      await sleep(5);
    }
  }
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > until) throw new Error('the server did not close the connection');
      await sleep(5);
    }
  }
  hello(): void {
    this.send(encodeRequest(Opcode.HELLO, 1, new Uint8Array(0), [{ version: 1 }]));
  }
  close(): void {
    this.socket.destroy();
  }
}

describe('SDK against a real server', () => {
  let server: TestServer;
  const clients: CairnClient[] = [];
  const connect = async (options: ClientOptions = {}) => {
    const c = await createClient({ port: server.port, ...options });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    // a value limit small enough that the test of going over it sends only a few MB
    server = await startServer({ args: ['--max-value-size', '4mb'] });
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await server?.stop();
  });

  it('handshake', async () => {
    const c = await connect({ name: 'functional' });
    expect(c.serverInfo).toMatchObject({ version: 1, server: 'cairn', shards: 2 });
    expect(c.serverInfo!.limits.maxValue).toBeGreaterThan(0);
    expect(await c.ping()).toBe('PONG');
  });

  it('every command', async () => {
    const c = await connect();
    await c.flush();
    expect(await c.get('f:k')).toBeNull();
    expect(await c.set('f:k', 'v', { ttl: 60_000, flags: 9 })).toBe(true);
    expect(await c.set('f:k', 'w', { nx: true })).toBe(false);
    expect(await c.getString('f:k')).toBe('v');
    const meta = (await c.getMeta('f:k'))!;
    expect(meta.flags).toBe(9);
    expect(meta.expiresAt).toBeGreaterThan(Date.now());
    expect((await c.setResult('f:k', 'x', { cas: meta.cas + 1000 })).status).toBe('exists');
    expect((await c.setResult('f:k', 'x', { cas: meta.cas, keepTtl: true })).status).toBe('stored');
    expect(await c.ttl('f:k')).toBeGreaterThan(50_000);
    expect(text(await c.getSet('f:k', 'y'))).toBe('x');
    expect(await c.ttl('f:k')).toBe(-1);
    expect(await c.expire('f:k', 30_000)).toBe(true);
    expect(await c.expireTime('f:k')).toBeGreaterThan(Date.now());
    expect(await c.persist('f:k')).toBe(true);
    expect(await c.touch('f:k', { ttl: 40_000 })).toBe(true);
    expect(text(await c.getAndTouch('f:k', {}))).toBe('y');
    expect(await c.ttl('f:k')).toBe(-1);
    expect(await c.exists('f:k')).toBe(true);
    expect(await c.incr('f:n', 5)).toBe(5);
    expect(await c.decr('f:n')).toBe(4);
    expect(await c.incrBig('f:n', 2n ** 62n)).toBe(2n ** 62n + 4n);
    expect(await c.append('f:s', 'b')).toBe(1);
    expect(await c.prepend('f:s', 'a')).toBe(2);
    expect(text(await c.getdel('f:s'))).toBe('ab');
    expect(await c.restore('f:k')).toBe(true);
    expect(await c.restore('f:none')).toBe(false);
    expect(await c.del('f:k')).toBe(true);
    expect((await c.count()).total).toBe(1);
    const stats = await c.stats();
    expect(stats.shards).toHaveLength(2);
    await c.flush();
    expect((await c.count()).total).toBe(0);
  });

  it('multi-key commands across shards, joined in order', async () => {
    const c = await connect();
    const keys = Array.from({ length: 500 }, (_, i) => `m:${i}`);
    expect(await c.mset(keys.map((k, i) => [k, `v${i}`] as const))).toBe(500);
    const got = await c.mget(['m:missing', ...keys]);
    expect(got[0]).toBeNull();
    expect(got.slice(1).map(text)).toEqual(keys.map((_, i) => `v${i}`));
    const seen = new Set<string>();
    for await (const k of c.scanKeys({ count: 50 })) seen.add(Buffer.from(k).toString());
    for (const k of keys) expect(seen.has(k)).toBe(true);
    expect(await c.mdel(keys)).toBe(500);
  });

  it('a pipeline of 10,000 requests', async () => {
    const c = await connect();
    const sets: Promise<boolean>[] = [];
    for (let i = 0; i < 10_000; i++) sets.push(c.set(`p:${i}`, `value-${i}`));
    expect((await Promise.all(sets)).every(Boolean)).toBe(true);
    const gets: Promise<string | null>[] = [];
    for (let i = 0; i < 10_000; i++) gets.push(c.getString(`p:${i}`));
    const values = await Promise.all(gets);
    expect(values.every((v, i) => v === `value-${i}`)).toBe(true);
    expect(await c.mdel(Array.from({ length: 10_000 }, (_, i) => `p:${i}`))).toBe(10_000);
  });

  it('many connections', async () => {
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => connect({ name: `conn-${i}` })));
    await Promise.all(many.map((c, i) => Promise.all(Array.from({ length: 100 }, (_, j) => c.set(`mc:${i}:${j}`, `${i}.${j}`)))));
    const check = await Promise.all(many.map((c, i) => c.getString(`mc:${(i + 7) % 50}:42`)));
    expect(check).toEqual(many.map((_, i) => `${(i + 7) % 50}.42`));
    await Promise.all(many.map((c) => c.close()));
  });

  it('typed values', async () => {
    const c = await connect();
    const v1 = c.typed<{ name: string; n: number }>('fuser', { version: 1 });
    await v1.set('1', { name: 'ada', n: 1 });
    expect(await v1.get('1')).toEqual({ name: 'ada', n: 1 });
    const v2 = c.typed<{ fullName: string }>('fuser', { version: 2 });
    expect(await v2.get('1')).toBeNull();
    expect(await c.exists('fuser:1')).toBe(false);
  });

  it('errors carry the server codes and the connection goes on', async () => {
    const c = await connect();
    expect(await code(c.set('e:k', 'v', { nx: true, xx: true }))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await code(c.set('e:k', 'v', { ttl: 0 }))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await c.get('')).toBeNull(); // the empty key is a key, as in Redis
    expect(await code(c.get('k'.repeat(70_000)))).toBe(ErrorCode.KEY_TOO_LARGE);
    expect(await code(c.set('e:big', new Uint8Array(c.serverInfo!.limits.maxValue + 1)))).toBe(ErrorCode.VALUE_TOO_LARGE);
    await c.set('e:s', 'abc');
    expect(await code(c.incr('e:s'))).toBe(ErrorCode.NOT_INTEGER);
    await c.set('e:n', String(2n ** 63n - 1n));
    expect(await code(c.incr('e:n'))).toBe(ErrorCode.OVERFLOW);
    expect(await code(c.command(0x7e, 'k', null))).toBe(ErrorCode.UNKNOWN_COMMAND);
    expect(await code(c.scan('77:0'))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await c.ping()).toBe('PONG');
  });

  it('raw protocol: frames before HELLO, wrong version, oversized and malformed frames', async () => {
    // no HELLO first: PROTOCOL_VERSION and close
    const a = await Raw.open(server.port);
    a.send(encodeRequest(Opcode.GET, 5, Buffer.from('k')));
    await a.waitFor(1, true);
    expect(a.replies[0]).toMatchObject({ status: Status.ERROR, id: 5, body: [ErrorCode.PROTOCOL_VERSION, expect.any(String)] });
    await a.waitClosed();

    // a version the server does not speak
    const b = await Raw.open(server.port);
    b.send(encodeRequest(Opcode.HELLO, 1, new Uint8Array(0), [{ version: 99 }]));
    await b.waitFor(1, true);
    expect(b.replies[0].body).toEqual([ErrorCode.PROTOCOL_VERSION, expect.any(String)]);
    await b.waitClosed();

    // one bad request (route key length past the end), unknown opcode, garbage body: error replies, the connection goes on
    const c = await Raw.open(server.port);
    c.hello();
    const badKey = encodeRequest(Opcode.GET, 2, Buffer.from('abc'));
    badKey[12] = 200;
    c.send(badKey);
    c.send(encodeRequest(0x6e, 3, Buffer.from('k')));
    const garbage = encodeRequest(Opcode.GET, 4, Buffer.from('k'), []);
    garbage[garbage.length - 1] = 0xc1;
    c.send(garbage);
    c.send(encodeRequest(Opcode.PING, 5, new Uint8Array(0)));
    await c.waitFor(5);
    const byId = new Map(c.replies.map((r) => [r.id, r]));
    expect(byId.get(1)!.status).toBe(Status.OK);
    expect(byId.get(2)!.body).toEqual([ErrorCode.BAD_FRAME, expect.any(String)]);
    expect(byId.get(3)!.body).toEqual([ErrorCode.UNKNOWN_COMMAND, expect.any(String)]);
    expect(byId.get(4)!.body).toEqual([ErrorCode.BAD_FRAME, expect.any(String)]);
    expect(byId.get(5)!.body).toBe('PONG');
    expect(c.closed).toBe(false);

    // an oversized frame: FRAME_TOO_LARGE with id 0, then close (framing is lost)
    const huge = new Uint8Array(13);
    new DataView(huge.buffer).setUint32(0, 0x7fffffff);
    c.send(huge);
    await c.waitFor(6, true);
    expect(c.replies[5]).toMatchObject({ status: Status.ERROR, id: 0, body: [ErrorCode.FRAME_TOO_LARGE, expect.any(String)] });
    await c.waitClosed();

    // a frame split into single bytes still works
    const d = await Raw.open(server.port);
    const bytes = Buffer.concat([
      encodeRequest(Opcode.HELLO, 1, new Uint8Array(0), [{ version: 1 }]),
      encodeRequest(Opcode.SET, 2, Buffer.from('raw:k'), [Buffer.from('v')]),
      encodeRequest(Opcode.GET, 3, Buffer.from('raw:k')),
    ]);
    for (const byte of bytes) {
      d.send(Buffer.from([byte]));
    }
    await d.waitFor(3);
    expect(text(d.replies.find((r) => r.id === 3)!.body as Uint8Array)).toBe('v');
    d.close();

    // and the server is still fine
    const e = await connect();
    expect(await e.ping()).toBe('PONG');
  });

  it('timeouts and AbortSignal, with the server paused', async () => {
    const c = await connect({ timeoutMs: 200 });
    await c.set('t:k', 'v');
    server.process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const timedOut = c.get('t:k');
      await expect(timedOut).rejects.toThrow('no reply within 200 ms');
      expect(await code(timedOut)).toBe(ErrorCode.TIMEOUT);
      // the client's 200 ms, not the 10 s default: the error says which; the clock, which a stalled
      // test process skews, only rules the default out
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await code(c.get('t:k', { timeoutMs: 50 }))).toBe(ErrorCode.TIMEOUT);
      const ac = new AbortController();
      const p = c.get('t:k', { signal: ac.signal, timeoutMs: 0 });
      setTimeout(() => ac.abort(new Error('user gave up')), 30);
      expect(await code(p)).toBe(ErrorCode.ABORTED);
    } finally {
      server.process.kill('SIGCONT');
    }
    // late replies to the abandoned requests are ignored; the connection carries on
    expect(await c.getString('t:k', { timeoutMs: 5000 })).toBe('v');
  });
});

describe('restart and reconnect', () => {
  it('reconnects with backoff after a server restart, with the data kept', async () => {
    const dataDir = tempDir();
    let server = await startServer({ dataDir, keepData: true });
    const ports = { port: server.port, respPort: server.respPort, memcachePort: server.memcachePort, httpPort: server.httpPort };
    const c = await createClient({ port: server.port, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } });
    try {
      await c.mset(Array.from({ length: 100 }, (_, i) => [`r:${i}`, `v${i}`] as const));
      const attempts: number[] = [];
      c.on('reconnecting', (e) => attempts.push(e.attempt));
      expect(await server.stop()).toBe(0);
      await sleep(200);
      expect(c.status).toBe('reconnecting');
      const waiting = c.getString('r:42', { timeoutMs: 30_000 }); // made while the server is down
      server = await startServer({ dataDir, keepData: true, ports });
      expect(await waiting).toBe('v42');
      expect(attempts.length).toBeGreaterThan(0);
      expect((await c.mget(['r:0', 'r:99'])).map(text)).toEqual(['v0', 'v99']);
    } finally {
      await c.close();
      await server.stop();
    }
  });
});

describe('passwords', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ['--password', 'hunter2'] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a missing or wrong password, accepts the right one', async () => {
    expect(await code(createClient({ port: server.port, reconnect: false }))).toBe(ErrorCode.AUTH);
    expect(await code(createClient({ port: server.port, password: 'nope', reconnect: false }))).toBe(ErrorCode.AUTH);
    const c = await createClient({ port: server.port, password: 'hunter2' });
    expect(await c.set('a', 'b')).toBe(true);
    await c.close();

    const raw = await Raw.open(server.port);
    raw.hello();
    raw.send(encodeRequest(Opcode.GET, 2, Buffer.from('a')));
    raw.send(encodeRequest(Opcode.AUTH, 3, new Uint8Array(0), ['hunter2']));
    raw.send(encodeRequest(Opcode.GET, 4, Buffer.from('a')));
    await raw.waitFor(4);
    expect(raw.replies.map((r) => r.status)).toEqual([Status.ERROR, Status.ERROR, Status.OK, Status.OK]);
    expect(raw.replies[1].body).toEqual([ErrorCode.AUTH, expect.any(String)]);
    expect(text(raw.replies[3].body as Uint8Array)).toBe('b');
    raw.close();
  });
});
