/**
 * Typed, schema-versioned values: msgpack-encoded objects stored under `<name>:<id>` as the msgpack
 * array [version, value]. Reading a value of another version (or one that is not typed at all)
 * is a miss, and the stale value is deleted, only if it is still the one read (a CAS-guarded delete).
 */
import { CairnError, ErrorCode } from '../errors.js';
import { createPackr, createUnpackr } from '../msgpack.js';
import type { CairnClient, ExpiryOptions, RequestOptions } from './client.js';

const packr = createPackr();
const unpackr = createUnpackr(false);

export interface TypedSetOptions extends ExpiryOptions, RequestOptions {
  nx?: boolean;
  xx?: boolean;
  keepTtl?: boolean;
}

/** Encode a typed value as stored: the msgpack array [version, value]. */
export function encodeTyped(version: number, value: unknown): Uint8Array {
  return packr.pack([version, value]) as Uint8Array;
}

/** Decode a stored typed value: { version, value }, or null when the bytes are not a typed value. */
export function decodeTyped(bytes: Uint8Array): { version: number; value: unknown } | null {
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(bytes);
  } catch {
    return null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'number' || !Number.isInteger(decoded[0])) return null;
  return { version: decoded[0], value: decoded[1] };
}

export class TypedCollection<T> {
  constructor(
    private readonly client: CairnClient,
    readonly name: string,
    readonly version: number,
  ) {
    if (!Number.isInteger(version) || version < 0) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `a typed collection's version must be a non-negative integer, got ${version}`);
    }
  }

  key(id: string): string {
    return `${this.name}:${id}`;
  }

  async get(id: string, options?: RequestOptions): Promise<T | null> {
    const key = this.key(id);
    const entry = await this.client.getMeta(key, options);
    if (!entry) return null;
    const typed = decodeTyped(entry.value);
    if (typed && typed.version === this.version) return typed.value as T;
    await this.client.del(key, { ...options, cas: entry.cas });
    return null;
  }

  /** Store a value of this collection's version; true when stored. */
  set(id: string, value: T, options?: TypedSetOptions): Promise<boolean> {
    return this.client.set(this.key(id), encodeTyped(this.version, value), options);
  }

  delete(id: string, options?: RequestOptions): Promise<boolean> {
    return this.client.del(this.key(id), options);
  }
}
