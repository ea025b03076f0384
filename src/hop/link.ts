import { Doorbell, Ring, type RingMessageVisitor } from './ring.js';
import { Outbox } from './outbox.js';

/** The shared memory one front thread uses to reach every shard, as passed between threads. */
export interface LinkMemory {
  /** requests, front → shard i */
  requests: SharedArrayBuffer[];
  /** replies, shard i → front */
  replies: SharedArrayBuffer[];
  /** each shard's doorbell (one per shard, shared by every front) */
  shardBells: SharedArrayBuffer[];
  /** this front's doorbell (shared by every shard's reply ring to it) */
  bell: SharedArrayBuffer;
  /**
   * Int32 words shared by every front and shard: [0] how many fronts have event subscribers,
   * [1 + f] 1 when front f has. Shards read them to send events only where someone listens.
   */
  events: SharedArrayBuffer;
  /** this front's index f */
  front: number;
}

/** A front thread's switch for the events shards send it (see LinkMemory.events). */
export class EventGate {
  private readonly words: Int32Array;
  private on = false;

  constructor(memory: LinkMemory) {
    this.words = new Int32Array(memory.events);
    this.front = memory.front;
  }

  private readonly front: number;

  set(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    Atomics.store(this.words, 1 + this.front, on ? 1 : 0);
    Atomics.add(this.words, 0, on ? 1 : -1);
  }
}

/** how long after its last work a worker keeps using blocking waits */
const BUSY_WINDOW_MS = 100;
/** the longest a blocking wait holds the worker's event loop */
const BLOCKING_WAIT_MS = 1;

const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Both ends of the hop use this shape: outboxes to write to, inbound rings to drain, and one doorbell
 * to sleep on. The loop drains every inbound ring, yields to I/O between rounds while there is work,
 * and sleeps on the doorbell when there is none.
 */
export class Endpoint {
  private running = false;
  private stopped: Promise<void> | null = null;
  /** Atomics.waitAsync holds no reference on the event loop; this timer keeps the thread alive instead. */
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    readonly outboxes: Outbox[],
    private readonly inbound: Ring[],
    private readonly bell: Doorbell,
    /** one visitor per inbound ring, so the visitor knows where a message came from */
    private readonly visitors: RingMessageVisitor[],
    /**
     * Worker threads only: while work came recently, sleep in short blocking waits (cheap to wake)
     * between turns of the event loop, instead of waitAsync (dear to wake).
     */
    private readonly options: { blockingWait?: boolean; epoch?: number } = {},
  ) {
    this.open = options.epoch === undefined ? null : inbound.map(() => false);
  }

  private lastWork = 0;
  /** until then (performance.now()), the loop turns the event loop instead of sleeping (keepAwake) */
  private hotUntil = 0;

  /**
   * Poll instead of sleeping for the next `ms`: for a front thread that expects a reply soon. Each
   * turn of the event loop polls the rings and, with an immediate pending, the sockets without
   * blocking, so the reply, and the client's next request after it, reach a thread that is awake: a
   * waitAsync wake-up (a task posted into the event loop) and an epoll wake-up cost a sequential
   * request more than the turns do. It does not wake a loop that already sleeps.
   */
  keepAwake(ms: number): void {
    this.hotUntil = performance.now() + ms;
  }

  /**
   * A shard worker (options.epoch: its generation) reads a front's request ring only once that front
   * has acknowledged the generation (Ring.acknowledge); once open, a ring stays open. Null: read all.
   */
  private readonly open: boolean[] | null;

  private readable(i: number): boolean {
    const open = this.open!;
    return open[i] || (open[i] = this.inbound[i].readableBy(this.options.epoch!));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.stopped = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.bell.ring();
    // Wake the loop if it is asleep: ring() only notifies a sleeper, which is what we want.
    await this.stopped;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private hasWork = (): boolean => {
    if (!this.running) return true;
    for (let i = 0; i < this.inbound.length; i++) {
      if (this.open !== null && !this.readable(i)) continue;
      if (this.inbound[i].pending() > 0) return true;
    }
    return false;
  };

  /** Drain every inbound ring now; the number of messages taken. */
  poll(): number {
    let n = 0;
    for (let i = 0; i < this.inbound.length; i++) {
      if (this.open !== null && !this.readable(i)) continue;
      n += this.inbound[i].drain(this.visitors[i]);
    }
    return n;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const n = this.poll();
      if (n > 0) {
        this.lastWork = performance.now();
        await yieldToIo();
      } else if (this.options.blockingWait && performance.now() - this.lastWork < BUSY_WINDOW_MS) {
        // woken by a producer: take its messages now (the poll yields to I/O after them); a turn of
        // the event loop first cost a sequential request about 20-30 us
        if (!this.bell.waitBlocking(this.hasWork, BLOCKING_WAIT_MS)) await yieldToIo();
      } else if (this.hotUntil > 0 && performance.now() < this.hotUntil) {
        await yieldToIo();
      } else await this.bell.wait(this.hasWork, 1000);
    }
  }
}

/** A front thread's end: send to shard i, receive every shard's replies. */
export function frontEndpoint(memory: LinkMemory, visit: RingMessageVisitor): Endpoint {
  const outboxes = memory.requests.map((sab, i) => new Outbox(new Ring(sab), new Doorbell(memory.shardBells[i])));
  const inbound = memory.replies.map((sab) => new Ring(sab));
  return new Endpoint(
    outboxes,
    inbound,
    new Doorbell(memory.bell),
    inbound.map(() => visit),
  );
}
