/**
 * A stream's consumer groups: per group the last delivered id, the entries-read counter, the
 * pending entries list (PEL: id → consumer, delivery time, delivery count) and the consumers, each
 * with its own PEL sharing the group's entries, as Redis keeps them.
 */
import { memberCost } from './types.js';
import type { StreamId } from './stream-id.js';

/** bytes the stream holds, shared by the stream and its groups so every change keeps it current */
export interface Held {
  n: number;
}

/** estimated heap bytes of one PEL entry: the record, its id string, a slot in two maps and arrays */
const NACK_COST = 160;
const CONSUMER_COST = 160;
const GROUP_COST = 200;

/**
 * Ids in order with a value each: a sorted array of ids beside a Map. Removal only drops the Map
 * entry (the array keeps the id until the array is half dead, then compacts), so acknowledging in
 * any order is O(1) amortized; an id past the last is a push, so delivery in stream order is O(1)
 * amortized; an id before the last is a binary search and an insert.
 */
export class IdIndex<T> {
  private ids: StreamId[] = [];
  /** ids before it are all removed */
  private head = 0;
  private readonly map = new Map<StreamId, T>();

  get size(): number {
    return this.map.size;
  }

  get(id: StreamId): T | undefined {
    return this.map.get(id);
  }

  has(id: StreamId): boolean {
    return this.map.has(id);
  }

  /** the first index at or after `from` whose id is >= id */
  private lowerBound(id: StreamId, from: number): number {
    let lo = from;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(id: StreamId, value: T): void {
    if (!this.map.has(id)) {
      const n = this.ids.length;
      if (n === 0 || this.ids[n - 1] < id) this.ids.push(id);
      else {
        const at = this.lowerBound(id, 0);
        if (this.ids[at] !== id) this.ids.splice(at, 0, id);
        if (at < this.head) this.head = at;
      }
    }
    this.map.set(id, value);
  }

  delete(id: StreamId): T | undefined {
    const v = this.map.get(id);
    if (v === undefined) return undefined;
    this.map.delete(id);
    if (this.ids.length > 32 && this.ids.length > 2 * this.map.size) {
      this.ids = this.ids.filter((x) => this.map.has(x));
      this.head = 0;
    }
    return v;
  }

  first(): StreamId | undefined {
    while (this.head < this.ids.length && !this.map.has(this.ids[this.head])) this.head++;
    return this.ids[this.head];
  }

  last(): StreamId | undefined {
    while (this.ids.length > this.head && !this.map.has(this.ids[this.ids.length - 1])) this.ids.pop();
    return this.ids.length > this.head ? this.ids[this.ids.length - 1] : undefined;
  }

  /** the entries with id >= start, in id order; `visit` returns false to stop */
  from(start: StreamId, visit: (id: StreamId, value: T) => unknown): void {
    const ids = this.ids;
    for (let i = this.lowerBound(start, this.head); i < ids.length; i++) {
      const v = this.map.get(ids[i]);
      if (v !== undefined && visit(ids[i], v) === false) return;
    }
  }
}

export interface Nack {
  consumer: Consumer;
  /** ms since the epoch of the last delivery */
  deliveryTime: number;
  deliveryCount: number;
}

export class Consumer {
  readonly pel = new IdIndex<Nack>();
  constructor(
    readonly name: string,
    /** ms since the epoch it was last seen (XINFO CONSUMERS idle) */
    public seenTime: number,
  ) {}
}

export class Group {
  readonly pel = new IdIndex<Nack>();
  readonly consumers = new Map<string, Consumer>();

  constructor(
    readonly name: string,
    /** the last id delivered to the group */
    public lastId: StreamId,
    /** entries the group has read, -1 when unknown (Redis' SCG_INVALID_ENTRIES_READ) */
    public entriesRead: number,
    private readonly held: Held,
  ) {
    held.n += GROUP_COST + memberCost(name);
  }

  /** the consumer; with `now`, its seen time refreshed */
  consumer(name: string, now?: number): Consumer | undefined {
    const c = this.consumers.get(name);
    if (c !== undefined && now !== undefined) c.seenTime = now;
    return c;
  }

  /** a new consumer; null when one of that name exists */
  createConsumer(name: string, now: number): Consumer | null {
    if (this.consumers.has(name)) return null;
    const c = new Consumer(name, now);
    this.consumers.set(name, c);
    this.held.n += CONSUMER_COST + memberCost(name);
    return c;
  }

  /** removes a consumer and its pending entries; how many it had */
  deleteConsumer(c: Consumer): number {
    let pending = 0;
    c.pel.from('', (id) => {
      this.pel.delete(id);
      pending++;
    });
    this.held.n -= pending * NACK_COST + CONSUMER_COST + memberCost(c.name);
    this.consumers.delete(c.name);
    return pending;
  }

  /**
   * Delivers an entry to a consumer: a new PEL entry, or (after SETID moved the group back) the
   * existing one reassigned with its count reset, as Redis does.
   */
  deliver(id: StreamId, c: Consumer, now: number): void {
    const nack = this.pel.get(id);
    if (nack === undefined) {
      const n: Nack = { consumer: c, deliveryTime: now, deliveryCount: 1 };
      this.pel.set(id, n);
      c.pel.set(id, n);
      this.held.n += NACK_COST;
      return;
    }
    nack.consumer.pel.delete(id);
    nack.consumer = c;
    nack.deliveryTime = now;
    nack.deliveryCount = 1;
    c.pel.set(id, nack);
  }

  /** hands a pending entry to another consumer (XCLAIM) */
  reassign(id: StreamId, nack: Nack, c: Consumer): void {
    if (nack.consumer === c) return;
    nack.consumer.pel.delete(id);
    nack.consumer = c;
    c.pel.set(id, nack);
  }

  /** adds a pending entry as restored or claimed: owned by c */
  restore(id: StreamId, nack: Nack): void {
    this.pel.set(id, nack);
    nack.consumer.pel.set(id, nack);
    this.held.n += NACK_COST;
  }

  ack(id: StreamId): boolean {
    const nack = this.pel.delete(id);
    if (nack === undefined) return false;
    nack.consumer.pel.delete(id);
    this.held.n -= NACK_COST;
    return true;
  }

  /** bytes this group holds, given back when it is destroyed */
  release(): void {
    let n = GROUP_COST + memberCost(this.name) + this.pel.size * NACK_COST;
    for (const c of this.consumers.values()) n += CONSUMER_COST + memberCost(c.name);
    this.held.n -= n;
  }

  /** consumers in name (byte) order, as Redis lists them */
  sortedConsumers(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
