/**
 * Key events: the subscription index (exact keys and prefixes), the front hub's fan-out and
 * argument checks, and the store's event points (set, delete, ttl, expire, evict, restore, flush).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_EVENT_NAMES, KeyEvent, keyEventOf, Notify, notifiedEvent, notifyOf } from '../../src/events/codes.js';
import { SubscriptionHub, type EventSubscriber } from '../../src/events/hub.js';
import { nativeEventFrames } from '../../src/native/event-frames.js';
import { binaryString, SubscriptionIndex } from '../../src/events/index.js';
import { Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { TieredShardStore } from '../../src/store/shard-store.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const bytes = (s: string) => Buffer.from(s);

describe('SubscriptionIndex', () => {
  it('matches exact keys and prefixes of any length, by event bit', () => {
    const index = new SubscriptionIndex<string>();
    index.add('exact', false, 'user:1', 0b10);
    index.add('users', true, 'user:', 0b10);
    index.add('all', true, '', 0b110);
    index.add('long', true, 'user:1:profile', 0b10);
    const hits = (key: string, bit: number) => {
      const out: string[] = [];
      index.match(key, bit, (o) => out.push(o));
      return out.sort();
    };
    expect(hits('user:1', 0b10)).toEqual(['all', 'exact', 'users']);
    expect(hits('user:1:profile', 0b10)).toEqual(['all', 'long', 'users']);
    expect(hits('user:2', 0b100)).toEqual(['all']);
    expect(hits('other', 0b10)).toEqual(['all']);
    expect(hits('use', 0b10)).toEqual(['all']);
    expect(index.size).toBe(4);
    expect(index.remove('all', true, '')).toBe(true);
    expect(index.remove('all', true, '')).toBe(false);
    expect(hits('other', 0b10)).toEqual([]);
    // replacing keeps one entry
    expect(index.add('exact', false, 'user:1', 0b100)).toBe(false);
    expect(hits('user:1', 0b10)).toEqual(['users']);
    expect(index.size).toBe(3);
  });

  it('agrees with a linear scan on random keys and prefixes', () => {
    const index = new SubscriptionIndex<number>();
    const subs: { owner: number; prefix: boolean; text: string }[] = [];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const word = () => Array.from({ length: rnd(5) }, () => 'ab\u00ff'[rnd(3)]).join('');
    for (let i = 0; i < 300; i++) {
      const s = { owner: i, prefix: rnd(2) === 0, text: word() };
      if (!s.prefix && s.text === '') continue;
      subs.push(s);
      index.add(s.owner, s.prefix, s.text, 2);
    }
    for (let k = 0; k < 200; k++) {
      const key = word() + word();
      const got: number[] = [];
      index.match(key, 2, (o) => got.push(o));
      const want = subs.filter((s) => (s.prefix ? key.startsWith(s.text) : key === s.text)).map((s) => s.owner);
      expect(got.sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
    }
  });

  it('turns bytes into comparable strings', () => {
    expect(binaryString(new Uint8Array([0, 255, 65]))).toBe('\u0000\u00ffA');
    const long = new Uint8Array(10_000).map((_, i) => i & 0xff);
    const s = binaryString(long);
    expect(s.length).toBe(10_000);
    expect(s.charCodeAt(9999)).toBe(9999 & 0xff);
  });
});

class FakeConn implements EventSubscriber {
  eventStamp = 0;
  readonly frames: unknown[] = [];
  pushEvent(frame: Uint8Array): void {
    expect(frame[4]).toBe(Status.PUSH);
    this.frames.push(unpackr.unpack(frame.subarray(9)));
  }
}

describe('SubscriptionHub', () => {
  const reply = (frame: Uint8Array) => ({ status: frame[4], body: unpackr.unpack(frame.subarray(9)) });

  it('fans events out once per connection and switches the shards on and off', () => {
    const switches: boolean[] = [];
    const hub = new SubscriptionHub((on) => switches.push(on), nativeEventFrames);
    const a = new FakeConn();
    const b = new FakeConn();
    expect(reply(hub.handle(a, Opcode.SUBSCRIBE, 1, [{ prefix: 'user:' }])).body).toBe(1);
    expect(reply(hub.handle(a, Opcode.SUBSCRIBE, 2, [{ key: bytes('user:1') }])).body).toBe(2);
    expect(reply(hub.handle(b, Opcode.SUBSCRIBE, 3, [{ key: 'user:1', events: ['delete'] }])).body).toBe(1);
    hub.dispatch(KeyEvent.SET, bytes('user:1'));
    hub.dispatch(KeyEvent.DELETE, bytes('user:1'));
    hub.dispatch(KeyEvent.SET, bytes('other'));
    expect(a.frames).toEqual([
      ['keyevent', 'set', bytes('user:1')],
      ['keyevent', 'delete', bytes('user:1')],
    ]);
    expect(b.frames).toEqual([['keyevent', 'delete', bytes('user:1')]]);
    hub.dispatch(KeyEvent.FLUSH, new Uint8Array(0));
    expect(a.frames).toHaveLength(3);
    expect(b.frames).toHaveLength(1); // b wants deletes only
    expect(hub.stats()).toMatchObject({ subscribers: 2, subscriptions: 3, events: 4, pushes: 4 });
    expect(reply(hub.handle(a, Opcode.UNSUBSCRIBE, 4, [{ prefix: 'user:' }])).body).toBe(1);
    expect(reply(hub.handle(a, Opcode.UNSUBSCRIBE, 5, [])).body).toBe(0);
    hub.drop(b);
    expect(hub.stats().subscriptions).toBe(0);
    expect(switches[0]).toBe(true);
    expect(switches[switches.length - 1]).toBe(false);
  });

  it('reads a data-type change as its key event: set or delete, a notification-only code ignored', () => {
    const hub = new SubscriptionHub(() => undefined, nativeEventFrames);
    const a = new FakeConn();
    const b = new FakeConn();
    hub.handle(a, Opcode.SUBSCRIBE, 1, [{ prefix: 'h' }]);
    hub.handle(b, Opcode.SUBSCRIBE, 2, [{ prefix: 'h', events: ['set'] }]);
    hub.dispatch(notifiedEvent(KeyEvent.SET, Notify.HSET), bytes('h1'));
    hub.dispatch(notifiedEvent(0, Notify.HDEL), bytes('h1'));
    hub.dispatch(notifiedEvent(KeyEvent.DELETE, Notify.NONE), bytes('h1'));
    hub.dispatch(notifiedEvent(KeyEvent.SET, Notify.XGROUP_SETID), bytes('h2'));
    expect(a.frames).toEqual([
      ['keyevent', 'set', bytes('h1')],
      ['keyevent', 'delete', bytes('h1')],
      ['keyevent', 'set', bytes('h2')],
    ]);
    expect(b.frames).toEqual([
      ['keyevent', 'set', bytes('h1')],
      ['keyevent', 'set', bytes('h2')],
    ]);
    expect([keyEventOf(notifiedEvent(KeyEvent.SET, Notify.ZADD)), notifyOf(notifiedEvent(KeyEvent.SET, Notify.ZADD))]).toEqual([KeyEvent.SET, Notify.ZADD]);
    expect([keyEventOf(KeyEvent.TTL), notifyOf(KeyEvent.TTL)]).toEqual([KeyEvent.TTL, 0]);
  });

  it('rejects malformed arguments with BAD_ARGUMENT', () => {
    const hub = new SubscriptionHub(() => undefined, nativeEventFrames);
    const c = new FakeConn();
    for (const args of [
      [],
      [{}],
      [{ key: 'a', prefix: 'b' }],
      [{ key: 1 }],
      [{ key: 'a', events: ['nope'] }],
      [{ key: 'a', events: [] }],
      [{ key: 'a', x: 1 }],
      ['a'],
    ]) {
      const r = reply(hub.handle(c, Opcode.SUBSCRIBE, 9, args));
      expect(r.status, JSON.stringify(args)).toBe(Status.ERROR);
      expect((r.body as string[])[0]).toBe('CAIRN_ERR_BAD_ARGUMENT');
    }
    expect(reply(hub.handle(c, Opcode.SUBSCRIBE, 9, [{ prefix: '' }])).body).toBe(1);
    // the empty key is a key, as in Redis
    expect(reply(hub.handle(c, Opcode.SUBSCRIBE, 9, [{ key: '' }])).body).toBe(2);
  });

  it('names every event code', () => {
    for (const code of Object.values(KeyEvent)) expect(KEY_EVENT_NAMES[code]).toBeTypeOf('string');
  });
});

describe('store key events', () => {
  const dirs: string[] = [];
  const stores: TieredShardStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  async function open(maxMemory = 1 << 20): Promise<TieredShardStore> {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-events-'));
    dirs.push(dir);
    const s = await TieredShardStore.open({ shard: 0, dir, maxMemory, sweepIntervalMs: 20, writebackDelayMs: 5 });
    stores.push(s);
    return s;
  }

  it('reports each change once, and nothing without a listener', async () => {
    const s = await open();
    const seen: string[] = [];
    await s.set(bytes('quiet'), bytes('v')); // no listener yet
    s.onKeyEvent((code, key) => seen.push(`${KEY_EVENT_NAMES[code]} ${Buffer.from(key).toString()}`));
    await s.set(bytes('a'), bytes('1'));
    await s.append(bytes('a'), bytes('2'), false, true);
    await s.incr(bytes('n'), 1n, false, true);
    await s.expire(bytes('a'), Date.now() + 60_000);
    await s.persist(bytes('a'));
    await s.delete(bytes('a'));
    await s.delete(bytes('a')); // nothing to delete: no event
    await s.set(bytes('t'), bytes('x'), { expiresAt: Date.now() + 30 });
    await new Promise((r) => setTimeout(r, 300));
    await s.flush();
    expect(seen).toEqual(['set a', 'set a', 'set n', 'ttl a', 'ttl a', 'delete a', 'set t', 'expire t', 'flush ']);
    s.onKeyEvent(null);
    await s.set(bytes('b'), bytes('1'));
    expect(seen).toHaveLength(9);
  });

  it('reports evictions and restores', async () => {
    const s = await open(1 << 20);
    const events: [string, string][] = [];
    s.onKeyEvent((code, key) => events.push([KEY_EVENT_NAMES[code]!, Buffer.from(key).toString()]));
    const value = Buffer.alloc(8 * 1024, 1);
    for (let i = 0; i < 300; i++) await s.set(bytes(`k${i}`), value);
    const evicted = events.filter(([e]) => e === 'evict').map(([, k]) => k);
    expect(evicted.length).toBeGreaterThan(0);
    await s.sync();
    expect(await s.get(bytes(evicted[0]))).not.toBeNull();
    expect(events).toContainEqual(['restore', evicted[0]]);
  });
});
