/**
 * Slowloris and clients that never read: with --client-timeout 1s, a connection holding an
 * incomplete request (all at once or dribbled byte by byte) or leaving replies unread is closed; a
 * slow but well-behaved client is not. --idle-timeout closes idle connections only when set.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HELLO, nativeFrame } from '../../bench/fuzz-gen.js';
import { cleanup, raw, redis, respPing, sleep, start, until } from './lib.js';

afterAll(cleanup);

async function closedWithin(c: { isClosed(): boolean }, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (c.isClosed()) return true;
    await sleep(50);
  }
  return c.isClosed();
}

describe('client timeouts', () => {
  it('incomplete requests are cut off after --client-timeout on every protocol; slow complete requests are not', async () => {
    const srv = await start({ args: ['--client-timeout', '1s'] });

    const resp = await raw(srv.respPort);
    resp.socket.write('*2\r\n$3\r\nGET\r\n$1');
    const mc = await raw(srv.memcachePort);
    mc.socket.write('set k 0 0 10\r\nabc');
    const nat = await raw(srv.port);
    nat.socket.write(Buffer.concat([HELLO, nativeFrame(0x02, 2, Buffer.alloc(0), Buffer.from([0x90])).subarray(0, 7)]));
    // dribbling one byte every 200 ms never completes a request
    const drip = await raw(srv.respPort);
    const cmd = '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$100\r\n' + 'x'.repeat(100) + '\r\n';
    let i = 0;
    const dripper = setInterval(() => {
      if (!drip.isClosed()) drip.socket.write(cmd[i++ % cmd.length]);
    }, 200);
    // a slow client that completes a PING every 300 ms stays
    const slow = await raw(srv.respPort);
    const pinger = setInterval(() => slow.socket.write('PING\r\n'), 300);

    expect(await closedWithin(resp, 4000)).toBe(true);
    expect(await closedWithin(mc, 4000)).toBe(true);
    expect(await closedWithin(nat, 4000)).toBe(true);
    expect(await closedWithin(drip, 4000)).toBe(true);
    clearInterval(dripper);
    expect(slow.isClosed()).toBe(false);
    clearInterval(pinger);
    slow.socket.destroy();
    expect(srv.output()).toMatch(/incomplete request was held/);
    expect(await respPing(srv.respPort)).toBe(true);
  }, 30_000);

  it('a client that never reads its replies is cut off', async () => {
    const srv = await start({ args: ['--client-timeout', '1s'] });
    const r = redis(srv.respPort);
    await r.set('big', 'x'.repeat(512 * 1024));
    const c = await raw(srv.respPort);
    c.socket.pause(); // never read
    // 30 MB of replies: more than the kernel's socket buffers hold, less than --output-limit (64 MB)
    c.socket.write(Buffer.from('GET big\r\n'.repeat(60)));
    await until(() => /unread for more than/.test(srv.output()), 15_000, 'the stalled reader to be dropped');
    expect(srv.output()).toMatch(/reply bytes went unread for more than 1000 ms/);
    expect(await respPing(srv.respPort)).toBe(true);
  }, 30_000);

  it('--idle-timeout closes idle connections; without it they stay', async () => {
    const idle = await start({ args: ['--idle-timeout', '1s'] });
    const a = await raw(idle.respPort);
    expect(await closedWithin(a, 4000)).toBe(true);

    const plain = await start({ args: ['--client-timeout', '1s'] });
    const b = await raw(plain.respPort);
    await sleep(2500);
    expect(b.isClosed()).toBe(false);
    b.socket.destroy();
  }, 30_000);
});
