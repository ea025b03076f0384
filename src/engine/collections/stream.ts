/**
 * A stream: entries (id → field/value pairs) in id order, with Redis' bookkeeping (last generated
 * id, entries added, largest deleted id, first id) and consumer groups (stream-groups.ts).
 *
 * Entries live in nodes of up to NODE_ENTRIES entries in insertion order, as Redis keeps them in
 * radix-tree nodes of listpacks (stream-node-max-entries, 100 by default): a deleted entry stays in
 * its node as a tombstone until its node empties (XDEL) or goes whole (XTRIM), a node is full after
 * NODE_ENTRIES entries live or deleted, and approximate trimming (`~`) removes whole nodes only. So
 * XTRIM/XADD with `~` trim what Redis trims while entries are small (Redis also closes a node at
 * stream-node-max-bytes, 4096 bytes of listpack, which is not modelled: docs/commands.md).
 *
 * A seek is a binary search over the nodes' first ids, then inside the node: O(log n). Appending is
 * O(1); a node that goes is spliced out of the node array (n/100 pointers).
 */
import { type Consumer, Group, type Held, type Nack } from './stream-groups.js';
import { MAX_ID, MIN_ID, type StreamId } from './stream-id.js';
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

/** entries per node before a new one starts (Redis' stream-node-max-entries default) */
export const NODE_ENTRIES = 100;

/** estimated heap bytes of the stream object itself */
const STREAM_COST = 256;
/** per node: the node object and its two arrays */
const NODE_COST = 96;
/** per entry: its id string and its slots in the node's arrays */
const ID_COST = 48;
/** per live entry: its field/value array beyond the strings */
const ENTRY_COST = 32;

interface Node {
  ids: StreamId[];
  /** flat [field, value, ...] per entry; null once deleted */
  vals: (string[] | null)[];
  /** entries not deleted */
  live: number;
}

export type TrimStrategy = 'maxlen' | 'minid';

export interface TrimArgs {
  strategy: TrimStrategy;
  maxlen: number;
  minid: StreamId;
  approx: boolean;
  /** at most this many entries removed (0: no limit) */
  limit: number;
}

function valsCost(vals: readonly string[]): number {
  let n = ENTRY_COST + 8 * vals.length;
  for (const s of vals) n += memberCost(s);
  return n;
}

export class StreamValue implements Collection {
  readonly type = ValueType.STREAM;
  /** streams are never packed */
  packed = false;
  private nodes: Node[] = [];
  /** entries not deleted (XLEN) */
  length = 0;
  lastId: StreamId = MIN_ID;
  entriesAdded = 0;
  maxDeletedId: StreamId = MIN_ID;
  /** the first entry's id, 0-0 when empty (XINFO's recorded-first-entry-id) */
  firstId: StreamId = MIN_ID;
  /** consumer groups by name */
  readonly groups = new Map<string, Group>();
  private readonly held: Held = { n: STREAM_COST };

  /**
   * The store deletes a collection whose size is 0; Redis keeps a stream with no entries (its ids
   * and groups are state), so a stream counts itself as one member besides its entries.
   */
  get size(): number {
    return this.length + 1;
  }
  get bytes(): number {
    return this.held.n;
  }
  get encoding(): string {
    return 'stream';
  }
  /** nodes (XINFO's radix-tree-keys) */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** appends an entry; the caller checked id > lastId */
  append(id: StreamId, vals: string[]): void {
    let node = this.nodes.length > 0 ? this.nodes[this.nodes.length - 1] : undefined;
    if (node === undefined || node.ids.length >= NODE_ENTRIES) {
      node = { ids: [], vals: [], live: 0 };
      this.nodes.push(node);
      this.held.n += NODE_COST;
    }
    node.ids.push(id);
    node.vals.push(vals);
    node.live++;
    this.held.n += ID_COST + valsCost(vals);
    this.length++;
    this.entriesAdded++;
    this.lastId = id;
    if (this.length === 1) this.firstId = id;
  }

  /** the index of the last node whose first id is <= id; -1 when every node starts after it */
  private nodeAt(id: StreamId): number {
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.nodes[mid].ids[0] <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * Visits the entries with start <= id <= end, ascending (or descending with rev); `visit` returns
   * false to stop.
   */
  range(start: StreamId, end: StreamId, rev: boolean, visit: (id: StreamId, vals: string[]) => unknown): void {
    if (start > end || this.nodes.length === 0) return;
    const nodes = this.nodes;
    if (!rev) {
      let ni = Math.max(0, this.nodeAt(start));
      let ei = lowerBound(nodes[ni].ids, start);
      for (; ni < nodes.length; ni++, ei = 0) {
        const { ids, vals } = nodes[ni];
        for (; ei < ids.length; ei++) {
          if (ids[ei] > end) return;
          const v = vals[ei];
          if (v !== null && visit(ids[ei], v) === false) return;
        }
      }
      return;
    }
    let ni = this.nodeAt(end);
    if (ni < 0) return;
    let ei = lowerBound(nodes[ni].ids, nextOrMax(end)) - 1;
    for (; ni >= 0; ni--, ei = ni >= 0 ? nodes[ni].ids.length - 1 : 0) {
      const { ids, vals } = nodes[ni];
      for (; ei >= 0; ei--) {
        if (ids[ei] < start) return;
        const v = vals[ei];
        if (v !== null && visit(ids[ei], v) === false) return;
      }
    }
  }

  /** the entry's field/value pairs; null when absent or deleted */
  get(id: StreamId): string[] | null {
    const ni = this.nodeAt(id);
    if (ni < 0) return null;
    const node = this.nodes[ni];
    const ei = lowerBound(node.ids, id);
    return node.ids[ei] === id ? node.vals[ei] : null;
  }

  /**
   * Deletes one entry (XDEL): its node goes when it was the node's last live entry. Updates the
   * largest deleted id and the first id as XDEL does. False when there was no such entry.
   */
  delete(id: StreamId): boolean {
    const ni = this.nodeAt(id);
    if (ni < 0) return false;
    const node = this.nodes[ni];
    const ei = lowerBound(node.ids, id);
    const vals = node.ids[ei] === id ? node.vals[ei] : null;
    if (vals === null) return false;
    this.held.n -= valsCost(vals);
    if (node.live === 1) {
      this.held.n -= NODE_COST + node.ids.length * ID_COST;
      this.nodes.splice(ni, 1);
    } else {
      node.vals[ei] = null;
      node.live--;
    }
    this.length--;
    if (id > this.maxDeletedId) this.maxDeletedId = id;
    if (this.length === 0) this.firstId = MIN_ID;
    else if (id === this.firstId) this.firstId = this.edgeId(true) ?? MIN_ID;
    return true;
  }

  /** the first (or last) entry's id; null when the stream has none */
  edgeId(first: boolean): StreamId | null {
    const nodes = this.nodes;
    if (first) {
      for (const node of nodes) {
        if (node.live === 0) continue;
        for (let i = 0; i < node.ids.length; i++) if (node.vals[i] !== null) return node.ids[i];
      }
      return null;
    }
    for (let ni = nodes.length - 1; ni >= 0; ni--) {
      const node = nodes[ni];
      if (node.live === 0) continue;
      for (let i = node.ids.length - 1; i >= 0; i--) if (node.vals[i] !== null) return node.ids[i];
    }
    return null;
  }

  /** the first entry's id, deleted ones included (what Redis propagates after a `~` MINID trim) */
  firstPhysicalId(): StreamId {
    return this.nodes.length > 0 ? this.nodes[0].ids[0] : MIN_ID;
  }

  /** Redis' streamTrim: whole nodes from the head, then (unless approx) entries inside one node */
  trim(t: TrimArgs): number {
    const nodes = this.nodes;
    let deleted = 0;
    let gone = 0;
    for (; gone < nodes.length; gone++) {
      if (t.strategy === 'maxlen' && this.length <= t.maxlen) break;
      const node = nodes[gone];
      const entries = node.live;
      if (t.limit > 0 && deleted + entries > t.limit) break;
      const whole = t.strategy === 'maxlen' ? this.length - entries >= t.maxlen : node.ids[node.ids.length - 1] < t.minid;
      if (whole) {
        for (const v of node.vals) if (v !== null) this.held.n -= valsCost(v);
        this.held.n -= NODE_COST + node.ids.length * ID_COST;
        this.length -= entries;
        deleted += entries;
        continue;
      }
      if (t.approx) break;
      for (let i = 0; i < node.ids.length; i++) {
        if (t.strategy === 'maxlen' ? this.length <= t.maxlen : node.ids[i] >= t.minid) break;
        const v = node.vals[i];
        if (v === null) continue;
        this.held.n -= valsCost(v);
        node.vals[i] = null;
        node.live--;
        this.length--;
        deleted++;
      }
      break;
    }
    if (gone > 0) nodes.splice(0, gone);
    if (this.length === 0) this.firstId = MIN_ID;
    else if (deleted > 0) this.firstId = this.edgeId(true) ?? MIN_ID;
    return deleted;
  }

  /** a new group; null when one of that name exists */
  createGroup(name: string, lastId: StreamId, entriesRead: number): Group | null {
    if (this.groups.has(name)) return null;
    const g = new Group(name, lastId, entriesRead, this.held);
    this.groups.set(name, g);
    return g;
  }

  destroyGroup(name: string): boolean {
    const g = this.groups.get(name);
    if (g === undefined) return false;
    g.release();
    this.groups.delete(name);
    return true;
  }

  /** groups in name (byte) order, as Redis lists them */
  sortedGroups(): Group[] {
    return [...this.groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- Redis' entries-read / lag arithmetic (t_stream.c) -----------------------------------

  /** whether a deleted entry may lie in [start, end] (streamRangeHasTombstones) */
  rangeHasTombstones(start: StreamId, end: StreamId): boolean {
    if (this.length === 0 || this.maxDeletedId === MIN_ID) return false;
    if (this.firstId > this.maxDeletedId) return false;
    return start <= this.maxDeletedId && this.maxDeletedId <= end;
  }

  /** the entries-read counter an id stands at, -1 when unknown (streamEstimateDistanceFromFirstEverEntry) */
  estimateDistance(id: StreamId): number {
    if (this.entriesAdded === 0) return 0;
    if (this.length === 0 && id <= this.lastId) return this.entriesAdded;
    if (id === this.lastId) return this.entriesAdded;
    if (id > this.lastId) return -1;
    if (this.maxDeletedId === MIN_ID || this.maxDeletedId < this.firstId) {
      if (id < this.firstId) return this.entriesAdded - this.length;
      if (id === this.firstId) return this.entriesAdded - this.length + 1;
    }
    return -1;
  }

  /** a group's lag, null when unknown (streamReplyWithCGLag) */
  lag(g: Group): number | null {
    if (this.entriesAdded === 0) return 0;
    if (g.entriesRead !== -1 && !this.rangeHasTombstones(g.lastId, MAX_ID)) return this.entriesAdded - g.entriesRead;
    const read = this.estimateDistance(g.lastId);
    return read === -1 ? null : this.entriesAdded - read;
  }

  /** a group read the entry `id` (past its last id): its last id and entries-read move as Redis moves them */
  advanceGroup(g: Group, id: StreamId): void {
    if (id <= g.lastId) return;
    if (g.entriesRead !== -1 && !this.rangeHasTombstones(id, MAX_ID)) g.entriesRead++;
    else if (this.entriesAdded > 0) g.entriesRead = this.estimateDistance(id);
    g.lastId = id;
  }

  // ---- encoding ----------------------------------------------------------------------------

  encode(): Buffer {
    let n = strBytes(this.lastId) + strBytes(this.maxDeletedId) + strBytes(this.firstId) + 16 + 4;
    for (const node of this.nodes) {
      n += 4;
      for (let i = 0; i < node.ids.length; i++) {
        n += strBytes(node.ids[i]) + 4;
        const v = node.vals[i];
        if (v !== null) for (const s of v) n += strBytes(s);
      }
    }
    n += 4;
    for (const g of this.groups.values()) {
      n += strBytes(g.name) + strBytes(g.lastId) + 8 + 4 + 4;
      for (const c of g.consumers.values()) n += strBytes(c.name) + 8;
      g.pel.from('', (id) => void (n += strBytes(id) + 4 + 16));
    }
    const w = new Writer(n);
    w.str(this.lastId);
    w.str(this.maxDeletedId);
    w.str(this.firstId);
    w.f64(this.entriesAdded);
    w.f64(this.length);
    w.u32(this.nodes.length);
    for (const node of this.nodes) {
      w.u32(node.ids.length);
      for (let i = 0; i < node.ids.length; i++) {
        w.str(node.ids[i]);
        const v = node.vals[i];
        // a tombstone is 0xffffffff values
        w.u32(v === null ? 0xffffffff : v.length);
        if (v !== null) for (const s of v) w.str(s);
      }
    }
    w.u32(this.groups.size);
    for (const g of this.groups.values()) {
      w.str(g.name);
      w.str(g.lastId);
      w.f64(g.entriesRead);
      const index = new Map<Consumer, number>();
      w.u32(g.consumers.size);
      for (const c of g.consumers.values()) {
        index.set(c, index.size);
        w.str(c.name);
        w.f64(c.seenTime);
      }
      w.u32(g.pel.size);
      g.pel.from('', (id, nack) => {
        w.str(id);
        w.u32(index.get(nack.consumer)!);
        w.f64(nack.deliveryTime);
        w.f64(nack.deliveryCount);
      });
    }
    return w.done();
  }

  static decode(bytes: Buffer): StreamValue {
    const r = new Reader(bytes);
    const s = new StreamValue();
    s.lastId = r.str();
    s.maxDeletedId = r.str();
    const firstId = r.str();
    const entriesAdded = r.f64();
    r.f64(); // length: recounted from the entries
    for (let nodes = r.u32(); nodes > 0; nodes--) {
      const node: Node = { ids: [], vals: [], live: 0 };
      s.held.n += NODE_COST;
      for (let k = r.u32(); k > 0; k--) {
        const id = r.str();
        const count = r.u32();
        let v: string[] | null = null;
        if (count !== 0xffffffff) {
          v = new Array<string>(count);
          for (let i = 0; i < count; i++) v[i] = r.str();
          node.live++;
          s.length++;
          s.held.n += valsCost(v);
        }
        node.ids.push(id);
        node.vals.push(v);
        s.held.n += ID_COST;
      }
      s.nodes.push(node);
    }
    s.firstId = firstId;
    s.entriesAdded = entriesAdded;
    for (let groups = r.u32(); groups > 0; groups--) {
      const g = s.createGroup(r.str(), r.str(), r.f64())!;
      const consumers: Consumer[] = [];
      for (let k = r.u32(); k > 0; k--) consumers.push(g.createConsumer(r.str(), r.f64())!);
      for (let k = r.u32(); k > 0; k--) {
        const id = r.str();
        const nack: Nack = { consumer: consumers[r.u32()], deliveryTime: r.f64(), deliveryCount: r.f64() };
        g.restore(id, nack);
      }
    }
    return s;
  }
}

/** the first index whose id is >= id */
function lowerBound(ids: readonly StreamId[], id: StreamId): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** a bound just past id for a reverse seek (the largest id seeks to the end) */
function nextOrMax(id: StreamId): StreamId {
  return `${id}\x00`;
}
