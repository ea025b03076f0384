/**
 * Native CALL (opcode 0x40) below the server: a command's RESP2 reply read into msgpack values and
 * its errors coded, the shard's checks (runner, arity, keys on this shard, blocking commands), and a
 * read-only replica's acceptor refusing CALLs that name a write command.
 */
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCode } from '../../src/errors.js';
import { shardOf } from '../../src/hash.js';
import { replyValue } from '../../src/native/call.js';
import { handleNativeFrame } from '../../src/native/execute.js';
import { encodeRequest, Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { handshakenRouter, MapShardStoreDouble } from '../helpers/native-loopback.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });
const b = (s: string) => Buffer.from(s);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CairnError);
    return (err as CairnError).code;
  }
  throw new Error('expected a throw');
}

describe('a RESP2 reply as msgpack values', () => {
  it('maps every reply shape', () => {
    expect(replyValue(b('+OK\r\n'))).toBe('OK');
    expect(replyValue(b(':-42\r\n'))).toBe(-42);
    expect(replyValue(b(':9223372036854775807\r\n'))).toBe(2n ** 63n - 1n);
    expect(replyValue(b('$-1\r\n'))).toBeNull();
    expect(replyValue(b('*-1\r\n'))).toBeNull();
    expect(replyValue(b('*0\r\n'))).toEqual([]);
    expect(replyValue(b('$4\r\na\r\nb\r\n'))).toEqual(b('a\r\nb'));
    expect(replyValue(b('*3\r\n$1\r\nk\r\n*2\r\n$1\r\nm\r\n$3\r\n1.5\r\n$-1\r\n'))).toEqual([b('k'), [b('m'), b('1.5')], null]);
  });

  it('codes Redis error replies', () => {
    expect(codeOf(() => replyValue(b('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n')))).toBe(ErrorCode.WRONG_TYPE);
    expect(codeOf(() => replyValue(b("-OOM command not allowed when used memory > 'maxmemory'.\r\n")))).toBe(ErrorCode.OUT_OF_MEMORY);
    expect(codeOf(() => replyValue(b('-ERR value is not an integer or out of range\r\n')))).toBe(ErrorCode.NOT_INTEGER);
    expect(codeOf(() => replyValue(b('-ERR hash value is not an integer\r\n')))).toBe(ErrorCode.NOT_INTEGER);
    expect(codeOf(() => replyValue(b('-ERR increment or decrement would overflow\r\n')))).toBe(ErrorCode.OVERFLOW);
    expect(codeOf(() => replyValue(b('-ERR syntax error\r\n')))).toBe(ErrorCode.BAD_ARGUMENT);
    expect(codeOf(() => replyValue(b('-ERR shard 1: disk read failed: IO error\r\n')))).toBe(ErrorCode.DISK);
    expect(codeOf(() => replyValue(b('$5\r\nab\r\n')))).toBe(ErrorCode.INTERNAL);
  });
});

async function call(runner: ((args: Buffer[]) => Buffer) | undefined, shards: number, shard: number, key: string, args: unknown[]) {
  const store = new MapShardStoreDouble(shard);
  const reply = await handleNativeFrame(store, shard, shards, encodeRequest(Opcode.CALL, 9, b(key), args), { runCommand: runner });
  return { status: reply[4], body: unpackr.unpack(reply.subarray(9)) as unknown };
}

describe('CALL on the shard', () => {
  const seen: string[][] = [];
  const runner = (args: Buffer[]): Buffer => {
    seen.push(args.map((a) => a.toString()));
    return b('*2\r\n:1\r\n$1\r\nx\r\n');
  };

  it('hands the command and its arguments (bin, str, numbers as decimal text) to the runner', async () => {
    const r = await call(runner, 1, 0, 'k', ['mget', b('k'), 'k2']);
    expect(r.status).toBe(Status.OK);
    expect(r.body).toEqual([1, b('x')]);
    await call(runner, 1, 0, 'z', ['mset', 'z', 1.5, 'm', -Infinity, 'n', 2n ** 60n, 'o', 7]);
    expect(seen.at(-1)).toEqual(['mset', 'z', '1.5', 'm', '-inf', 'n', String(2n ** 60n), 'o', '7']);
  });

  it('refuses what it cannot run, before the runner sees it', async () => {
    const before = seen.length;
    const cases: [unknown[], string][] = [
      [['get', 'k'], ErrorCode.UNKNOWN_COMMAND], // no runner: below
      [['nosuch', 'k'], ErrorCode.UNKNOWN_COMMAND],
      [['flushall'], ErrorCode.UNKNOWN_COMMAND],
      [['eval', 'return 1', '0'], ErrorCode.UNKNOWN_COMMAND],
      [['get', 'k', 'extra'], ErrorCode.BAD_ARGUMENT],
      [['get', null], ErrorCode.BAD_ARGUMENT],
      [['set', 'k', Number.NaN], ErrorCode.BAD_ARGUMENT],
      [[], ErrorCode.BAD_ARGUMENT],
    ];
    for (const [i, [args, code]] of cases.entries()) {
      const r = await call(i === 0 ? undefined : runner, 1, 0, 'k', args);
      expect(r.status, JSON.stringify(args)).toBe(Status.ERROR);
      expect((r.body as string[])[0], JSON.stringify(args)).toBe(code);
    }
    expect(seen.length).toBe(before);
  });

  it('runs only when every key of the command is on this shard', async () => {
    const a = 'a';
    const shardA = shardOf(b(a), 2);
    let other = 'b0';
    for (let i = 1; shardOf(b(other), 2) === shardA; i++) other = `b${i}`;
    const refused = await call(runner, 2, shardA, a, ['mget', a, other]);
    expect(refused.status).toBe(Status.ERROR);
    expect((refused.body as string[])[0]).toBe(ErrorCode.WRONG_SHARD);
    expect((refused.body as string[])[1]).toContain('{tag}');
    // the route key itself belongs to another shard
    const wrongRoute = await call(runner, 2, shardA, other, ['get', a]);
    expect((wrongRoute.body as string[])[0]).toBe(ErrorCode.WRONG_SHARD);
    const tagged = await call(runner, 2, shardOf(b('t'), 2), '{t}1', ['mget', '{t}1', '{t}2']);
    expect(tagged.status).toBe(Status.OK);
  });
});

describe('a read-only replica refuses CALLs of write commands', () => {
  function router(readOnly: boolean) {
    const { router: r, opcodes: sent, written } = handshakenRouter({ readOnly });
    return { r, sent, written };
  }

  it('writes get READONLY, reads go to the shard', () => {
    const { r, sent, written } = router(true);
    for (const args of [
      ['set', 'k', 'v'],
      ['incr', 'k'],
      [b('APPEND'), 'k', 'v'],
    ])
      r.onData(encodeRequest(Opcode.CALL, 7, b('k'), args));
    expect(written).toHaveLength(3);
    for (const w of written) {
      expect(w[4]).toBe(Status.ERROR);
      expect((unpackr.unpack(w.subarray(9)) as string[])[0]).toBe(ErrorCode.READONLY);
    }
    r.onData(encodeRequest(Opcode.CALL, 8, b('k'), ['get', 'k']));
    r.onData(encodeRequest(Opcode.CALL, 9, b('k'), ['type', 'k']));
    expect(sent).toEqual([Opcode.CALL, Opcode.CALL]);
  });

  it('a primary forwards them', () => {
    const { r, sent, written } = router(false);
    r.onData(encodeRequest(Opcode.CALL, 7, b('k'), ['set', 'k', 'v']));
    expect(written).toHaveLength(0);
    expect(sent).toEqual([Opcode.CALL]);
  });
});
