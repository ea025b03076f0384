/**
 * A test double of ShardStore for the protocol tests: a Map with a settable clock, honouring the
 * contract of src/store/types.ts (times in ms, 0 = no expiry, a past time deletes, CAS increasing).
 * It is not the real store (src/store/shard-store.ts); the tests run against both where they can.
 */
import { type Collection, decodeCollection } from '../../src/engine/collections/index.js';
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
import { RespFramer, type RespFramerOptions } from '../../src/resp/framer.js';
import { planResp } from '../../src/resp/planner.js';
import { executeResp } from '../../src/resp/executor.js';
import type { ConnState, Plan } from '../../src/front/plan.js';
import { MemcacheFramer, type MemcacheFramerOptions } from '../../src/memcache/framer.js';
import { planMemcache } from '../../src/memcache/planner.js';
import { executeMemcache } from '../../src/memcache/executor.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64 = 2n ** 64n;

export class MapStoreDouble implements ShardStore {
  readonly map = new Map<string, Entry>();
  private casCounter = 0;
  now = 1_700_000_000_000;
  hits = 0;
  misses = 0;
  writes = 0;
  restored = new Set<string>();

  constructor(readonly shard = 0) {}

  get changes(): number {
    return this.writes;
  }

  /** a double in memory: nothing to wait for */
  settled(): Promise<void> | null {
    return null;
  }

  private k(key: Uint8Array): string {
    return Buffer.from(key).toString('latin1');
  }

  private live(key: Uint8Array): Entry | null {
    const e = this.map.get(this.k(key));
    if (!e) return null;
    if (e.expiresAt !== 0 && e.expiresAt <= this.now) {
      this.map.delete(this.k(key));
      return null;
    }
    return e;
  }

  private put(key: Uint8Array, value: Uint8Array, flags: number, expiresAt: number): number {
    const cas = ++this.casCounter;
    this.writes++;
    this.objs.delete(this.k(key));
    if (expiresAt !== 0 && expiresAt <= this.now) {
      this.map.delete(this.k(key));
      return cas;
    }
    this.map.set(this.k(key), { value: Buffer.from(value), flags, expiresAt, cas });
    return cas;
  }

  get(key: Uint8Array): Entry | null {
    const e = this.live(key);
    if (e) this.hits++;
    else this.misses++;
    const obj = e?.type ? this.objs.get(this.k(key)) : undefined;
    return obj === undefined ? e : { ...e, value: obj.encode() };
  }

  set(key: Uint8Array, value: Uint8Array, o: SetOptions = {}): SetResult {
    const cur = this.live(key);
    const result: SetResult = { status: 'stored', cas: 0 };
    if (o.returnOld) result.old = cur;
    if (o.mode === 'nx' && cur) result.status = 'not_stored';
    else if (o.mode === 'xx' && !cur) result.status = 'not_stored';
    else if (o.cas !== undefined && o.cas !== 0 && !cur) result.status = 'not_found';
    else if (o.cas !== undefined && o.cas !== 0 && cur!.cas !== o.cas) result.status = 'exists';
    if (result.status !== 'stored') return result;
    const exp = o.keepTtl ? (cur?.expiresAt ?? 0) : (o.expiresAt ?? 0);
    result.cas = this.put(key, value, o.flags ?? 0, exp);
    return result;
  }

  delete(key: Uint8Array): boolean {
    const had = this.live(key) !== null;
    this.map.delete(this.k(key));
    this.objs.delete(this.k(key));
    return had;
  }

  getdel(key: Uint8Array): Entry | null {
    const e = this.get(key);
    this.map.delete(this.k(key));
    this.objs.delete(this.k(key));
    return e;
  }

  exists(key: Uint8Array): boolean {
    return this.live(key) !== null;
  }

  expire(key: Uint8Array, expiresAt: number): boolean {
    const e = this.live(key);
    if (!e) return false;
    if (expiresAt === 0 || expiresAt <= this.now) this.map.delete(this.k(key));
    else e.expiresAt = expiresAt;
    return true;
  }

  persist(key: Uint8Array): boolean {
    const e = this.live(key);
    if (!e || e.expiresAt === 0) return false;
    e.expiresAt = 0;
    return true;
  }

  expireTime(key: Uint8Array): number {
    const e = this.live(key);
    if (!e) return -2;
    return e.expiresAt === 0 ? -1 : e.expiresAt;
  }

  touch(key: Uint8Array, expiresAt: number): Entry | null {
    const e = this.live(key);
    if (!e) return null;
    if (expiresAt !== 0 && expiresAt <= this.now) {
      this.map.delete(this.k(key));
      return e;
    }
    e.expiresAt = expiresAt;
    return { ...e };
  }

  incr(key: Uint8Array, delta: bigint, unsigned: boolean, create: boolean): IncrResult {
    const e = this.live(key);
    if (!e && !create) return { status: 'not_found' };
    const text = e ? e.value.toString('latin1') : '0';
    let v: bigint;
    if (unsigned) {
      if (!/^\d{1,20}$/.test(text) || BigInt(text) >= U64) return { status: 'not_integer' };
      v = BigInt(text) + delta;
      if (delta < 0n && v < 0n) v = 0n;
      v = ((v % U64) + U64) % U64;
    } else {
      if (!/^(0|-?[1-9]\d{0,18})$/.test(text)) return { status: 'not_integer' };
      const cur = BigInt(text);
      if (cur < I64_MIN || cur > I64_MAX) return { status: 'not_integer' };
      v = cur + delta;
      if (v < I64_MIN || v > I64_MAX) return { status: 'overflow' };
    }
    this.put(key, Buffer.from(v.toString()), e?.flags ?? 0, e?.expiresAt ?? 0);
    return { status: 'ok', value: v };
  }

  append(key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number {
    const e = this.live(key);
    if (!e && !create) return -1;
    const cur = e?.value ?? Buffer.alloc(0);
    const value = prepend ? Buffer.concat([bytes, cur]) : Buffer.concat([cur, bytes]);
    this.put(key, value, e?.flags ?? 0, e?.expiresAt ?? 0);
    return value.length;
  }

  update(key: Uint8Array, fn: (current: Entry | null) => UpdateAction): Entry | null {
    const cur = this.live(key);
    const action = fn(cur);
    if (action.op === 'delete') this.delete(key);
    else if (action.op === 'expire' && cur !== null) {
      if (action.expiresAt !== 0 && action.expiresAt <= this.now) this.delete(key);
      else cur.expiresAt = action.expiresAt;
      this.writes++;
    } else if (action.op === 'set') {
      this.put(key, action.value, action.flags ?? cur?.flags ?? 0, action.expiresAt ?? cur?.expiresAt ?? 0);
    }
    return cur;
  }

  /** collections by key (their entries in `map` carry the type; the value is encoded on get) */
  readonly objs = new Map<string, Collection>();

  typeOf(key: Uint8Array): number | null {
    const e = this.live(key);
    return e === null ? null : (e.type ?? 0);
  }

  readCollection<T extends Collection>(key: Uint8Array, type: number): T | null | WrongType {
    const e = this.live(key);
    if (e === null) return null;
    if ((e.type ?? 0) !== type) return WRONG_TYPE;
    let obj = this.objs.get(this.k(key));
    if (obj === undefined) {
      obj = decodeCollection(type, e.value);
      this.objs.set(this.k(key), obj);
    }
    return obj as T;
  }

  writeCollection<T extends Collection>(key: Uint8Array, type: number, create?: () => T): T | null | WrongType {
    const found = this.readCollection<T>(key, type);
    if (found !== null || create === undefined) return found;
    const obj = create();
    this.objs.set(this.k(key), obj);
    this.map.set(this.k(key), { value: Buffer.alloc(0), type, flags: 0, expiresAt: 0, cas: ++this.casCounter });
    return obj;
  }

  notifyKey(): void {}

  collectionChanged(key: Uint8Array): void {
    const k = this.k(key);
    const obj = this.objs.get(k);
    const e = this.map.get(k);
    this.writes++;
    if (obj === undefined || e === undefined) return;
    if (obj.size === 0) {
      this.map.delete(k);
      this.objs.delete(k);
      return;
    }
    e.cas = ++this.casCounter;
  }

  restore(key: Uint8Array): boolean {
    const ok = this.live(key) !== null;
    if (ok) this.restored.add(this.k(key));
    return ok;
  }

  /** cursor: the index of the next key in sorted order, as a decimal string. */
  async scan(cursor: string, count: number): Promise<ScanPage> {
    if (!/^\d+$/.test(cursor)) throw new Error(`bad cursor ${cursor}`);
    const keys = [...this.map.keys()].filter((k) => this.live(Buffer.from(k, 'latin1'))).sort();
    const start = Number(cursor);
    const page = keys.slice(start, start + count).map((k) => Buffer.from(k, 'latin1'));
    const next = start + count >= keys.length ? '0' : String(start + count);
    return { cursor: next, keys: page };
  }

  async count(): Promise<{ hot: number; cold: number; total: number }> {
    let n = 0;
    for (const k of [...this.map.keys()]) if (this.live(Buffer.from(k, 'latin1'))) n++;
    return { hot: n, cold: 0, total: n };
  }

  async randomKey(): Promise<Buffer | null> {
    const keys = [...this.map.keys()].filter((k) => this.live(Buffer.from(k, 'latin1')));
    return keys.length === 0 ? null : Buffer.from(keys[0], 'latin1');
  }

  async flush(): Promise<void> {
    this.map.clear();
  }

  stats(): ShardStats {
    let bytes = 0;
    for (const e of this.map.values()) bytes += e.value.length;
    return {
      shard: this.shard,
      hot: { items: this.map.size, bytes, maxBytes: 1 << 20 },
      cold: { items: 0, bytes: 0 },
      hits: { hot: this.hits, cold: 0 },
      misses: this.misses,
      evictions: { evicted: 0 },
      spills: 0,
      restores: this.restored.size,
      expirations: 0,
      writes: this.writes,
    };
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// A stand-in for the acceptor and shard hop: frame, plan, execute on the owning store, join.

type Exec = (store: ShardStore, raw: Buffer) => Promise<Buffer>;

export async function runPlan(plan: Plan, stores: readonly ShardStore[], exec: Exec): Promise<Buffer> {
  switch (plan.kind) {
    case 'local':
      return plan.reply;
    case 'shard':
      return exec(stores[plan.shard], plan.raw);
    case 'split':
      return plan.join(await Promise.all(plan.parts.map((p) => exec(stores[p.shard], p.raw))));
    case 'all':
      return plan.join(await Promise.all(stores.map((s) => exec(s, plan.raw))));
    case 'one': {
      const reply = await exec(stores[plan.shard], plan.raw);
      return plan.join ? plan.join(reply) : reply;
    }
    case 'chain':
      return runPlan(plan.next(await Promise.all(plan.parts.map((p) => exec(stores[p.shard], p.raw)))), stores, exec);
  }
}

export interface Session {
  /** sends bytes, returns every reply they produced (in order) and whether the connection closed. */
  send(bytes: string | Buffer): Promise<{ out: Buffer; closed: boolean }>;
  /** sends one command and returns its reply as latin1 text. */
  cmd(text: string | Buffer): Promise<string>;
}

function session(
  framer: { push(b: Buffer): void; next(): unknown },
  plan: (frame: never) => Plan,
  stores: readonly MapStoreDouble[] | readonly ShardStore[],
  exec: Exec,
): Session {
  let closed = false;
  const send = async (bytes: string | Buffer): Promise<{ out: Buffer; closed: boolean }> => {
    const out: Buffer[] = [];
    if (closed) return { out: Buffer.alloc(0), closed };
    framer.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    for (;;) {
      const frame = framer.next();
      if (frame === null) break;
      const p = plan(frame as never);
      out.push(await runPlan(p, stores, exec));
      if (p.kind === 'local' && p.close) {
        closed = true;
        break;
      }
    }
    return { out: Buffer.concat(out), closed };
  };
  return {
    send,
    cmd: async (text) => (await send(text)).out.toString('latin1'),
  };
}

export function respSession(conn: ConnState, stores: readonly ShardStore[], options: { framer?: RespFramerOptions; now?: () => number } = {}): Session {
  const framer = new RespFramer(options.framer);
  return session(
    framer,
    (f) => planResp(f, conn),
    stores,
    (s, raw) => executeResp(s, raw, { now: options.now }),
  );
}

export function memcacheSession(conn: ConnState, stores: readonly ShardStore[], options: { framer?: MemcacheFramerOptions; now?: () => number } = {}): Session {
  const framer = new MemcacheFramer(options.framer);
  return session(
    framer,
    (f) => planMemcache(f, conn),
    stores,
    (s, raw) => executeMemcache(s, raw, { now: options.now }),
  );
}

/** encodes a command as RESP multibulk. */
export function resp(...parts: (string | Buffer)[]): string {
  return (
    `*${parts.length}\r\n` +
    parts
      .map((p) => {
        const b = typeof p === 'string' ? Buffer.from(p) : p;
        return `$${b.length}\r\n${b.toString('latin1')}\r\n`;
      })
      .join('')
  );
}
