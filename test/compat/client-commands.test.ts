/**
 * The connection and server commands Node Redis libraries call, against redis-server 7.0.15 in the
 * same run: CLIENT LIST / INFO (field names and order, the values that must match), CLIENT KILL's
 * forms killing a second connection, CLIENT NO-EVICT, TIME's shape, WAIT without replicas and with
 * a real cairn replica, and the INFO fields BullMQ and friends parse. docs/commands.md lists the
 * differences (lib-name / lib-ver, the memory fields cairn does not keep per connection).
 */
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from './lib/raw.js';

let redis: ServiceHandle;
let cairn: TestServer;
const open: Redis[] = [];

type Kind = 'redis' | 'cairn';
const KINDS: Kind[] = ['redis', 'cairn'];

function portOf(kind: Kind): number {
  return kind === 'redis' ? redis.port : cairn.respPort;
}

async function connect(kind: Kind): Promise<Redis> {
  const c = new Redis({ port: portOf(kind), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  c.on('error', () => undefined);
  await c.connect();
  open.push(c);
  return c;
}

/** one CLIENT LIST line as [field, value] pairs, in order */
function fields(line: string): [string, string][] {
  return line
    .trim()
    .split(' ')
    .map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), kv.slice(eq + 1)] as [string, string];
    });
}

function lines(list: string): string[] {
  return list.split('\n').filter((l) => l.length > 0);
}

function byId(list: string, id: number): Map<string, string> {
  const line = lines(list).find((l) => l.startsWith(`id=${id} `));
  if (line === undefined) throw new Error(`no client ${id} in ${list}`);
  return new Map(fields(line));
}

async function closed(c: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (c.status !== 'end' && c.status !== 'close') {
    if (Date.now() > deadline) throw new Error(`connection still ${c.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** the address a client connects from, as the server prints it */
function addrOf(c: Redis): string {
  const s = (c as unknown as { stream: { localAddress: string; localPort: number } }).stream;
  return `${s.localAddress}:${s.localPort}`;
}

/** the fields of each INFO section */
function sections(info: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let current = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    if (line.startsWith('# ')) {
      current = new Map();
      out.set(line.slice(2), current);
    } else if (line.includes(':')) current.set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1));
  }
  return out;
}

beforeAll(async () => {
  [redis, cairn] = await Promise.all([startRedisServer(undefined, ['--databases', '1']), startServer({ args: ['--shards', '2'] })]);
}, 60_000);

afterAll(async () => {
  for (const c of open) c.disconnect();
  await Promise.all([redis?.stop(), cairn?.stop()]);
});

describe('CLIENT LIST and CLIENT INFO', () => {
  it('print the fields of Redis 7.0 in its order, lib-name and lib-ver after them as Redis 7.2', async () => {
    const [theirs, ours] = await Promise.all(KINDS.map(async (k) => fields((await (await connect(k)).client('INFO')) as string)));
    expect(ours.map(([f]) => f)).toEqual([...theirs.map(([f]) => f), 'lib-name', 'lib-ver']);
    const mustMatch = ['name', 'flags', 'db', 'sub', 'psub', 'ssub', 'multi', 'cmd', 'user', 'redir', 'resp'];
    const pick = (f: [string, string][]) => Object.fromEntries(f.filter(([k]) => mustMatch.includes(k)));
    expect(pick(ours)).toEqual(pick(theirs));
    // age and idle are whole seconds read from each server's clock: a second boundary may fall between
    // the two servers' answers, so each is only a small whole number, on both
    for (const f of [ours, theirs]) {
      for (const [k, v] of f) if (k === 'age' || k === 'idle') expect(v, k).toMatch(/^[0-5]$/);
    }
    expect(pick(ours)).toMatchObject({ flags: 'N', db: '0', multi: '-1', cmd: 'client|info' });
  });

  it('show the connection as the server sees it: id, addr, laddr, name after SETNAME, last command', async () => {
    for (const kind of KINDS) {
      const c = await connect(kind);
      const id = (await c.client('ID')) as number;
      await c.client('SETNAME', 'worker-1');
      await c.get('some-key');
      const other = await connect(kind);
      const me = byId((await other.client('LIST')) as string, id);
      expect(me.get('addr'), kind).toBe(addrOf(c));
      expect(me.get('laddr'), kind).toBe(`127.0.0.1:${portOf(kind)}`);
      expect(me.get('name'), kind).toBe('worker-1');
      expect(me.get('cmd'), kind).toBe('get');
      expect(me.get('flags'), kind).toBe('N');
      expect(Number(me.get('fd')), kind).toBeGreaterThan(0);
      // CLIENT LIST ID and TYPE pick the same connection
      expect(lines((await other.client('LIST', 'ID', String(id))) as string), kind).toHaveLength(1);
      expect(
        lines((await other.client('LIST', 'TYPE', 'normal')) as string).some((l) => l.startsWith(`id=${id} `)),
        kind,
      ).toBe(true);
      expect(await other.client('LIST', 'TYPE', 'pubsub'), kind).toBe('');
      expect(await other.client('LIST', 'ID', '99999'), kind).toBe('');
    }
  });

  it('show MULTI (flags=x, queued count) and pub/sub (flags=P, sub, psub) as Redis does', async () => {
    const seen: Record<string, string>[] = [];
    for (const kind of KINDS) {
      const raw = await RawClient.connect(portOf(kind));
      raw.send('CLIENT ID\r\nMULTI\r\nSET a 1\r\nGET a\r\n');
      const head = (await raw.readWhen((b) => (b.toString().split('\r\n').length > 4 ? b.length : 0))).toString();
      const id = Number(/^:(\d+)/.exec(head)![1]);
      const sub = await connect(kind);
      await sub.subscribe('ch1', 'ch2');
      await sub.psubscribe('p*');
      const subId = Number(/^id=(\d+)/.exec(lines((await (await connect(kind)).client('LIST', 'TYPE', 'pubsub')) as string)[0])![1]);
      const list = (await (await connect(kind)).client('LIST')) as string;
      const tx = byId(list, id);
      const ps = byId(list, subId);
      seen.push({
        txFlags: tx.get('flags')!,
        txMulti: tx.get('multi')!,
        txCmd: tx.get('cmd')!,
        psFlags: ps.get('flags')!,
        sub: ps.get('sub')!,
        psub: ps.get('psub')!,
      });
      raw.socket.destroy();
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).toEqual({ txFlags: 'x', txMulti: '2', txCmd: 'get', psFlags: 'P', sub: '2', psub: '1' });
  });

  it('CLIENT NO-EVICT on shows the e flag; a bad argument is a syntax error', async () => {
    for (const kind of KINDS) {
      const c = await connect(kind);
      expect(await c.client('NO-EVICT', 'on'), kind).toBe('OK');
      expect(new Map(fields((await c.client('INFO')) as string)).get('flags'), kind).toBe('e');
      expect(await c.client('NO-EVICT', 'OFF'), kind).toBe('OK');
      expect(new Map(fields((await c.client('INFO')) as string)).get('flags'), kind).toBe('N');
      await expect(c.client('NO-EVICT', 'maybe'), kind).rejects.toThrow('ERR syntax error');
    }
  });

  it('show lib-name and lib-ver after CLIENT SETINFO (Redis 7.2, which cairn accepts)', async () => {
    const c = await connect('cairn');
    await c.call('CLIENT', 'SETINFO', 'LIB-NAME', 'bullmq');
    await c.call('CLIENT', 'SETINFO', 'lib-ver', '5.1.0');
    const me = new Map(fields((await c.client('INFO')) as string));
    expect(me.get('lib-name')).toBe('bullmq');
    expect(me.get('lib-ver')).toBe('5.1.0');
  });

  it("parse with ioredis' client('LIST') into one record per connection", async () => {
    const c = await connect('cairn');
    const records = lines((await c.client('LIST')) as string).map((l) => Object.fromEntries(fields(l)));
    expect(records.length).toBeGreaterThanOrEqual(1);
    for (const r of records) {
      expect(r.id).toMatch(/^\d+$/);
      expect(r.addr).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(r.db).toBe('0');
    }
  });
});

describe('CLIENT KILL', () => {
  const forms: [string, (victim: Redis, id: number) => string[], string][] = [
    ['ID', (_v, id) => ['ID', String(id)], ':1'],
    ['ADDR', (v) => ['ADDR', addrOf(v)], ':1'],
    ['ADDR with SKIPME no and USER default', (v) => ['ADDR', addrOf(v), 'SKIPME', 'no', 'USER', 'default'], ':1'],
    ['the old ip:port form', (v) => [addrOf(v)], '+OK'],
  ];
  for (const [name, args, reply] of forms) {
    it(`${name} closes the other connection and answers ${reply}`, async () => {
      for (const kind of KINDS) {
        const killer = await RawClient.connect(portOf(kind));
        const victim = await connect(kind);
        const id = (await victim.client('ID')) as number;
        const argv = ['CLIENT', 'KILL', ...args(victim, id)];
        killer.send(`*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
        expect((await killer.readWhen((b) => (b.includes('\r\n') ? b.indexOf('\r\n') + 2 : 0))).toString(), kind).toBe(`${reply}\r\n`);
        await closed(victim);
        killer.socket.destroy();
      }
    });
  }

  it('LADDR and USER kill every other connection (SKIPME yes by default)', async () => {
    for (const kind of KINDS) {
      // the connections of earlier tests go first
      const sweeper = await connect(kind);
      await sweeper.client('KILL', 'USER', 'default');
      const a = await connect(kind);
      const b = await connect(kind);
      expect(await sweeper.client('KILL', 'LADDR', `127.0.0.1:${portOf(kind)}`), kind).toBe(2);
      await Promise.all([closed(a), closed(b)]);
      const c = await connect(kind);
      expect(await sweeper.client('KILL', 'USER', 'default', 'TYPE', 'normal'), kind).toBe(1);
      await closed(c);
      expect(await sweeper.ping(), kind).toBe('PONG');
    }
  });

  it('SKIPME no with its own ID answers :1, then the connection closes', async () => {
    for (const kind of KINDS) {
      const raw = await RawClient.connect(portOf(kind));
      raw.send('CLIENT ID\r\n');
      const id = Number(/^:(\d+)/.exec((await raw.readWhen((b) => (b.includes('\r\n') ? b.length : 0))).toString())![1]);
      raw.send(`CLIENT KILL ID ${id} SKIPME no\r\nPING\r\n`);
      const rest = await raw.readWhen(() => 0, 3_000);
      expect(rest.toString(), kind).toBe(':1\r\n');
      expect(raw.closed, kind).toBe(true);
    }
  });

  it('refuses bad forms with the errors of Redis', async () => {
    const bad = [
      ['1.2.3.4:5'],
      ['ID', '0'],
      ['ID', 'x'],
      ['ID', '99999'],
      ['USER', 'bob'],
      ['TYPE', 'foo'],
      ['TYPE', 'master'],
      ['SKIPME', 'maybe'],
      ['foo', 'bar'],
      ['a', 'b', 'c'],
    ];
    const answers = await Promise.all(
      KINDS.map(async (kind) => {
        const c = await connect(kind);
        const out: string[] = [];
        for (const args of bad) out.push(await c.call('CLIENT', 'KILL', ...args).then(String, (e: Error) => `-${e.message}`));
        for (const args of [['TYPE', 'foo'], ['ID', 'x'], ['foo'], ['ID']]) {
          out.push(await c.call('CLIENT', 'LIST', ...args).then(String, (e: Error) => `-${e.message}`));
        }
        return out;
      }),
    );
    expect(answers[1]).toEqual(answers[0]);
  });
});

describe('TIME and WAIT', () => {
  it('TIME is two bulk strings: seconds, microseconds', async () => {
    for (const kind of KINDS) {
      const raw = await RawClient.connect(portOf(kind));
      raw.send('TIME\r\n');
      const reply = (await raw.readWhen((b) => (b.toString().split('\r\n').length >= 6 ? b.length : 0))).toString();
      const m = /^\*2\r\n\$(\d+)\r\n(\d+)\r\n\$(\d+)\r\n(\d+)\r\n$/.exec(reply);
      expect(m, `${kind}: ${reply}`).not.toBeNull();
      expect(Number(m![1])).toBe(m![2].length);
      expect(Number(m![3])).toBe(m![4].length);
      expect(Math.abs(Number(m![2]) - Date.now() / 1000)).toBeLessThan(5);
      expect(Number(m![4])).toBeLessThan(1_000_000);
      raw.socket.destroy();
    }
  });

  it('WAIT without replicas answers :0 after the timeout, at once for 0 replicas; its errors are Redis’', async () => {
    for (const kind of KINDS) {
      const c = await connect(kind);
      await c.set('w', '1');
      const t0 = Date.now();
      expect(await c.call('WAIT', '1', '200'), kind).toBe(0);
      expect(Date.now() - t0, kind).toBeGreaterThanOrEqual(150);
      expect(await c.call('WAIT', '0', '0'), kind).toBe(0);
    }
    const errors = await Promise.all(
      KINDS.map(async (kind) => {
        const c = await connect(kind);
        const out: string[] = [];
        for (const args of [['a', '1'], ['1', '-1'], ['1', 'x'], ['1']]) out.push(await c.call('WAIT', ...args).then(String, (e: Error) => e.message));
        return out;
      }),
    );
    expect(errors[1]).toEqual(errors[0]);
  });

  it('WAIT counts a cairn replica once it acknowledged the writes before it; the connection waits meanwhile', async () => {
    const primary = await startServer({ args: ['--shards', '2'] });
    const replica = await startServer({ args: ['--shards', '2', '--replica-of', `127.0.0.1:${primary.port}`] });
    try {
      const p = new Redis({ port: primary.respPort, lazyConnect: true });
      const r = new Redis({ port: replica.respPort, lazyConnect: true });
      open.push(p, r);
      await Promise.all([p.connect(), r.connect()]);
      const deadline = Date.now() + 20_000;
      while (!/connected_slaves:1/.test(await p.info('replication'))) {
        if (Date.now() > deadline) throw new Error('the replica did not attach');
        await new Promise((res) => setTimeout(res, 50));
      }
      await p.set('wait:key', 'v1');
      // the reply comes once the replica acknowledged (once a second), not at the timeout
      const t0 = Date.now();
      const [waited, after] = await Promise.all([p.call('WAIT', '1', '15000'), p.get('wait:key')]);
      expect(waited).toBe(1);
      expect(after).toBe('v1');
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(await r.get('wait:key')).toBe('v1');
      // two replicas cannot be had: the count after the timeout
      expect(await p.call('WAIT', '2', '300')).toBe(1);
      // inside MULTI, WAIT answers at once with what is acknowledged
      const tx = await p.multi().set('wait:key', 'v2').call('WAIT', '5', '0').exec();
      expect(tx?.[1]?.[0]).toBeNull();
      expect(typeof tx?.[1]?.[1]).toBe('number');
      await expect(r.call('WAIT', '1', '10')).rejects.toThrow('WAIT cannot be used with replica instances');
    } finally {
      for (const c of open.splice(-2)) c.disconnect();
      await replica.stop();
      await primary.stop();
    }
  }, 60_000);
});

describe('INFO fields the libraries parse', () => {
  it('redis_version, connected_clients, used_memory, maxmemory, maxmemory_policy and role sit in the sections Redis puts them', async () => {
    const parsed = await Promise.all(KINDS.map(async (k) => sections(await (await connect(k)).info())));
    for (const [kind, s] of KINDS.map((k, i) => [k, parsed[i]] as const)) {
      expect(s.get('Server')?.get('redis_version'), kind).toMatch(/^7\.\d+\.\d+$/);
      expect(s.get('Clients')?.get('connected_clients'), kind).toMatch(/^[1-9]\d*$/);
      expect(s.get('Memory')?.get('used_memory'), kind).toMatch(/^\d+$/);
      expect(s.get('Memory')?.get('maxmemory'), kind).toMatch(/^\d+$/);
      expect(s.get('Memory')?.get('maxmemory_policy'), kind).toMatch(/^[a-z0-9-]+$/);
      expect(s.get('Replication')?.get('role'), kind).toBe('master');
    }
    expect(parsed[1].get('Server')?.get('redis_version')).toBe('7.0.15');
  });
});
