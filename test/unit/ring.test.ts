import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRingBuffer, Doorbell, PART_CONT, PART_MORE, Ring } from '../../src/hop/ring.js';
import { Outbox } from '../../src/hop/outbox.js';
import { packageRoot } from '../../src/paths.js';
import { loadConfig } from '../../src/config.js';
import { ringBytesFor } from '../../src/shards/messages.js';

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
    expect(got.map((m) => [m.kind, m.conn, m.seq])).toEqual([
      [1, 5, 0],
      [2, 6, 1],
      [1, 7, 2],
    ]);
    expect(got[0].payload.toString()).toBe('before');
    expect(got[1].payload.equals(big)).toBe(true);
    expect(got[2].payload.toString()).toBe('after');
  });

  it('crosses threads: a worker echoes 50,000 messages back through a second ring', async () => {
    // Rings large enough that no message waits for room: the cross-thread hand-off and wake-ups are
    // what this checks (waiting for room is covered on one thread above).
    const got = await echoThroughWorker({
      ringBytes: 2 * 1024 * 1024,
      count: 50_000,
      reverse: false,
      message: (i) => Buffer.from(String(i)),
      check: (i, conn, seq, payload) => {
        expect(seq).toBe(i);
        expect(conn).toBe(i % 100);
        expect(payload.toString()).toBe(String(i));
      },
    });
    expect(got).toBe(50_000);
  });
});

/** A payload whose every byte depends on (seq, offset), so a misplaced or missing part shows. */
function pattern(seq: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (seq * 31 + i * 7 + (i >>> 8)) & 0xff;
  return b;
}

describe('messages larger than the ring', () => {
  it('an outbox sends them in parts that the ring joins, in order with small ones, through full rings and wrap-arounds', async () => {
    const ring = new Ring(createRingBuffer(1024));
    const out = new Outbox(ring, new Doorbell());
    const max = ring.maxPayload;
    // small, exactly the largest single write, one byte more, many times the ring, and an odd size
    const sizes = [5, max, max + 1, 10 * 1024, 3, 64 * 1024 + 3, 0, 2 * max, 700, 1, 5000];
    const sent: { kind: number; conn: number; seq: number; bytes: Buffer }[] = [];
    for (let round = 0; round < 3; round++) {
      for (const size of sizes) {
        const seq = sent.length;
        const bytes = pattern(seq, size);
        sent.push({ kind: 1 + (seq % 4), conn: seq * 3, seq, bytes });
        out.send(1 + (seq % 4), seq * 3, seq, bytes);
        // the caller may reuse its buffer as soon as send returns
        bytes.fill(0xee);
        sent[seq].bytes = pattern(seq, size);
      }
    }
    expect(out.backlog).toBeGreaterThan(0);
    const got: { kind: number; conn: number; seq: number; bytes: Buffer }[] = [];
    for (let turns = 0; got.length < sent.length && turns < 100_000; turns++) {
      ring.drain((kind, conn, seq, payload) => got.push({ kind, conn, seq, bytes: Buffer.from(payload) }));
      await new Promise((r) => setImmediate(r));
    }
    expect(got.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) {
      expect({ ...got[i], bytes: got[i].bytes.length }).toEqual({ ...sent[i], bytes: sent[i].bytes.length });
      expect(got[i].bytes.equals(sent[i].bytes)).toBe(true);
    }
    expect(out.backlog).toBe(0);
  });

  it('a large payload given in two parts crosses whole', async () => {
    const ring = new Ring(createRingBuffer(1024));
    const out = new Outbox(ring, new Doorbell());
    const head = pattern(1, 10);
    const body = pattern(2, 3000);
    out.send(2, 7, 8, head, body);
    const got: Buffer[] = [];
    while (got.length === 0) {
      ring.drain((_k, _c, _s, payload) => got.push(Buffer.from(payload)));
      await new Promise((r) => setImmediate(r));
    }
    expect(got).toEqual([Buffer.concat([head, body])]);
  });

  it('a message that fits is written whole, with no part flags', () => {
    const ring = new Ring(createRingBuffer(1024));
    const out = new Outbox(ring, new Doorbell());
    out.send(1, 2, 3, pattern(3, ring.maxPayload));
    expect(out.backlog).toBe(0);
    // the first message's header starts after the ring's 8 control words; its flags byte is the 6th
    const flags = Buffer.from(ring.sab, 8 * 4 + 5, 1)[0];
    expect(flags).toBe(0);
  });

  it('parts whose start was discarded are dropped, and an abandoned message never blocks the next', () => {
    const ring = new Ring(createRingBuffer(1024));
    // a producer that gave up after two parts (its worker died): the next whole message still arrives
    ring.write(1, 1, 1, Buffer.from('first-'), undefined, PART_MORE);
    ring.write(1, 1, 1, Buffer.from('second-'), undefined, PART_MORE | PART_CONT);
    ring.write(1, 2, 2, Buffer.from('whole'));
    expect(drainAll(ring)).toEqual([{ kind: 1, conn: 2, seq: 2, text: 'whole' }]);
    // the start of a message, then the ring is reset under it (discardUnread) while the rest is sent
    const consumer = new Ring(ring.sab);
    ring.write(1, 3, 3, Buffer.from('lost-start'), undefined, PART_MORE);
    consumer.discardUnread();
    ring.write(1, 3, 3, Buffer.from('orphan-middle'), undefined, PART_MORE | PART_CONT);
    ring.write(1, 3, 3, Buffer.from('orphan-end'), undefined, PART_CONT);
    ring.write(1, 4, 4, Buffer.from('a-'), undefined, PART_MORE);
    ring.write(1, 4, 4, Buffer.from('b-'), undefined, PART_MORE | PART_CONT);
    ring.write(1, 4, 4, Buffer.from('c'), undefined, PART_CONT);
    expect(drainAll(consumer)).toEqual([{ kind: 1, conn: 4, seq: 4, text: 'a-b-c' }]);
    // a consumer told its producer is gone forgets what it had of an unfinished message
    consumer.write(1, 5, 5, Buffer.from('never-'), undefined, PART_MORE);
    expect(drainAll(consumer)).toEqual([]);
    consumer.discardPartial();
    consumer.write(1, 5, 5, Buffer.from('finished'), undefined, PART_CONT);
    consumer.write(1, 6, 6, Buffer.from('next'));
    expect(drainAll(consumer)).toEqual([{ kind: 1, conn: 6, seq: 6, text: 'next' }]);
  });

  it('crosses threads both ways: a worker echoes large and small messages interleaved through 64 KB rings', async () => {
    const sizeOf = (i: number): number => (i % 10 === 3 ? 200_000 + i * 13 : i % 10 === 7 ? 65_536 + i : (i * 37) % 300);
    let bad = 0;
    const got = await echoThroughWorker({
      ringBytes: 64 * 1024,
      count: 400,
      reverse: true,
      message: (i) => pattern(i, sizeOf(i)),
      check: (i, conn, seq, payload) => {
        if (
          seq !== i ||
          conn !== i % 100 ||
          !Buffer.from(payload)
            .reverse()
            .equals(pattern(i, sizeOf(i)))
        )
          bad++;
      },
    });
    expect(bad).toBe(0);
    expect(got).toBe(400);
  }, 60_000);
});

/**
 * Sends `count` messages to a worker thread through one ring, which echoes each back (reversed, if
 * asked) through another; both ends run the compiled modules, as the server does. Returns how many
 * came back; `check` sees each in arrival order.
 */
async function echoThroughWorker(o: {
  ringBytes: number;
  count: number;
  reverse: boolean;
  message: (i: number) => Buffer;
  check: (i: number, conn: number, seq: number, payload: Buffer) => void;
}): Promise<number> {
  const toWorker = createRingBuffer(o.ringBytes);
  const fromWorker = createRingBuffer(o.ringBytes);
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
      let n = 0;
      inbound.drain((kind, conn, seq, payload) => {
        n++;
        out.send(kind, conn, seq, workerData.reverse ? Buffer.from(payload).reverse() : payload);
      });
      seen += n;
      // as the shard endpoint does: let the event loop turn between drains, so the outbox's own
      // wait for room in the reply ring can run
      if (n === 0) await bell.wait(() => inbound.pending() > 0, 1000);
      else await new Promise((r) => setImmediate(r));
    }
    while (out.backlog > 0) await new Promise((r) => setTimeout(r, 1));
    clearInterval(keepAlive);
  })().catch((err) => { console.error(err); process.exit(1); });`;
  const worker = new Worker(code, {
    eval: true,
    execArgv: [],
    stdout: false,
    workerData: { toWorker, fromWorker, workerBell: workerBell.sab, mainBell: mainBell.sab, count: o.count, reverse: o.reverse },
  });
  const dist = (await import(ringUrl)) as typeof import('../../src/hop/ring.js');
  const distOutbox = (await import(outboxUrl)) as typeof import('../../src/hop/outbox.js');
  const mainBellDist = new dist.Doorbell(mainBell.sab);
  const out = new distOutbox.Outbox(new dist.Ring(toWorker), new dist.Doorbell(workerBell.sab));
  const inbound = new dist.Ring(fromWorker);
  for (let i = 0; i < o.count; i++) out.send(1, i % 100, i, o.message(i));
  const failed = new Promise((_, reject) => {
    worker.once('error', reject);
    worker.once('exit', (c) => c !== 0 && reject(new Error('worker exited ' + c)));
  });
  let next = 0;
  while (next < o.count) {
    const n = inbound.drain((_k, conn, seq, payload) => o.check(next++, conn, seq, payload));
    if (n === 0) await Promise.race([mainBellDist.wait(() => inbound.pending() > 0, 1000), failed]);
    else await new Promise((r) => setImmediate(r));
  }
  await worker.terminate();
  return next;
}

describe('ring size', () => {
  it('holds one largest in-memory value, 1 MiB with the defaults: every page of a ring stays resident once traffic has gone round it', () => {
    const defaults = loadConfig([], {});
    expect(ringBytesFor(defaults.maxItemSize)).toBe(1024 * 1024);
    expect(ringBytesFor(0)).toBe(1024 * 1024);
    for (const item of [1024 * 1024 + 1, 3 * 1024 * 1024, 64 * 1024 * 1024]) {
      const bytes = ringBytesFor(item);
      expect(bytes).toBeGreaterThanOrEqual(item);
      expect(bytes & (bytes - 1)).toBe(0);
      expect(bytes).toBeLessThan(2 * item);
      // the ring takes it: a power of two of at least 1 KiB
      expect(createRingBuffer(bytes).byteLength).toBeGreaterThan(bytes);
    }
  });
});
