/**
 * The gateway (uWebSockets.js on --http-port, its own thread and rings) against a real server: the
 * SDK over WebSocket, key-event subscriptions over WebSocket and TCP, /health, /ready, /metrics
 * parsed as Prometheus text, and the password rules.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport, webSocketTransport, type KeyEventMessage, type WebSocketConstructor } from '../../src/client/index.js';
import { CairnError, ErrorCode } from '../../src/errors.js';
import { startServer, type TestServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wsClient(server: TestServer, options: { password?: string } = {}): CairnClient {
  return new CairnClient({
    host: '127.0.0.1',
    port: server.httpPort,
    password: options.password,
    reconnect: false,
    transport: webSocketTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor }),
  });
}

function tcpClient(server: TestServer, options: { password?: string } = {}): CairnClient {
  return new CairnClient({ host: '127.0.0.1', port: server.port, password: options.password, reconnect: false, transport: tcpTransport() });
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---- a small Prometheus text-format parser (exposition format 0.0.4) ----------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

function parsePrometheus(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const seenFamilies: string[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(m[3]);
        expect(types.has(m[2]), `TYPE ${m[2]} twice`).toBe(false);
        types.set(m[2], m[3]);
        seenFamilies.push(m[2]);
      } else help.set(m[2], m[3]);
      continue;
    }
    expect(line.startsWith('#'), `unexpected comment: ${line}`).toBe(false);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `malformed sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    if (m![2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
      let consumed = 0;
      for (let l = re.exec(m![2]); l; l = re.exec(m![2])) {
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      expect(consumed, `malformed labels: ${line}`).toBe(m![2].length);
    }
    const value = m![3] === '+Inf' ? Infinity : m![3] === '-Inf' ? -Infinity : Number(m![3]);
    expect(Number.isNaN(value), `bad value: ${line}`).toBe(false);
    const name = m![1];
    const family = name.replace(/_(bucket|sum|count)$/, '');
    const owner = types.has(name) ? name : family;
    expect(types.has(owner), `sample ${name} has no TYPE`).toBe(true);
    // samples of a family are contiguous: they follow their own TYPE line
    expect(seenFamilies[seenFamilies.length - 1], `sample ${name} is outside its family`).toBe(owner);
    samples.push({ name, labels, value });
  }
  return { types, help, samples };
}

function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const s = e.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

function sum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

async function metrics(server: TestServer, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

describe('gateway', () => {
  let server: TestServer;
  beforeAll(async () => {
    // a small memory budget, so that a few MB of values make the shards evict (and restore)
    server = await startServer({ args: ['--max-memory', '2mb', '--shards', '2'] });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('answers /health and /ready, and 404 elsewhere', async () => {
    const health = await fetch(`http://127.0.0.1:${server.httpPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const ready = await fetch(`http://127.0.0.1:${server.httpPort}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, shards: 2, down: [] });
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/nope`)).status).toBe(404);
    const bundle = await fetch(`http://127.0.0.1:${server.httpPort}/cairn-client.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toMatch(/createClient/);
  });

  it('runs the SDK over WebSocket: round trips, binary values, pipelining, broadcasts, errors', async () => {
    const client = wsClient(server);
    await client.connect();
    expect(client.serverInfo!.shards).toBe(2);
    expect(await client.ping()).toBe('PONG');
    expect(await client.set('ws:a', 'alpha')).toBe(true);
    expect(await client.getString('ws:a')).toBe('alpha');
    const bytes = new Uint8Array(256).map((_, i) => i);
    await client.set(new Uint8Array([0, 1, 2]), bytes);
    expect(Buffer.from((await client.get(new Uint8Array([0, 1, 2])))!)).toEqual(Buffer.from(bytes));
    // many requests in one tick go out as one batch; replies return in any order
    const n = 2000;
    await Promise.all(Array.from({ length: n }, (_, i) => client.set(`ws:many:${i}`, String(i))));
    const got = await client.mget(Array.from({ length: n }, (_, i) => `ws:many:${i}`));
    expect(got.map((v) => Buffer.from(v!).toString())).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    // a value larger than one WebSocket message of the transport (split, then joined by the server)
    const big = Buffer.alloc(600 * 1024, 7);
    await client.set('ws:big', big);
    expect(Buffer.from((await client.get('ws:big'))!).equals(big)).toBe(true);
    expect(await client.incr('ws:counter', 5)).toBe(5);
    expect((await client.count()).total).toBeGreaterThanOrEqual(n);
    expect((await client.stats()).shards).toHaveLength(2);
    await expect(client.incr('ws:a')).rejects.toMatchObject({ code: ErrorCode.NOT_INTEGER });
    await expect(client.command(0x7f, 'x', [])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_COMMAND });
    // the connection lives on after errors
    expect(await client.getString('ws:a')).toBe('alpha');
    await client.close();
  });

  it('closes a WebSocket that breaks framing, after an error reply', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/ws`);
    ws.binaryType = 'arraybuffer';
    const messages: Buffer[] = [];
    ws.on('message', (m: ArrayBuffer) => messages.push(Buffer.from(m)));
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
    ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 1])); // a length past maxFrame
    expect(await closed).toBe(1002);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[0][4]).toBe(1); // ERROR
    // text messages are refused
    const ws2 = new WebSocket(`ws://127.0.0.1:${server.httpPort}/ws`);
    await new Promise((r) => ws2.once('open', r));
    const closed2 = new Promise<number>((r) => ws2.once('close', (code: number) => r(code)));
    ws2.send('hello');
    expect(await closed2).toBe(1003);
  });

  it('pushes key events to subscribers over WebSocket and TCP', async () => {
    const ws = wsClient(server);
    const tcp = tcpClient(server);
    await Promise.all([ws.connect(), tcp.connect()]);
    const wsEvents: string[] = [];
    const tcpEvents: string[] = [];
    const subA = await ws.subscribe({ prefix: 'ev:' }, (e) => wsEvents.push(`${e.event} ${e.keyString}`));
    await tcp.subscribe({ key: 'ev:k1', events: ['set', 'delete'] }, (e) => tcpEvents.push(`${e.event} ${e.keyString}`));
    const iterated = await ws.subscribe({ key: 'ev:k2' });

    const writer = tcpClient(server);
    await writer.connect();
    await writer.set('ev:k1', 'one');
    await writer.set('ev:k2', 'two');
    await writer.set('other:k', 'x'); // matches nobody
    await writer.expire('ev:k2', 60_000);
    await writer.del('ev:k1');
    await writer.incr('ev:n');
    await until('websocket events', () => wsEvents.length >= 5);
    await until('tcp events', () => tcpEvents.length >= 2);
    // events of one key come in order; keys on different shards have no order between them
    const ofKey = (events: string[], key: string): string[] => events.filter((e) => e.endsWith(` ${key}`));
    expect(wsEvents).toHaveLength(5);
    expect(ofKey(wsEvents, 'ev:k1')).toEqual(['set ev:k1', 'delete ev:k1']);
    expect(ofKey(wsEvents, 'ev:k2')).toEqual(['set ev:k2', 'ttl ev:k2']);
    expect(ofKey(wsEvents, 'ev:n')).toEqual(['set ev:n']);
    expect(tcpEvents).toEqual(['set ev:k1', 'delete ev:k1']);

    const it = iterated[Symbol.asyncIterator]();
    const first = (await it.next()).value as KeyEventMessage;
    expect(first.event).toBe('set');
    expect(first.keyString).toBe('ev:k2');
    expect(Buffer.from(first.key).toString()).toBe('ev:k2');
    expect(((await it.next()).value as KeyEventMessage).event).toBe('ttl');

    // expiry: the key's TTL passes and the sweep removes it
    await writer.set('ev:short', 'x', { ttl: 100 });
    await until('expire event', () => wsEvents.includes('expire ev:short'), 5000);

    // unsubscribe: no more events for that filter
    await subA.unsubscribe();
    const before = wsEvents.length;
    await writer.set('ev:after', '1');
    await writer.set('ev:k2', 'again');
    expect(((await it.next()).value as KeyEventMessage).keyString).toBe('ev:k2');
    await sleep(100);
    expect(wsEvents.length).toBe(before);
    await iterated.unsubscribe();
    expect((await it.next()).done).toBe(true);

    await Promise.all([ws.close(), tcp.close(), writer.close()]);
  });

  it('reports evictions and restores as events', async () => {
    const ws = wsClient(server);
    await ws.connect();
    const events = new Map<string, Set<string>>();
    await ws.subscribe({ prefix: 'evict:', events: ['evict', 'restore'] }, (e) => {
      if (!events.has(e.event)) events.set(e.event, new Set());
      events.get(e.event)!.add(e.keyString);
    });
    const writer = tcpClient(server);
    await writer.connect();
    const value = Buffer.alloc(16 * 1024, 1);
    for (let i = 0; i < 300; i++) await writer.set(`evict:${i}`, value); // ~4.8 MB into a 2 MB hot tier
    await until('evict events', () => (events.get('evict')?.size ?? 0) > 0);
    const evicted = [...events.get('evict')!][0];
    expect(Buffer.from((await writer.get(evicted))!).equals(value)).toBe(true);
    await until('restore event', () => events.get('restore')?.has(evicted) ?? false);
    await Promise.all([ws.close(), writer.close()]);
  });

  it('validates SUBSCRIBE arguments', async () => {
    const client = tcpClient(server);
    await client.connect();
    const SUBSCRIBE = 0x04;
    await expect(client.command(SUBSCRIBE, '', [{}])).rejects.toMatchObject({ code: ErrorCode.BAD_ARGUMENT });
    await expect(client.command(SUBSCRIBE, '', [{ key: 'a', prefix: 'b' }])).rejects.toMatchObject({ code: ErrorCode.BAD_ARGUMENT });
    await expect(client.command(SUBSCRIBE, '', [{ key: 'a', events: ['nope'] }])).rejects.toMatchObject({ code: ErrorCode.BAD_ARGUMENT });
    await expect(client.command(SUBSCRIBE, '', [{ key: 'a', what: 1 }])).rejects.toMatchObject({ code: ErrorCode.BAD_ARGUMENT });
    expect(await client.command(SUBSCRIBE, '', [{ key: 'a' }])).toBe(1);
    expect(await client.command(SUBSCRIBE, '', [{ prefix: '' }])).toBe(2);
    expect(await client.command(SUBSCRIBE, '', [{ key: 'a', events: ['set'] }])).toBe(2); // replaces
    expect(await client.command(0x05, '', [{ key: 'a' }])).toBe(1);
    expect(await client.command(0x05, '', [])).toBe(0);
    await expect(client.subscribe({ key: 'a', prefix: 'b' } as never)).rejects.toBeInstanceOf(CairnError);
    await client.close();
  });

  it('serves /metrics in Prometheus text format', async () => {
    const client = wsClient(server);
    await client.connect();
    for (let i = 0; i < 50; i++) await client.set(`m:${i}`, 'v');
    for (let i = 0; i < 50; i++) await client.get(`m:${i}`);
    await client.get('m:missing');
    const e = await metrics(server);
    expect(value(e, 'cairn_shards')).toBe(2);
    expect(value(e, 'cairn_shard_up', { shard: '0' })).toBe(1);
    expect(e.types.get('cairn_hits_total')).toBe('counter');
    expect(e.types.get('cairn_items')).toBe('gauge');
    expect(e.types.get('cairn_command_duration_seconds')).toBe('histogram');
    expect(sum(e, 'cairn_commands_total', { protocol: 'native', command: 'set' })).toBeGreaterThanOrEqual(50);
    expect(sum(e, 'cairn_commands_total', { protocol: 'native', command: 'get' })).toBeGreaterThanOrEqual(51);
    expect(sum(e, 'cairn_hits_total')).toBeGreaterThanOrEqual(50);
    expect(sum(e, 'cairn_misses_total')).toBeGreaterThanOrEqual(1);
    expect(sum(e, 'cairn_items', { tier: 'hot' })).toBeGreaterThan(0);
    expect(sum(e, 'cairn_evictions_total', { reason: 'evicted' })).toBeGreaterThan(0); // the test above filled memory
    expect(sum(e, 'cairn_restores_total')).toBeGreaterThan(0);
    for (const shard of ['0', '1']) {
      for (const tier of ['hot', 'cold']) {
        expect(value(e, 'cairn_hits_total', { shard, tier })).toBeTypeOf('number');
        expect(value(e, 'cairn_items', { shard, tier })).toBeTypeOf('number');
        expect(value(e, 'cairn_bytes', { shard, tier })).toBeTypeOf('number');
      }
      for (const name of ['cairn_spills_total', 'cairn_restores_total', 'cairn_expirations_total', 'cairn_misses_total']) {
        expect(value(e, name, { shard })).toBeTypeOf('number');
      }
    }
    expect(value(e, 'cairn_connections', { protocol: 'websocket' })).toBeGreaterThanOrEqual(1);
    expect(value(e, 'cairn_connections', { protocol: 'native' })).toBeTypeOf('number');
    expect(value(e, 'cairn_connections_total', { protocol: 'native' })).toBeGreaterThan(0);
    // histograms: cumulative buckets ending in +Inf = _count
    for (const cls of ['read', 'write', 'admin', 'resp', 'memcache']) {
      const buckets = e.samples.filter((s) => s.name === 'cairn_command_duration_seconds_bucket' && s.labels.class === cls);
      expect(buckets.length).toBeGreaterThan(5);
      for (let i = 1; i < buckets.length; i++) {
        expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
        const le = (x: Sample) => (x.labels.le === '+Inf' ? Infinity : Number(x.labels.le));
        expect(le(buckets[i])).toBeGreaterThan(le(buckets[i - 1]));
      }
      expect(buckets[buckets.length - 1].labels.le).toBe('+Inf');
      expect(buckets[buckets.length - 1].value).toBe(value(e, 'cairn_command_duration_seconds_count', { class: cls }));
    }
    expect(value(e, 'cairn_command_duration_seconds_count', { class: 'read' })).toBeGreaterThanOrEqual(51);
    expect(value(e, 'cairn_command_duration_seconds_sum', { class: 'write' })).toBeGreaterThan(0);
    await client.close();

    const stats = await fetch(`http://127.0.0.1:${server.httpPort}/stats.json`);
    expect(stats.status).toBe(200);
    const body = (await stats.json()) as { shards: unknown[]; commands: number };
    expect(body.shards).toHaveLength(2);
    expect(body.commands).toBeGreaterThan(100);
  });
});

describe('gateway with a password', () => {
  let server: TestServer;
  const password = 's3cret!';
  beforeAll(async () => {
    server = await startServer({ args: ['--password', password] });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('requires the password in the WebSocket handshake', async () => {
    const anonymous = wsClient(server);
    await expect(anonymous.connect()).rejects.toMatchObject({ code: ErrorCode.AUTH });
    const wrong = wsClient(server, { password: 'nope' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: ErrorCode.AUTH });
    const client = wsClient(server, { password });
    await client.connect();
    expect(await client.set('k', 'v')).toBe(true);
    await client.close();
  });

  it('guards /metrics, /stats.json and the dashboard; /health and /ready stay open', async () => {
    const base = `http://127.0.0.1:${server.httpPort}`;
    for (const path of ['/metrics', '/stats.json', '/']) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect((await fetch(base + path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    }
    await metrics(server, { authorization: `Bearer ${password}` });
    await metrics(server, { authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` });
    const page = await fetch(base + '/', { headers: { authorization: `Bearer ${password}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>cairn dashboard<\/title>/);
    expect((await fetch(base + '/health')).status).toBe(200);
    expect((await fetch(base + '/ready')).status).toBe(200);
  });
});
