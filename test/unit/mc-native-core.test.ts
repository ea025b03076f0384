/**
 * memcached and the native protocol on the command core: what the port changed beyond the existing
 * per-protocol suites. One flush for every protocol (a native FLUSH cancels a pending memcached
 * `flush_all <delay>`), the read-only replica's writes taken from the command table (native RESTORE is
 * a write, as CAIRN.RESTORE is over RESP), and the route-key rule shared by the acceptor's reader and
 * a shard's frame parse.
 */
import { Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MEMCACHE_KEYS, MEMCACHE_WRITES, NATIVE_WRITES } from '../../src/commands/table.js';
import { ErrorCode } from '../../src/errors.js';
import { executeMemcache } from '../../src/memcache/executor.js';
import { handleNativeFrame } from '../../src/native/execute.js';
import { encodeRequest, FrameError, FrameReader, parseRequestFrame, Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { handshakenRouter, MapShardStoreDouble } from '../helpers/native-loopback.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const b = (s: string) => Buffer.from(s);

async function native(store: MapShardStoreDouble, opcode: number, key: string, args: unknown[] = []) {
  const reply = await handleNativeFrame(store, 0, 1, encodeRequest(opcode, 1, b(key), args));
  return { status: reply[4], value: unpackr.unpack(reply.subarray(9)) as unknown };
}

describe('one flush for every protocol', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a native FLUSH cancels a pending memcached flush_all <delay>', async () => {
    vi.useFakeTimers();
    const store = new MapShardStoreDouble(0);
    expect((await executeMemcache(store, b('flush_all 2\r\n'))).toString()).toBe('OK\r\n');
    expect((await native(store, Opcode.FLUSH, '')).value).toBe(true);
    await native(store, Opcode.SET, 'k', [b('v')]);
    // past the memcached deadline: the cancelled flush must not run
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await native(store, Opcode.EXISTS, 'k')).value).toBe(true);
    // a newer memcached flush_all with a delay still runs at its deadline
    expect((await executeMemcache(store, b('flush_all 1\r\n'))).toString()).toBe('OK\r\n');
    await vi.advanceTimersByTimeAsync(1_500);
    expect((await native(store, Opcode.EXISTS, 'k')).value).toBe(false);
  });
});

describe('the read-only replica refuses the command table writes', () => {
  function router(readOnly: boolean) {
    const { router: r, opcodes: sent, written } = handshakenRouter({ readOnly });
    return { r, sent, written };
  }

  it('native RESTORE, SET and DEL are refused with READONLY; GET and TTL go to the shard', () => {
    const { r, sent, written } = router(true);
    for (const op of [Opcode.RESTORE, Opcode.SET, Opcode.DEL]) r.onData(encodeRequest(op, 7, b('k'), op === Opcode.SET ? [b('v')] : []));
    expect(written).toHaveLength(3);
    for (const w of written) {
      expect(w[4]).toBe(Status.ERROR);
      expect((unpackr.unpack(w.subarray(9)) as string[])[0]).toBe(ErrorCode.READONLY);
    }
    r.onData(encodeRequest(Opcode.GET, 8, b('k')));
    r.onData(encodeRequest(Opcode.TTL, 9, b('k')));
    expect(sent).toEqual([Opcode.GET, Opcode.TTL]);
  });

  it('a primary forwards RESTORE', () => {
    const { r, sent, written } = router(false);
    r.onData(encodeRequest(Opcode.RESTORE, 7, b('k')));
    expect(written).toHaveLength(0);
    expect(sent).toEqual([Opcode.RESTORE]);
  });

  it('the write lists and key positions derive from the table', () => {
    expect([...MEMCACHE_WRITES].sort()).toEqual(
      ['add', 'append', 'cas', 'decr', 'delete', 'flush_all', 'gat', 'gats', 'incr', 'prepend', 'replace', 'set', 'touch'].sort(),
    );
    const writes = [...NATIVE_WRITES.keys()].filter((op) => NATIVE_WRITES[op] === 1);
    expect(writes).toEqual([
      Opcode.SET,
      Opcode.DEL,
      Opcode.EXPIRE,
      Opcode.PERSIST,
      Opcode.TOUCH,
      Opcode.INCR,
      Opcode.DECR,
      Opcode.APPEND,
      Opcode.PREPEND,
      Opcode.GETDEL,
      Opcode.RESTORE,
      Opcode.MSET,
      Opcode.MDEL,
      Opcode.FLUSH,
    ]);
    expect(MEMCACHE_KEYS.get('gat')).toEqual({ first: 2, multi: true });
    expect(MEMCACHE_KEYS.get('gets')).toEqual({ first: 1, multi: true });
    expect(MEMCACHE_KEYS.get('delete')).toEqual({ first: 1, multi: false });
    expect(MEMCACHE_KEYS.has('flush_all')).toBe(false);
  });
});

describe('the route-key rule', () => {
  it('the acceptor reader and a shard parse refuse the same key, per request, with its id', () => {
    const frame = encodeRequest(Opcode.GET, 42, new Uint8Array(9));
    const reader = new FrameReader({ maxKey: 8 });
    reader.feed(frame);
    let fromReader: unknown;
    try {
      reader.next();
    } catch (e) {
      fromReader = e;
    }
    let fromShard: unknown;
    try {
      parseRequestFrame(frame, 8);
    } catch (e) {
      fromShard = e;
    }
    for (const e of [fromReader, fromShard]) {
      expect(e).toBeInstanceOf(FrameError);
      expect(e).toMatchObject({ code: ErrorCode.KEY_TOO_LARGE, fatal: false, requestId: 42, message: 'key of 9 bytes exceeds the limit of 8' });
    }
    expect(parseRequestFrame(encodeRequest(Opcode.GET, 43, new Uint8Array(8)), 8).keyEnd).toBe(13 + 8);
  });
});
