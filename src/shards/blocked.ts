/**
 * A shard's BLOCKING messages (src/hop/kinds.ts) per connection: arrived and not yet answered, and
 * which of them their connection gave up (CANCEL) before they were answered. A BLOCKING message may
 * wait in the shard's queues (behind its connection's command that awaits the disk, or while another
 * connection holds the shard) when its CANCEL comes: it must then never run, or it could take an
 * element for a client that is gone. Entries live only while a BLOCKING message is unanswered, so
 * the maps hold at most one entry per blocked connection.
 */
export class BlockingMessages {
  /** connection id → BLOCKING messages unanswered */
  private readonly open = new Map<number, number>();
  private readonly cancelled = new Set<number>();

  arrived(id: number): void {
    this.open.set(id, (this.open.get(id) ?? 0) + 1);
  }

  /** A CANCEL: true when the connection has a BLOCKING message unanswered (then end its wait). */
  cancel(id: number): boolean {
    if (!this.open.has(id)) return false;
    this.cancelled.add(id);
    return true;
  }

  /** Before a BLOCKING message runs: false when its connection closed first (answer it empty instead). */
  runs(id: number): boolean {
    return !this.cancelled.has(id);
  }

  answered(id: number): void {
    const n = this.open.get(id);
    if (n === undefined) return;
    if (n > 1) this.open.set(id, n - 1);
    else {
      this.open.delete(id);
      this.cancelled.delete(id);
    }
  }
}
