/**
 * Blocking list commands on one shard, through the RESP executor and the test double store: a
 * blocked BLPOP is served by a later push before the next message runs, waiters are served first
 * blocked first, a BLMOVE's push serves the next waiter in the same loop, a cancelled waiter (its
 * connection closed) takes nothing, and a message that may not block answers at once. Also the
 * front's in-flight log, where a blocked command must not hold up later replies, the acceptor's
 * connection (reads on while blocked, up to a bound, and cancels on close), and the shard's record of
 * BLOCKING messages whose connection closed before they ran.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InflightLog } from '../../src/front/inflight.js';
import { RespFramer, type RespFrame } from '../../src/resp/framer.js';
import type { ConnectionContext } from '../../src/server/connection.js';
import { BLOCKED_INPUT_LIMIT, TextConnection, type TextProtocol } from '../../src/server/text-conn.js';
import { MessageKind } from '../../src/hop/kinds.js';
import { cancelBlocked, executeResp } from '../../src/resp/executor.js';
import { BlockingMessages } from '../../src/shards/blocked.js';
import { MapStoreDouble, resp } from './resp-store-double.js';

function run(store: MapStoreDouble, conn: number | null, ...parts: string[]): Buffer | Promise<Buffer> {
  return executeResp(store, Buffer.from(resp(...parts), 'latin1'), {}, conn);
}

async function text(r: Buffer | Promise<Buffer>): Promise<string> {
  return (await r).toString('latin1');
}

describe('blocking list commands on a shard', () => {
  it('BLPOP blocks on empty lists and is served by the push that follows', async () => {
    const store = new MapStoreDouble();
    const blocked = run(store, 1, 'BLPOP', 'a', 'b', '0');
    expect(blocked).toBeInstanceOf(Promise);
    expect(await text(run(store, 2, 'RPUSH', 'b', 'x', 'y'))).toBe(':2\r\n');
    // served before the next message: y stays, x is gone
    expect(await text(run(store, 2, 'LRANGE', 'b', '0', '-1'))).toBe('*1\r\n$1\r\ny\r\n');
    expect(await text(blocked)).toBe('*2\r\n$1\r\nb\r\n$1\r\nx\r\n');
  });

  it('serves waiters first blocked first, and a BLMOVE push serves the next in the same loop', async () => {
    const store = new MapStoreDouble();
    const first = run(store, 1, 'BRPOP', 'q', '0');
    const second = run(store, 2, 'BRPOP', 'q', '0');
    const mover = run(store, 3, 'BLMOVE', 'src', 'q', 'LEFT', 'RIGHT', '0');
    await text(run(store, 4, 'RPUSH', 'q', 'a', 'b'));
    expect(await text(first)).toBe('*2\r\n$1\r\nq\r\n$1\r\nb\r\n');
    expect(await text(second)).toBe('*2\r\n$1\r\nq\r\n$1\r\na\r\n');
    const third = run(store, 5, 'BLPOP', 'q', '0');
    await text(run(store, 4, 'LPUSH', 'src', 'm'));
    expect(await text(mover)).toBe('$1\r\nm\r\n');
    expect(await text(third)).toBe('*2\r\n$1\r\nq\r\n$1\r\nm\r\n');
    expect(await text(run(store, 4, 'EXISTS', 'q', 'src'))).toBe(':0\r\n');
  });

  it('a cancelled waiter takes nothing: the next push stays in the list', async () => {
    const store = new MapStoreDouble();
    const gone = run(store, 7, 'BLPOP', 'k', '0');
    cancelBlocked(store, 7);
    expect(await text(gone)).toBe('*-1\r\n');
    await text(run(store, 8, 'RPUSH', 'k', 'kept'));
    expect(await text(run(store, 8, 'LLEN', 'k'))).toBe(':1\r\n');
  });

  it('times out with the null array, and answers at once when the message may not block', async () => {
    const store = new MapStoreDouble();
    expect(await text(run(store, 1, 'BLMOVE', 'x', 'y', 'LEFT', 'LEFT', '0.01'))).toBe('*-1\r\n');
    expect(await text(run(store, null, 'BLPOP', 'x', '0'))).toBe('*-1\r\n');
    expect(await text(run(store, null, 'BLMOVE', 'x', 'y', 'LEFT', 'LEFT', '0'))).toBe('$-1\r\n');
    expect(await text(run(store, 1, 'BLPOP', 'x', '-0.0001x'))).toBe('-ERR timeout is not a float or out of range\r\n');
    expect(await text(run(store, 1, 'BLPOP', 'x', '1e16'))).toBe('-ERR timeout is negative\r\n');
  });
});

describe("the front's log of blocking requests", () => {
  it('keeps a blocked request aside: later replies settle at once and a shard failure still fails it', () => {
    const log = new InflightLog();
    log.push(MessageKind.BLOCKING, 1, 10);
    for (let i = 0; i < 1000; i++) {
      log.push(MessageKind.RESP, 2, i);
      log.settle(2, i);
    }
    // only the blocked request is owed; nothing later waits behind it
    expect(log.size).toBe(1);
    expect(log.takeAll()).toEqual([{ kind: MessageKind.BLOCKING, conn: 1, seq: 10 }]);
    log.push(MessageKind.BLOCKING, 1, 11);
    log.settle(1, 11);
    expect(log.size).toBe(0);
  });
});

describe("a shard's record of BLOCKING messages", () => {
  it('a CANCEL before the message runs makes it skip; entries end with the answer', () => {
    const b = new BlockingMessages();
    expect(b.cancel(5)).toBe(false); // nothing of that connection is unanswered: nothing to do
    b.arrived(5);
    expect(b.runs(5)).toBe(true);
    expect(b.cancel(5)).toBe(true);
    expect(b.runs(5)).toBe(false);
    b.answered(5);
    expect(b.runs(5)).toBe(true);
    expect(b.cancel(5)).toBe(false);
  });
});

describe('a RESP connection with a blocked command', () => {
  function open() {
    const sent: { kind: number; seq: number; text: string }[] = [];
    const socket = {
      paused: false,
      destroyed: false,
      writableLength: 0,
      pause() {
        this.paused = true;
      },
      resume() {
        this.paused = false;
      },
      isPaused() {
        return this.paused;
      },
      end: (done?: () => void) => done?.(),
      destroy() {
        this.destroyed = true;
      },
    };
    const ctx = {
      backend: {
        shards: 1,
        send: (_s: number, kind: number, _c: number, seq: number, p: Uint8Array) => sent.push({ kind, seq, text: Buffer.from(p).toString('latin1') }),
      },
      commands: 0,
      write: () => undefined,
      admit: () => true,
    } as unknown as ConnectionContext;
    const protocol: TextProtocol<object, RespFrame> = {
      kind: MessageKind.RESP,
      newState: () => ({}),
      newFramer: () => new RespFramer(),
      plan: (frame) => ({ kind: 'shard', key: Buffer.alloc(0), shard: 0, raw: frame.raw, blocking: /BLPOP/i.test(frame.raw.toString('latin1')) }),
      failure: (message) => Buffer.from(`-ERR ${message}\r\n`),
    };
    return { sent, socket, conn: new TextConnection(1, socket as unknown as Socket, ctx, protocol) };
  }

  it('sends it as BLOCKING, holds later commands, keeps reading up to the bound, and cancels it on close', () => {
    const { sent, socket, conn } = open();
    conn.onData(Buffer.from(resp('BLPOP', 'k', '0') + resp('PING'), 'latin1'));
    expect(sent.map((m) => m.kind)).toEqual([MessageKind.BLOCKING]);
    expect(conn.blocked).toBe(true);
    // still read, so that a disconnect is seen
    expect(socket.paused).toBe(false);
    conn.onData(Buffer.alloc(BLOCKED_INPUT_LIMIT, 'x'));
    expect(socket.paused).toBe(true);
    conn.onClose();
    expect(sent.map((m) => m.kind)).toEqual([MessageKind.BLOCKING, MessageKind.CANCEL]);
  });

  it('routes what waited once the reply comes', () => {
    const { sent, socket, conn } = open();
    conn.onData(Buffer.from(resp('BLPOP', 'k', '0') + resp('PING'), 'latin1'));
    conn.onReply(MessageKind.BLOCKING, sent[0].seq, Buffer.from('*-1\r\n'));
    expect(conn.blocked).toBe(false);
    expect(socket.paused).toBe(false);
    expect(sent.map((m) => m.kind)).toEqual([MessageKind.BLOCKING, MessageKind.RESP]);
    conn.onClose();
    expect(sent).toHaveLength(2);
  });
});
