/**
 * A batch of records packed into one ArrayBuffer, the form records take between the main thread and
 * the codec workers: one buffer is transferred (moved, not copied) instead of structured-cloning
 * thousands of small Uint8Arrays.
 *
 *   u32 count, u32 dataStart, u32 note, u32 (unused)     note: a count the producer reports alongside
 *   f64 expiresAt × count
 *   u32 (flags, keyLength, valueLength, type) × count
 *   key 0, value 0, key 1, value 1, ...          (from dataStart)
 */

export interface TransferRecord {
  key: Uint8Array;
  value: Uint8Array;
  flags: number;
  /** absolute ms since the epoch, 0 for none */
  expiresAt: number;
  /** 0 (or absent) for a string; a collection's type (ValueType), whose encoding `value` then is */
  type?: number;
}

export interface RecordBatch {
  count: number;
  keys: Uint8Array[];
  values: Uint8Array[];
  flags: Uint32Array;
  expiresAt: Float64Array;
  /** per record: 0 a string, else the collection type of its value's encoding */
  types: Uint8Array;
  /** the producer's note (decode: records dropped as expired) */
  note: number;
}

function layout(count: number): { expiresAt: number; meta: number; data: number } {
  const expiresAt = 16;
  const meta = expiresAt + 8 * count;
  return { expiresAt, meta, data: meta + 16 * count };
}

export function packRecords(records: readonly TransferRecord[], note = 0): ArrayBuffer {
  const count = records.length;
  const at = layout(count);
  let bytes = 0;
  for (const r of records) bytes += r.key.length + r.value.length;
  const buf = new ArrayBuffer(at.data + bytes);
  const head = new Uint32Array(buf, 0, 4);
  head[0] = count;
  head[1] = at.data;
  head[2] = note;
  const exp = new Float64Array(buf, at.expiresAt, count);
  const meta = new Uint32Array(buf, at.meta, 4 * count);
  const data = new Uint8Array(buf);
  let p = at.data;
  for (let i = 0; i < count; i++) {
    const r = records[i];
    exp[i] = r.expiresAt;
    meta[4 * i] = r.flags;
    meta[4 * i + 1] = r.key.length;
    meta[4 * i + 2] = r.value.length;
    meta[4 * i + 3] = r.type ?? 0;
    data.set(r.key, p);
    p += r.key.length;
    data.set(r.value, p);
    p += r.value.length;
  }
  return buf;
}

/** Views into a packed buffer (no copy). */
export function unpackRecords(buf: ArrayBuffer): RecordBatch {
  const head = new Uint32Array(buf, 0, 4);
  const count = head[0];
  const at = layout(count);
  const expiresAt = new Float64Array(buf, at.expiresAt, count);
  const meta = new Uint32Array(buf, at.meta, 4 * count);
  const flags = new Uint32Array(count);
  const types = new Uint8Array(count);
  const keys: Uint8Array[] = new Array(count);
  const values: Uint8Array[] = new Array(count);
  const data = new Uint8Array(buf);
  let p = head[1];
  for (let i = 0; i < count; i++) {
    flags[i] = meta[4 * i];
    const kl = meta[4 * i + 1];
    const vl = meta[4 * i + 2];
    types[i] = meta[4 * i + 3];
    keys[i] = data.subarray(p, p + kl);
    p += kl;
    values[i] = data.subarray(p, p + vl);
    p += vl;
  }
  return { count, keys, values, flags, expiresAt, types, note: head[2] };
}
