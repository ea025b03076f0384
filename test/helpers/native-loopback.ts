/**
 * TEST DOUBLES for the native protocol's unit tests (their own tests: test/unit/native-loopback.test.ts):
 *
 * - MapShardStoreDouble: a small Map-backed implementation of the ShardStore interface, standing in
 *   for the real two-tier store (src/store/) so the executor can be tested before that store exists.
 *   It is NOT a store: no memory budget, no disk tier, no sharing; just the contract's semantics.
 * - startLoopbackAcceptor: a minimal in-process acceptor (node:net + FrameReader + NativeSession +
 *   handleNativeFrame over N doubles), so the SDK's unit tests run without the real server. The real
 *   acceptor (src/server/) is tested by test/functional/client.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { encodeRequest, type FrameError, FrameReader } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { NativeRouter } from '../../src/native/router.js';
import { handleNativeFrame } from '../../src/native/execute.js';
import { mergeBroadcastReplies } from '../../src/native/merge.js';
import { NativeSession, ROUTE_BROADCAST, ROUTE_CLOSE, ROUTE_REPLY } from '../../src/native/session.js';
import {
  type Entry,
  type IncrResult,
  type ScanPage,
  type SetOptions,
  type SetResult,
  type ShardStats,
  type ShardStore,
  type UpdateAction,
  WRONG_TYPE,
  type WrongType,
} from '../../src/store/types.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

interface Item {
  key: Buffer;
  value: Buffer;
  flags: number;
  expiresAt: number;
  cas: number;
}

/** Test double of ShardStore over a Map (see the file header). */
export class MapShardStoreDouble implements ShardStore {
  readonly shard: number;
  now: () => number;
  private readonly items = new Map<string, Item>();
  private casCounter = 0;
  private hits = 0;
  private misses = 0;
  private writes = 0;

  /** strings only: the native protocol's tests use no collections (the real store and the RESP double do) */
  typeOf(key: Uint8Array): number | null {
    return this.exists(key) ? 0 : null;
  }
  readCollection(key: Uint8Array): null | WrongType {
    return this.exists(key) ? WRONG_TYPE : null;
  }
  writeCollection(key: Uint8Array): null | WrongType {
    return this.readCollection(key);
  }
  collectionChanged(): void {}
  notifyKey(): void {}

  constructor(shard = 0, now: () => number = Date.now) {
    this.shard = shard;
    this.now = now;
  }

  get changes(): number {
    return this.writes;
  }

  /** a double in memory: nothing to wait for */
  settled(): Promise<void> | null {
    return null;
  }

  private live(key: Uint8Array): Item | null {
    const id = Buffer.from(key).toString('hex');
    const item = this.items.get(id);
    if (!item) return null;
    if (item.expiresAt !== 0 && item.expiresAt <= this.now()) {
      this.items.delete(id);
      return null;
    }
    return item;
  }

  private entry(item: Item): Entry {
    return { value: Buffer.from(item.value), flags: item.flags, expiresAt: item.expiresAt, cas: item.cas };
  }

  private put(key: Uint8Array, value: Uint8Array, flags: number, expiresAt: number): Item | null {
    const id = Buffer.from(key).toString('hex');
    if (expiresAt !== 0 && expiresAt <= this.now()) {
      this.items.delete(id);
      return null;
    }
    const item = { key: Buffer.from(key), value: Buffer.from(value), flags, expiresAt, cas: ++this.casCounter };
    this.items.set(id, item);
    this.writes++;
    return item;
  }

  get(key: Uint8Array): Entry | null {
    const item = this.live(key);
    if (item) this.hits++;
    else this.misses++;
    return item ? this.entry(item) : null;
  }

  set(key: Uint8Array, value: Uint8Array, options: SetOptions = {}): SetResult {
    const current = this.live(key);
    const old = options.returnOld ? (current ? this.entry(current) : null) : undefined;
    const result = (status: SetResult['status'], cas: number): SetResult => (old === undefined ? { status, cas } : { status, cas, old });
    if (options.cas !== undefined) {
      if (!current) return result('not_found', 0);
      if (current.cas !== options.cas) return result('exists', 0);
    }
    if (options.mode === 'nx' && current) return result('not_stored', 0);
    if (options.mode === 'xx' && !current) return result('not_stored', 0);
    const expiresAt = options.keepTtl ? (current?.expiresAt ?? 0) : (options.expiresAt ?? 0);
    const item = this.put(key, value, options.flags ?? 0, expiresAt);
    return result('stored', item?.cas ?? 0);
  }

  delete(key: Uint8Array): boolean {
    const item = this.live(key);
    if (!item) return false;
    this.items.delete(Buffer.from(key).toString('hex'));
    return true;
  }

  getdel(key: Uint8Array): Entry | null {
    const item = this.live(key);
    if (!item) return null;
    this.items.delete(Buffer.from(key).toString('hex'));
    return this.entry(item);
  }

  exists(key: Uint8Array): boolean {
    return this.live(key) !== null;
  }

  expire(key: Uint8Array, expiresAt: number): boolean {
    const item = this.live(key);
    if (!item) return false;
    if (expiresAt <= this.now()) {
      this.items.delete(Buffer.from(key).toString('hex'));
      return true;
    }
    item.expiresAt = expiresAt;
    return true;
  }

  persist(key: Uint8Array): boolean {
    const item = this.live(key);
    if (!item || item.expiresAt === 0) return false;
    item.expiresAt = 0;
    return true;
  }

  expireTime(key: Uint8Array): number {
    const item = this.live(key);
    if (!item) return -2;
    return item.expiresAt === 0 ? -1 : item.expiresAt;
  }

  touch(key: Uint8Array, expiresAt: number): Entry | null {
    const item = this.live(key);
    if (!item) return null;
    if (expiresAt !== 0 && expiresAt <= this.now()) {
      this.items.delete(Buffer.from(key).toString('hex'));
      return null;
    }
    item.expiresAt = expiresAt;
    return this.entry(item);
  }

  incr(key: Uint8Array, delta: bigint, unsigned: boolean, create: boolean): IncrResult {
    const item = this.live(key);
    if (!item && !create) return { status: 'not_found' };
    let current = 0n;
    if (item) {
      const text = item.value.toString('latin1');
      if (!(unsigned ? /^[0-9]+$/ : /^-?[0-9]+$/).test(text) || text.length > 20) return { status: 'not_integer' };
      current = BigInt(text);
      if (unsigned ? current > U64_MAX : current < I64_MIN || current > I64_MAX) return { status: 'not_integer' };
    }
    let next = current + delta;
    if (unsigned) {
      if (next < 0n) next = 0n;
      if (next > U64_MAX) next &= U64_MAX;
    } else if (next < I64_MIN || next > I64_MAX) {
      return { status: 'overflow' };
    }
    this.put(key, Buffer.from(next.toString()), item?.flags ?? 0, item?.expiresAt ?? 0);
    return { status: 'ok', value: next };
  }

  append(key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number {
    const item = this.live(key);
    if (!item && !create) return -1;
    const old = item?.value ?? Buffer.alloc(0);
    const value = prepend ? Buffer.concat([bytes, old]) : Buffer.concat([old, bytes]);
    this.put(key, value, item?.flags ?? 0, item?.expiresAt ?? 0);
    return value.length;
  }

  update(key: Uint8Array, fn: (current: Entry | null) => UpdateAction): Entry | null {
    const item = this.live(key);
    const seen = item ? this.entry(item) : null;
    const action = fn(seen);
    if (action.op === 'delete') this.items.delete(Buffer.from(key).toString('hex'));
    else if (action.op === 'set') this.put(key, action.value, action.flags ?? 0, action.expiresAt ?? 0);
    return seen;
  }

  restore(key: Uint8Array): boolean {
    return this.live(key) !== null;
  }

  /** Cursor: 'k' + the hex of the last key returned; pages walk the keys in sorted order. */
  async scan(cursor: string, count: number): Promise<ScanPage> {
    const after = cursor === '0' ? '' : cursor.slice(1);
    const ids = [...this.items.keys()].filter((id) => id > after || (after === '' && cursor === '0')).sort();
    const keys: Buffer[] = [];
    let last = '';
    for (const id of ids) {
      if (keys.length >= count) break;
      const item = this.live(Buffer.from(id, 'hex'));
      last = id;
      if (item) keys.push(Buffer.from(item.key));
    }
    const done = ids.length === 0 || last === ids[ids.length - 1];
    return { cursor: done ? '0' : `k${last}`, keys };
  }

  async count(): Promise<{ hot: number; cold: number; total: number }> {
    let n = 0;
    for (const item of [...this.items.values()]) if (this.live(item.key)) n++;
    return { hot: n, cold: 0, total: n };
  }

  async randomKey(): Promise<Buffer | null> {
    const first = this.items.values().next();
    return first.done ? null : Buffer.from(first.value.key);
  }

  async flush(): Promise<void> {
    this.items.clear();
  }

  stats(): ShardStats {
    let bytes = 0;
    for (const item of this.items.values()) bytes += item.key.length + item.value.length;
    return {
      shard: this.shard,
      hot: { items: this.items.size, bytes, maxBytes: 1 << 30 },
      cold: { items: 0, bytes: 0 },
      hits: { hot: this.hits, cold: 0 },
      misses: this.misses,
      evictions: {},
      spills: 0,
      restores: 0,
      expirations: 0,
      writes: this.writes,
    };
  }

  async close(): Promise<void> {}
}

export interface LoopbackAcceptor {
  port: number;
  stores: MapShardStoreDouble[];
  /** live client sockets */
  sockets: Set<Socket>;
  /** stop accepting and drop every connection */
  stop(): Promise<void>;
  /** frames received, for assertions on batching: one entry per 'data' event with its frame count */
  dataEvents: number[];
  /** replies sent to requests that reached a store (after `delayMs`): what a client may have seen by now */
  readonly answered: number;
}

/** Test double of the acceptor (see the file header). */
export async function startLoopbackAcceptor(
  options: { shards?: number; password?: string; port?: number; stores?: MapShardStoreDouble[]; delayMs?: number } = {},
): Promise<LoopbackAcceptor> {
  const shards = options.shards ?? 4;
  const stores = options.stores ?? Array.from({ length: shards }, (_, i) => new MapShardStoreDouble(i));
  const sockets = new Set<Socket>();
  const dataEvents: number[] = [];
  let answered = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader();
    const session = new NativeSession({ serverVersion: '0.0.0-test', shards, password: options.password ?? null });
    const send = (bytes: Uint8Array) => {
      if (!socket.destroyed) socket.write(bytes);
    };
    socket.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      let frames = 0;
      for (;;) {
        let frame;
        try {
          frame = reader.next();
        } catch (err) {
          const route = session.frameError(err as FrameError);
          send(session.reply!);
          if (route === ROUTE_CLOSE) {
            socket.end();
            return;
          }
          continue;
        }
        if (!frame) break;
        frames++;
        const route = session.route(frame);
        if (route === ROUTE_REPLY || route === ROUTE_CLOSE) {
          send(session.reply!);
          if (route === ROUTE_CLOSE) {
            socket.end();
            return;
          }
          continue;
        }
        const bytes = frame.bytes.slice();
        const opcode = frame.opcode;
        const requestId = frame.requestId;
        const run = async () => {
          if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
          if (route === ROUTE_BROADCAST) {
            const replies = await Promise.all(stores.map((store, i) => handleNativeFrame(store, i, shards, bytes)));
            send(mergeBroadcastReplies(opcode, requestId, replies));
          } else {
            send(await handleNativeFrame(stores[route], route, shards, bytes));
          }
          answered++;
        };
        void run();
      }
      dataEvents.push(frames);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stores,
    sockets,
    dataEvents,
    get answered() {
      return answered;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- the doubles' own checks -------------------------------------------------------------------

/** One message a NativeRouter handed its backend. */
export interface SentMessage {
  shard: number;
  kind: number;
  seq: number;
  /** the request frame's opcode (payload byte 4) */
  opcode: number;
}

/**
 * A NativeRouter over a recording backend, past its HELLO: what it sends to shards and what it
 * writes to its client, for the router's unit tests. `readOnly`: it serves a read-only replica.
 */
export function handshakenRouter(options: { shards?: number; readOnly?: boolean } = {}): {
  router: NativeRouter;
  sent: SentMessage[];
  /** the opcode of each message sent, in order */
  opcodes: number[];
  written: Uint8Array[];
} {
  const shards = options.shards ?? 1;
  const sent: SentMessage[] = [];
  const opcodes: number[] = [];
  const written: Uint8Array[] = [];
  const router = new NativeRouter(
    1,
    {
      shards,
      send: (shard, kind, _conn, seq, payload) => {
        sent.push({ shard, kind, seq, opcode: payload[4] });
        opcodes.push(payload[4]);
      },
    },
    { serverVersion: '0.0.0', shards },
    { write: (bytes) => written.push(bytes), end: () => undefined },
    null,
    null,
    options.readOnly === undefined ? null : () => options.readOnly === true,
  );
  router.onData(encodeRequest(Opcode.HELLO, 1, new Uint8Array(0), [{ version: 1 }]));
  written.length = 0;
  return { router, sent, opcodes, written };
}
