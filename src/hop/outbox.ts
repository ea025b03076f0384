import { Doorbell, PART_FIRST, PART_LAST, PART_MIDDLE, Ring } from './ring.js';

interface Held {
  kind: number;
  conn: number;
  seq: number;
  payload: Uint8Array;
  more: Uint8Array | undefined;
  part: number;
}

/**
 * The producer end of one ring: writes straight into the ring while it has room, keeps messages in
 * order in a queue when it does not, and rings the consumer's doorbell once per turn of the event
 * loop (setImmediate after the first write), not once per message: every socket read of one turn
 * shares one wake-up, which is a futex syscall when the consumer sleeps. A message above the ring's
 * part size goes in parts (see ring.ts), so any message fits however small the ring.
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
    const length = payload.length + (more ? more.length : 0);
    if (length > this.ring.partSize) {
      this.sendParts(kind, conn, seq, more ? Buffer.concat([payload, more]) : Buffer.from(payload));
      return;
    }
    if (this.held.length === 0 && this.ring.write(kind, conn, seq, payload, more)) {
      this.scheduleBell();
      return;
    }
    // The caller may reuse its buffers: keep a copy of what must wait.
    const copy = more ? Buffer.concat([payload, more]) : Buffer.from(payload);
    this.hold({ kind, conn, seq, payload: copy, more: undefined, part: 0 });
  }

  /** A message above the part size (`whole` is this outbox's own copy): as many parts as it takes. */
  private sendParts(kind: number, conn: number, seq: number, whole: Buffer): void {
    const size = this.ring.partSize - 4;
    const lengthPrefix = Buffer.allocUnsafe(4);
    lengthPrefix.writeUInt32LE(whole.length, 0);
    for (let at = 0; at < whole.length; at += size) {
      const end = Math.min(whole.length, at + size);
      const part = at === 0 ? PART_FIRST : end === whole.length ? PART_LAST : PART_MIDDLE;
      const m: Held = at === 0
        ? { kind, conn, seq, payload: lengthPrefix, more: whole.subarray(0, end), part }
        : { kind, conn, seq, payload: whole.subarray(at, end), more: undefined, part };
      if (this.held.length === 0 && this.ring.write(m.kind, m.conn, m.seq, m.payload, m.more, m.part)) this.scheduleBell();
      else this.hold(m);
    }
  }

  private scheduleBell(): void {
    if (!this.bellScheduled) {
      this.bellScheduled = true;
      setImmediate(this.ringBell);
    }
  }

  private hold(m: Held): void {
    this.held.push(m);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.held.length > 0) {
        this.bell.ring();
        const first = this.held[0];
        await this.ring.waitForSpace(first.payload.length + (first.more ? first.more.length : 0));
        let i = 0;
        while (i < this.held.length) {
          const m = this.held[i];
          if (!this.ring.write(m.kind, m.conn, m.seq, m.payload, m.more, m.part)) break;
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
