/**
 * Collections over the native protocol, on the real two-tier store: GETMETA answers a collection's
 * encoded bytes with its type, and SET / MSET with the `type` option write a collection whole from
 * such bytes (what a replica, an import and a move send), after checking the bytes are one.
 */
import { Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { HashValue, ListValue, SetValue, TYPE_NAMES, ValueType } from '../../src/engine/collections/index.js';
import { ErrorCode } from '../../src/errors.js';
import { handleNativeFrame } from '../../src/native/execute.js';
import { encodeRequest, Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import type { TieredShardStore } from '../../src/store/shard-store.js';
import { WRONG_TYPE } from '../../src/store/types.js';
import { closeStores, openStore, tempDir } from '../helpers/temp-store.js';

afterEach(closeStores);

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const b = (s: string): Buffer => Buffer.from(s);
let nextId = 1;

async function call(store: TieredShardStore, opcode: number, key: string, args: unknown[] = []): Promise<{ status: number; value: unknown }> {
  const reply = await handleNativeFrame(store, 0, 1, encodeRequest(opcode, nextId++, b(key), args));
  return { status: reply[4], value: unpackr.unpack(reply.subarray(9)) as unknown };
}

async function ok(store: TieredShardStore, opcode: number, key: string, args: unknown[] = []): Promise<unknown> {
  const r = await call(store, opcode, key, args);
  if (r.status !== Status.OK) throw new Error(`expected OK, got ${JSON.stringify(r.value)}`);
  return r.value;
}

async function refused(store: TieredShardStore, opcode: number, key: string, args: unknown[]): Promise<string> {
  const r = await call(store, opcode, key, args);
  expect(r.status).toBe(Status.ERROR);
  const [code, message] = r.value as [string, string];
  expect(code).toBe(ErrorCode.BAD_ARGUMENT);
  return message;
}

function hash(...pairs: string[]): HashValue {
  const h = new HashValue();
  for (let i = 0; i < pairs.length; i += 2) h.set(pairs[i], pairs[i + 1]);
  return h;
}

/** the hash at key holds exactly these fields */
function expectHash(store: TieredShardStore, key: string, want: Record<string, string>): void {
  const h = store.readCollection<HashValue>(b(key), ValueType.HASH);
  if (h === null || h === WRONG_TYPE) throw new Error(`no hash at ${key}: ${String(h)}`);
  expect(h.size).toBe(Object.keys(want).length);
  for (const [f, v] of Object.entries(want)) expect(h.get(f)).toBe(v);
}

describe('native SET / MSET with a type, GETMETA of a collection', () => {
  it('GETMETA gives a hash as its encoding and type; SET {type} of those bytes makes the same hash elsewhere, with expiry and flags', async () => {
    const store = await openStore({ dir: tempDir() });
    const expiresAt = Date.now() + 3_600_000;
    expect(await ok(store, Opcode.SET, 'src', [hash('a', '1', 'b', '2').encode(), { type: ValueType.HASH, expiresAt, flags: 7 }])).toEqual([
      'stored',
      expect.any(Number),
    ]);
    const meta = (await ok(store, Opcode.GETMETA, 'src')) as { value: Uint8Array; type: number; expiresAt: number; flags: number };
    expect(meta.type).toBe(ValueType.HASH);
    expect(meta.expiresAt).toBe(expiresAt);
    expect(meta.flags).toBe(7);
    expectHash(store, 'src', { a: '1', b: '2' });

    // a string key is replaced by the collection, as a copy replaces whatever the target held
    store.set(b('dst'), b('a string'));
    await ok(store, Opcode.SET, 'dst', [meta.value, { type: meta.type, expiresAt: meta.expiresAt }]);
    expect(store.typeOf(b('dst'))).toBe(ValueType.HASH);
    expectHash(store, 'dst', { a: '1', b: '2' });
    expect(store.get(b('dst'))?.expiresAt).toBe(expiresAt);

    // nx keeps what is there
    expect(await ok(store, Opcode.SET, 'dst', [hash('z', '9').encode(), { type: ValueType.HASH, nx: true }])).toEqual(['not_stored', 0]);
    expectHash(store, 'dst', { a: '1', b: '2' });
    // a string GETMETA has no type field
    store.set(b('str'), b('v'));
    expect(Object.keys((await ok(store, Opcode.GETMETA, 'str')) as object).sort()).toEqual(['cas', 'expiresAt', 'flags', 'value']);
  });

  it('MSET {type} writes every value as a collection of that type', async () => {
    const store = await openStore({ dir: tempDir() });
    const s1 = new SetValue();
    s1.add('x');
    s1.add('y');
    const s2 = new SetValue();
    s2.add('z');
    expect(await ok(store, Opcode.MSET, 's1', [[b('s1'), s1.encode(), b('s2'), s2.encode()], { type: ValueType.SET }])).toBe(2);
    expect(store.typeOf(b('s1'))).toBe(ValueType.SET);
    expect(store.typeOf(b('s2'))).toBe(ValueType.SET);
    const got = store.readCollection<SetValue>(b('s1'), ValueType.SET);
    if (got === null || got === WRONG_TYPE) throw new Error('no set');
    expect(got.size).toBe(2);
    expect(got.has('x') && got.has('y')).toBe(true);
  });

  it('refuses a type that is no collection, bytes that are not its encoding, an empty one, and cas / returnOld with a type', async () => {
    const store = await openStore({ dir: tempDir() });
    const h = hash('f', 'v').encode();
    expect(await refused(store, Opcode.SET, 'k', [h, { type: 9 }])).toMatch(new RegExp(`type must be between 0 and ${TYPE_NAMES.length - 1}`));
    expect(await refused(store, Opcode.SET, 'k', [b('not a hash'), { type: ValueType.HASH }])).toMatch(/not a hash's encoding/);
    expect(await refused(store, Opcode.SET, 'k', [Buffer.concat([h, b('x')]), { type: ValueType.HASH }])).toMatch(/not a hash's encoding/);
    expect(await refused(store, Opcode.SET, 'k', [h.subarray(0, h.length - 3), { type: ValueType.HASH }])).toMatch(/not a hash's encoding/);
    expect(await refused(store, Opcode.SET, 'k', [new HashValue().encode(), { type: ValueType.HASH }])).toMatch(/empty hash/);
    expect(await refused(store, Opcode.SET, 'k', [h, { type: ValueType.HASH, cas: 1 }])).toMatch(/type excludes cas/);
    expect(await refused(store, Opcode.SET, 'k', [h, { type: ValueType.HASH, returnOld: true }])).toMatch(/type excludes returnOld/);
    // one bad value refuses the whole MSET frame before anything is written
    const l = new ListValue();
    l.push('e', false);
    expect(await refused(store, Opcode.MSET, 'a', [[b('a'), l.encode(), b('b'), b('junk')], { type: ValueType.LIST }])).toMatch(
      /value 1 is not a list's encoding/,
    );
    expect(store.exists(b('a'))).toBe(false);
    expect(store.exists(b('k'))).toBe(false);
    // type 0 is a string, as without the option
    await ok(store, Opcode.SET, 'k', [b('plain'), { type: 0 }]);
    expect(store.typeOf(b('k'))).toBe(0);
  });
});
