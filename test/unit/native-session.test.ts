import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { shardOf } from '../../src/hash.js';
import { encodeRequest, FrameError, parseRequestFrame, Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { NativeSession, ROUTE_BROADCAST, ROUTE_CLOSE, ROUTE_REPLY, helloReply } from '../../src/native/session.js';

const unpackr = new Unpackr({ useRecords: false });
const enc = new TextEncoder();
const info = { serverVersion: '1.2.3', shards: 4 };

function req(opcode: number, key = '', args: unknown[] = [], id = 1) {
  return parseRequestFrame(encodeRequest(opcode, id, enc.encode(key), args));
}

function replyOf(session: NativeSession) {
  const r = session.reply!;
  return { status: r[4], id: new DataView(r.buffer, r.byteOffset).getUint32(5), body: unpackr.unpack(r.subarray(9)) as unknown };
}

describe('NativeSession', () => {
  it('answers HELLO with server info and routes afterwards', () => {
    const s = new NativeSession(info);
    expect(s.route(req(Opcode.HELLO, '', [{ version: 1, name: 'test' }], 7))).toBe(ROUTE_REPLY);
    expect(replyOf(s)).toEqual({ status: Status.OK, id: 7, body: helloReply(info) });
    expect(replyOf(s).body).toMatchObject({
      version: 1,
      server: 'cairn',
      serverVersion: '1.2.3',
      shards: 4,
      limits: { maxFrame: 8388608, maxKey: 65535, maxValue: 1048576 },
    });
    expect(s.name).toBe('test');
    for (const key of ['a', 'user:1', 'x']) expect(s.route(req(Opcode.GET, key))).toBe(shardOf(enc.encode(key), 4));
    expect(s.route(req(Opcode.MGET, 'first'))).toBe(shardOf(enc.encode('first'), 4));
    expect(s.route(req(Opcode.STATS))).toBe(ROUTE_BROADCAST);
    expect(s.route(req(Opcode.SCAN, '0'))).toBe(0);
    expect(s.route(req(Opcode.SCAN, '3:k12'))).toBe(3);
    expect(s.route(req(Opcode.SCAN, '4:0', [], 9))).toBe(ROUTE_REPLY);
    expect(replyOf(s)).toMatchObject({ status: Status.ERROR, id: 9, body: [ErrorCode.BAD_ARGUMENT, expect.any(String)] });
    expect(s.route(req(0x6f, 'k', [], 10))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toEqual([ErrorCode.UNKNOWN_COMMAND, expect.any(String)]);
    expect(s.route(req(Opcode.PING, '', [], 11))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toBe('PONG');
    expect(s.route(req(Opcode.PING, '', ['echo'], 12))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toBe('echo');
  });

  it('the first frame must be HELLO', () => {
    const s = new NativeSession(info);
    expect(s.route(req(Opcode.GET, 'k', [], 3))).toBe(ROUTE_CLOSE);
    expect(replyOf(s).body).toEqual([ErrorCode.PROTOCOL_VERSION, expect.stringContaining('HELLO')]);
  });

  it('a wrong protocol version closes', () => {
    const s = new NativeSession(info);
    expect(s.route(req(Opcode.HELLO, '', [{ version: 2 }]))).toBe(ROUTE_CLOSE);
    expect(replyOf(s).body).toEqual([ErrorCode.PROTOCOL_VERSION, expect.stringContaining('version 1')]);
    const s2 = new NativeSession(info);
    expect(s2.route(req(Opcode.HELLO, '', []))).toBe(ROUTE_CLOSE);
    const s3 = new NativeSession(info);
    const garbage = encodeRequest(Opcode.HELLO, 1, new Uint8Array(0), []);
    garbage[garbage.length - 1] = 0xc1; // never-used msgpack byte
    expect(s3.route(parseRequestFrame(garbage))).toBe(ROUTE_CLOSE);
  });

  it('passwords: missing or wrong → AUTH error, the connection stays; AUTH or HELLO again fixes it', () => {
    const s = new NativeSession({ ...info, password: 'pw' });
    expect(s.route(req(Opcode.HELLO, '', [{ version: 1 }]))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toEqual([ErrorCode.AUTH, expect.any(String)]);
    expect(s.route(req(Opcode.GET, 'k'))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toEqual([ErrorCode.AUTH, expect.any(String)]);
    expect(s.route(req(Opcode.PING))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toEqual([ErrorCode.AUTH, expect.any(String)]);
    expect(s.route(req(Opcode.AUTH, '', ['nope']))).toBe(ROUTE_REPLY);
    expect(replyOf(s).status).toBe(Status.ERROR);
    expect(s.route(req(Opcode.AUTH, '', ['pw']))).toBe(ROUTE_REPLY);
    expect(replyOf(s).body).toBe(true);
    expect(s.route(req(Opcode.GET, 'k'))).toBeGreaterThanOrEqual(0);

    const s2 = new NativeSession({ ...info, password: 'pw' });
    expect(s2.route(req(Opcode.HELLO, '', [{ version: 1, password: 'pw' }]))).toBe(ROUTE_REPLY);
    expect(replyOf(s2).status).toBe(Status.OK);
    expect(s2.authenticated).toBe(true);
    expect(s2.route(req(Opcode.HELLO, '', [{ version: 1, password: 'px' }]))).toBe(ROUTE_REPLY);
    expect(s2.authenticated).toBe(false);
  });

  it('turns reader errors into replies: fatal ones close', () => {
    const s = new NativeSession(info);
    expect(s.frameError(new FrameError(ErrorCode.FRAME_TOO_LARGE, 'big', true))).toBe(ROUTE_CLOSE);
    expect(replyOf(s)).toMatchObject({ status: Status.ERROR, id: 0, body: [ErrorCode.FRAME_TOO_LARGE, 'big'] });
    expect(s.frameError(new FrameError(ErrorCode.BAD_FRAME, 'key', false, 42))).toBe(ROUTE_REPLY);
    expect(replyOf(s).id).toBe(42);
  });
});
