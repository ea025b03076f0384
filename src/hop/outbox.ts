import { Doorbell, Ring } from './ring.js';

interface Held {
  kind: number;
  conn: number;
  seq: number;
  payload: Uint8Array;
}

/**
 * The producer end of one ring: writes straight into the ring while it has room, keeps messages in
 * order in a queue when it does not, and rings the consumer's doorbell once per turn of the event
 * loop (setImmediate after the first write), not once per message: every socket read of one turn
 * shares one wake-up, which is a futex syscall when the consumer sleeps.
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
      throw new RangeError(`message of ${payload.length} bytes exceeds the ring's ${this.ring.maxPayload}`);
    }
    if (this.held.length === 0 && this.ring.write(kind, conn, seq, payload, more)) {
      if (!this.bellScheduled) {
        this.bellScheduled = true;
        setImmediate(this.ringBell);
      }
      return;
    }
    // The caller may reuse its buffers: keep a copy of what must wait.
    const copy = more ? Buffer.concat([payload, more]) : Buffer.from(payload);
    this.held.push({ kind, conn, seq, payload: copy });
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.held.length > 0) {
        this.bell.ring();
        await this.ring.waitForSpace(this.held[0].payload.length);
        let i = 0;
        while (i < this.held.length) {
          const m = this.held[i];
          if (!this.ring.write(m.kind, m.conn, m.seq, m.payload)) break;
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
