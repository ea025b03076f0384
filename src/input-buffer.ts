/**
 * The received bytes of a text-protocol connection that no frame has taken yet, for the RESP and
 * memcached framers. A command lying whole inside one chunk is viewed in place; a command split
 * across chunks is gathered into a buffer of our own, appending each chunk once and growing the
 * buffer geometrically, so a command of n bytes costs O(n) copying however finely it arrives.
 * Chunks are only queued (not copied) until the framer can progress, so a large value arriving in
 * many chunks is joined once.
 *
 * Bytes once received are never written again: frames handed out as views of them stay valid.
 */

const EMPTY = Buffer.alloc(0);

export class InputBuffer {
  /** the gathered bytes; unread from `pos` to `bytes.length`. */
  bytes: Buffer = EMPTY;
  pos = 0;
  /** our own allocation that `bytes` is a view of, from its start (null: `bytes` is a received chunk). */
  private store: Buffer | null = null;
  private readonly chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** bytes copied so far (gathering work, for tests). */
  copied = 0;

  /** bytes received and not taken, queued chunks included. */
  get available(): number {
    return this.bytes.length - this.pos + this.chunkBytes;
  }

  /** true when chunks are queued that `bytes` does not hold yet. */
  get queued(): boolean {
    return this.chunkBytes > 0;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.pos >= this.bytes.length && this.chunkBytes === 0) {
      this.bytes = chunk;
      this.pos = 0;
      this.store = null;
      return;
    }
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
  }

  /** makes `bytes` hold every received byte (from `pos`, which may move to 0). */
  gather(): void {
    if (this.chunkBytes === 0) return;
    const kept = this.bytes.length - this.pos;
    const total = kept + this.chunkBytes;
    let store = this.store;
    let at: number;
    if (store !== null && store.length - this.bytes.length >= this.chunkBytes) {
      at = this.bytes.length;
    } else {
      // Twice the carried-over bytes: each later regrowth copies no more than was appended since.
      store = Buffer.allocUnsafe(Math.max(total, 2 * kept, 1024));
      this.copied += this.bytes.copy(store, 0, this.pos);
      this.store = store;
      this.pos = 0;
      at = kept;
    }
    for (const c of this.chunks) at += c.copy(store, at);
    this.copied += this.chunkBytes;
    this.chunks.length = 0;
    this.chunkBytes = 0;
    this.bytes = store.subarray(0, at);
  }

  /** forgets every byte (all taken, or after a fatal protocol error). */
  clear(): void {
    this.bytes = EMPTY;
    this.pos = 0;
    this.store = null;
    this.chunks.length = 0;
    this.chunkBytes = 0;
  }
}
