/**
 * The collection paths of one shard's store: hashes, lists, sets, sorted sets and streams held as
 * Collection structures (src/engine/collections), in memory or below it, behind the store's
 * readCollection / writeCollection / collectionChanged.
 *
 * In memory a small collection is packed (its engine entry holds its bytes; unpacked.ts keeps the
 * structure decoded for a change until it is packed back), a larger one is a stub whose value is a
 * handle into the registry (collections.ts). Below memory a collection is one record, or chunks
 * (chunked.ts, list-chunked.ts) that a command naming its members, or reaching a list's ends or one
 * index, reads in part. A change is written back by collectionChanged: in memory with a new version
 * and its changed chunks noted, or below memory as a put.
 *
 * The store owns this class and hands it what it shares with the string paths (StoreAccess): the
 * lookup, the counters, key events, the string write to disk and the delete of a key.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { KeyEvent, notifiedEvent } from '../events/codes.js';
import { type Engine, SET_ALWAYS, TYPE_PACKED } from '../engine/index.js';
import { chunkable, chunkOf } from '../engine/collections/chunks.js';
import { decodeCollection, packable, packedForm } from '../engine/collections/index.js';
import type { ListValue } from '../engine/collections/list.js';
import type { ListReach } from '../engine/collections/list-chunks.js';
import { type Collection, ValueType } from '../engine/collections/types.js';
import { asBuffer, checkTime, isOutOfMemory } from './checks.js';
import { ChunkedCollections, type PartialRead } from './chunked.js';
import { type ChangeTracker, ChunkTracker, CollectionRegistry } from './collections.js';
import type { ShardDisk } from './disk.js';
import { checkRecord, dataKey, recordChunked, recordExpiresAt, recordFlags, recordType, recordValue } from './format.js';
import type { ListPartialRead } from './list-chunked.js';
import { ListTracker } from './list-tracker.js';
import type { BelowMemory, InMemory, Located } from './located.js';
import { OP_PUT, type PutOp } from './ops.js';
import type { StoreSettings } from './options.js';
import { namesMembers, type Entry, type Reach, type SetOptions, type SetResult, WRONG_TYPE, type WrongType } from './types.js';
import { UnpackedCollections } from './unpacked.js';
import type { WritebackQueue } from './writeback.js';

/** what a collection's queued write counts against the writeback byte bound, at most (see afterCollectionWrite) */
export const COLLECTION_QUEUED_BYTES = 64 * 1024;

const EMPTY = Buffer.alloc(0);
/**
 * What a command read below memory for a change, kept for its collectionChanged, at most: a command
 * holds two at once (SMOVE, LMOVE), and a copy left by one that changed nothing is stale from the
 * next command on (see keep()).
 */
export const KEPT = 2;

/**
 * Keeps a collection read below memory for a command's change until its collectionChanged. A command
 * that changes nothing (SADD of members there, LSET out of range) never calls it, and its copy would
 * stay until the key's next writeCollection: a whole collection, or its chunks, per key read so. Past
 * KEPT the oldest goes; writeCollection removed the key's own copy first, so the newest are this
 * command's.
 */
function keep<T>(copies: Map<string, T>, kstr: string, copy: T): void {
  if (copies.size >= KEPT) copies.delete(copies.keys().next().value!);
  copies.set(kstr, copy);
}

/** What the collection paths use of the store that owns them. */
export interface StoreAccess {
  /** the store's counters (the ones stats() and ioStats() report) that the collection paths add to */
  readonly counters: { hitsCold: number; restores: number; writes: number };
  readonly io: { diskReads: number };
  /** the store's lookup: in memory, below it, or absent; a key below memory promoted when `promote` and it fits */
  locate(key: Buffer, promote: boolean): Located;
  /** the store's one InMemory result, set to ref */
  inMemoryAt(ref: number, restored: boolean): InMemory;
  countRead(at: Located): void;
  isPast(expiresAt: number): boolean;
  /** a key event to the listener, if one is installed */
  emit(event: number, key: Buffer): void;
  /** after a write in memory that left a value of `valueBytes`: counted, notified, queued for the disk */
  afterWrite(key: Buffer, valueBytes: number, event?: number): void;
  /** a value stored on disk only, any copy in memory removed; its CAS */
  storeOnDisk(key: Buffer, value: Uint8Array, flags: number, expiresAt: number, type?: number): number;
  /** deletes a located key from both tiers (`notify`: the data-type command that emptied it) */
  removeKey(k: Buffer, inMemory: boolean, notify?: number): void;
}

export class CollectionTier {
  private readonly shard: number;
  /** elements per chunk of a list in chunks */
  private readonly chunkMembers: number;
  private readonly engine: Engine;
  private readonly disk: ShardDisk;
  private readonly writeback: WritebackQueue;
  private readonly host: StoreAccess;
  /** the structures of the collections in memory that are not packed (their engine entries are stubs holding a handle) */
  readonly colls = new CollectionRegistry();
  /** the collections stored in chunks on disk: their puts and reads */
  readonly chunked: ChunkedCollections;
  /**
   * Collections that live below memory (too large for it, or no room), decoded for a command that
   * changes them; collectionChanged writes them to disk and forgets them.
   */
  private readonly belowColls = new Map<string, { obj: Collection; entry: Entry }>();
  /** Collections in chunks below memory read in part for a command that changes them (collectionChanged writes them). */
  private readonly partials = new Map<string, PartialRead | ListPartialRead>();
  /**
   * The last two collections in memory writeCollection handed out (a command changes at most two:
   * LMOVE, SMOVE), until their collectionChanged: one that a second key's growth evicted in between
   * is written below memory from here, with the change the command made to it.
   */
  private readonly opened: { k: Buffer | null; obj: Collection | null }[] = [
    { k: null, obj: null },
    { k: null, obj: null },
  ];
  private openedNext = 0;
  /** the members the last writeCollection of a collection in memory named: its changed chunks */
  private touchingKey: Buffer | null = null;
  private touchingMembers: readonly string[] = [];
  /**
   * What the last two writeCollections of a list in memory reached of it (an end, an index), until
   * their collectionChanged: its changed chunks. Two, as a command changes at most two lists (LMOVE).
   */
  private readonly listReaches: { k: Buffer | null; reach: ListReach | null }[] = [
    { k: null, reach: null },
    { k: null, reach: null },
  ];
  private listReachNext = 0;
  /** the record readPartial() read and did not use, for the locate() of the same key that follows it */
  private preread: { key: Buffer; rec: Buffer | undefined } | null = null;
  /** packed collections decoded by writeCollection, until collectionChanged packs them back */
  private readonly unpacked = new UnpackedCollections();

  constructor(s: StoreSettings, engine: Engine, disk: ShardDisk, writeback: WritebackQueue, host: StoreAccess) {
    this.shard = s.shard;
    this.chunkMembers = s.chunkMembers;
    this.engine = engine;
    this.disk = disk;
    this.writeback = writeback;
    this.host = host;
    this.chunked = new ChunkedCollections(
      { read: (key) => disk.read(key), writing: (key) => (writeback.idle ? undefined : writeback.writingOp(key.toString('latin1'))) },
      s.chunkMembers,
    );
  }

  /** The engine let the stub at ref go (evicted after its spill, expired, deleted, overwritten): its structure goes with it. */
  dropped(ref: number): void {
    const bytes = this.colls.release(this.engine.valueU32(ref));
    if (bytes !== 0) this.engine.chargeExternal(-bytes);
  }

  /** For locate(): the record readPartial() left for it, if any (for this key or another), forgotten here. */
  takePreread(): { key: Buffer; rec: Buffer | undefined } | null {
    const pre = this.preread;
    this.preread = null;
    return pre;
  }

  /**
   * For locate(): a collection in chunks below memory, found by its head record (`head`; `op` the put
   * queued for it, if any). Its whole is read from its chunks only for what needs it: the entry's value,
   * or a promotion into memory when `promote`.
   */
  locateInChunks(key: Buffer, type: number, head: Buffer, op: PutOp | undefined, flags: number, expiresAt: number, cas: number, promote: boolean): Located {
    const below: BelowMemory = {
      kind: 'below',
      entry: { value: EMPTY, type, flags, expiresAt, cas },
      chunked: { head: Buffer.from(head), op, obj: null },
    };
    const own = Buffer.from(key);
    Object.defineProperty(below.entry, 'value', { get: () => this.belowCollection(own, below).encode() });
    if (!promote) return below;
    const c = below.chunked!;
    const { obj, tracker } = this.chunked.load(key, type, c.head, c.op);
    c.obj = obj;
    const r = this.restoreCollection(key, type, null, obj, tracker, expiresAt, flags, cas);
    return r >= 0 ? this.host.inMemoryAt(r, true) : below;
  }

  /** the collection a located key below memory holds (read from its chunks once, if stored so) */
  private belowCollection(key: Buffer, at: BelowMemory): Collection {
    const c = at.chunked;
    if (c === null) return decodeCollection(at.entry.type ?? 0, at.entry.value);
    c.obj ??= this.chunked.load(key, at.entry.type ?? 0, c.head, c.op).obj;
    return c.obj;
  }

  /**
   * For a command that names its members, or reaches an end or an index of a list: a collection in
   * chunks below memory read in part (the chunks of those members, or of that part of the list), so
   * that it is not read whole; WRONG_TYPE for a key of another type; null for every other case (in
   * memory, absent, not in chunks, expired), which the caller reads as usual.
   */
  private readPartial(k: Buffer, type: number, reach: Reach): PartialRead | ListPartialRead | WrongType | null {
    if (namesMembers(reach) ? !chunkable(type) : type !== ValueType.LIST) return null;
    const op = this.writeback.find(k.toString('latin1'));
    let head: Buffer;
    let rtype: number;
    let flags: number;
    let expiresAt: number;
    if (op !== undefined) {
      if (op.kind !== OP_PUT || op.chunks === null) return null;
      head = op.value;
      rtype = op.type;
      flags = op.flags;
      expiresAt = op.expiresAt;
    } else {
      if (this.disk.items === 0 || this.disk.clearOwed) return null;
      this.host.io.diskReads++;
      const rec = this.disk.read(dataKey(k));
      if (rec === undefined || !checkRecord(rec) || !recordChunked(rec)) {
        this.preread = { key: k, rec }; // locate() reads it next
        return null;
      }
      head = recordValue(rec);
      rtype = recordType(rec);
      flags = recordFlags(rec);
      expiresAt = recordExpiresAt(rec);
    }
    if (this.host.isPast(expiresAt)) return null;
    this.host.counters.hitsCold++;
    if (rtype !== type) return WRONG_TYPE;
    const queued = op?.kind === OP_PUT ? op : undefined;
    if (namesMembers(reach)) return this.chunked.readPartial(k, type, head, queued, reach, flags, expiresAt);
    return this.chunked.lists.readPartial(k, head, queued, reach, flags, expiresAt);
  }

  /**
   * A collection read from below back into memory: a small one packed as its record holds it
   * (`value`), a larger one's structure (`obj`, or decoded from `value`) behind a clean stub with its
   * chunk tracker if it is in chunks; -1 when it does not fit.
   */
  restoreCollection(
    key: Buffer,
    type: number,
    value: Buffer | null,
    decoded: Collection | null,
    tracker: ChangeTracker | null,
    expiresAt: number,
    flags: number,
    cas: number,
  ): number {
    const e = this.engine;
    if (value !== null && packable(type, value)) {
      const r = e.insertClean(key, value, expiresAt, flags, cas, type | TYPE_PACKED);
      if (r < 0) return -1;
      this.host.counters.restores++;
      this.host.emit(KeyEvent.RESTORE, key);
      return r;
    }
    const obj = decoded ?? decodeCollection(type, value!);
    // larger than the whole budget: it stays below memory, and what memory holds stays there
    if (!e.couldHold(obj.bytes)) return -1;
    const handle = this.colls.add(obj);
    const h = CollectionRegistry.handleOf(handle);
    this.colls.setTracker(h, tracker);
    const r = e.insertClean(key, handle, expiresAt, flags, cas, type);
    if (r < 0) {
      this.colls.release(h);
      return -1;
    }
    if (!e.chargeExternal(this.colls.recharge(h))) {
      // larger than the whole budget: it stays below memory
      e.delete(key);
      return -1;
    }
    const ref = e.peek(key); // the charge may have evicted others, or this very entry
    if (ref < 0) return -1;
    this.host.counters.restores++;
    this.host.emit(KeyEvent.RESTORE, key);
    return ref;
  }

  /** the structure behind the collection stub at ref */
  collectionAt(ref: number): Collection {
    const obj = this.colls.get(this.engine.valueU32(ref));
    if (obj === undefined) throw new CairnError(ErrorCode.INTERNAL, `shard ${this.shard}: a collection entry without its structure`);
    return obj;
  }

  /** A collection that lives below memory written whole: in one record, or in chunks when large. */
  private storeCollectionOnDisk(key: Buffer, obj: Collection, flags: number, expiresAt: number, event: number = KeyEvent.SET): number {
    this.engine.delete(key);
    const cas = ++this.engine.casCounter;
    const k = Buffer.from(key);
    this.writeback.queue(k.toString('latin1'), this.chunked.put(k, obj, null, flags, expiresAt, cas, obj.type).op);
    this.host.counters.writes++;
    this.host.emit(event, key);
    return cas;
  }

  /** TieredShardStore.set of a collection's encoded bytes (its setCollection says what is asked for) */
  setCollection(k: Buffer, value: Uint8Array, type: number, o: SetOptions): SetResult {
    const at = this.host.locate(k, true);
    const present = at.kind !== 'absent';
    if ((o.mode === 'nx' && present) || (o.mode === 'xx' && !present)) return { status: 'not_stored', cas: 0 };
    const curExpiry = at.kind === 'memory' ? this.engine.expiresAtOf(at.ref) : at.kind === 'below' ? at.entry.expiresAt : 0;
    const exp = o.keepTtl === true ? curExpiry : (o.expiresAt ?? 0);
    checkTime(exp, 'expiresAt');
    const flags = o.flags ?? 0;
    if (this.host.isPast(exp)) {
      if (present) this.host.removeKey(k, at.kind === 'memory');
      return { status: 'stored', cas: 0 };
    }
    const bytes = asBuffer(value);
    if (packable(type, bytes)) {
      try {
        this.engine.set(k, bytes, exp, flags, SET_ALWAYS, 0, false, type | TYPE_PACKED);
      } catch (err) {
        if (!isOutOfMemory(err)) throw err;
        return { status: 'stored', cas: this.host.storeOnDisk(k, value, flags, exp, type) };
      }
      const cas = this.engine.lastCas;
      this.afterCollectionWrite(k, bytes.length);
      return { status: 'stored', cas };
    }
    const obj = decodeCollection(type, bytes);
    if (!this.engine.couldHold(obj.bytes)) return { status: 'stored', cas: this.storeCollectionOnDisk(k, obj, flags, exp) };
    const handle = this.colls.add(obj);
    const h = CollectionRegistry.handleOf(handle);
    try {
      this.engine.set(k, handle, exp, flags, SET_ALWAYS, 0, false, type);
    } catch (err) {
      this.colls.release(h);
      if (!isOutOfMemory(err)) throw err;
      return { status: 'stored', cas: this.storeCollectionOnDisk(k, obj, flags, exp) };
    }
    const cas = this.engine.lastCas;
    this.engine.chargeExternal(this.colls.recharge(h));
    this.afterCollectionWrite(k, obj.bytes);
    return { status: 'stored', cas };
  }

  /**
   * After a collection changed in memory: queued for the disk, unless the budget charge for it evicted
   * it (its spill is queued then). The queued write holds no copy (the batch encodes the collection as
   * it is then), so it counts against the writeback byte bound as at most COLLECTION_QUEUED_BYTES: a
   * large collection would otherwise be over the bound alone and make every write to it wait for a
   * batch.
   */
  private afterCollectionWrite(k: Buffer, bytes: number, event: number = KeyEvent.SET): void {
    if (this.engine.peek(k) >= 0) {
      this.host.afterWrite(k, Math.min(bytes, COLLECTION_QUEUED_BYTES), event);
      return;
    }
    this.host.counters.writes++;
    this.host.emit(event, k);
  }

  /** the type of the value at k (ValueType; 0: a string), null when absent */
  typeOf(k: Buffer): number | null {
    const at = this.host.locate(k, false);
    if (at.kind === 'memory') return this.engine.typeOf(at.ref);
    return at.kind === 'below' ? (at.entry.type ?? 0) : null;
  }

  readCollection<T extends Collection>(k: Buffer, type: number, reach?: Reach): T | null | WrongType {
    const ref = this.engine.find(k);
    if (ref < 0 && reach !== undefined) {
      const p = this.readPartial(k, type, reach);
      if (p !== null) return p === WRONG_TYPE ? p : (p.obj as unknown as T);
    }
    const at = ref >= 0 ? this.host.inMemoryAt(ref, false) : this.host.locate(k, true);
    this.host.countRead(at);
    if (at.kind === 'memory') return this.hotCollection(at.ref, type, false) as T | WrongType;
    if (at.kind === 'absent') return null;
    if ((at.entry.type ?? 0) !== type) return WRONG_TYPE;
    const obj = this.belowCollection(k, at);
    if (at.chunked === null) obj.packed = packable(type, at.entry.value); // as it would be held in memory
    return obj as T;
  }

  writeCollection<T extends Collection>(k: Buffer, type: number, create?: () => T, reach?: Reach): T | null | WrongType {
    // a partial or whole read below memory by a command that did not change it (LSET out of range,
    // SADD of members there, SMOVE of a member the source lacks) was never written: it must not stand
    // for this command's change, wherever the key is now
    if (this.partials.size !== 0 || this.belowColls.size !== 0) {
      const kstr = k.toString('latin1');
      this.partials.delete(kstr);
      this.belowColls.delete(kstr);
    }
    // likewise a structure handed out in memory to such a command: if the key is evicted before this
    // command's collectionChanged, the structure it writes below memory is the one handed out now
    for (const o of this.opened) {
      if (o.k === null || !o.k.equals(k)) continue;
      o.k = null;
      o.obj = null;
    }
    this.takeListReach(k);
    const ref = this.engine.find(k);
    if (ref < 0 && reach !== undefined) {
      const p = this.readPartial(k, type, reach);
      if (p === WRONG_TYPE) return p;
      if (p !== null) {
        keep(this.partials, k.toString('latin1'), p);
        return p.obj as unknown as T;
      }
    }
    const at = ref >= 0 ? this.host.inMemoryAt(ref, false) : this.host.locate(k, true);
    this.host.countRead(at);
    if (at.kind === 'memory') {
      const obj = this.hotCollection(at.ref, type, true);
      if (obj === WRONG_TYPE) return obj;
      // two fields, not an object per command
      if (reach !== undefined && namesMembers(reach)) {
        this.touchingKey = k;
        this.touchingMembers = reach;
      } else this.touchingKey = null;
      if (reach !== undefined && !namesMembers(reach)) {
        const r = this.listReaches[this.listReachNext];
        this.listReachNext ^= 1;
        r.k = k;
        r.reach = reach;
      }
      const o = this.opened[this.openedNext];
      this.openedNext ^= 1;
      o.k = k;
      o.obj = obj;
      return obj as T;
    }
    if (at.kind === 'below') {
      if ((at.entry.type ?? 0) !== type) return WRONG_TYPE;
      const obj = this.belowCollection(k, at) as T;
      keep(this.belowColls, k.toString('latin1'), { obj, entry: at.entry });
      return obj;
    }
    if (create === undefined) return null;
    const obj = create();
    // a new collection starts packed unless it is made past the rule (a stored set operation's result)
    const bytes = packedForm(obj);
    const handle = bytes === null ? this.colls.add(obj) : null;
    try {
      if (handle === null) {
        this.engine.set(k, bytes!, 0, 0, SET_ALWAYS, 0, false, type | TYPE_PACKED);
        obj.packed = true;
        this.unpacked.keep(this.engine.peek(k), this.engine.lastCas, obj);
      } else this.engine.set(k, handle, 0, 0, SET_ALWAYS, 0, false, type);
    } catch (err) {
      if (handle !== null) this.colls.release(CollectionRegistry.handleOf(handle));
      if (!isOutOfMemory(err)) throw err;
      keep(this.belowColls, k.toString('latin1'), { obj, entry: { value: EMPTY, type, flags: 0, expiresAt: 0, cas: 0 } });
    }
    return obj;
  }

  /**
   * The collection of `type` at ref (WRONG_TYPE for another type): a stub's structure, or a packed
   * one decoded for this command. One decoded `forWrite` is remembered until collectionChanged packs
   * it back; a read does not re-pack.
   */
  private hotCollection(ref: number, type: number, forWrite: boolean): Collection | WrongType {
    const e = this.engine;
    if (e.typeOf(ref) !== type) return WRONG_TYPE;
    if (!e.isPacked(ref)) return this.collectionAt(ref);
    const cas = e.casOf(ref);
    // the copy decoded earlier in this command, which may hold changes not packed back yet
    const kept = this.unpacked.size === 0 ? undefined : this.unpacked.find(ref, cas);
    if (kept !== undefined) return kept;
    const obj = decodeCollection(type, e.valueView(ref));
    obj.packed = true;
    if (forWrite) this.unpacked.keep(ref, cas, obj);
    return obj;
  }

  /**
   * collectionChanged of a packed collection: packed again while it is small, else its structure
   * moves to the registry behind a stub, for good (Redis converts a listpack once). Its expiry and
   * flags stay; a version that does not fit in memory goes to disk.
   */
  private repack(k: Buffer, ref: number, notify: number): void {
    const e = this.engine;
    const obj = this.unpacked.take(ref, e.casOf(ref));
    if (obj === undefined) return; // not decoded for a change in this command: nothing to write back
    if (obj.size === 0) {
      this.host.removeKey(k, true, notify);
      return;
    }
    const event = notifiedEvent(KeyEvent.SET, notify);
    const exp = e.expiresAtOf(ref);
    const flags = e.flagsOf(ref);
    const bytes = packedForm(obj);
    try {
      if (bytes !== null) {
        e.set(k, bytes, exp, flags, SET_ALWAYS, 0, false, obj.type | TYPE_PACKED);
        this.afterCollectionWrite(k, bytes.length, event);
        return;
      }
      obj.packed = false;
      if (!e.couldHold(obj.bytes)) {
        this.storeCollectionOnDisk(k, obj, flags, exp, event);
        return;
      }
      const handle = this.colls.add(obj);
      const h = CollectionRegistry.handleOf(handle);
      try {
        e.set(k, handle, exp, flags, SET_ALWAYS, 0, false, obj.type);
      } catch (err) {
        this.colls.release(h);
        throw err;
      }
      e.chargeExternal(this.colls.recharge(h));
      this.afterCollectionWrite(k, obj.bytes, event);
    } catch (err) {
      if (!isOutOfMemory(err)) throw err;
      this.storeCollectionOnDisk(k, obj, flags, exp, event);
    }
  }

  collectionChanged(k: Buffer, notify: number): void {
    const e = this.engine;
    const event = notifiedEvent(KeyEvent.SET, notify);
    const kstr = this.belowColls.size === 0 && this.partials.size === 0 ? '' : k.toString('latin1');
    const below = this.belowColls.size === 0 ? undefined : this.belowColls.get(kstr);
    if (below !== undefined) {
      this.belowColls.delete(kstr);
      const d = below.entry;
      if (below.obj.size === 0) {
        if (d.cas !== 0) this.host.removeKey(k, false, notify);
      } else this.storeCollectionOnDisk(k, below.obj, d.flags, d.expiresAt, event);
      return;
    }
    const partial = this.partials.size === 0 ? undefined : this.partials.get(kstr);
    if (partial !== undefined) {
      this.partials.delete(kstr);
      if (partial.obj.size === 0) this.host.removeKey(k, false, notify);
      else {
        const own = Buffer.from(k);
        const cas = ++e.casCounter;
        const op = 'run' in partial ? this.chunked.lists.partialPut(own, partial, cas) : this.chunked.partialPut(own, partial, cas);
        this.writeback.queue(kstr, op, COLLECTION_QUEUED_BYTES);
        this.host.counters.writes++;
        this.host.emit(event, k);
      }
      return;
    }
    const ref = e.peek(k);
    if (ref < 0) {
      this.changedAfterEviction(k, notify);
      return;
    }
    if (e.typeOf(ref) === 0) return;
    if (e.isPacked(ref)) {
      this.repack(k, ref, notify);
      return;
    }
    const h = e.valueU32(ref);
    const obj = this.colls.get(h);
    if (obj === undefined) return;
    if (obj.size === 0) {
      this.host.removeKey(k, true, notify);
      return;
    }
    const tracker = this.colls.tracker(h);
    if (tracker instanceof ListTracker) {
      // the chunks at the end or the index the command reached changed; without one, any may have
      tracker.changed(obj as ListValue, this.takeListReach(k), this.chunkMembers, ++this.chunked.gen);
    } else if (tracker instanceof ChunkTracker) {
      // the chunks of the members the command named changed; a command that names none may have changed any
      if (this.touchingKey?.equals(k)) for (const m of this.touchingMembers) tracker.dirty.set(chunkOf(m, tracker.n), ++this.chunked.gen);
      else tracker.all = ++this.chunked.gen;
    }
    this.touchingKey = null;
    // what it was kept for is done (and a structure deleted since must not be kept alive by it)
    this.opened[0].obj = this.opened[1].obj = null;
    this.opened[0].k = this.opened[1].k = null;
    if (!e.couldHold(obj.bytes)) {
      // grown past the whole budget: below memory at once, rather than after evicting every other key
      this.storeCollectionOnDisk(k, obj, e.flagsOf(ref), e.expiresAtOf(ref), event);
      return;
    }
    e.newVersion(ref);
    const delta = this.colls.recharge(h);
    if (delta !== 0) e.chargeExternal(delta);
    this.afterCollectionWrite(k, obj.bytes, event);
  }

  /** what writeCollection noted that the command reaches of the list at k (null: nothing noted), forgotten here */
  private takeListReach(k: Buffer): ListReach | null {
    for (const r of this.listReaches) {
      if (r.k === null || !r.k.equals(k)) continue;
      const reach = r.reach;
      r.k = null;
      r.reach = null;
      return reach;
    }
    return null;
  }

  /**
   * collectionChanged of a collection that left memory after writeCollection handed it out (the
   * command's second key grew and evicted it; its spill holds it as it was before the change): the
   * changed structure is written below memory with the expiry and flags it left with.
   */
  private changedAfterEviction(k: Buffer, notify: number): void {
    let obj: Collection | null = null;
    for (const o of this.opened) {
      if (o.k?.equals(k)) obj = o.obj;
      o.k = null;
      o.obj = null;
    }
    if (obj === null) return;
    const at = this.host.locate(k, false);
    if (at.kind !== 'below') return;
    if (obj.size === 0) this.host.removeKey(k, false, notify);
    else this.storeCollectionOnDisk(k, obj, at.entry.flags, at.entry.expiresAt, notifiedEvent(KeyEvent.SET, notify));
  }

  /** FLUSHALL: every collection structure is gone with its key. */
  clear(): void {
    this.colls.clear();
    this.belowColls.clear();
    this.unpacked.clear();
  }
}
