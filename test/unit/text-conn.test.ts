/**
 * TextConnection's per-turn bound: one connection frames at most 1024 commands (or 1 MB of them) per
 * event-loop turn, pauses its socket and yields, so other connections' commands go out in between.
 * The framer and the ordered replies are the real ones; the socket and the shard backend are
 * recording doubles, so the order in which commands reach the backend can be checked exactly.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RespFramer, type RespFrame } from '../../src/resp/framer.js';
import type { ConnectionContext } from '../../src/server/connection.js';
import { TextConnection, type TextProtocol } from '../../src/server/text-conn.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class SocketDouble {
  paused = false;
  destroyed = false;
  writableLength = 0;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  isPaused(): boolean {
    return this.paused;
  }
  end(done?: () => void): void {
    done?.();
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function setup() {
  /** every command sent to a shard, as "connection:command" */
  const sent: string[] = [];
  const ctx = {
    backend: {
      shards: 1,
      send: (_shard: number, _kind: number, conn: number, _seq: number, payload: Uint8Array) => {
        sent.push(`${conn}:${Buffer.from(payload).toString('latin1').trim()}`);
      },
    },
    commands: 0,
    write: () => undefined,
    admit: () => true,
  } as unknown as ConnectionContext;
  const protocol: TextProtocol<object, RespFrame> = {
    kind: 1,
    newState: () => ({}),
    newFramer: () => new RespFramer(),
    plan: (frame) => ({ kind: 'shard', shard: 0, raw: frame.raw }),
    failure: (message) => Buffer.from(`-ERR ${message}\r\n`),
  };
  const open = (id: number) => {
    const socket = new SocketDouble();
    return { socket, conn: new TextConnection(id, socket as unknown as Socket, ctx, protocol) };
  };
  return { sent, open };
}

describe('TextConnection: work per turn is bounded', () => {
  it('frames at most 1024 commands of one connection per turn, pausing its socket until the rest are done', async () => {
    const { sent, open } = setup();
    const a = open(1);
    a.conn.onData(Buffer.from('PING\r\n'.repeat(5000)));
    expect(sent).toHaveLength(1024);
    expect(a.socket.paused).toBe(true);
    // bytes arriving meanwhile wait for the turn already scheduled
    a.conn.onData(Buffer.from('ECHO\r\n'));
    expect(sent).toHaveLength(1024);
    while (sent.length < 5001) {
      const before = sent.length;
      await turn();
      expect(sent.length - before).toBeLessThanOrEqual(1024);
      expect(sent.length).toBeGreaterThan(before);
    }
    expect(sent.at(-1)).toBe('1:ECHO');
    expect(a.socket.paused).toBe(false);
  });

  it("another connection's command goes out while a long pipeline is still being framed", async () => {
    const { sent, open } = setup();
    const a = open(1);
    const b = open(2);
    a.conn.onData(Buffer.from('PING\r\n'.repeat(10_000)));
    b.conn.onData(Buffer.from('GET k\r\n'));
    await turn();
    b.conn.onData(Buffer.from('GET k2\r\n'));
    while (sent.filter((s) => s.startsWith('1:')).length < 10_000) await turn();
    const firstB = sent.indexOf('2:GET k');
    const secondB = sent.indexOf('2:GET k2');
    const lastA = sent.lastIndexOf('1:PING');
    expect(firstB).toBeGreaterThan(0);
    expect(secondB).toBeGreaterThan(firstB);
    expect(secondB).toBeLessThan(lastA);
  });

  it('bounds a turn by command bytes too (1 MB)', async () => {
    const { sent, open } = setup();
    const a = open(1);
    const value = 'x'.repeat(256 * 1024);
    a.conn.onData(Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`.repeat(8)));
    expect(sent).toHaveLength(4);
    while (sent.length < 8) await turn();
    expect(a.socket.paused).toBe(false);
  });
});
