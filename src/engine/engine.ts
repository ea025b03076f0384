/**
 * The shard engine: the hash table, the arena and the eviction policy's list working on one item's
 * words. It passes 600 lines because every operation that touches an item (find, set, append, incr,
 * expire, evict, free) reads and rewrites the same header words, table slot and list links in one
 * step; split across classes, the hot path would pay for calls between them and for keeping their
 * views of an item in step. The table, arena, layout and policies are their own files.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { hash32, TABLE_SEED } from '../hash.js';
import { Arena, ARENA_FIXED_BYTES, MAX_ARENA_BYTES, START } from './arena.js';
import { addDelta, formatInt, parseSigned, parseUnsigned } from './incr.js';
import {
  ATIME_OFF,
  DIRTY,
  EXP_OFF,
  F_ATIME,
  F_EXP,
  F_FLAGS,
  F_WIDE,
  FLAGS_OFF,
  HDR,
  KEEP_BITS,
  KLEN_COMPACT_MAX,
  KLEN_SHIFT,
  TWO32,
  VLEN_MASK,
  atimeOf,
  casOf,
  heldOutside,
  typeBits,
  typeOf,
  TYPE_PACKED,
  TYPE_SHIFT,
  CAS_HIGH_MASK,
  expOf,
  flagsOf,
  itemWords,
  keyAt,
  keyLen,
  layoutIndex,
  valLen,
  wordsFor,
} from './layout.js';
import { DROPPED, EVICTED, MOVING, type EvictionName, type EvictionPolicy } from './lru.js';
import { HotKeyTracker, type HotKey, type HotKeyOptions } from './hotkeys.js';
import { createPolicy, isEvictionName, seededRandom } from './policies.js';
import { SizeHistogram } from './sizes.js';
import { MIN_TABLE_BYTES, Table, type HashFn } from './table.js';

export type RemoveReason = 'evicted' | 'expired' | 'idle';

export interface EngineOptions {
  /** byte budget covering everything the engine allocates (table, arena, metadata). */
  maxMemory: number;
  /** default 65536; keys are arbitrary bytes, empty and zero bytes allowed. */
  maxKeySize?: number;
  /** default 1 MiB; at most 512 MiB. */
  maxValueSize?: number;
  /** ms since the epoch; default Date.now. */
  clock?: () => number;
  /**
   * Called before an entry is freed because of eviction (space), expiry or idleness. The listener
   * may read the entry through the ref accessors; it must not call mutating methods.
   */
  onRemove?: (reason: RemoveReason, ref: number) => void;
  /**
   * Called before a collection's stub (an entry whose value is a handle to a structure held outside
   * the arena; not a packed one, whose value is its bytes) leaves the table for any reason, or is
   * replaced by a new value: the owner of the structure lets it go. Called after onRemove when both are.
   */
  onDropTyped?: (ref: number) => void;
  /** keep a last-access time per entry (8 bytes each) so that evictIdle() works. */
  trackAccessTime?: boolean;
  /** table placement hash; testing only (inject collisions). Default: hash32 with TABLE_SEED. */
  hash?: HashFn;
  /** which entry goes when memory is needed (docs/eviction.md). Default 'lru'. */
  eviction?: EvictionName;
  /** seed of the stream that sampling policies (random, lfu, ttl) draw from. */
  evictionSeed?: number;
  /** the sampled hot-key tracker (src/engine/hotkeys.ts); `{ rate: 0 }` turns it off. */
  hotKeys?: HotKeyOptions;
}

export const SET_ALWAYS = 0;
export const SET_NX = 1;
export const SET_XX = 2;
export const STORED = 0;
export const NOT_STORED = 1;
export const EXISTS = 2;
export const NOT_FOUND = 3;
export const INCR_OK = 0;
export const INCR_NOT_FOUND = 1;
export const INCR_NOT_INTEGER = 2;
export const INCR_OVERFLOW = 3;
/** incr of a key holding a collection */
export const INCR_WRONG_TYPE = 4;

/** engine bookkeeping outside the arena and table: allocator heads and bitmap, reserved words. */
const FIXED_BYTES = ARENA_FIXED_BYTES;
/** the largest value an entry may hold (Redis' proto-max-bulk-len): every layer's ceiling */
export const MAX_VALUE_LIMIT = 512 * 1024 * 1024;
const MAX_HDR_WORDS = HDR[15];
const defaultHash: HashFn = (b, s, e) => hash32(b, s, e, TABLE_SEED);

/**
 * One shard's in-memory store: keys, values and per-entry metadata in SharedArrayBuffers, so a
 * million keys create no JS objects. See docs/engine.md for the layout and the reasoning.
 *
 * A ref is the word index of an item in the arena; it names a live entry until the next mutating call.
 */
export class Engine {
  readonly maxKeySize: number;
  readonly maxValueSize: number;
  casCounter = 0;
  readonly stats = { evicted: 0, expired: 0, idle: 0 };
  /**
   * What the last write or expiry change replaced, when that entry was clean (its disk copy matched
   * it): the entry's ref after the change, and the expiry and value length it had before. -1 when the
   * change made a new entry or rewrote a dirty one. The tiered store reads it right after a write,
   * so that the writeback batch knows the disk record it replaces without reading it back.
   */
  replacedCleanRef = -1;
  replacedExpiry = 0;
  replacedLength = 0;

  private readonly arena: Arena;
  private readonly table: Table;
  private readonly policy: EvictionPolicy;
  private readonly hot: HotKeyTracker;
  private readonly sizes = new SizeHistogram();
  private m: Uint32Array;
  private readonly hash: HashFn;
  private readonly clock: () => number;
  private readonly onRemove: ((reason: RemoveReason, ref: number) => void) | undefined;
  private readonly onDropTyped: ((ref: number) => void) | undefined;
  /** bytes held outside the arena for entries (collections' structures), charged to the budget */
  private external = 0;
  private readonly trackAtime: boolean;
  private budget: number;
  private n = 0;
  private h = 0;
  private cas_ = 0;
  private int_ = 0n;
  private readonly sweepCursor = { seg: 0, slot: 0 };
  private readonly idleCursor = { seg: 0, slot: 0 };
  private readonly intScratch = new Uint8Array(24);

  constructor(options: EngineOptions) {
    const { maxMemory } = options;
    if (!Number.isFinite(maxMemory) || maxMemory < FIXED_BYTES + MIN_TABLE_BYTES + 64) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `maxMemory must be at least ${FIXED_BYTES + MIN_TABLE_BYTES + 64} bytes`);
    }
    this.maxKeySize = options.maxKeySize ?? 65536;
    this.maxValueSize = options.maxValueSize ?? 1048576;
    if (!(this.maxKeySize >= 0 && this.maxKeySize <= 1 << 24)) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, 'maxKeySize must be within [0, 16 MiB]');
    }
    if (!(this.maxValueSize >= 0 && this.maxValueSize <= MAX_VALUE_LIMIT)) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, 'maxValueSize must be within [0, 512 MiB]');
    }
    this.budget = maxMemory;
    this.clock = options.clock ?? Date.now;
    this.onRemove = options.onRemove;
    this.onDropTyped = options.onDropTyped;
    this.trackAtime = options.trackAccessTime === true;
    this.hash = options.hash ?? defaultHash;
    this.arena = new Arena(Math.min(maxMemory, MAX_ARENA_BYTES));
    this.m = this.arena.u32;
    const eviction = options.eviction ?? 'lru';
    if (!isEvictionName(eviction)) throw new CairnError(ErrorCode.BAD_ARGUMENT, `unknown eviction policy ${String(eviction)}`);
    const random = seededRandom(options.evictionSeed ?? 0x2545f491);
    this.hot = new HotKeyTracker(seededRandom((options.evictionSeed ?? 0x2545f491) ^ 0x5f3759df), options.hotKeys);
    this.table = new Table(this.arena, this.hash, (bytes) => this.reserve(bytes));
    this.policy = createPolicy(eviction, {
      m: this.m,
      clock: this.clock,
      random,
      hashOf: (ref) => this.table.hashOf(ref),
      sample: (ok) => this.table.randomRef(16, ok, random) || this.table.firstRef(ok),
    });
    this.arena.onViews = () => {
      this.m = this.arena.u32;
      this.policy.setMemory(this.m);
    };
  }

  // ---------------------------------------------------------------- accounting

  get count(): number {
    return this.n;
  }

  /** table + arena bytes held by entries + allocator bookkeeping. Holes are reported apart. */
  get bytesUsed(): number {
    return this.table.bytes + FIXED_BYTES + this.policy.bytes + this.arena.liveWords * 4 + this.external;
  }

  /** bytes held outside the arena by collections' structures (part of bytesUsed) */
  get externalBytes(): number {
    return this.external;
  }

  /** could `bytes` held outside the arena fit in the budget with every entry gone (false: charging them would only empty memory) */
  couldHold(bytes: number): boolean {
    return this.table.bytes + FIXED_BYTES + bytes <= this.budget;
  }

  /**
   * Charge (or give back) bytes that entries hold outside the arena. A charge evicts from the
   * victim end until it fits the budget, which may evict any entry, the one charged for included
   * (it spills like any other); false when it cannot fit even with memory empty (it is charged
   * anyway: the caller moves the entry out).
   */
  chargeExternal(delta: number): boolean {
    this.external += delta;
    if (delta <= 0) return true;
    return this.reserve(0);
  }

  /** the value type (ValueType) of the entry at ref, packed or not */
  typeOf(ref: number): number {
    return typeOf(this.m, ref);
  }

  /** true when the entry at ref is a packed collection: its value is the collection's bytes */
  isPacked(ref: number): boolean {
    return (typeBits(this.m, ref) & TYPE_PACKED) !== 0;
  }

  /**
   * A collection changed in place (its value, a handle, stays): a new CAS, marked dirty, touched in
   * the eviction order. Returns the new CAS.
   */
  newVersion(ref: number): number {
    const m = this.m;
    const c = ++this.casCounter;
    m[ref + 3] = c >>> 0;
    if ((m[ref] & F_WIDE) !== 0) m[ref + 6] = (m[ref + 6] & ~CAS_HIGH_MASK) | Math.floor(c / TWO32);
    m[ref] |= DIRTY;
    this.policy.access(ref);
    if (this.trackAtime) this.stamp(ref);
    this.cas_ = c;
    return c;
  }

  /** the eviction policy's name. */
  get eviction(): EvictionName {
    return this.policy.name;
  }

  get maxMemory(): number {
    return this.budget;
  }

  get lastCas(): number {
    return this.cas_;
  }

  get lastInt(): bigint {
    return this.int_;
  }

  /** arena bytes in free holes between entries (fragmentation), not counted in bytesUsed. */
  get fragmentationBytes(): number {
    return this.arena.freeWords * 4;
  }

  /** arena bytes committed (the SharedArrayBuffer's length; it never shrinks). */
  get arenaBytes(): number {
    return this.arena.committedBytes;
  }

  get tableBytes(): number {
    return this.table.bytes;
  }

  setMaxMemory(bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < FIXED_BYTES + MIN_TABLE_BYTES + 64) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, 'maxMemory too small');
    }
    this.budget = bytes;
    if (bytes > this.arena.reserveBytes) this.arena.relocate(Math.min(bytes, MAX_ARENA_BYTES));
    while (this.bytesUsed > this.budget) {
      const v = this.policy.victim();
      if (v === 0) break;
      this.evict(v);
    }
  }

  // ---------------------------------------------------------------- reads

  find(key: Uint8Array): number {
    const ref = this.lookup(key);
    if (ref === 0) return -1;
    this.policy.access(ref);
    if (this.trackAtime) this.stamp(ref);
    if (--this.hot.countdown <= 0) this.hot.record(key, this.h);
    return ref;
  }

  /**
   * The eviction policy's access-frequency counter of a key (Redis OBJECT FREQ), read without
   * counting as an access: -2 when the key is missing, -1 when the policy keeps no counter.
   */
  frequency(key: Uint8Array): number {
    const ref = this.peek(key);
    if (ref < 0) return -2;
    return this.policy.frequency?.(ref) ?? -1;
  }

  /** The shard's hottest keys by sampled accesses (reads and writes), hottest first. */
  hotKeys(n?: number): HotKey[] {
    return this.hot.top(n);
  }

  /** one access in this many is sampled for hotKeys() (0: off). */
  get hotKeyRate(): number {
    return this.hot.rate;
  }

  /** entries per value-size bin (src/engine/sizes.ts), trailing empty bins dropped. */
  valueSizes(): number[] {
    return this.sizes.counts();
  }

  peek(key: Uint8Array): number {
    const ref = this.table.find(key, key.length, this.hash(key, 0, key.length));
    if (ref === 0) return -1;
    if ((this.m[ref] & F_EXP) !== 0) {
      const e = expOf(this.m, ref);
      if (e !== 0 && e <= this.clock()) return -1;
    }
    return ref;
  }

  get(key: Uint8Array): Buffer | undefined {
    const ref = this.find(key);
    return ref < 0 ? undefined : this.valueOf(ref);
  }

  keyLength(ref: number): number {
    return keyLen(this.m, ref);
  }

  valueLength(ref: number): number {
    return valLen(this.m, ref);
  }

  /** A copy of the key. */
  keyOf(ref: number): Buffer {
    const p = keyAt(this.m, ref);
    const out = Buffer.allocUnsafe(keyLen(this.m, ref));
    this.arena.buf.copy(out, 0, p, p + out.length);
    return out;
  }

  /** A copy of the value. */
  valueOf(ref: number): Buffer {
    const p = keyAt(this.m, ref) + keyLen(this.m, ref);
    const out = Buffer.allocUnsafe(valLen(this.m, ref));
    this.arena.buf.copy(out, 0, p, p + out.length);
    return out;
  }

  /** The key bytes in place (no copy); valid until the next mutating call. */
  keyView(ref: number): Buffer {
    const p = keyAt(this.m, ref);
    return this.arena.buf.subarray(p, p + keyLen(this.m, ref));
  }

  /** The value bytes in place (no copy); valid until the next mutating call. */
  valueView(ref: number): Buffer {
    const p = keyAt(this.m, ref) + keyLen(this.m, ref);
    return this.arena.buf.subarray(p, p + valLen(this.m, ref));
  }

  /** the first 4 value bytes as a u32 LE (a collection stub's handle), without a view */
  valueU32(ref: number): number {
    const p = keyAt(this.m, ref) + keyLen(this.m, ref);
    const u8 = this.arena.u8;
    return (u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16)) + u8[p + 3] * 0x1000000;
  }

  copyKey(ref: number, dst: Uint8Array, at: number): number {
    const p = keyAt(this.m, ref);
    return this.copyOut(p, keyLen(this.m, ref), dst, at);
  }

  copyValue(ref: number, dst: Uint8Array, at: number): number {
    const p = keyAt(this.m, ref) + keyLen(this.m, ref);
    return this.copyOut(p, valLen(this.m, ref), dst, at);
  }

  flagsOf(ref: number): number {
    return flagsOf(this.m, ref);
  }

  expiresAtOf(ref: number): number {
    return expOf(this.m, ref);
  }

  casOf(ref: number): number {
    return casOf(this.m, ref);
  }

  isDirty(ref: number): boolean {
    return (this.m[ref] & DIRTY) !== 0;
  }

  setClean(ref: number): void {
    this.m[ref] &= ~DIRTY;
  }

  /** marks the entry at ref as not on disk (its disk copy went), keeping its CAS and place */
  setDirty(ref: number): void {
    this.m[ref] |= DIRTY;
  }

  /** -2 missing, -1 no expiry, else the absolute expiry in ms. */
  expireTime(key: Uint8Array): number {
    const ref = this.lookup(key);
    if (ref === 0) return -2;
    const e = expOf(this.m, ref);
    return e === 0 ? -1 : e;
  }

  // ---------------------------------------------------------------- writes

  /** `type` here and in insertClean: the type nibble, a ValueType with TYPE_PACKED for a packed collection */
  set(key: Uint8Array, value: Uint8Array, expiresAt = 0, flags = 0, mode = SET_ALWAYS, cas = 0, keepTtl = false, type = 0): number {
    const vlen = value.length;
    this.checkSizes(key.length, vlen);
    const ref = this.lookup(key);
    const s = this.table.fSeg;
    const i = this.table.fSlot;
    if (cas !== 0) {
      if (ref === 0) return NOT_FOUND;
      if (casOf(this.m, ref) !== cas) return EXISTS;
    }
    if (mode === SET_NX ? ref !== 0 : mode === SET_XX && ref === 0) return NOT_STORED;
    const exp = keepTtl && ref !== 0 ? expOf(this.m, ref) : expiresAt;
    if (exp !== 0 && exp <= this.clock()) {
      if (ref !== 0) this.remove(ref, s, i, null);
      this.cas_ = 0;
      return STORED;
    }
    if (ref !== 0 && heldOutside(this.m, ref)) this.onDropTyped?.(ref); // its structure is replaced
    const c = ++this.casCounter;
    this.write(ref, s, i, key, value, null, vlen, flags >>> 0, exp, c, true, type);
    this.cas_ = c;
    if (--this.hot.countdown <= 0) this.hot.record(key, this.h);
    return STORED;
  }

  insertClean(key: Uint8Array, value: Uint8Array, expiresAt: number, flags: number, cas: number, type = 0): number {
    const klen = key.length;
    const vlen = value.length;
    if (klen > this.maxKeySize || vlen > this.maxValueSize || this.tooBig(klen, vlen)) return -1;
    if (expiresAt !== 0 && expiresAt <= this.clock()) return -1;
    const ref = this.lookup(key);
    if (ref !== 0) return ref; // memory already holds the key, and memory is never older than disk
    if (cas > this.casCounter) this.casCounter = cas;
    let nref: number;
    try {
      nref = this.write(0, 0, 0, key, value, null, vlen, flags >>> 0, expiresAt, cas, false, type);
    } catch (err) {
      if (err instanceof CairnError && err.code === ErrorCode.OUT_OF_MEMORY) return -1;
      throw err;
    }
    this.cas_ = cas;
    return nref;
  }

  delete(key: Uint8Array): boolean {
    const ref = this.lookup(key);
    if (ref === 0) return false;
    this.remove(ref, this.table.fSeg, this.table.fSlot, null);
    return true;
  }

  getdel(key: Uint8Array): Buffer | undefined {
    const ref = this.lookup(key);
    if (ref === 0) return undefined;
    if (typeOf(this.m, ref) !== 0) throw new CairnError(ErrorCode.WRONG_TYPE, 'getdel of a collection stub');
    const v = this.valueOf(ref);
    this.remove(ref, this.table.fSeg, this.table.fSlot, null);
    return v;
  }

  /**
   * Set an absolute expiry (0: none); a time at or before now deletes. false if missing. An entry
   * without an expiry field grows by two words: OUT_OF_MEMORY when that does not fit, entry unchanged.
   */
  expire(key: Uint8Array, expiresAt: number): boolean {
    const ref = this.lookup(key);
    if (ref === 0) return false;
    const s = this.table.fSeg;
    const i = this.table.fSlot;
    if (expiresAt !== 0 && expiresAt <= this.clock()) {
      this.remove(ref, s, i, null);
      return true;
    }
    this.setExpiry(ref, s, i, expiresAt);
    return true;
  }

  /** memcached touch / gat: same rules as expire (0 means never expires). */
  touch(key: Uint8Array, expiresAt: number): boolean {
    return this.expire(key, expiresAt);
  }

  persist(key: Uint8Array): boolean {
    const ref = this.lookup(key);
    if (ref === 0 || expOf(this.m, ref) === 0) return false;
    this.setExpiry(ref, this.table.fSeg, this.table.fSlot, 0);
    return true;
  }

  incr(key: Uint8Array, delta: bigint, unsigned: boolean, create: boolean): number {
    this.checkSizes(key.length, 20);
    const ref = this.lookup(key);
    const s = this.table.fSeg;
    const i = this.table.fSlot;
    let v: bigint | null = 0n;
    if (ref === 0) {
      if (!create) return INCR_NOT_FOUND;
    } else if (typeOf(this.m, ref) !== 0) return INCR_WRONG_TYPE;
    else {
      const p = keyAt(this.m, ref) + keyLen(this.m, ref);
      const end = p + valLen(this.m, ref);
      v = unsigned ? parseUnsigned(this.arena.u8, p, end) : parseSigned(this.arena.u8, p, end);
      if (v === null) return INCR_NOT_INTEGER;
    }
    const r = addDelta(v, delta, unsigned);
    if (r === null) return INCR_OVERFLOW;
    const len = formatInt(r, this.intScratch);
    const flags = ref === 0 ? 0 : flagsOf(this.m, ref);
    const exp = ref === 0 ? 0 : expOf(this.m, ref);
    // memcached rewrites a shorter result in place, padded with spaces to the item's old length
    const oldLen = ref === 0 ? 0 : valLen(this.m, ref);
    const pad = unsigned && oldLen > len ? new Uint8Array(oldLen - len).fill(32) : null;
    const c = ++this.casCounter;
    this.write(ref, s, i, key, this.intScratch.subarray(0, len), pad, pad ? oldLen : len, flags, exp, c, true, 0);
    this.cas_ = c;
    this.int_ = r;
    return INCR_OK;
  }

  append(key: Uint8Array, bytes: Uint8Array, prepend: boolean, create: boolean): number {
    this.checkSizes(key.length, bytes.length);
    const ref = this.lookup(key);
    const s = this.table.fSeg;
    const i = this.table.fSlot;
    const c = this.casCounter + 1;
    if (ref === 0) {
      if (!create) return -1;
      this.casCounter = c;
      this.write(0, 0, 0, key, bytes, null, bytes.length, 0, 0, c, true, 0);
      this.cas_ = c;
      return bytes.length;
    }
    if (typeOf(this.m, ref) !== 0) return -2;
    const len = valLen(this.m, ref) + bytes.length;
    this.checkSizes(key.length, len);
    const old = this.valueView(ref);
    this.casCounter = c;
    this.write(ref, s, i, key, prepend ? bytes : old, prepend ? old : bytes, len, flagsOf(this.m, ref), expOf(this.m, ref), c, true, 0);
    this.cas_ = c;
    return len;
  }

  /** empties memory; the owner of collections' structures drops them all itself (no onDropTyped) */
  clear(): void {
    this.external = 0;
    this.arena.reset();
    this.table.reset();
    this.policy.clear();
    this.sizes.clear();
    this.hot.clear();
    this.n = 0;
    this.sweepCursor.seg = 0;
    this.sweepCursor.slot = 0;
    this.idleCursor.seg = 0;
    this.idleCursor.slot = 0;
  }

  // ---------------------------------------------------------------- walks

  scan(cursor: number, count: number, visit: (ref: number) => void): number {
    const now = this.clock();
    return this.table.scan(cursor, Math.max(1, count), (ref) => {
      if ((this.m[ref] & F_EXP) !== 0) {
        const e = expOf(this.m, ref);
        if (e !== 0 && e <= now) return 0;
      }
      visit(ref);
      return 1;
    });
  }

  expireTick(maxWork: number): number {
    if (this.n === 0) return 0;
    const now = this.clock();
    let removed = 0;
    this.table.sweep(this.sweepCursor, maxWork, (ref, s, i) => {
      if ((this.m[ref] & F_EXP) === 0) return;
      const e = expOf(this.m, ref);
      if (e !== 0 && e <= now) {
        this.remove(ref, s, i, 'expired');
        removed++;
      }
    });
    return removed;
  }

  evictIdle(idleMs: number, maxWork: number): number {
    if (!this.trackAtime) return 0;
    const now = this.clock();
    const cutoff = now - idleMs;
    let removed = 0;
    if (this.policy.name !== 'lru') {
      // only LRU keeps entries in access-time order; the others are swept like expiry, slot by slot
      // (asking them for victims would also reorder their queues)
      if (this.n === 0) return 0;
      this.table.sweep(this.idleCursor, maxWork, (ref, s, i) => {
        if (atimeOf(this.m, ref) > cutoff) return;
        const e = expOf(this.m, ref);
        this.remove(ref, s, i, e !== 0 && e <= now ? 'expired' : 'idle');
        removed++;
      });
      return removed;
    }
    for (let work = 0; work < maxWork; work++) {
      const v = this.policy.victim();
      if (v === 0 || atimeOf(this.m, v) > cutoff) break;
      const e = expOf(this.m, v);
      this.locate(v);
      this.remove(v, this.table.fSeg, this.table.fSlot, e !== 0 && e <= now ? 'expired' : 'idle');
      removed++;
    }
    return removed;
  }

  randomRef(): number {
    if (this.n === 0) return -1;
    const now = this.clock();
    const live = (ref: number): boolean => {
      const e = expOf(this.m, ref);
      return e === 0 || e > now;
    };
    const r = this.table.randomRef(64, live) || this.table.firstRef(live);
    return r !== 0 ? r : -1;
  }

  // ---------------------------------------------------------------- internals

  /** The live ref for key (0 if none); an expired entry found on the way is removed. */
  private lookup(key: Uint8Array): number {
    const klen = key.length;
    const h = this.hash(key, 0, klen);
    this.h = h;
    const ref = this.table.find(key, klen, h);
    if (ref === 0 || (this.m[ref] & F_EXP) === 0) return ref;
    const e = expOf(this.m, ref);
    if (e !== 0 && e <= this.clock()) {
      this.remove(ref, this.table.fSeg, this.table.fSlot, 'expired');
      return 0;
    }
    return ref;
  }

  private locate(ref: number): void {
    if (!this.table.locate(ref)) throw new Error(`cairn engine: ref ${ref} missing from the table`);
  }

  private remove(ref: number, s: number, i: number, reason: RemoveReason | null): void {
    if (reason !== null) {
      this.stats[reason]++;
      this.onRemove?.(reason, ref);
    }
    if (heldOutside(this.m, ref)) this.onDropTyped?.(ref);
    this.table.removeAt(s, i);
    this.policy.remove(ref, reason === 'evicted' || reason === 'idle' ? EVICTED : DROPPED);
    this.sizes.remove(valLen(this.m, ref));
    this.arena.free(ref, itemWords(this.m, ref));
    this.n--;
  }

  private evict(ref: number): void {
    const e = expOf(this.m, ref);
    this.locate(ref);
    this.remove(ref, this.table.fSeg, this.table.fSlot, e !== 0 && e <= this.clock() ? 'expired' : 'evicted');
  }

  /** Evict until `bytes` more fit in the budget (table growth). */
  private reserve(bytes: number): boolean {
    while (this.bytesUsed + bytes > this.budget) {
      const v = this.policy.victim();
      if (v === 0) return false;
      this.evict(v);
    }
    return true;
  }

  /** What the budget holds besides entries, counting the policy's next growth (see allocate). */
  private fixedBytes(): number {
    return this.table.bytes + FIXED_BYTES + this.policy.bytes + this.policy.growBytes() + this.external;
  }

  /** A block of `words`, evicting from the policy's victim end as needed; 0 if impossible. */
  private allocate(words: number): number {
    for (;;) {
      const fixed = this.fixedBytes();
      if (fixed + (this.arena.liveWords + words) * 4 <= this.budget) {
        const r = this.arena.alloc(words, START + Math.floor((this.budget - fixed) / 4));
        if (r !== 0) return r;
      }
      const v = this.policy.victim();
      if (v === 0) return 0;
      this.evict(v);
    }
  }

  private checkSizes(klen: number, vlen: number): void {
    if (klen > this.maxKeySize) {
      throw new CairnError(ErrorCode.KEY_TOO_LARGE, `key of ${klen} bytes is over the ${this.maxKeySize}-byte limit`);
    }
    if (vlen > this.maxValueSize) {
      throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `value of ${vlen} bytes is over the ${this.maxValueSize}-byte limit`);
    }
    if (this.tooBig(klen, vlen)) throw this.oom(klen, vlen);
  }

  private tooBig(klen: number, vlen: number): boolean {
    return (MAX_HDR_WORDS + Math.ceil((klen + vlen) / 4)) * 4 + FIXED_BYTES + MIN_TABLE_BYTES > this.budget;
  }

  private oom(klen: number, vlen: number): CairnError {
    return new CairnError(ErrorCode.OUT_OF_MEMORY, `an entry of ${klen + vlen} bytes does not fit in a ${this.budget}-byte memory budget`);
  }

  private layoutFor(klen: number, vlen: number, flags: number, exp: number, cas: number, type: number): number {
    let l = 0;
    if (klen > KLEN_COMPACT_MAX || vlen > VLEN_MASK || cas >= TWO32 || type !== 0) l |= F_WIDE;
    if (exp !== 0) l |= F_EXP;
    if (flags !== 0) l |= F_FLAGS;
    if (this.trackAtime) l |= F_ATIME;
    return l;
  }

  /**
   * Store key -> a ++ b. ref/s/i: the existing entry and its slot (ref 0: a new key, inserted with
   * the hash of the last lookup). Returns the entry's ref. Throws OUT_OF_MEMORY when the new version
   * cannot be placed even with everything else evicted; an existing entry is then left as it was.
   */
  private write(
    ref: number,
    s: number,
    i: number,
    key: Uint8Array,
    a: Uint8Array,
    b: Uint8Array | null,
    vlen: number,
    flags: number,
    exp: number,
    cas: number,
    dirty: boolean,
    type: number,
  ): number {
    const klen = key.length;
    const layout = this.layoutFor(klen, vlen, flags, exp, cas, type) | (dirty ? DIRTY : 0);
    const words = wordsFor(layoutIndex(layout), klen, vlen);
    if (ref !== 0) {
      const wasClean = this.noteReplaced(ref);
      const old = itemWords(this.m, ref);
      const oldLen = valLen(this.m, ref);
      if (old === words) {
        this.sizes.remove(oldLen);
        this.sizes.add(vlen);
        this.fill(ref, layout | (this.m[ref] & KEEP_BITS), key, a, b, vlen, flags, exp, cas, type);
        this.policy.rewrite(ref);
        if (wasClean) this.replacedCleanRef = ref;
        return ref;
      }
      const state = this.policy.remove(ref, MOVING); // out of the victim's way while we make room
      let nref = this.allocate(words);
      if (nref !== 0) {
        this.fill(nref, layout, key, a, b, vlen, flags, exp, cas, type);
        this.arena.free(ref, old);
      } else {
        // Everything else is gone. Once the old block is freed the arena is one free region, so
        // the new version fits there exactly when it fits the budget alone; when it does not, the
        // entry stays as it was and the caller puts the new version elsewhere (the store: on disk).
        if (this.arena.liveWords !== old || this.fixedBytes() + words * 4 > this.budget) {
          this.policy.reinsert(ref, state);
          throw this.oom(klen, vlen);
        }
        // copy what is read from the old block before freeing it (a Buffer's slice() is a view)
        const sab = this.arena.sab;
        if (key.buffer === sab) key = new Uint8Array(key);
        if (a.buffer === sab) a = new Uint8Array(a);
        if (b !== null && b.buffer === sab) b = new Uint8Array(b);
        this.arena.free(ref, old);
        nref = this.allocate(words);
        if (nref === 0) throw new Error(`cairn engine: ${words} words did not fit in an empty arena within the budget`);
        this.fill(nref, layout, key, a, b, vlen, flags, exp, cas, type);
      }
      this.sizes.remove(oldLen);
      this.sizes.add(vlen);
      this.table.setRef(s, i, nref);
      this.policy.reinsert(nref, state);
      if (wasClean) this.replacedCleanRef = nref;
      return nref;
    }
    this.replacedCleanRef = -1;
    const h = this.h;
    const nref = this.allocate(words);
    if (nref === 0) throw this.oom(klen, vlen);
    this.fill(nref, layout, key, a, b, vlen, flags, exp, cas, type);
    this.table.insert(h, nref);
    this.policy.insert(nref, h);
    this.sizes.add(vlen);
    this.n++;
    return nref;
  }

  private fill(
    ref: number,
    w0: number,
    key: Uint8Array,
    a: Uint8Array,
    b: Uint8Array | null,
    vlen: number,
    flags: number,
    exp: number,
    cas: number,
    type: number,
  ): void {
    const m = this.m;
    const u8 = this.arena.u8;
    const klen = key.length;
    const wide = (w0 & F_WIDE) !== 0;
    if (!wide) w0 |= (klen << KLEN_SHIFT) | vlen;
    const idx = layoutIndex(w0);
    const kp = (ref + HDR[idx]) * 4;
    const vp = kp + klen;
    // Value before key before header: in an in-place rewrite the value's source may be this very
    // block (append, expiry), and set() copes with overlap only within one call.
    if (b === null) {
      if (a.buffer === this.arena.sab) u8.set(a, vp);
      else copyIn(u8, a, vp);
    } else if (b.buffer === this.arena.sab) {
      u8.set(b, vp + a.length); // TypedArray#set moves overlapping bytes correctly, a byte loop would not
      copyIn(u8, a, vp);
    } else {
      if (a.buffer === this.arena.sab) u8.set(a, vp);
      else copyIn(u8, a, vp);
      copyIn(u8, b, vp + a.length);
    }
    copyIn(u8, key, kp);
    m[ref] = w0;
    m[ref + 3] = cas >>> 0;
    if (wide) {
      m[ref + 4] = klen;
      m[ref + 5] = vlen;
      m[ref + 6] = Math.floor(cas / TWO32) | (type << TYPE_SHIFT);
    }
    if ((w0 & F_EXP) !== 0) {
      const o = ref + EXP_OFF[idx];
      m[o] = exp >>> 0;
      m[o + 1] = Math.floor(exp / TWO32);
    }
    if ((w0 & F_FLAGS) !== 0) m[ref + FLAGS_OFF[idx]] = flags;
    if ((w0 & F_ATIME) !== 0) {
      const o = ref + ATIME_OFF[idx];
      const t = this.clock();
      m[o] = t >>> 0;
      m[o + 1] = Math.floor(t / TWO32);
    }
  }

  /**
   * Note the entry about to be rewritten (see replacedCleanRef); true if it was a clean string (a
   * collection's disk record is not its stub, so its length and chunks are not known from memory).
   */
  private noteReplaced(ref: number): boolean {
    this.replacedCleanRef = -1;
    if ((this.m[ref] & DIRTY) !== 0 || typeOf(this.m, ref) !== 0) return false;
    this.replacedExpiry = expOf(this.m, ref);
    this.replacedLength = valLen(this.m, ref);
    return true;
  }

  private setExpiry(ref: number, s: number, i: number, exp: number): void {
    const m = this.m;
    const w = m[ref];
    if ((w & F_EXP) !== 0 || exp === 0) {
      if (this.noteReplaced(ref)) this.replacedCleanRef = ref;
      if ((w & F_EXP) !== 0) {
        const o = ref + EXP_OFF[layoutIndex(w)];
        m[o] = exp >>> 0;
        m[o + 1] = Math.floor(exp / TWO32);
      }
      m[ref] = w | DIRTY;
      this.policy.access(ref);
      if (this.trackAtime) this.stamp(ref);
      return;
    }
    // the entry has no expiry field: rewrite it with one (CAS kept, it is the same version)
    this.write(ref, s, i, this.keyView(ref), this.valueView(ref), null, valLen(m, ref), flagsOf(m, ref), exp, casOf(m, ref), true, typeBits(m, ref));
  }

  private stamp(ref: number): void {
    const m = this.m;
    const o = ref + ATIME_OFF[layoutIndex(m[ref])];
    const t = this.clock();
    m[o] = t >>> 0;
    m[o + 1] = Math.floor(t / TWO32);
  }

  private copyOut(p: number, len: number, dst: Uint8Array, at: number): number {
    if (len <= 64) {
      const u8 = this.arena.u8;
      for (let j = 0; j < len; j++) dst[at + j] = u8[p + j];
    } else this.arena.buf.copy(dst, at, p, p + len);
    return len;
  }

  // ---------------------------------------------------------------- testing aid

  /** Check every structural invariant (list, table, arena, counts); throws on the first violation. */
  verify(): void {
    const m = this.m;
    this.policy.verify(this.n, (r) => {
      const k = this.keyView(r);
      const found = this.table.find(k, k.length, this.hash(k, 0, k.length));
      if (found !== r) throw new Error(`${this.policy.name}: entry ${r} not found by its key`);
    });
    const inTable = this.table.verify();
    if (inTable !== this.n) throw new Error(`table holds ${inTable} entries, count is ${this.n}`);
    const a = this.arena.verify((r) => itemWords(m, r));
    if (a.items !== this.n) throw new Error(`arena holds ${a.items} items, count is ${this.n}`);
    if (a.liveWords !== this.arena.liveWords) throw new Error('arena: live words mismatch');
    const binned = this.sizes.bins.reduce((x, y) => x + y, 0);
    if (binned !== this.n) throw new Error(`value-size bins hold ${binned} entries, count is ${this.n}`);
  }

  /** refs from most to least recently used (list policies' order; [] for the others). Testing aid. */
  debugOrder(): number[] {
    return this.policy.order() ?? [];
  }

  /** internals for tests and benchmarks. */
  get debug(): { segments: number; top: number; policyBytes: number } {
    return { segments: this.table.segments, top: this.arena.top, policyBytes: this.policy.bytes };
  }
}

function copyIn(u8: Uint8Array, src: Uint8Array, at: number): void {
  const n = src.length;
  if (n <= 32) for (let j = 0; j < n; j++) u8[at + j] = src[j];
  else u8.set(src, at);
}
