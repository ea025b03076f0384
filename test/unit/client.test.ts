/**
 * SDK unit tests against the loopback acceptor test double (native-loopback.test.ts): the real
 * FrameReader, NativeSession and executor over Map-backed stores, on loopback TCP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '../../src/errors.js';
import { type CairnClient, createClient, tcpTransport, type Transport, type TransportFactory } from '../../src/client/index.js';
import { encodeTyped } from '../../src/client/typed.js';
import { FrameReader } from '../../src/native/frame.js';
import { handleNativeFrame } from '../../src/native/execute.js';
import { NativeSession, ROUTE_REPLY } from '../../src/native/session.js';
import { MapShardStoreDouble, startLoopbackAcceptor, type LoopbackAcceptor } from '../helpers/native-loopback.js';

const text = (v: Uint8Array | null) => (v === null ? null : Buffer.from(v).toString());

let acceptor: LoopbackAcceptor | null = null;
const clients: CairnClient[] = [];

async function connect(options: Parameters<typeof createClient>[0] = {}): Promise<CairnClient> {
  const client = await createClient({ port: acceptor!.port, ...options });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await acceptor?.stop();
  acceptor = null;
});

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CairnError);
    return (err as CairnError).code;
  }
  throw new Error('expected a rejection');
}

describe('SDK over the loopback acceptor', () => {
  it('handshake exposes server info', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 3 });
    const client = await connect({ name: 'unit' });
    expect(client.serverInfo).toMatchObject({ version: 1, server: 'cairn', shards: 3, limits: { maxKey: 65535 } });
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    expect(await client.ping('hi')).toBe('hi');
  });

  it('every command', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 4 });
    const c = await connect();
    expect(await c.get('k')).toBeNull();
    expect(await c.set('k', 'v')).toBe(true);
    expect(await c.set('k', 'w', { nx: true })).toBe(false);
    expect(await c.getString('k')).toBe('v');
    expect(text(await c.get('k'))).toBe('v');
    const meta = await c.getMeta('k');
    expect(meta).toMatchObject({ flags: 0, expiresAt: 0 });
    expect((await c.setResult('k', 'x', { cas: meta!.cas + 99 })).status).toBe('exists');
    const r = await c.setResult('k', 'x', { cas: meta!.cas, flags: 7, ttl: 60_000 });
    expect(r.status).toBe('stored');
    expect(text(await c.getSet('k', 'y', { keepTtl: true }))).toBe('x');
    expect((await c.getMeta('k'))!.flags).toBe(0);
    const ttl = await c.ttl('k');
    expect(ttl).toBeGreaterThan(59_000);
    expect(await c.expireTime('k')).toBeGreaterThan(Date.now());
    expect(await c.persist('k')).toBe(true);
    expect(await c.ttl('k')).toBe(-1);
    expect(await c.ttl('missing')).toBe(-2);
    expect(await c.expire('k', 10_000)).toBe(true);
    expect(await c.expireAt('k', Date.now() + 20_000)).toBe(true);
    expect(await c.touch('k', {})).toBe(true);
    expect(await c.ttl('k')).toBe(-1);
    expect(text(await c.getAndTouch('k', { ttl: 5000 }))).toBe('y');
    expect(await c.touch('nope', { ttl: 5 })).toBe(false);
    expect(await c.exists('k')).toBe(true);
    expect(await c.incr('n')).toBe(1);
    expect(await c.incr('n', 10)).toBe(11);
    expect(await c.decr('n', 20)).toBe(-9);
    expect(await c.incrBig('big', 2n ** 62n)).toBe(2n ** 62n);
    expect(await c.incrBig('big', 2n ** 62n - 1n)).toBe(2n ** 63n - 1n);
    expect(await code(c.incr('big'))).toBe(ErrorCode.OVERFLOW);
    expect(await code(c.incr('k'))).toBe(ErrorCode.NOT_INTEGER);
    expect(await c.append('s', 'b')).toBe(1);
    expect(await c.append('s', 'c')).toBe(2);
    expect(await c.prepend('s', 'a')).toBe(3);
    expect(text(await c.getdel('s'))).toBe('abc');
    expect(await c.getdel('s')).toBeNull();
    expect(await c.restore('k')).toBe(true);
    expect(await c.del('k')).toBe(true);
    expect(await c.del('k')).toBe(false);
    expect(await c.count()).toEqual({ hot: 2, cold: 0, total: 2 }); // n, big
    const stats = await c.stats();
    expect(stats.shards).toHaveLength(4);
    expect((stats.total.hot as { items: number }).items).toBe(2);
    await c.flush();
    expect(await c.count()).toEqual({ hot: 0, cold: 0, total: 0 });
    expect(await c.auth('anything')).toBe(true);
  });

  it('multi-key commands split by shard and join in the caller order', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 4 });
    const c = await connect();
    const keys = Array.from({ length: 200 }, (_, i) => `key:${i}`);
    expect(await c.mset(keys.map((k, i) => [k, `v${i}`] as const))).toBe(200);
    const used = acceptor.stores.filter((s) => s.stats().hot.items > 0).length;
    expect(used).toBe(4);
    const values = await c.mget([...keys, 'missing', keys[0]]);
    expect(values.map(text)).toEqual([...keys.map((_, i) => `v${i}`), null, 'v0']);
    expect(await c.mset({ a: '1', b: '2' }, { ttl: 60_000 })).toBe(2);
    expect(await c.ttl('a')).toBeGreaterThan(0);
    expect(await c.mdel([...keys, 'a', 'b', 'zz'])).toBe(202);
    expect(await c.mget([])).toEqual([]);
    expect(await c.mdel([])).toBe(0);
  });

  it('requests made in one tick go out in one write; 10,000 pipelined', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2 });
    let writes = 0;
    const base = tcpTransport();
    const counting: TransportFactory = (endpoint) => {
      const t = base(endpoint);
      const write = t.write.bind(t);
      t.write = (bytes) => {
        writes++;
        write(bytes);
      };
      return t;
    };
    const c = await connect({ transport: counting });
    writes = 0;
    const sets = [];
    for (let i = 0; i < 10_000; i++) sets.push(c.set(`p:${i}`, `value-${i}`));
    expect((await Promise.all(sets)).every(Boolean)).toBe(true);
    expect(writes).toBe(1);
    const gets = [];
    for (let i = 0; i < 10_000; i++) gets.push(c.getString(`p:${i}`));
    const got = await Promise.all(gets);
    expect(got.every((v, i) => v === `value-${i}`)).toBe(true);
    expect(writes).toBe(2);
  });

  it('many connections at once', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 4 });
    const many = await Promise.all(Array.from({ length: 40 }, () => connect()));
    await Promise.all(many.map((c, i) => Promise.all(Array.from({ length: 50 }, (_, j) => c.set(`c${i}:${j}`, `${i}.${j}`)))));
    const check = await Promise.all(many.map((c, i) => c.getString(`c${(i + 1) % 40}:7`)));
    expect(check).toEqual(many.map((_, i) => `${(i + 1) % 40}.7`));
    expect((await many[0].count()).total).toBe(2000);
  });

  it('per-request timeouts and the default timeout', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1, delayMs: 300 });
    const c = await connect({ timeoutMs: 100 });
    const answered = acceptor.answered;
    expect(await code(c.get('k'))).toBe(ErrorCode.TIMEOUT);
    // failed at its timeout, before the delayed reply was sent, not once it came (told by the
    // acceptor, not by the clock, which a stalled test process skews)
    expect(acceptor.answered).toBe(answered);
    expect(await code(c.get('k', { timeoutMs: 30 }))).toBe(ErrorCode.TIMEOUT);
    expect(await c.get('k', { timeoutMs: 2000 })).toBeNull();
    // a late reply to a timed-out request is ignored, and the connection goes on
    expect(await c.set('k', 'v', { timeoutMs: 0 })).toBe(true);
  });

  it('AbortSignal', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1, delayMs: 200 });
    const c = await connect();
    const ac = new AbortController();
    const p = c.get('k', { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    expect(await code(p)).toBe(ErrorCode.ABORTED);
    expect(await code(c.get('k', { signal: AbortSignal.abort() }))).toBe(ErrorCode.ABORTED);
    expect(await c.get('k', { signal: new AbortController().signal })).toBeNull();
  });

  it('reconnects with backoff after the server goes away, keeping unsent requests', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2 });
    const port = acceptor.port;
    const stores = acceptor.stores;
    const c = await connect({ reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    await c.set('k', 'v');
    const events: string[] = [];
    c.on('disconnect', () => events.push('disconnect'));
    c.on('reconnecting', () => events.push('reconnecting'));
    c.on('ready', () => events.push('ready'));
    await acceptor.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(c.status).toBe('reconnecting');
    const pending = c.getString('k'); // made while down: waits for the new connection
    await new Promise((r) => setTimeout(r, 150));
    acceptor = await startLoopbackAcceptor({ shards: 2, port, stores });
    expect(await pending).toBe('v');
    expect(c.status).toBe('ready');
    expect(events[0]).toBe('disconnect');
    expect(events).toContain('reconnecting');
    expect(events[events.length - 1]).toBe('ready');
  });

  it('requests in flight when the connection drops fail with CLOSED', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1, delayMs: 200 });
    const c = await connect({ reconnect: { initialDelayMs: 10 } });
    const p = c.get('k');
    await new Promise((r) => setTimeout(r, 30));
    for (const s of acceptor.sockets) s.destroy();
    expect(await code(p)).toBe(ErrorCode.CLOSED);
    expect(await c.get('k')).toBeNull(); // and the client reconnects
  });

  it('without reconnect, a drop closes the client', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1 });
    const c = await connect({ reconnect: false });
    const closed = new Promise((r) => c.on('close', r));
    for (const s of acceptor.sockets) s.destroy();
    await closed;
    expect(c.status).toBe('closed');
    expect(await code(c.get('k'))).toBe(ErrorCode.CLOSED);
  });

  it('gives up after maxAttempts', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1 });
    const c = await connect({ reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 } });
    const closed = new Promise<Error | undefined>((r) => c.on('close', r));
    await acceptor.stop();
    acceptor = null;
    const pending = code(c.get('k'));
    const err = await closed;
    expect(err?.message).toContain('gave up');
    expect(await pending).toBe(ErrorCode.CLOSED);
  });

  it('connecting to nothing rejects', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1 });
    const port = acceptor.port;
    await acceptor.stop();
    acceptor = null;
    expect(await code(createClient({ port }))).toBe(ErrorCode.CLOSED);
  });

  it('passwords', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2, password: 's3cret' });
    expect(await code(connect())).toBe(ErrorCode.AUTH);
    expect(await code(connect({ password: 'wrong' }))).toBe(ErrorCode.AUTH);
    const c = await connect({ password: 's3cret' });
    expect(await c.set('k', 'v')).toBe(true);
    expect(await code(c.auth('nope'))).toBe(ErrorCode.AUTH);
    expect(await code(c.get('k'))).toBe(ErrorCode.AUTH); // deauthenticated by the failed AUTH
    expect(await c.auth('s3cret')).toBe(true);
    expect(await c.getString('k')).toBe('v');
  });

  it('typed, schema-versioned values', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2 });
    const c = await connect();
    interface User {
      name: string;
      age: number;
      tags: string[];
    }
    const v1 = c.typed<User>('user', { version: 1 });
    expect(await v1.set('1', { name: 'ada', age: 36, tags: ['x'] }, { ttl: 60_000 })).toBe(true);
    expect(await v1.get('1')).toEqual({ name: 'ada', age: 36, tags: ['x'] });
    expect(await c.ttl('user:1')).toBeGreaterThan(0);
    const v2 = c.typed<{ fullName: string }>('user', { version: 2 });
    expect(await v2.get('1')).toBeNull(); // another version reads as a miss...
    expect(await c.exists('user:1')).toBe(false); // ...and is deleted
    await c.set('user:2', 'not msgpack at all \xff');
    expect(await v2.get('2')).toBeNull();
    await c.set('user:3', encodeTyped(2, { fullName: 'x' }));
    expect(await v2.get('3')).toEqual({ fullName: 'x' });
    expect(await v2.delete('3')).toBe(true);
    expect(await v2.get('missing')).toBeNull();
    expect(() => c.typed('bad', { version: -1 })).toThrow(CairnError);
  });

  it('scan over every shard', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 3 });
    const c = await connect();
    await c.mset(Array.from({ length: 123 }, (_, i) => [`s:${i}`, 'v'] as const));
    const keys: string[] = [];
    for await (const k of c.scanKeys({ count: 10 })) keys.push(Buffer.from(k).toString());
    expect(new Set(keys).size).toBe(123);
    expect(await code(c.scan('9:0'))).toBe(ErrorCode.BAD_ARGUMENT);
  });

  it('error paths carry server codes', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2 });
    const c = await connect();
    expect(await code(c.set('k', 'v', { ttl: -5 }))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await code(c.set('k', 'v', { nx: true, xx: true }))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await code(c.set('k', new Uint8Array(1024 * 1024 + 1)))).toBe(ErrorCode.VALUE_TOO_LARGE);
    expect(await code(c.get('x'.repeat(65536)))).toBe(ErrorCode.KEY_TOO_LARGE);
    expect(await c.get('')).toBeNull(); // the empty key is a key, as in Redis
    expect(await code(c.command(0x7e, 'k', null))).toBe(ErrorCode.UNKNOWN_COMMAND);
    expect(await code(c.incr('k', 1.5))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(await code(c.mset([['a', new Uint8Array(16 * 1024 * 1024)]]))).toBe(ErrorCode.VALUE_TOO_LARGE);
    expect(await c.ping()).toBe('PONG'); // the connection goes on
  });

  it('runs over an injected transport (no sockets)', async () => {
    const stores = [new MapShardStoreDouble(0)];
    const inMemory: TransportFactory = () => {
      let onData: (chunk: Uint8Array) => void = () => {};
      let onClose: () => void = () => {};
      const reader = new FrameReader();
      const session = new NativeSession({ serverVersion: 'mem', shards: 1 });
      const t: Transport = {
        connect: async () => {},
        write(bytes) {
          reader.feed(bytes);
          for (let f = reader.next(); f; f = reader.next()) {
            const route = session.route(f);
            if (route === ROUTE_REPLY) {
              const reply = session.reply!;
              queueMicrotask(() => onData(reply));
            } else {
              void Promise.resolve(handleNativeFrame(stores[0], 0, 1, f.bytes.slice())).then((reply) => onData(reply));
            }
          }
        },
        onData: (l) => (onData = l),
        onClose: (l) => (onClose = l),
        close: () => onClose(),
      };
      return t;
    };
    const c = await createClient({ transport: inMemory });
    clients.push(c);
    await c.set('k', 'in memory');
    expect(await c.getString('k')).toBe('in memory');
    expect(c.serverInfo?.serverVersion).toBe('mem');
  });
});
