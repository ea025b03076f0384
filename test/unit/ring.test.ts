import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRingBuffer, Doorbell, Ring } from '../../src/hop/ring.js';
import { Outbox } from '../../src/hop/outbox.js';
import { packageRoot } from '../../src/paths.js';

function drainAll(ring: Ring): { kind: number; conn: number; seq: number; text: string }[] {
  const got: { kind: number; conn: number; seq: number; text: string }[] = [];
  ring.drain((kind, conn, seq, payload) => got.push({ kind, conn, seq, text: payload.toString() }));
  return got;
}

describe('Ring', () => {
  it('keeps messages whole and in order across the wrap-around', () => {
    const ring = new Ring(createRingBuffer(1024));
    let sent = 0;
    let received = 0;
    for (let round = 0; round < 200; round++) {
      const batch = 1 + (round % 7);
      for (let i = 0; i < batch; i++) {
        const text = `m${sent}-` + 'x'.repeat((sent * 37) % 90);
        expect(ring.write(1 + (sent % 3), sent, sent * 2, Buffer.from(text))).toBe(true);
        sent++;
      }
      for (const m of drainAll(ring)) {
        expect(m.conn).toBe(received);
        expect(m.seq).toBe(received * 2);
        expect(m.kind).toBe(1 + (received % 3));
        expect(m.text).toBe(`m${received}-` + 'x'.repeat((received * 37) % 90));
        received++;
      }
    }
    expect(received).toBe(sent);
  });

  it('refuses a write that does not fit and accepts it once space is freed', () => {
    const ring = new Ring(createRingBuffer(1024));
    const big = Buffer.alloc(600, 7);
    expect(ring.write(1, 0, 0, big)).toBe(true);
    expect(ring.write(1, 0, 1, big)).toBe(false);
    expect(drainAll(ring)).toHaveLength(1);
    expect(ring.write(1, 0, 1, big)).toBe(true);
  });

  it('carries a payload given in two parts as one message', () => {
    const ring = new Ring(createRingBuffer(1024));
    ring.write(2, 5, 6, Buffer.from('head-'), Buffer.from('body'));
    expect(drainAll(ring)).toEqual([{ kind: 2, conn: 5, seq: 6, text: 'head-body' }]);
  });

  it('an outbox queues what does not fit and delivers everything in order', async () => {
    const sab = createRingBuffer(1024);
    const ring = new Ring(sab);
    const bell = new Doorbell();
    const out = new Outbox(ring, bell);
    for (let i = 0; i < 100; i++) out.send(1, 0, i, Buffer.alloc(100, i));
    expect(out.backlog).toBeGreaterThan(0);
    const seqs: number[] = [];
    while (seqs.length < 100) {
      ring.drain((_k, _c, seq, payload) => {
        expect(payload[0]).toBe(seq);
        seqs.push(seq);
      });
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('carries a message far larger than the ring in parts, in order with the others', async () => {
    const ring = new Ring(createRingBuffer(1024));
    const out = new Outbox(ring, new Doorbell());
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    out.send(1, 5, 0, Buffer.from('before'));
    out.send(2, 6, 1, big.subarray(0, 10), big.subarray(10));
    out.send(1, 7, 2, Buffer.from('after'));
    const got: { kind: number; conn: number; seq: number; payload: Buffer }[] = [];
    while (got.length < 3) {
      ring.drain((kind, conn, seq, payload) => got.push({ kind, conn, seq, payload: Buffer.from(payload) }));
      await new Promise((r) => setImmediate(r));
    }
    expect(got.map((m) => [m.kind, m.conn, m.seq])).toEqual([[1, 5, 0], [2, 6, 1], [1, 7, 2]]);
    expect(got[0].payload.toString()).toBe('before');
    expect(got[1].payload.equals(big)).toBe(true);
    expect(got[2].payload.toString()).toBe('after');
  });

  it('skips the parts of a message whose first part it never saw (a consumer started after a dead producer)', () => {
    const ring = new Ring(createRingBuffer(1024));
    expect(ring.write(3, 1, 1, Buffer.from('middle of something'), undefined, 2)).toBe(true);
    expect(ring.write(3, 1, 1, Buffer.from('its end'), undefined, 3)).toBe(true);
    expect(ring.write(1, 2, 2, Buffer.from('whole'))).toBe(true);
    expect(drainAll(ring)).toEqual([{ kind: 1, conn: 2, seq: 2, text: 'whole' }]);
  });

  it('crosses threads: a worker echoes 50,000 messages back through a second ring', async () => {
    // Rings large enough that no message waits for room: the cross-thread hand-off and wake-ups are
    // what this checks (waiting for room is covered on one thread above).
    const toWorker = createRingBuffer(2 * 1024 * 1024);
    const fromWorker = createRingBuffer(2 * 1024 * 1024);
    const workerBell = new Doorbell();
    const mainBell = new Doorbell();
    const ringUrl = pathToFileURL(join(packageRoot, 'dist', 'src', 'hop', 'ring.js')).href;
    const outboxUrl = pathToFileURL(join(packageRoot, 'dist', 'src', 'hop', 'outbox.js')).href;
    const code = `(async () => {
      const { Ring, Doorbell } = await import(${JSON.stringify(ringUrl)});
      const { Outbox } = await import(${JSON.stringify(outboxUrl)});
      const { workerData } = await import('node:worker_threads');
      const inbound = new Ring(workerData.toWorker);
      const bell = new Doorbell(workerData.workerBell);
      const out = new Outbox(new Ring(workerData.fromWorker), new Doorbell(workerData.mainBell));
      // Atomics.waitAsync holds no reference on the event loop: keep the thread alive while it waits.
      const keepAlive = setInterval(() => {}, 1 << 30);
      let seen = 0;
      while (seen < workerData.count) {
        const n = inbound.drain((kind, conn, seq, payload) => out.send(kind, conn, seq, payload));
        seen += n;
        // as the shard endpoint does: let the event loop turn between drains, so the outbox's own
        // wait for room in the reply ring can run
        if (n === 0) await bell.wait(() => inbound.pending() > 0, 1000);
        else await new Promise((r) => setImmediate(r));
      }
      clearInterval(keepAlive);
    })().catch((err) => { console.error(err); process.exit(1); });`;
    const count = 50_000;
    const worker = new Worker(code, {
      eval: true,
      execArgv: [],
      stdout: false,
      workerData: { toWorker, fromWorker, workerBell: workerBell.sab, mainBell: mainBell.sab, count },
    });
    // both ends run the compiled modules, as the server does
    const dist = (await import(ringUrl)) as typeof import('../../src/hop/ring.js');
    const distOutbox = (await import(outboxUrl)) as typeof import('../../src/hop/outbox.js');
    const mainBellDist = new dist.Doorbell(mainBell.sab);
    const out = new distOutbox.Outbox(new dist.Ring(toWorker), new dist.Doorbell(workerBell.sab));
    const inbound = new dist.Ring(fromWorker);
    for (let i = 0; i < count; i++) out.send(1, i % 100, i, Buffer.from(String(i)));
    const failed = new Promise((_, reject) => { worker.once('error', reject); worker.once('exit', (c) => c !== 0 && reject(new Error('worker exited ' + c))); });
    let next = 0;
    while (next < count) {
      const n = inbound.drain((_k, conn, seq, payload) => {
        expect(seq).toBe(next);
        expect(conn).toBe(next % 100);
        expect(payload.toString()).toBe(String(next));
        next++;
      });
      if (n === 0) await Promise.race([mainBellDist.wait(() => inbound.pending() > 0, 1000), failed]);
      else await new Promise((r) => setImmediate(r));
    }
    await worker.terminate();
    expect(next).toBe(count);
  });
});
