import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createRingBuffer, Doorbell, Ring } from '../../src/hop/ring.js';
import { Endpoint } from '../../src/hop/link.js';
import { packageRoot } from '../../src/paths.js';

// the doorbell's words (src/hop/ring.ts): [0] the consumer sleeps, [1] bumped by a producer that woke it
const SLEEPING = 0;
const DATA_SEQ = 1;

const endpoints: Endpoint[] = [];
afterEach(async () => {
  for (const e of endpoints.splice(0)) await e.stop();
});

/** A front-like endpoint over one inbound ring, started (its loop asleep on the doorbell), with a producer's side. */
function consumer() {
  const ringSab = createRingBuffer(4096);
  const bellSab = new SharedArrayBuffer(8);
  const got: string[] = [];
  const endpoint = new Endpoint([], [new Ring(ringSab)], new Doorbell(bellSab), [(_k, _c, _s, payload) => got.push(payload.toString())]);
  endpoint.start();
  endpoints.push(endpoint);
  // the producer's side, as a shard's outbox has it
  const ring = new Ring(ringSab);
  const bell = new Doorbell(bellSab);
  const words = new Int32Array(bellSab);
  /** write one message and ring; true when the producer found the consumer asleep and woke it */
  const send = (text: string): boolean => {
    const seq = Atomics.load(words, DATA_SEQ);
    expect(ring.write(1, 7, 0, Buffer.from(text))).toBe(true);
    bell.ring();
    return Atomics.load(words, DATA_SEQ) !== seq;
  };
  return { endpoint, got, send, words };
}

async function until(what: () => boolean): Promise<void> {
  while (!what()) await new Promise((r) => setTimeout(r, 1));
}

describe('Endpoint.keepAwake: a front expecting a reply polls instead of sleeping', () => {
  it('does not wake a sleeping loop, but once awake the loop keeps polling for the window: replies need no wake-up', async () => {
    const c = consumer();
    c.endpoint.keepAwake(60_000);
    expect(Atomics.load(c.words, SLEEPING)).toBe(1);
    // asleep since start: this one must ring
    expect(c.send('first')).toBe(true);
    await until(() => c.got.length === 1);
    // within the window the loop turns the event loop instead of sleeping on the doorbell
    expect(Atomics.load(c.words, SLEEPING)).toBe(0);
    expect(c.send('second')).toBe(false);
    await until(() => c.got.length === 2);
    expect(c.send('third')).toBe(false);
    await until(() => c.got.length === 3);
    expect(c.got).toEqual(['first', 'second', 'third']);
    // stop ends a loop that is awake (afterEach awaits it)
  });

  it('sleeps on the doorbell again once the window has passed, and a later reply wakes it', async () => {
    const c = consumer();
    c.endpoint.keepAwake(5);
    expect(c.send('first')).toBe(true);
    await until(() => c.got.length === 1);
    await until(() => Atomics.load(c.words, SLEEPING) === 1);
    expect(c.send('late')).toBe(true);
    await until(() => c.got.length === 2);
    expect(c.got).toEqual(['first', 'late']);
  });

  it('without it the loop sleeps as soon as the rings are empty', async () => {
    const c = consumer();
    expect(c.send('a')).toBe(true);
    await until(() => c.got.length === 1);
    await until(() => Atomics.load(c.words, SLEEPING) === 1);
    expect(c.send('b')).toBe(true);
    await until(() => c.got.length === 2);
  });

  it('stops while awake without taking what comes after the stop', async () => {
    const c = consumer();
    c.endpoint.keepAwake(60_000);
    c.send('first');
    await until(() => c.got.length === 1);
    await c.endpoint.stop();
    c.send('after stop');
    await new Promise((r) => setImmediate(r));
    expect(c.got).toEqual(['first']);
  });
});

describe('Doorbell.waitBlocking (shard workers)', () => {
  it('says whether a producer may have written: yes with work, no after a timeout, yes when another thread rings', async () => {
    const bell = new Doorbell();
    expect(bell.waitBlocking(() => true, 60_000)).toBe(true);
    expect(bell.waitBlocking(() => false, 1)).toBe(false);
    expect(Atomics.load(new Int32Array(bell.sab), SLEEPING)).toBe(0);

    const ringSab = createRingBuffer(4096);
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const ringUrl = pathToFileURL(join(packageRoot, 'dist', 'src', 'hop', 'ring.js')).href;
    // a producer thread that writes one request and rings once the consumer is about to block
    const code = `(async () => {
      const { Ring, Doorbell } = await import(${JSON.stringify(ringUrl)});
      const { workerData } = await import('node:worker_threads');
      const gate = new Int32Array(workerData.gate);
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      Atomics.wait(gate, 0, 1);
      new Ring(workerData.ring).write(1, 7, 0, Buffer.from('request'));
      new Doorbell(workerData.bell).ring();
    })().catch((err) => { console.error(err); process.exit(1); });`;
    const worker = new Worker(code, { eval: true, execArgv: [], workerData: { gate: gate.buffer, ring: ringSab, bell: bell.sab } });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await Atomics.waitAsync(gate, 0, 0).value;
    Atomics.store(gate, 0, 2);
    Atomics.notify(gate, 0);
    const ring = new Ring(ringSab);
    // a wait far longer than the producer needs: it must end because the producer wrote or rang
    expect(bell.waitBlocking(() => ring.pending() > 0, 60_000)).toBe(true);
    expect(ring.pending()).toBeGreaterThan(0);
    expect(await exited).toBe(0);
  });
});
