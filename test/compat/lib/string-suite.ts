/**
 * The string / TTL command set of issue 5, as raw commands through a client library's generic
 * command call (ioredis `call`, node-redis `sendCommand`), so both clients check the same replies.
 * `send` resolves with the decoded RESP2 reply (string | number | null | array) and rejects with the
 * server's error text as the message.
 */
import { expect, it } from 'vitest';

export type Send = (args: (string | Buffer)[]) => Promise<unknown>;

type Expect = unknown | ((got: unknown) => void);

const near = (want: number, slack: number) => (got: unknown) => {
  expect(typeof got).toBe('number');
  expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(slack);
};

export function stringSuite(prefix: string, getSend: () => Send): void {
  const k = (name: string): string => `${prefix}:${name}`;
  const steps = async (list: [(string | Buffer)[], Expect][]): Promise<void> => {
    const send = getSend();
    for (const [args, want] of list) {
      const got = await send(args).catch((err: Error) => ({ error: err.message }));
      if (typeof want === 'function') {
        try {
          (want as (g: unknown) => void)(got);
        } catch (e) {
          throw new Error(`${args.join(' ')}: ${(e as Error).message} (got ${JSON.stringify(got)})`);
        }
      } else {
        expect(got, args.join(' ')).toEqual(want);
      }
    }
  };
  const err = (message: string) => ({ error: message });
  const nowS = (): number => Math.floor(Date.now() / 1000);

  it('SET EX / PX / EXAT / PXAT', async () => {
    const at = nowS() + 500;
    await steps([
      [['SET', k('ex'), 'v', 'EX', '100'], 'OK'],
      [['TTL', k('ex')], near(100, 1)],
      [['SET', k('px'), 'v', 'PX', '100000'], 'OK'],
      [['PTTL', k('px')], near(100_000, 1500)],
      [['SET', k('exat'), 'v', 'EXAT', String(at)], 'OK'],
      [['EXPIRETIME', k('exat')], at],
      [['SET', k('pxat'), 'v', 'PXAT', String(at * 1000 + 250)], 'OK'],
      [['PEXPIRETIME', k('pxat')], at * 1000 + 250],
      [['SET', k('ex'), 'v', 'ex', '0'], err("ERR invalid expire time in 'set' command")],
      [['SET', k('ex'), 'v', 'PX', '-5'], err("ERR invalid expire time in 'set' command")],
      [['SET', k('ex'), 'v', 'EX', 'soon'], err('ERR value is not an integer or out of range')],
      [['SET', k('ex'), 'v', 'EX', '10', 'PX', '100'], err('ERR syntax error')],
      [['SET', k('ex'), 'v', 'EX'], err('ERR syntax error')],
      // a PXAT in the past stores nothing that can be read
      [['SET', k('past'), 'v', 'PXAT', String(Date.now() - 10_000)], 'OK'],
      [['GET', k('past')], null],
    ]);
  });

  it('SET NX / XX / KEEPTTL / GET', async () => {
    await steps([
      [['SET', k('nx'), 'one', 'NX'], 'OK'],
      [['SET', k('nx'), 'two', 'NX'], null],
      [['GET', k('nx')], 'one'],
      [['SET', k('xx'), 'one', 'XX'], null],
      [['EXISTS', k('xx')], 0],
      [['SET', k('nx'), 'three', 'XX'], 'OK'],
      [['GET', k('nx')], 'three'],
      [['SET', k('nx'), 'x', 'NX', 'XX'], err('ERR syntax error')],
      [['SET', k('keep'), 'a', 'EX', '300'], 'OK'],
      [['SET', k('keep'), 'b', 'KEEPTTL'], 'OK'],
      [['TTL', k('keep')], near(300, 1)],
      [['GET', k('keep')], 'b'],
      [['SET', k('keep'), 'c'], 'OK'],
      [['TTL', k('keep')], -1],
      [['SET', k('keep'), 'c', 'KEEPTTL', 'EX', '5'], err('ERR syntax error')],
      [['SET', k('get'), 'first', 'GET'], null],
      [['SET', k('get'), 'second', 'GET'], 'first'],
      [['SET', k('get'), 'third', 'GET', 'EX', '100'], 'second'],
      [['TTL', k('get')], near(100, 1)],
      [['SET', k('get'), 'fourth', 'NX', 'GET'], 'third'],
      [['GET', k('get')], 'third'],
      [['SET', k('get'), 'fifth', 'XX', 'GET'], 'third'],
      [['GET', k('get')], 'fifth'],
    ]);
  });

  it('SETNX / SETEX / PSETEX / GETSET', async () => {
    await steps([
      [['SETNX', k('setnx'), 'a'], 1],
      [['SETNX', k('setnx'), 'b'], 0],
      [['GET', k('setnx')], 'a'],
      [['SETEX', k('setex'), '60', 'v'], 'OK'],
      [['TTL', k('setex')], near(60, 1)],
      [['SETEX', k('setex'), '0', 'v'], err("ERR invalid expire time in 'setex' command")],
      [['PSETEX', k('psetex'), '60000', 'v'], 'OK'],
      [['PTTL', k('psetex')], near(60_000, 1500)],
      [['GETSET', k('getset'), 'one'], null],
      [['GETSET', k('getset'), 'two'], 'one'],
      [['GET', k('getset')], 'two'],
    ]);
  });

  it('GETEX and GETDEL', async () => {
    const at = nowS() + 900;
    await steps([
      [['SET', k('gx'), 'val'], 'OK'],
      [['GETEX', k('gx')], 'val'],
      [['TTL', k('gx')], -1],
      [['GETEX', k('gx'), 'EX', '100'], 'val'],
      [['TTL', k('gx')], near(100, 1)],
      [['GETEX', k('gx'), 'PX', '50000'], 'val'],
      [['PTTL', k('gx')], near(50_000, 1500)],
      [['GETEX', k('gx'), 'EXAT', String(at)], 'val'],
      [['EXPIRETIME', k('gx')], at],
      [['GETEX', k('gx'), 'PXAT', String(at * 1000 + 7)], 'val'],
      [['PEXPIRETIME', k('gx')], at * 1000 + 7],
      [['GETEX', k('gx'), 'PERSIST'], 'val'],
      [['TTL', k('gx')], -1],
      [['GETEX', k('nothing'), 'EX', '10'], null],
      [['GETEX', k('gx'), 'EX', '0'], err("ERR invalid expire time in 'getex' command")],
      [['GETEX', k('gx'), 'EX', '10', 'PERSIST'], err('ERR syntax error')],
      [['GETEX', k('gx'), 'BOGUS'], err('ERR syntax error')],
      [['GETDEL', k('gx')], 'val'],
      [['GETDEL', k('gx')], null],
      [['EXISTS', k('gx')], 0],
    ]);
  });

  it('GETRANGE / SETRANGE', async () => {
    await steps([
      [['SET', k('range'), 'Hello World'], 'OK'],
      [['GETRANGE', k('range'), '0', '4'], 'Hello'],
      [['GETRANGE', k('range'), '-5', '-1'], 'World'],
      [['GETRANGE', k('range'), '0', '-1'], 'Hello World'],
      [['GETRANGE', k('range'), '6', '100'], 'World'],
      [['GETRANGE', k('range'), '5', '2'], ''],
      [['GETRANGE', k('range'), '20', '30'], ''],
      [['GETRANGE', k('nope'), '0', '10'], ''],
      [['SETRANGE', k('range'), '6', 'Redis'], 11],
      [['GET', k('range')], 'Hello Redis'],
      [['SETRANGE', k('range'), '11', '!!'], 13],
      [['GET', k('range')], 'Hello Redis!!'],
      [['SETRANGE', k('pad'), '3', 'abc'], 6],
      [['GET', k('pad')], '\u0000\u0000\u0000abc'],
      [['SETRANGE', k('empty'), '5', ''], 0],
      [['EXISTS', k('empty')], 0],
      [['SETRANGE', k('range'), '-1', 'x'], err('ERR offset is out of range')],
      [['GETRANGE', k('range'), 'a', '1'], err('ERR value is not an integer or out of range')],
    ]);
  });

  it('INCR / DECR / INCRBY / DECRBY / INCRBYFLOAT', async () => {
    await steps([
      [['INCR', k('n')], 1],
      [['INCRBY', k('n'), '10'], 11],
      [['DECR', k('n')], 10],
      [['DECRBY', k('n'), '-5'], 15],
      [['INCRBY', k('n'), '-20'], -5],
      [['GET', k('n')], '-5'],
      [['INCRBYFLOAT', k('f'), '10.5'], '10.5'],
      [['INCRBYFLOAT', k('f'), '0.1'], '10.6'],
      [['INCRBYFLOAT', k('f'), '-5'], '5.6'],
      [['INCRBYFLOAT', k('f3'), '5.0e3'], '5000'],
      [['INCRBYFLOAT', k('f3'), '-0.25'], '4999.75'],
      [['SET', k('f2'), '3.0'], 'OK'],
      [['INCRBYFLOAT', k('f2'), '2'], '5'],
      [['INCRBYFLOAT', k('f2'), '1e-3'], '5.001'],
      [['INCRBYFLOAT', k('f2'), 'abc'], err('ERR value is not a valid float')],
      [['INCRBYFLOAT', k('f2'), 'inf'], err('ERR increment would produce NaN or Infinity')],
      [['SET', k('str'), 'hello'], 'OK'],
      [['INCR', k('str')], err('ERR value is not an integer or out of range')],
      [['INCRBYFLOAT', k('str'), '1'], err('ERR value is not a valid float')],
      [['SET', k('sp'), ' 1'], 'OK'],
      [['INCR', k('sp')], err('ERR value is not an integer or out of range')],
      [['SET', k('max'), '9223372036854775807'], 'OK'],
      [['INCR', k('max')], err('ERR increment or decrement would overflow')],
      [['SET', k('min'), '-9223372036854775808'], 'OK'],
      [['DECR', k('min')], err('ERR increment or decrement would overflow')],
      [['INCRBY', k('n'), '9223372036854775808'], err('ERR value is not an integer or out of range')],
      // INCR keeps a TTL
      [['SET', k('ttl'), '1', 'EX', '100'], 'OK'],
      [['INCR', k('ttl')], 2],
      [['TTL', k('ttl')], near(100, 1)],
    ]);
  });

  it('APPEND / STRLEN, binary-safe', async () => {
    const send = getSend();
    await steps([
      [['APPEND', k('app'), 'Hello'], 5],
      [['APPEND', k('app'), ' World'], 11],
      [['GET', k('app')], 'Hello World'],
      [['STRLEN', k('app')], 11],
      [['STRLEN', k('none')], 0],
    ]);
    const bin = Buffer.from([0, 1, 2, 13, 10, 255, 254, 0, 36, 42]);
    expect(await send(['SET', k('bin'), bin])).toBe('OK');
    expect(await send(['STRLEN', k('bin')])).toBe(bin.length);
    expect(await send(['APPEND', k('bin'), bin])).toBe(bin.length * 2);
  });

  it('EXPIRE family, TTL / PTTL / EXPIRETIME / PEXPIRETIME / PERSIST', async () => {
    const at = nowS() + 3600;
    await steps([
      [['SET', k('e'), 'v'], 'OK'],
      [['TTL', k('e')], -1],
      [['PTTL', k('e')], -1],
      [['EXPIRETIME', k('e')], -1],
      [['PEXPIRETIME', k('e')], -1],
      [['TTL', k('none')], -2],
      [['PTTL', k('none')], -2],
      [['EXPIRETIME', k('none')], -2],
      [['EXPIRE', k('e'), '100'], 1],
      [['TTL', k('e')], near(100, 1)],
      [['EXPIRE', k('none'), '100'], 0],
      [['PEXPIRE', k('e'), '5000'], 1],
      [['PTTL', k('e')], near(5000, 1500)],
      [['EXPIREAT', k('e'), String(at)], 1],
      [['EXPIRETIME', k('e')], at],
      [['PEXPIREAT', k('e'), String(at * 1000 + 1)], 1],
      [['PEXPIRETIME', k('e')], at * 1000 + 1],
      [['PERSIST', k('e')], 1],
      [['PERSIST', k('e')], 0],
      [['TTL', k('e')], -1],
      [['EXPIRE', k('e'), 'x'], err('ERR value is not an integer or out of range')],
      [['EXPIRE', k('e'), '0'], 1],
      [['EXISTS', k('e')], 0],
      [['SET', k('e2'), 'v'], 'OK'],
      [['EXPIREAT', k('e2'), String(nowS() - 10)], 1],
      [['GET', k('e2')], null],
    ]);
  });

  it('DEL / UNLINK / EXISTS / TYPE / ECHO / PING', async () => {
    await steps([
      [['SET', k('d1'), 'a'], 'OK'],
      [['SET', k('d2'), 'b'], 'OK'],
      [['EXISTS', k('d1'), k('d2'), k('d3'), k('d1')], 3],
      [['TYPE', k('d1')], 'string'],
      [['TYPE', k('d3')], 'none'],
      [['DEL', k('d1'), k('d3')], 1],
      [['UNLINK', k('d2'), k('d1')], 1],
      [['EXISTS', k('d1'), k('d2')], 0],
      [['ECHO', 'hi there'], 'hi there'],
      [['PING'], 'PONG'],
      [['PING', 'msg'], 'msg'],
      [['GET', k('a'), k('b')], err("ERR wrong number of arguments for 'get' command")],
      [['NOSUCH', k('a')], err(`ERR unknown command 'NOSUCH', with args beginning with: '${k('a')}' `)],
    ]);
  });

  it('MGET / MSET / MSETNX across shards', async () => {
    const send = getSend();
    const keys = Array.from({ length: 50 }, (_, i) => k(`multi:${i}`));
    expect(await send(['MSET', ...keys.flatMap((key, i) => [key, `v${i}`])])).toBe('OK');
    expect(await send(['MGET', k('multi:none'), ...keys])).toEqual([null, ...keys.map((_, i) => `v${i}`)]);
    expect(await send(['MSETNX', k('multi:new'), 'x', keys[17], 'y'])).toBe(0);
    expect(await send(['EXISTS', k('multi:new')])).toBe(0);
    expect(await send(['MSETNX', k('multi:new'), 'x', k('multi:new2'), 'y'])).toBe(1);
    expect(await send(['DEL', ...keys])).toBe(50);
    expect(await send(['MSET', keys[0]]).catch((e: Error) => e.message)).toBe("ERR wrong number of arguments for 'mset' command");
  });

  it('SELECT 0 is fine, SELECT 1 an error; DBSIZE; CLIENT names', async () => {
    await steps([
      [['SELECT', '0'], 'OK'],
      [['SELECT', '1'], err('ERR DB index is out of range')],
      [['SELECT', 'x'], err('ERR value is not an integer or out of range')],
      [['DBSIZE'], (n: unknown) => expect(typeof n).toBe('number')],
      [['CLIENT', 'SETNAME', 'compat-suite'], 'OK'],
      [['CLIENT', 'GETNAME'], 'compat-suite'],
      [['CLIENT', 'ID'], (n: unknown) => expect(Number.isInteger(n)).toBe(true)],
      [['CLIENT', 'SETNAME', 'has space'], err('ERR Client names cannot contain spaces, newlines or special characters.')],
    ]);
  });
}
