/**
 * A single-producer, single-consumer byte ring in a SharedArrayBuffer: the hop between a front thread
 * (acceptor, gateway, embedded host) and one shard worker.
 *
 * The producer appends many messages and wakes the consumer once per batch, and only when the consumer
 * said it is going to sleep; the consumer copies everything readable in one go, frees the space at once,
 * and then works on the copy. postMessage per request costs a structured clone and a wake-up each; this
 * costs one memcpy and, under load, no wake-ups at all.
 *
 * Message layout (4-byte aligned): u32 payload length | u8 kind | u8 part flags | u16 0 | u32 conn | u32 seq | payload.
 *
 * A message too large for one write (more than `maxPayload` bytes; see Outbox) crosses as parts of at
 * most `partPayload` bytes, written back to back, each with the message's kind, conn and seq: the part
 * flags byte is 0 for a whole message, PART_MORE on every part but the last and PART_CONT on every part
 * but the first. The consumer joins the parts and visits the message once, whole; nothing else of the
 * same producer comes between them, so one assembly per ring is enough.
 */

const HEAD = 0; // bytes written, monotonic mod 2^32 (producer owns)
const TAIL = 1; // bytes consumed, monotonic mod 2^32 (consumer owns)
const PRODUCER_WAITING = 2; // producer has messages that did not fit
const SPACE_SEQ = 3; // bumped by the consumer to tell a waiting producer about space
// Request rings only (see Ring.acknowledge): a restarted shard worker reads a front's ring only once
// that front has failed over what it sent the worker before.
const EPOCH = 4; // the generation of the consumer that serves this ring now (the pool sets it)
const ACKED = 5; // the generation the producer has caught up with (the producer sets it)
const CONTROL_INTS = 8;

const SLEEPING = 0; // consumer is (about to be) waiting for data
const DATA_SEQ = 1; // bumped by a producer to wake the consumer

/**
 * One consumer's wake-up word, shared by every ring it reads: a shard reads one ring per front thread,
 * and a front thread reads one reply ring per shard, each waiting in one place.
 */
export class Doorbell {
  readonly sab: SharedArrayBuffer;
  private readonly ctrl: Int32Array;

  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.sab = sab;
    this.ctrl = new Int32Array(sab);
  }

  /** Wake the consumer if it is asleep. Producers call it once after a batch of writes. */
  ring(): void {
    if (Atomics.load(this.ctrl, SLEEPING) !== 0) {
      Atomics.add(this.ctrl, DATA_SEQ, 1);
      Atomics.notify(this.ctrl, DATA_SEQ);
    }
  }

  /**
   * Wait until a producer may have written. Sets the sleeping flag first and re-checks, so a producer
   * that wrote in between is either seen by `hasWork` or sees the flag and bumps DATA_SEQ (seq-cst atomics
   * on both sides make this a Dekker handshake).
   */
  async wait(hasWork: () => boolean, timeoutMs = Infinity): Promise<void> {
    const seq = Atomics.load(this.ctrl, DATA_SEQ);
    Atomics.store(this.ctrl, SLEEPING, 1);
    if (!hasWork()) {
      const r = Atomics.waitAsync(this.ctrl, DATA_SEQ, seq, timeoutMs);
      if (r.async) await r.value;
    }
    Atomics.store(this.ctrl, SLEEPING, 0);
  }

  /**
   * The same handshake with a blocking wait (Atomics.wait), for worker threads only. Waking a
   * blocked thread is one futex call; waking a waitAsync waiter also posts a task into the other
   * thread's event loop, which costs the waker several times more. The wait is short, so the
   * caller's event loop still turns between waits. True when there may be work (a producer had
   * written or rang), false after a timeout.
   */
  waitBlocking(hasWork: () => boolean, timeoutMs: number): boolean {
    const seq = Atomics.load(this.ctrl, DATA_SEQ);
    Atomics.store(this.ctrl, SLEEPING, 1);
    const rung = hasWork() || Atomics.wait(this.ctrl, DATA_SEQ, seq, timeoutMs) !== 'timed-out';
    Atomics.store(this.ctrl, SLEEPING, 0);
    return rung;
  }
}

export const MESSAGE_HEADER = 16;

/** part flag: more parts of this message follow */
export const PART_MORE = 1;
/** part flag: this part continues the message of the part before it */
export const PART_CONT = 2;

export type RingMessageVisitor = (kind: number, conn: number, seq: number, payload: Buffer) => void;

export function createRingBuffer(capacity: number): SharedArrayBuffer {
  if (capacity < 1024 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError('ring capacity must be a power of two of at least 1024 bytes');
  }
  return new SharedArrayBuffer(CONTROL_INTS * 4 + capacity);
}

export class Ring {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly ctrl: Int32Array;
  private readonly data: Buffer;
  private readonly mask: number;
  private readonly header = Buffer.alloc(MESSAGE_HEADER);
  /** consumer side: the parts received so far of a message crossing in parts, else null */
  private parts: Buffer[] | null = null;
  private partsBytes = 0;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.ctrl = new Int32Array(sab, 0, CONTROL_INTS);
    this.capacity = sab.byteLength - CONTROL_INTS * 4;
    this.data = Buffer.from(sab, CONTROL_INTS * 4, this.capacity);
    this.mask = this.capacity - 1;
  }

  /** Largest payload one message may carry. */
  get maxPayload(): number {
    return this.capacity - MESSAGE_HEADER - 4;
  }

  /**
   * Payload bytes of one part of a message sent in parts: a quarter of the ring, so the producer can
   * write the next parts while the consumer copies out the previous ones.
   */
  get partPayload(): number {
    return (this.capacity >>> 2) - MESSAGE_HEADER;
  }

  // ---- producer side ----

  /**
   * Append one message. The payload may be given in two parts (header bytes plus body) to save a copy.
   * Returns false when the ring has no room; the caller keeps the message and retries after waitForSpace().
   * `flags` marks a part of a larger message (PART_MORE, PART_CONT); whole messages leave it 0.
   */
  write(kind: number, conn: number, seq: number, payload: Uint8Array, more?: Uint8Array, flags = 0): boolean {
    const len = payload.length + (more ? more.length : 0);
    const total = (MESSAGE_HEADER + len + 3) & ~3;
    const head = Atomics.load(this.ctrl, HEAD) >>> 0;
    const tail = Atomics.load(this.ctrl, TAIL) >>> 0;
    if (total > this.capacity - ((head - tail) >>> 0)) return false;
    const h = this.header;
    h.writeUInt32LE(len, 0);
    h[4] = kind;
    h[5] = flags;
    h.writeUInt32LE(conn >>> 0, 8);
    h.writeUInt32LE(seq >>> 0, 12);
    let at = this.put(head & this.mask, h);
    at = this.put(at, payload);
    if (more) this.put(at, more);
    Atomics.store(this.ctrl, HEAD, (head + total) | 0);
    return true;
  }

  private put(at: number, bytes: Uint8Array): number {
    const first = Math.min(bytes.length, this.capacity - at);
    this.data.set(first === bytes.length ? bytes : bytes.subarray(0, first), at);
    if (first < bytes.length) this.data.set(bytes.subarray(first), 0);
    return (at + bytes.length) & this.mask;
  }

  /** Bytes that a write can use right now. */
  free(): number {
    return this.capacity - ((Atomics.load(this.ctrl, HEAD) - Atomics.load(this.ctrl, TAIL)) >>> 0);
  }

  /** Resolves when the consumer has freed room for a payload of this many bytes (or after a while). */
  async waitForSpace(payloadBytes: number, timeoutMs = 1000): Promise<void> {
    const need = (MESSAGE_HEADER + payloadBytes + 3) & ~3;
    const seq = Atomics.load(this.ctrl, SPACE_SEQ);
    Atomics.store(this.ctrl, PRODUCER_WAITING, 1);
    if (this.free() < need) {
      const r = Atomics.waitAsync(this.ctrl, SPACE_SEQ, seq, timeoutMs);
      if (r.async) await r.value;
    }
    Atomics.store(this.ctrl, PRODUCER_WAITING, 0);
  }

  // ---- consumer side ----

  /**
   * Drop every unread message. Only while no consumer reads the ring (its worker exited, and the next
   * one waits for acknowledge()): the tail moves to a published head, which is a message boundary, so
   * a producer may go on writing meanwhile.
   */
  discardUnread(): void {
    Atomics.store(this.ctrl, TAIL, Atomics.load(this.ctrl, HEAD));
    Atomics.add(this.ctrl, SPACE_SEQ, 1);
    Atomics.notify(this.ctrl, SPACE_SEQ);
  }

  // ---- generations of the consumer (request rings) ----

  /** The generation of the consumer serving this ring now: 0, then one more after each restart. */
  get epoch(): number {
    return Atomics.load(this.ctrl, EPOCH);
  }

  /** Set by whoever starts consumers (the shard pool), before the new consumer starts. */
  setEpoch(epoch: number): void {
    Atomics.store(this.ctrl, EPOCH, epoch);
  }

  /**
   * Producer side: everything sent to earlier consumers has been answered or failed over, so drop what
   * they left unread (written before the producer learned they were gone) and let generation `epoch`
   * read from now on.
   */
  acknowledge(epoch: number): void {
    this.discardUnread();
    Atomics.store(this.ctrl, ACKED, epoch);
  }

  /** Consumer side: may the consumer of this generation read yet? */
  readableBy(epoch: number): boolean {
    return Atomics.load(this.ctrl, ACKED) === epoch;
  }

  /** Bytes waiting to be read. */
  pending(): number {
    return (Atomics.load(this.ctrl, HEAD) - Atomics.load(this.ctrl, TAIL)) >>> 0;
  }

  /**
   * Take every message written so far: copies them out in one piece, frees their space, then calls
   * visit for each with a view into that copy (valid for as long as the visitor keeps it). A message
   * sent in parts is visited once, when its last part arrives, with the parts joined in a buffer of
   * its own. Returns the number of messages read, each part counting as one.
   */
  drain(visit: RingMessageVisitor): number {
    const head = Atomics.load(this.ctrl, HEAD) >>> 0;
    const tail = Atomics.load(this.ctrl, TAIL) >>> 0;
    const size = (head - tail) >>> 0;
    if (size === 0) return 0;
    const copy = Buffer.allocUnsafe(size);
    const at = tail & this.mask;
    const first = Math.min(size, this.capacity - at);
    this.data.copy(copy, 0, at, at + first);
    if (first < size) this.data.copy(copy, first, 0, size - first);
    Atomics.store(this.ctrl, TAIL, head | 0);
    if (Atomics.load(this.ctrl, PRODUCER_WAITING) !== 0) {
      Atomics.add(this.ctrl, SPACE_SEQ, 1);
      Atomics.notify(this.ctrl, SPACE_SEQ);
    }
    let n = 0;
    let off = 0;
    while (off < size) {
      const len = copy.readUInt32LE(off);
      const kind = copy[off + 4];
      const conn = copy.readUInt32LE(off + 8);
      const seq = copy.readUInt32LE(off + 12);
      const start = off + MESSAGE_HEADER;
      if (copy[off + 5] === 0 && this.parts === null) visit(kind, conn, seq, copy.subarray(start, start + len));
      else this.takePart(copy[off + 5], kind, conn, seq, copy.subarray(start, start + len), visit);
      off += (MESSAGE_HEADER + len + 3) & ~3;
      n++;
    }
    return n;
  }

  /** One part of a message crossing in parts (or a whole message arriving while parts were pending). */
  private takePart(flags: number, kind: number, conn: number, seq: number, body: Buffer, visit: RingMessageVisitor): void {
    if ((flags & PART_CONT) === 0) {
      // A message that starts here: parts still pending belong to a message whose producer gave it up
      // (a shard worker that died mid-reply, an outbox emptied for a dead shard); they never complete.
      this.discardPartial();
      if ((flags & PART_MORE) === 0) {
        visit(kind, conn, seq, body);
        return;
      }
      this.parts = [];
    } else if (this.parts === null) {
      // the rest of a message whose first parts were dropped (discardUnread): drop it too
      return;
    }
    this.parts.push(body);
    this.partsBytes += body.length;
    if ((flags & PART_MORE) !== 0) return;
    const whole = Buffer.concat(this.parts, this.partsBytes);
    this.discardPartial();
    visit(kind, conn, seq, whole);
  }

  /** Consumer side: forget the parts of a message that has not fully arrived (its producer is gone). */
  discardPartial(): void {
    this.parts = null;
    this.partsBytes = 0;
  }
}
