/**
 * RENAME, RENAMENX, COPY and OBJECT ENCODING: the command core on one shard, and the steps the
 * acceptor takes when the two keys live on two shards (run here by hand on two real tiered stores,
 * with another client's write between the steps).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as C from '../../src/commands/index.js';
import { shardOf } from '../../src/hash.js';
import { createConnState, type Plan } from '../../src/front/plan.js';
import { executeResp } from '../../src/resp/executor.js';
import { RespFramer } from '../../src/resp/framer.js';
import { planResp } from '../../src/resp/planner.js';
import { TieredShardStore } from '../../src/store/shard-store.js';
import { resp } from './resp-store-double.js';

const NOW = 1_700_000_000_000;
const dirs: string[] = [];
const stores: TieredShardStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openStore(shard: number): Promise<TieredShardStore> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-rename-'));
  dirs.push(dir);
  const store = await TieredShardStore.open({ shard, dir, maxMemory: 1 << 20, clock: () => NOW });
  stores.push(store);
  return store;
}

async function context(): Promise<C.CommandContext> {
  const ctx = C.createContext(await openStore(0), 1 << 20);
  ctx.now = NOW;
  return ctx;
}

const k = (s: string): Buffer => Buffer.from(s);
const text = (e: { value: Uint8Array } | null): string | null => (e === null ? null : Buffer.from(e.value).toString());

describe('command core: rename, copy, encoding', () => {
  it('rename moves the value with its expiry and flags, under a new CAS', async () => {
    const ctx = await context();
    const first = C.set(ctx, { key: k('a'), value: k('v'), flags: 42, expiresAt: NOW + 5_000 });
    expect(C.rename(ctx, k('a'), k('b'), false)).toBe('done');
    expect(C.get(ctx, k('a'))).toBeNull();
    const b = C.get(ctx, k('b'))!;
    expect([text(b), b.flags, b.expiresAt]).toEqual(['v', 42, NOW + 5_000]);
    expect(b.cas).toBeGreaterThan(first.cas);
    // onto an existing key: replaced, its own expiry gone with it
    C.set(ctx, { key: k('c'), value: k('old'), expiresAt: NOW + 1_000 });
    C.set(ctx, { key: k('d'), value: k('new') });
    expect(C.rename(ctx, k('d'), k('c'), false)).toBe('done');
    expect([text(C.get(ctx, k('c'))), C.expireTime(ctx, k('c'))]).toEqual(['new', -1]);
  });

  it('renamenx, a key renamed to itself, a missing source', async () => {
    const ctx = await context();
    C.set(ctx, { key: k('a'), value: k('1') });
    C.set(ctx, { key: k('b'), value: k('2') });
    expect(C.rename(ctx, k('a'), k('b'), true)).toBe('exists');
    expect([text(C.get(ctx, k('a'))), text(C.get(ctx, k('b')))]).toEqual(['1', '2']);
    expect(C.rename(ctx, k('a'), k('c'), true)).toBe('done');
    expect(C.rename(ctx, k('c'), k('c'), false)).toBe('same');
    expect(C.rename(ctx, k('c'), k('c'), true)).toBe('same');
    expect(text(C.get(ctx, k('c')))).toBe('1');
    expect(C.rename(ctx, k('a'), k('a'), false)).toBe('missing');
    expect(C.rename(ctx, k('a'), k('z'), true)).toBe('missing');
    expect(C.get(ctx, k('z'))).toBeNull();
  });

  it('copy keeps the source; replace, same key (checked first), missing source', async () => {
    const ctx = await context();
    C.set(ctx, { key: k('a'), value: k('1'), flags: 9, expiresAt: NOW + 7_000 });
    C.set(ctx, { key: k('b'), value: k('2') });
    expect(C.copy(ctx, k('a'), k('a'), false)).toBe('same');
    expect(C.copy(ctx, k('none'), k('none'), false)).toBe('same');
    expect(C.copy(ctx, k('a'), k('b'), false)).toBe('exists');
    expect(text(C.get(ctx, k('b')))).toBe('2');
    expect(C.copy(ctx, k('a'), k('b'), true)).toBe('done');
    const a = C.get(ctx, k('a'))!;
    const b = C.get(ctx, k('b'))!;
    expect([text(b), b.flags, b.expiresAt]).toEqual(['1', 9, NOW + 7_000]);
    expect(text(a)).toBe('1');
    expect(b.cas).not.toBe(a.cas);
    expect(C.copy(ctx, k('none'), k('c'), true)).toBe('missing');
    expect(C.get(ctx, k('c'))).toBeNull();
  });

  it('put writes an entry read elsewhere; an expiry already past writes nothing but counts', async () => {
    const ctx = await context();
    expect(C.put(ctx, k('a'), { value: k('x'), flags: 3, expiresAt: NOW + 1 }, true)).toBe(true);
    expect(C.put(ctx, k('a'), { value: k('y'), flags: 0, expiresAt: 0 }, true)).toBe(false);
    expect(text(C.get(ctx, k('a')))).toBe('x');
    // as if written, then expired: the destination is gone
    expect(C.put(ctx, k('a'), { value: k('y'), flags: 0, expiresAt: NOW - 1 }, false)).toBe(true);
    expect(C.get(ctx, k('a'))).toBeNull();
  });

  it('delIfUnchanged deletes only the entry that was read: not after a new value or a new expiry', async () => {
    const ctx = await context();
    C.set(ctx, { key: k('a'), value: k('1'), expiresAt: NOW + 1_000 });
    const read = C.get(ctx, k('a'))!;
    C.set(ctx, { key: k('a'), value: k('2'), keepTtl: true });
    expect(C.delIfUnchanged(ctx, k('a'), read.cas, read.expiresAt)).toBe(false);
    const again = C.get(ctx, k('a'))!;
    C.expire(ctx, k('a'), NOW + 2_000, C.ExpireIf.ALWAYS);
    expect(C.delIfUnchanged(ctx, k('a'), again.cas, again.expiresAt)).toBe(false);
    expect(text(C.get(ctx, k('a')))).toBe('2');
    expect(C.delIfUnchanged(ctx, k('a'), again.cas, NOW + 2_000)).toBe(true);
    expect(C.get(ctx, k('a'))).toBeNull();
    expect(C.delIfUnchanged(ctx, k('a'), again.cas, NOW + 2_000)).toBe(false);
  });

  it('encoding: raw for any string (a counter too), null for a missing key', async () => {
    const ctx = await context();
    C.set(ctx, { key: k('s'), value: k('text') });
    C.incrBy(ctx, k('n'), 5n);
    expect(C.encoding(ctx, k('s'))).toBe('raw');
    expect(C.encoding(ctx, k('n'))).toBe('raw');
    expect(C.encoding(ctx, k('none'))).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Across two shards: the acceptor's plan, its steps run on two real stores.

function planOf(...parts: string[]): Plan {
  const f = new RespFramer();
  f.push(Buffer.from(resp(...parts), 'latin1'));
  const frame = f.next();
  if (frame?.type !== 'command') throw new Error('no command');
  return planResp(frame, createConnState(1, 2));
}

/** a key on the other shard (of 2) than `key` */
function across(key: string): string {
  const home = shardOf(Buffer.from(key), 2);
  for (let i = 0; ; i++) if (shardOf(Buffer.from(`${key}-${i}`), 2) !== home) return `${key}-${i}`;
}

const exec = async (store: TieredShardStore, raw: Buffer): Promise<Buffer> => executeResp(store, raw, { now: () => NOW });

/** runs a plan to its reply; `between(step)` runs before each later step of a chain (another client) */
async function run(plan: Plan, shards: TieredShardStore[], between: (step: number) => Promise<void> = async () => {}, step = 0): Promise<string> {
  switch (plan.kind) {
    case 'local':
      return plan.reply.toString('latin1');
    case 'shard':
      return (await exec(shards[plan.shard], plan.raw)).toString('latin1');
    case 'one': {
      const reply = await exec(shards[plan.shard], plan.raw);
      return (plan.join ? plan.join(reply) : reply).toString('latin1');
    }
    case 'chain': {
      const replies = await Promise.all(plan.parts.map((p) => exec(shards[p.shard], p.raw)));
      await between(step + 1);
      return run(plan.next(replies), shards, between, step + 1);
    }
    default:
      throw new Error(`unexpected plan ${plan.kind}`);
  }
}

describe('RENAME / RENAMENX / COPY across shards', () => {
  async function twoShards(): Promise<TieredShardStore[]> {
    return [await openStore(0), await openStore(1)];
  }
  const src = 'src';
  const dst = across(src);
  const home = shardOf(Buffer.from(src), 2);
  const other = 1 - home;

  it('plans a chain for keys on two shards, one shard command for keys on one', () => {
    expect(planOf('RENAME', src, dst).kind).toBe('chain');
    expect(planOf('RENAME', src, src).kind).toBe('shard');
    // COPY's options are checked before any step
    expect(planOf('COPY', src, dst, 'DB', '1')).toMatchObject({ kind: 'local', reply: Buffer.from('-ERR DB index is out of range\r\n') });
    expect(planOf('COPY', src, dst, 'NOPE')).toMatchObject({ kind: 'local', reply: Buffer.from('-ERR syntax error\r\n') });
  });

  it('RENAME moves value, expiry and flags to the other shard and deletes the source', async () => {
    const shards = await twoShards();
    C.set(C.createContext(shards[home], 1 << 20), { key: k(src), value: k('v'), flags: 77, expiresAt: NOW + 9_000 });
    expect(await run(planOf('RENAME', src, dst), shards)).toBe('+OK\r\n');
    expect(shards[home].get(k(src))).toBeNull();
    const moved = shards[other].get(k(dst))!;
    expect([text(moved), moved.flags, moved.expiresAt]).toEqual(['v', 77, NOW + 9_000]);
    expect(await run(planOf('RENAME', src, dst), shards)).toBe('-ERR no such key\r\n');
    expect(await run(planOf('RENAMENX', src, dst), shards)).toBe('-ERR no such key\r\n');
    expect(await run(planOf('COPY', src, dst), shards)).toBe(':0\r\n');
  });

  it('RENAMENX and COPY onto an existing key answer 0 and change nothing; COPY REPLACE replaces', async () => {
    const shards = await twoShards();
    shards[home].set(k(src), k('mine'));
    shards[other].set(k(dst), k('theirs'));
    expect(await run(planOf('RENAMENX', src, dst), shards)).toBe(':0\r\n');
    expect(await run(planOf('COPY', src, dst), shards)).toBe(':0\r\n');
    expect([text(shards[home].get(k(src))), text(shards[other].get(k(dst)))]).toEqual(['mine', 'theirs']);
    expect(await run(planOf('COPY', src, dst, 'REPLACE', 'DB', '0'), shards)).toBe(':1\r\n');
    expect([text(shards[home].get(k(src))), text(shards[other].get(k(dst)))]).toEqual(['mine', 'mine']);
    shards[other].delete(k(dst));
    expect(await run(planOf('RENAMENX', src, dst), shards)).toBe(':1\r\n');
    expect([shards[home].get(k(src)), text(shards[other].get(k(dst)))]).toEqual([null, 'mine']);
  });

  it('a write to the source between the steps is kept: the source is deleted only if unchanged', async () => {
    const shards = await twoShards();
    shards[home].set(k(src), k('first'));
    // another client writes the source after it was read, before it is deleted
    const reply = await run(planOf('RENAME', src, dst), shards, async (step) => {
      if (step === 1) shards[home].set(k(src), k('second'));
    });
    expect(reply).toBe('+OK\r\n');
    expect(text(shards[other].get(k(dst)))).toBe('first');
    expect(text(shards[home].get(k(src)))).toBe('second');
    // a new expiry on the source (which keeps its CAS) also keeps it
    shards[home].set(k(src), k('third'));
    await run(planOf('RENAME', src, dst), shards, async (step) => {
      if (step === 1) shards[home].expire(k(src), NOW + 60_000);
    });
    expect(text(shards[home].get(k(src)))).toBe('third');
    expect(text(shards[other].get(k(dst)))).toBe('third');
  });
});
