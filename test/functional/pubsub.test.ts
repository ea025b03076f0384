/**
 * Pub/sub channels (docs/pubsub.md): one message bus across RESP (ioredis, node-redis), the native
 * protocol over TCP and WebSocket (the SDK), and keyspace notifications.
 */
import WebSocket from 'ws';
import { Redis } from 'ioredis';
import { createClient as createRedisClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport, webSocketTransport, type ChannelMessage, type WebSocketConstructor } from '../../src/client/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

let server: TestServer;
const closers: (() => unknown)[] = [];

function ioredis(): Redis {
  const r = new Redis({ host: '127.0.0.1', port: server.respPort, lazyConnect: false, maxRetriesPerRequest: 1 });
  closers.push(() => r.disconnect());
  return r;
}

async function sdk(kind: 'tcp' | 'ws'): Promise<CairnClient> {
  const c = new CairnClient({
    host: '127.0.0.1',
    port: kind === 'tcp' ? server.port : server.httpPort,
    reconnect: false,
    transport: kind === 'tcp' ? tcpTransport() : webSocketTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor }),
  });
  await c.connect();
  closers.push(() => c.close());
  return c;
}

/** wait until PUBSUB NUMSUB sees the subscribers (subscriptions cross threads within a turn) */
async function untilSubscribers(pub: Redis, channel: string, n: number): Promise<void> {
  await until(`${n} subscribers of ${channel}`, async () => {
    const r = (await pub.pubsub('NUMSUB', channel)) as [string, number];
    return Number(r[1]) >= n;
  });
}

beforeAll(async () => {
  server = await startServer({ args: ['--shards', '2'] });
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await server?.stop();
});

describe('pub/sub over RESP', () => {
  it('SUBSCRIBE / PSUBSCRIBE with ioredis, PUBLISH counts receivers', async () => {
    const sub = ioredis();
    const pub = ioredis();
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`m:${ch}:${msg}`));
    sub.on('pmessage', (pat: string, ch: string, msg: string) => got.push(`p:${pat}:${ch}:${msg}`));
    expect(await sub.subscribe('news', 'sport')).toBe(2);
    expect(await sub.psubscribe('news.*')).toBe(3);
    expect(await pub.publish('news', 'hello')).toBe(1);
    expect(await pub.publish('news.tech', 'chips')).toBe(1);
    expect(await pub.publish('nobody', 'x')).toBe(0);
    await until('messages', () => got.length >= 2);
    expect(got).toEqual(['m:news:hello', 'p:news.*:news.tech:chips']);
    expect((await pub.pubsub('CHANNELS')) as string[]).toEqual(expect.arrayContaining(['news', 'sport']));
    expect(await pub.pubsub('CHANNELS', 'n*')).toEqual(['news']);
    expect(await pub.pubsub('NUMSUB', 'news', 'none')).toEqual(['news', 1, 'none', 0]);
    expect(await pub.pubsub('NUMPAT')).toBe(1);
    await sub.unsubscribe('news');
    // (ioredis' punsubscribe() without arguments waits for the count to reach 0, with Redis too)
    await sub.punsubscribe('news.*');
    expect(await pub.publish('news', 'gone')).toBe(0);
    await sub.unsubscribe();
    expect(await pub.pubsub('NUMPAT')).toBe(0);
  });

  it('enforces RESP2 subscribed mode, as Redis 7', async () => {
    const sub = ioredis();
    await sub.subscribe('mode');
    const raw = (await sub.call('PING')) as unknown;
    expect(raw).toEqual(['pong', '']);
    // ioredis refuses other commands itself in subscriber mode; ask with a raw socket instead
    const { Socket } = await import('node:net');
    const s = new Socket();
    await new Promise<void>((r) => s.connect(server.respPort, '127.0.0.1', () => r()));
    let buf = '';
    s.on('data', (d) => (buf += d.toString()));
    s.write('SUBSCRIBE a\r\nGET k\r\nPING hi\r\nUNSUBSCRIBE\r\nPING\r\n');
    await until('raw replies', () => buf.endsWith('+PONG\r\n'));
    expect(buf).toBe(
      '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n' +
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n" +
        '*2\r\n$4\r\npong\r\n$2\r\nhi\r\n' +
        '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n' +
        '+PONG\r\n',
    );
    s.destroy();
  });

  it('node-redis subscribers get messages from an SDK publisher', async () => {
    const sub = createRedisClient({ socket: { host: '127.0.0.1', port: server.respPort } });
    await sub.connect();
    closers.push(() => sub.disconnect().catch(() => undefined));
    const got: string[] = [];
    await sub.subscribe('nr', (message, channel) => got.push(`${channel}:${message}`));
    await sub.pSubscribe('nr.*', (message, channel) => got.push(`p ${channel}:${message}`));
    const tcp = await sdk('tcp');
    expect(await tcp.publish('nr', 'one')).toBe(1);
    expect(await tcp.publish('nr.x', 'two')).toBe(1);
    await until('node-redis messages', () => got.length >= 2);
    expect(got).toEqual(['nr:one', 'p nr.x:two']);
  });
});

describe('one bus across RESP, native TCP and WebSocket', () => {
  it('a RESP PUBLISH reaches SDK subscribers on TCP and WebSocket, and back', async () => {
    const tcp = await sdk('tcp');
    const ws = await sdk('ws');
    const pub = ioredis();
    const fromTcp: ChannelMessage[] = [];
    const fromWs: ChannelMessage[] = [];
    const basePatterns = (await pub.pubsub('NUMPAT')) as number;
    await tcp.subscribe({ channel: 'bus' }, (m) => fromTcp.push(m));
    const wsSub = await ws.subscribe({ pattern: 'bu?' }, (m) => fromWs.push(m));
    await untilSubscribers(pub, 'bus', 1);
    await until('the pattern on the gateway', async () => (await pub.pubsub('NUMPAT')) === basePatterns + 1);
    expect(await pub.publish('bus', 'from-resp')).toBe(2);
    await until('both SDK subscribers', () => fromTcp.length === 1 && fromWs.length === 1);
    expect(fromTcp[0]).toMatchObject({ channel: 'bus', messageString: 'from-resp' });
    expect(fromWs[0]).toMatchObject({ channel: 'bus', messageString: 'from-resp', pattern: 'bu?' });

    // the other way: WebSocket and TCP publishers, RESP subscriber
    const sub = ioredis();
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    await sub.subscribe('back');
    expect(await ws.publish('back', 'from-ws')).toBe(1);
    expect(await tcp.publish('back', 'from-tcp')).toBe(1);
    await until('RESP subscriber', () => got.length === 2);
    expect(got.sort()).toEqual(['back:from-tcp', 'back:from-ws']);

    // a WebSocket publisher reaches a WebSocket subscriber (same thread) and the TCP one
    expect(await ws.publish('bus', 'ws-to-all')).toBe(2);
    await until('both again', () => fromTcp.length === 2 && fromWs.length === 2);
    await wsSub.unsubscribe();
    await until('the gateway pattern gone', async () => (await pub.pubsub('NUMPAT')) === basePatterns);
    expect(await pub.publish('bus', 'only-tcp')).toBe(1);
  });
});

describe('keyspace notifications', () => {
  it('CONFIG SET notify-keyspace-events KEA publishes __keyspace@0__ and __keyevent@0__ messages', async () => {
    const admin = ioredis();
    expect(await admin.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', '']);
    expect(await admin.config('SET', 'notify-keyspace-events', 'KEA')).toBe('OK');
    expect(await admin.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', 'AKE']);
    await expect(admin.config('SET', 'notify-keyspace-events', 'Q')).rejects.toThrow(/Invalid event class/);

    const sub = ioredis();
    const got: string[] = [];
    sub.on('pmessage', (_p: string, ch: string, msg: string) => got.push(`${ch} ${msg}`));
    await sub.psubscribe('__key*@0__:*');
    const ws = await sdk('ws');
    const wsGot: ChannelMessage[] = [];
    await ws.subscribe({ channel: '__keyevent@0__:del' }, (m) => wsGot.push(m));
    await sleep(50);
    await admin.set('ks:a', '1');
    await admin.expire('ks:a', 100);
    await admin.del('ks:a');
    await admin.set('ks:b', '1', 'PX', 30);
    await until('notifications', () => got.includes('__keyevent@0__:expired ks:b') && wsGot.length === 1, 5000).catch(async () => {
      await admin.get('ks:b'); // a read finds the expired key at once
      await until('notifications', () => got.includes('__keyevent@0__:expired ks:b') && wsGot.length === 1);
    });
    expect(got).toEqual(
      expect.arrayContaining([
        '__keyspace@0__:ks:a set',
        '__keyevent@0__:set ks:a',
        '__keyspace@0__:ks:a expire',
        '__keyevent@0__:expire ks:a',
        '__keyspace@0__:ks:a del',
        '__keyevent@0__:del ks:a',
        '__keyspace@0__:ks:b expired',
      ]),
    );
    expect(wsGot[0]).toMatchObject({ channel: '__keyevent@0__:del', messageString: 'ks:a' });

    // only the classes asked for: E and $ gives keyevent set messages, nothing else
    got.length = 0;
    await admin.config('SET', 'notify-keyspace-events', 'E$');
    await admin.set('ks:c', '1');
    await admin.del('ks:c');
    await until('keyevent set', () => got.length >= 1);
    await sleep(50);
    expect(got).toEqual(['__keyevent@0__:set ks:c']);
    await admin.config('SET', 'notify-keyspace-events', '');
    got.length = 0;
    await admin.set('ks:d', '1');
    await sleep(100);
    expect(got).toEqual([]);
  });

  it('--notify-keyspace-events turns notifications on at start', async () => {
    const other = await startServer({ args: ['--shards', '1', '--notify-keyspace-events', 'Kg$'] });
    try {
      const sub = new Redis({ host: '127.0.0.1', port: other.respPort });
      const c = new Redis({ host: '127.0.0.1', port: other.respPort });
      const got: string[] = [];
      sub.on('message', (ch: string, msg: string) => got.push(`${ch} ${msg}`));
      await sub.subscribe('__keyspace@0__:k1');
      await c.set('k1', 'v');
      await c.del('k1');
      await until('keyspace messages', () => got.length === 2);
      expect(got).toEqual(['__keyspace@0__:k1 set', '__keyspace@0__:k1 del']);
      sub.disconnect();
      c.disconnect();
    } finally {
      await other.stop();
    }
  });
});
