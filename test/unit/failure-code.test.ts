/**
 * FAILURE messages carry their error code across the ring (src/hop/failure.ts): one byte for the
 * code, then the message. A dead shard's failure (made by the front's FrontLink) still reads as it
 * always did on every protocol — RESP `-ERR shard unavailable: ...`, memcached `SERVER_ERROR ...`,
 * native CAIRN_ERR_SHARD_DOWN — and any other failure keeps its own code on the native protocol.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../src/config.js';
import { CairnError, ErrorCode } from '../../src/errors.js';
import { FrontLink, SHARD_DOWN_MESSAGE } from '../../src/front/link.js';
import { NativeRouter } from '../../src/native/router.js';
import { encodeReply, encodeRequest, Status } from '../../src/native/frame.js';
import { handshakenRouter } from '../helpers/native-loopback.js';
import { Opcode } from '../../src/native/opcodes.js';
import { TextRouter } from '../../src/front/text-router.js';
import { encodeFailure, failureCode, failureMessage, failureOf } from '../../src/hop/failure.js';
import { MessageKind } from '../../src/hop/kinds.js';
import { Endpoint, type LinkMemory } from '../../src/hop/link.js';
import { createRingBuffer, Doorbell, Ring } from '../../src/hop/ring.js';
import { createUnpackr } from '../../src/msgpack.js';
import type { ServerInfo } from '../../src/front/plan.js';
import { memcacheProtocol, respProtocol } from '../../src/server/protocols.js';
import { ShardPool } from '../../src/shards/pool.js';

const unpackr = createUnpackr(false);
const config = { password: null, maxValueSize: 1 << 20, maxItemSize: 1 << 20 } as unknown as ServerConfig;
const server = {} as ServerInfo;

function linkMemory(shards: number): LinkMemory {
  const shardBells = Array.from({ length: shards }, () => new Doorbell().sab);
  return {
    requests: Array.from({ length: shards }, () => createRingBuffer(64 * 1024)),
    replies: Array.from({ length: shards }, () => createRingBuffer(64 * 1024)),
    shardBells,
    bell: new Doorbell().sab,
    events: new SharedArrayBuffer(8),
    front: 0,
  };
}

/** [code, message] of a native error reply frame */
function nativeError(frame: Uint8Array): [string, string] {
  return unpackr.unpack(frame.subarray(9)) as [string, string];
}

describe('FAILURE encoding', () => {
  it('round-trips every error code in one byte plus the message', () => {
    for (const code of Object.values(ErrorCode)) {
      const payload = encodeFailure(code, 'disk on fire: ünïcode');
      expect(payload.length).toBe(1 + Buffer.byteLength('disk on fire: ünïcode'));
      expect(failureCode(payload)).toBe(code);
      expect(failureMessage(payload)).toBe('disk on fire: ünïcode');
    }
  });

  it("keeps a thrown CairnError's code, and codes anything else CAIRN_ERR_INTERNAL", () => {
    const disk = failureOf(new CairnError(ErrorCode.DISK, 'shard 0: disk read failed'));
    expect([failureCode(disk), failureMessage(disk)]).toEqual([ErrorCode.DISK, 'shard 0: disk read failed']);
    const bug = failureOf(new TypeError('x is undefined'));
    expect([failureCode(bug), failureMessage(bug)]).toEqual([ErrorCode.INTERNAL, 'x is undefined']);
    expect(failureCode(Buffer.from([250]))).toBe(ErrorCode.INTERNAL);
    expect(failureCode(Buffer.alloc(0))).toBe(ErrorCode.INTERNAL);
  });
});

describe('a shard-down failure on every protocol', () => {
  it('FrontLink fails what a dead shard owed, and new requests, coded CAIRN_ERR_SHARD_DOWN', async () => {
    const link = new FrontLink(linkMemory(2));
    const got: { kind: number; conn: number; seq: number; code: string; message: string }[] = [];
    link.onReply((kind, conn, seq, payload) => got.push({ kind, conn, seq, code: failureCode(payload), message: failureMessage(payload) }));
    try {
      link.send(0, MessageKind.RESP, 7, 1, Buffer.from('*1\r\n$4\r\nPING\r\n'));
      link.shardDown(0, 'exited with code 1', 1);
      expect(got).toEqual([
        {
          kind: MessageKind.FAILURE,
          conn: 7,
          seq: 1,
          code: ErrorCode.SHARD_DOWN,
          message: `${SHARD_DOWN_MESSAGE}: shard 0 exited with code 1; the request may or may not have been applied`,
        },
      ]);
      got.length = 0;
      link.send(0, MessageKind.NATIVE, 8, 2, Buffer.alloc(1));
      expect(got).toEqual([]); // never inside send()
      await Promise.resolve();
      expect(got).toEqual([
        { kind: MessageKind.FAILURE, conn: 8, seq: 2, code: ErrorCode.SHARD_DOWN, message: `${SHARD_DOWN_MESSAGE}: shard 0 exited with code 1` },
      ]);
      // an internal request (conn 0) is rejected with the carried code
      await expect(link.request(0, MessageKind.METRICS, Buffer.alloc(0), 1000)).rejects.toMatchObject({ code: ErrorCode.SHARD_DOWN });
      expect(link.isUp(0)).toBe(false);
      link.shardUp(0);
      expect(link.isUp(0)).toBe(true);
    } finally {
      await link.close();
    }
  });

  it("a restarted worker reads a front's requests only after the front has failed over what it sent before", async () => {
    const memory = linkMemory(2);
    const ring = new Ring(memory.requests[0]);
    const link = new FrontLink(memory);
    const failed: number[] = [];
    link.onReply((kind, _conn, seq) => kind === MessageKind.FAILURE && failed.push(seq));
    // the worker of epoch 1 (started by the pool after an exit) does not read this ring yet
    const read: number[] = [];
    const worker = new Endpoint([], [ring], new Doorbell(), [(_k, _c, seq) => read.push(seq)], { epoch: 1 });
    try {
      link.send(0, MessageKind.RESP, 7, 1, Buffer.from('*1\r\n$4\r\nPING\r\n'));
      ring.setEpoch(1); // the old worker exited; this front has not learned it yet and sends on
      link.send(0, MessageKind.RESP, 7, 2, Buffer.from('*1\r\n$4\r\nPING\r\n'));
      expect(worker.poll()).toBe(0);
      expect(ring.pending()).toBeGreaterThan(0);
      link.shardDown(0, 'exited with code 1', 1);
      expect(failed).toEqual([1, 2]);
      // the requests it failed are gone from the ring; the new worker may read from now on
      expect(ring.pending()).toBe(0);
      expect([ring.readableBy(1), ring.readableBy(0)]).toEqual([true, false]);
      link.shardUp(0);
      link.send(0, MessageKind.RESP, 7, 3, Buffer.from('*1\r\n$4\r\nPING\r\n'));
      expect(worker.poll()).toBe(1);
      expect(read).toEqual([3]);
      // a notice for an epoch already acknowledged fails nothing of the worker that serves now
      link.shardDown(0, 'exited with code 1', 1);
      await Promise.resolve();
      expect(failed).toEqual([1, 2]);
      expect(link.isUp(0)).toBe(false);
    } finally {
      await link.close();
    }
    // a front that starts after a restart has sent nothing before it: it acknowledges at once
    const later = new FrontLink(memory);
    try {
      expect(new Ring(memory.requests[0]).readableBy(1)).toBe(true);
      ring.setEpoch(2);
      const third = new FrontLink(memory);
      expect(ring.readableBy(2)).toBe(true);
      await third.close();
    } finally {
      await later.close();
    }
  });

  const down = encodeFailure(ErrorCode.SHARD_DOWN, `${SHARD_DOWN_MESSAGE}: shard 0 exited with code 1`);
  const internal = encodeFailure(ErrorCode.INTERNAL, 'x is undefined');

  it('RESP: -ERR shard unavailable: ..., and -ERR internal error: ... for anything else', () => {
    const proto = respProtocol(config, 1, server);
    const written: string[] = [];
    const router = new TextRouter(3, { shards: 1, send: () => undefined }, proto.kind, proto.failure, () => undefined);
    router.route({ kind: 'shard', shard: 0, raw: Buffer.from('GET a') });
    router.route({ kind: 'shard', shard: 0, raw: Buffer.from('GET b') });
    expect(router.onReply(MessageKind.FAILURE, 0, down)).toBe(true);
    expect(router.onReply(MessageKind.FAILURE, 1, internal)).toBe(true);
    router.replies.flush((bytes) => written.push(bytes.toString()));
    expect(written).toEqual(['-ERR shard unavailable: shard 0 exited with code 1\r\n', '-ERR internal error: x is undefined\r\n']);
  });

  it('memcached: SERVER_ERROR with the message', () => {
    const proto = memcacheProtocol(config, 1, server);
    expect(proto.failure(failureMessage(down), failureCode(down)).toString()).toBe('SERVER_ERROR shard unavailable: shard 0 exited with code 1\r\n');
  });

  it('native: the carried code (CAIRN_ERR_SHARD_DOWN for a dead shard, not for every failure)', () => {
    const written: Uint8Array[] = [];
    const info = { serverVersion: 'test', shards: 1 };
    const router = new NativeRouter(1, { shards: 1, send: () => undefined }, info, { write: (b) => written.push(b), end: () => undefined });
    router.onReply(MessageKind.FAILURE, 41, down);
    router.onReply(MessageKind.FAILURE, 42, internal);
    expect(written.map(nativeError)).toEqual([
      [ErrorCode.SHARD_DOWN, 'shard failed: shard unavailable: shard 0 exited with code 1'],
      [ErrorCode.INTERNAL, 'shard failed: x is undefined'],
    ]);
  });
});

describe('shard worker control errors', () => {
  it('carry their own code instead of CAIRN_ERR_DISK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-failure-code-'));
    const hooks = process.env.CAIRN_TEST_HOOKS;
    delete process.env.CAIRN_TEST_HOOKS;
    const pool = await ShardPool.start({ shards: 1, dataDir: dir, store: { maxMemory: 1 << 20, durability: 'spill' } });
    try {
      await expect(pool.debug(0, 'disk-fault', 'on')).rejects.toMatchObject({ code: ErrorCode.BAD_ARGUMENT, message: 'test hooks are off' });
    } finally {
      await pool.close();
      if (hooks !== undefined) process.env.CAIRN_TEST_HOOKS = hooks;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('native router: a FAILURE names one request', () => {
  const down = encodeFailure(ErrorCode.SHARD_DOWN, `${SHARD_DOWN_MESSAGE}: shard 1 exited with code 1`);
  const internal = encodeFailure(ErrorCode.INTERNAL, 'x is undefined');
  it('a routed request failing beside a broadcast is answered as itself, and the broadcast once', () => {
    const { router, sent, written } = handshakenRouter({ shards: 2 });
    router.onData(encodeRequest(Opcode.COUNT, 7, new Uint8Array(0), []));
    router.onData(encodeRequest(Opcode.GET, 1, Buffer.from('k'), []));
    expect(sent.filter((m) => m.kind === MessageKind.NATIVE_BROADCAST).map((m) => m.seq)).toEqual([7, 7]);
    // the routed request fails: its own id, the broadcast untouched
    router.onReply(MessageKind.FAILURE, 1, internal);
    expect(written.map((f) => Buffer.from(f).readUInt32BE(5))).toEqual([1]);
    // one shard answers the broadcast, the other fails it: one error reply, for id 7
    router.onReply(MessageKind.NATIVE_BROADCAST, 7, encodeReply(Status.OK, 7, { hot: 1, cold: 0, total: 1 }));
    expect(written).toHaveLength(1);
    router.onReply(MessageKind.FAILURE, 7, down);
    expect(written).toHaveLength(2);
    expect(Buffer.from(written[1]).readUInt32BE(5)).toBe(7);
    expect(nativeError(written[1])[0]).toBe(ErrorCode.SHARD_DOWN);
    // nothing is left in flight, and a late reply for the finished broadcast writes nothing
    router.onReply(MessageKind.NATIVE_BROADCAST, 7, encodeReply(Status.OK, 7, { hot: 1, cold: 0, total: 1 }));
    expect(written).toHaveLength(2);
    expect(router.inFlight).toBe(0);
  });
});
