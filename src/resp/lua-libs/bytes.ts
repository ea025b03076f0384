/**
 * A growable byte buffer the Lua libraries write into: one per library, reused by every call (a
 * shard's interpreter runs one call at a time), so packing allocates only the Lua string it returns.
 */
export class ByteWriter {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  reset(): this {
    this.len = 0;
    return this;
  }

  /** the bytes written so far (valid until the next write) */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** makes room for n more bytes and returns where they start (read this.buf after calling) */
  private room(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + n));
      this.buf.copy(next, 0, 0, at);
      this.buf = next;
    }
    this.len = at + n;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.buf[at] = v & 0xff;
    return this;
  }

  /** big-endian, as msgpack */
  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16BE(v & 0xffff, at);
    return this;
  }

  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }

  /** an integral double in int64's range, two's complement, big-endian */
  i64(v: number): this {
    const at = this.room(8);
    this.buf.writeBigInt64BE(BigInt(v), at);
    return this;
  }

  f32(v: number): this {
    const at = this.room(4);
    this.buf.writeFloatBE(v, at);
    return this;
  }

  f64(v: number): this {
    const at = this.room(8);
    this.buf.writeDoubleBE(v, at);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** n bytes from a view the caller fills (struct's formats pick their own byte order) */
  reserve(n: number): Buffer {
    const at = this.room(n);
    return this.buf.subarray(at, at + n);
  }
}
