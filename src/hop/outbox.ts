import { type Doorbell, PART_CONT, PART_MORE, type Ring } from './ring.js';

interface Held {
  kind: number;
  conn: number;
  seq: number;
  payload: Uint8Array;
  /** a message larger than one ring write: it goes in parts (see Ring), the rest of it is `payload` */
  inParts: boolean;
  /** parts of this message are already in the ring */
  started: boolean;
}

/**
 * The producer end of one ring: writes straight into the ring while it has room, keeps messages in
 * order in a queue when it does not, and rings the consumer's doorbell once per turn of the event
 * loop (setImmediate after the first write), not once per message: every socket read of one turn
 * shares one wake-up, which is a futex syscall when the consumer sleeps.
 *
 * A message larger than the ring can take in one write (`ring.maxPayload`) goes in parts of
 * `ring.partPayload` bytes, written as room appears; the consumer's Ring joins them. Messages sent
 * after it wait behind its last part, so the parts of one message are never interleaved with others.
 */
export class Outbox {
  private readonly held: Held[] = [];
  private bellScheduled = false;
  private pumping = false;
  private readonly ringBell = (): void => {
    this.bellScheduled = false;
    this.bell.ring();
  };

  constructor(
    readonly ring: Ring,
    private readonly bell: Doorbell,
  ) {}

  /** Messages waiting for room in the ring. */
  get backlog(): number {
    return this.held.length;
  }

  /** The consumer is gone (a shard worker died): drop what waits for room; the caller fails it. */
  discard(): void {
    this.held.length = 0;
  }

  send(kind: number, conn: number, seq: number, payload: Uint8Array, more?: Uint8Array): void {
    if (payload.length + (more ? more.length : 0) > this.ring.maxPayload) {
      this.sendInParts(kind, conn, seq, more ? Buffer.concat([payload, more]) : payload, more !== undefined);
      return;
    }
    if (this.held.length === 0 && this.ring.write(kind, conn, seq, payload, more)) {
      this.scheduleBell();
      return;
    }
    // The caller may reuse its buffers: keep a copy of what must wait.
    const copy = more ? Buffer.concat([payload, more]) : Buffer.from(payload);
    this.held.push({ kind, conn, seq, payload: copy, inParts: false, started: false });
    if (!this.pumping) void this.pump();
  }

  private scheduleBell(): void {
    if (!this.bellScheduled) {
      this.bellScheduled = true;
      setImmediate(this.ringBell);
    }
  }

  /** `owned`: the bytes are this outbox's own copy, not the caller's buffer. */
  private sendInParts(kind: number, conn: number, seq: number, bytes: Uint8Array, owned: boolean): void {
    const m: Held = { kind, conn, seq, payload: bytes, inParts: true, started: false };
    if (this.held.length === 0) {
      this.writeParts(m);
      if (m.started) this.scheduleBell();
    }
    // The caller may reuse its buffer: keep a copy of the parts that must wait.
    if (m.payload.length > 0) {
      if (!owned) m.payload = Buffer.from(m.payload);
      this.held.push(m);
      if (!this.pumping) void this.pump();
    }
  }

  /** Write as many parts of m as fit; true when its last part is in the ring. */
  private writeParts(m: Held): boolean {
    const part = this.ring.partPayload;
    for (;;) {
      const n = Math.min(part, m.payload.length);
      const last = n === m.payload.length;
      const flags = (m.started ? PART_CONT : 0) | (last ? 0 : PART_MORE);
      if (!this.ring.write(m.kind, m.conn, m.seq, m.payload.subarray(0, n), undefined, flags)) return false;
      m.started = true;
      m.payload = m.payload.subarray(n);
      if (last) return true;
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.held.length > 0) {
        this.bell.ring();
        const first = this.held[0];
        await this.ring.waitForSpace(first.inParts ? Math.min(first.payload.length, this.ring.partPayload) : first.payload.length);
        let i = 0;
        while (i < this.held.length) {
          const m = this.held[i];
          if (m.inParts ? !this.writeParts(m) : !this.ring.write(m.kind, m.conn, m.seq, m.payload)) break;
          i++;
        }
        if (i > 0) this.held.splice(0, i);
      }
      this.bell.ring();
    } finally {
      this.pumping = false;
    }
  }
}
