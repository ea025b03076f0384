/**
 * Replication of collections (docs/replication.md): hashes, lists, sets and sorted sets written on a
 * primary, some of them on its cold tier, reach a replica with their type, members and expiry, both
 * by the full copy and by the events that follow it; the replica's TYPE answers as the primary's.
 * Collections are written with native SET {type} of a structure's encoding, the way a move writes them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport } from '../../src/client/index.js';
import { HashValue, ListValue, SetValue, ValueType } from '../../src/engine/collections/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { until } from '../reliability/lib.js';

let primary: TestServer;
let replica: TestServer;
const clients: { close(): unknown }[] = [];

async function sdk(server: TestServer): Promise<CairnClient> {
  const c = await new CairnClient({ host: '127.0.0.1', port: server.port, reconnect: false, transport: tcpTransport() }).connect();
  clients.push(c);
  return c;
}

/** every key: type, encoded value, flags, absolute expiry */
async function dump(server: TestServer): Promise<Map<string, string>> {
  const c = await sdk(server);
  const out = new Map<string, string>();
  const keys: Uint8Array[] = [];
  for await (const key of c.scanKeys({ count: 500 })) keys.push(key);
  for (let i = 0; i < keys.length; i += 500) {
    const part = keys.slice(i, i + 500);
    const metas = await Promise.all(part.map((k) => c.getMeta(k)));
    metas.forEach((m, j) => {
      if (m) out.set(Buffer.from(part[j]).toString(), `${m.type ?? 0}|${Buffer.from(m.value).toString('hex')}|${m.flags}|${m.expiresAt}`);
    });
  }
  await c.close();
  return out;
}

async function same(): Promise<boolean> {
  const [a, b] = await Promise.all([dump(primary), dump(replica)]);
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function hash(n: number, tag: string): HashValue {
  const h = new HashValue();
  for (let i = 0; i < n; i++) h.set(`field-${i}`, `${tag}-${i}-${'v'.repeat(40)}`);
  return h;
}

function list(...items: string[]): ListValue {
  const l = new ListValue();
  for (const s of items) l.push(s, false);
  return l;
}

function set(...members: string[]): SetValue {
  const s = new SetValue();
  for (const m of members) s.add(m);
  return s;
}

beforeAll(async () => {
  // a small hot budget: part of the collections are on the primary's cold tier when the copy runs
  primary = await startServer({ args: ['--shards', '2', '--max-memory', '2mb'] });
});

afterAll(async () => {
  for (const c of clients) await Promise.resolve(c.close()).catch(() => undefined);
  await replica?.stop();
  await primary?.stop();
});

describe('replication of collections', () => {
  it('copies hashes, lists and sets with their type and expiry in the full copy and by events', async () => {
    const p = await sdk(primary);
    // about 3.4 MB of hashes (packed: 100 fields of ~55 bytes each) over a 2 MB budget
    for (let i = 0; i < 500; i += 50) {
      await p.mset(
        Array.from({ length: 50 }, (_, j) => [`h${i + j}`, hash(100, `a${i + j}`).encode()] as const),
        { type: ValueType.HASH },
      );
    }
    const expiresAt = Date.now() + 3_600_000;
    await p.set('queue', list('one', 'two', 'three').encode(), { type: ValueType.LIST, expiresAt, flags: 5 });
    await p.set('tags', set('red', 'green').encode(), { type: ValueType.SET });
    await p.set('plain', 'a string');
    const pc = await p.count();
    expect(pc.hot).toBeLessThan(pc.total);

    replica = await startServer({ args: ['--shards', '3', '--replica-of', `127.0.0.1:${primary.port}`] });
    await until(same, 30_000, 'the replica equal to the primary after the full copy');

    const pr = new Redis({ host: '127.0.0.1', port: primary.respPort });
    const rr = new Redis({ host: '127.0.0.1', port: replica.respPort });
    clients.push({ close: () => pr.disconnect() }, { close: () => rr.disconnect() });
    for (const key of ['h0', 'h499', 'queue', 'tags', 'plain']) expect(await rr.type(key)).toBe(await pr.type(key));
    expect(await rr.type('h7')).toBe('hash');
    expect(await rr.type('queue')).toBe('list');
    expect(await rr.pexpiretime('queue')).toBe(expiresAt);

    // events: a new collection, a string turned into a set, a hash rewritten, one deleted, one given a TTL
    await p.set('later', hash(3, 'later').encode(), { type: ValueType.HASH });
    await p.set('plain', set('now', 'a', 'set').encode(), { type: ValueType.SET });
    await p.set('h1', hash(2, 'changed').encode(), { type: ValueType.HASH });
    await p.del('h2');
    await p.expireAt('tags', expiresAt + 1000);
    await until(same, 30_000, 'the replica equal to the primary after the events');
    expect(await rr.type('later')).toBe('hash');
    expect(await rr.type('plain')).toBe('set');
    expect(await rr.type('h2')).toBe('none');
    expect(await rr.pexpiretime('tags')).toBe(expiresAt + 1000);
    const h1 = await (await sdk(replica)).getMeta('h1');
    expect(h1?.type).toBe(ValueType.HASH);
    expect(HashValue.decode(Buffer.from(h1!.value)).get('field-1')).toBe(`changed-1-${'v'.repeat(40)}`);
  });

  it('carries what the type commands write: sorted sets, streams with their groups, changed hashes', async () => {
    const pr = new Redis({ host: '127.0.0.1', port: primary.respPort });
    const rr = new Redis({ host: '127.0.0.1', port: replica.respPort });
    clients.push({ close: () => pr.disconnect() }, { close: () => rr.disconnect() });
    await pr.zadd('board', 3, 'c', 1, 'a', 2, 'b');
    await pr.xadd('log', '1-1', 'event', 'start');
    await pr.xadd('log', '2-1', 'event', 'stop');
    await pr.xgroup('CREATE', 'log', 'readers', '0');
    await pr.xreadgroup('GROUP', 'readers', 'r1', 'COUNT', '1', 'STREAMS', 'log', '>');
    await pr.hset('later', 'added', 'by HSET');
    await until(same, 30_000, 'the replica equal to the primary after the type commands');
    expect(await rr.zrange('board', 0, -1, 'WITHSCORES')).toEqual(await pr.zrange('board', 0, -1, 'WITHSCORES'));
    expect(await rr.type('log')).toBe('stream');
    expect(await rr.xrange('log', '-', '+')).toEqual(await pr.xrange('log', '-', '+'));
    expect(await rr.xpending('log', 'readers')).toEqual(await pr.xpending('log', 'readers'));
    expect(await rr.hget('later', 'added')).toBe('by HSET');
  });
});
