/**
 * A connection's commands run on a shard in the order it sent them, as in Redis. Nearly every command
 * finishes at once; one that awaits the disk (DBSIZE, KEYS, SCAN, RANDOMKEY, a flush, ...) would let
 * the same connection's later commands run before it ends (a pipelined `DBSIZE` then `SET` counting
 * the new key). So while such a command runs, the connection's later messages wait here, copied out
 * of the ring, and run in order when it ends. Other connections' messages go on meanwhile.
 */

export interface HeldMessage {
  kind: number;
  conn: number;
  seq: number;
  payload: Buffer;
}

export class ConnectionOrder {
  /** per connection with a command in progress, the messages that arrived after it */
  private readonly waiting = new Map<number, HeldMessage[]>();

  /** a connection's id on a shard: its front thread's index and its number there */
  static id(front: number, conn: number): number {
    return front * 0x1_0000_0000 + conn;
  }

  /** Queues the message (a copy) when its connection has a command in progress; false: run it now. */
  hold(id: number, kind: number, conn: number, seq: number, payload: Uint8Array): boolean {
    if (this.waiting.size === 0) return false;
    const queue = this.waiting.get(id);
    if (queue === undefined) return false;
    queue.push({ kind, conn, seq, payload: Buffer.from(payload) });
    return true;
  }

  /** A command of the connection did not finish at once: its later messages wait. */
  begin(id: number): void {
    this.waiting.set(id, []);
  }

  /**
   * The command finished: the messages that waited, in order. The caller runs each through `hold`
   * first, so those after one that does not finish at once wait again.
   */
  end(id: number): HeldMessage[] {
    const queue = this.waiting.get(id) ?? [];
    this.waiting.delete(id);
    return queue;
  }
}
