/**
 * A sorted set: members ordered by (score, member bytes), as Redis orders them. A skiplist with spans
 * (each forward link knows how many members it passes, so rank and the member at a rank are
 * O(log n)) beside a Map member → node for O(1) score lookups. Members are latin1 strings, so
 * comparing them with `<` compares their bytes unsigned, which is Redis' memcmp order.
 */
import { LISTPACK_ENTRIES, LISTPACK_VALUE } from './listpack.js';
import { type Collection, memberCost, Reader, strBytes, ValueType, Writer } from './types.js';

/**
 * One member in the list. Level 0 (every node has it) is held in fields; the levels above, which a
 * quarter of the nodes have, in one array of [next, span] pairs: a node costs about half what two
 * arrays per node would. The level-0 span (1, or 0 at the end) and the level are not stored but
 * read from `next` and the array's length: two fields fewer on every node.
 */
export class ZNode {
  prev: ZNode | null = null;
  /** the next member (level 0) */
  next: ZNode | null = null;
  private readonly up: (ZNode | null | number)[] | null;
  constructor(
    readonly member: string,
    public score: number,
    level: number,
  ) {
    this.up = level > 1 ? new Array<ZNode | null | number>(2 * (level - 1)).fill(null) : null;
  }
  get level(): number {
    return this.up === null ? 1 : this.up.length / 2 + 1;
  }
  fwd(i: number): ZNode | null {
    return i === 0 ? this.next : (this.up![2 * i - 2] as ZNode | null);
  }
  setFwd(i: number, n: ZNode | null): void {
    if (i === 0) this.next = n;
    else this.up![2 * i - 2] = n;
  }
  /** members passed by fwd(i) */
  spanAt(i: number): number {
    return i === 0 ? (this.next === null ? 0 : 1) : ((this.up![2 * i - 1] as number | null) ?? 0);
  }
  /** level 0's span follows from `next` */
  setSpan(i: number, v: number): void {
    if (i !== 0) this.up![2 * i - 1] = v;
  }
}

const MAX_LEVEL = 32;
const P = 0.25;
/**
 * Redis keeps a sorted set in a listpack while it has at most LISTPACK_ENTRIES members of at most
 * LISTPACK_VALUE bytes (zset-max-listpack-entries / -value, defaults); see `ZSetValue.small`.
 */
export { LISTPACK_ENTRIES, LISTPACK_VALUE };

/**
 * The search path of an insert or removal, reused by every set of the thread (a shard runs one
 * command at a time): no allocation per change. Entries past the current level are stale.
 */
const UPDATE: ZNode[] = [];
const RANK: number[] = [];

/**
 * Heap bytes of one node beyond its member string, as measured on Node 20 (x64): the object (~64)
 * with its score box (16: once any node in the thread held a fractional score, V8 boxes every node's
 * score), its Map entry with the table's slack, and for a node above level 1 the array of upper
 * links. A million 13-byte members with fractional scores grew the heap 180 bytes each
 * (collection-zset.test.ts).
 */
const nodeCost = (level: number): number => 115 + (level > 1 ? 48 + 16 * (level - 1) : 0);

/** a score bound: `ex` excludes the value itself */
export interface ScoreBound {
  value: number;
  ex: boolean;
}

/** a lex bound: a member with `ex`, or the lowest / highest of all ('-' / '+') */
export type LexBound = { kind: 'min' } | { kind: 'max' } | { kind: 'value'; value: string; ex: boolean };

/** (score, member) order: negative when a sorts first */
function before(aScore: number, aMember: string, bScore: number, bMember: string): boolean {
  return aScore < bScore || (aScore === bScore && aMember < bMember);
}

function aboveMin(score: number, min: ScoreBound): boolean {
  return min.ex ? score > min.value : score >= min.value;
}
function belowMax(score: number, max: ScoreBound): boolean {
  return max.ex ? score < max.value : score <= max.value;
}
/** Redis' sdscmplex of two bounds: '-' below every string, '+' above, '-' equal to '-' */
function lexCompare(a: LexBound, b: LexBound): number {
  if (a.kind === b.kind && a.kind !== 'value') return 0;
  if (a.kind === 'min' || b.kind === 'max') return -1;
  if (a.kind === 'max' || b.kind === 'min') return 1;
  const x = (a as { value: string }).value;
  const y = (b as { value: string }).value;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function lexAboveMin(m: string, min: LexBound): boolean {
  if (min.kind === 'min') return true;
  if (min.kind === 'max') return false;
  return min.ex ? m > min.value : m >= min.value;
}
export function lexBelowMax(m: string, max: LexBound): boolean {
  if (max.kind === 'max') return true;
  if (max.kind === 'min') return false;
  return max.ex ? m < max.value : m <= max.value;
}

export class ZSetValue implements Collection {
  readonly type = ValueType.ZSET;
  packed = false;
  private readonly nodes = new Map<string, ZNode>();
  private readonly head = new ZNode('', 0, MAX_LEVEL);
  private tail: ZNode | null = null;
  private level = 1;
  private held = 0;
  /** `encode()`'s length, kept as members come and go */
  private encodedBytes = 8;
  /**
   * True while Redis would hold this set as a listpack: made small and never given more than
   * LISTPACK_ENTRIES members or a member longer than LISTPACK_VALUE bytes (Redis converts once, one
   * way). Two answers depend on it: a listpack stores a score of -0 as 0, and ZSCAN returns a
   * listpack whole in one page.
   */
  small: boolean;

  constructor(small = true) {
    this.small = small;
  }

  get size(): number {
    return this.nodes.size;
  }
  get bytes(): number {
    return this.held;
  }
  get encoding(): string {
    return this.packed ? 'listpack' : 'skiplist';
  }

  /** the member's score, undefined when it is not in the set */
  score(m: string): number | undefined {
    return this.nodes.get(m)?.score;
  }

  has(m: string): boolean {
    return this.nodes.has(m);
  }

  /** lowest first; null when empty */
  first(): ZNode | null {
    return this.head.next;
  }
  /** highest; null when empty */
  last(): ZNode | null {
    return this.tail;
  }

  /**
   * Sets a member's score (adds it when new); true when it was new. A score equal to the current one
   * (0 and -0 are equal) changes nothing, as in Redis.
   */
  set(m: string, score: number): boolean {
    const cur = this.nodes.get(m);
    if (cur !== undefined) {
      if (cur.score !== score) {
        this.unlink(cur);
        this.link(m, this.stored(score), cur);
      }
      return false;
    }
    if (this.small && (this.nodes.size + 1 > LISTPACK_ENTRIES || m.length > LISTPACK_VALUE)) this.small = false;
    this.link(m, this.stored(score), null);
    return true;
  }

  /** removes a member; true when it was there */
  delete(m: string): boolean {
    const node = this.nodes.get(m);
    if (node === undefined) return false;
    this.unlink(node);
    this.nodes.delete(m);
    this.held -= memberCost(m) + nodeCost(node.level);
    this.encodedBytes -= strBytes(m) + 8;
    return true;
  }

  /** 0-based rank from the lowest; -1 when absent */
  rank(m: string): number {
    const node = this.nodes.get(m);
    if (node === undefined) return -1;
    let x = this.head;
    let rank = 0;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.fwd(i);
      while (n !== null && (n === node || before(n.score, n.member, node.score, node.member))) {
        rank += x.spanAt(i);
        x = n;
        if (x === node) return rank - 1;
        n = x.fwd(i);
      }
    }
    return -1;
  }

  /** the node at a 0-based rank below size */
  at(rank: number): ZNode | null {
    if (rank < 0 || rank >= this.nodes.size) return null;
    let x = this.head;
    let traversed = 0;
    const want = rank + 1;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.fwd(i) !== null && traversed + x.spanAt(i) <= want) {
        traversed += x.spanAt(i);
        x = x.fwd(i)!;
      }
      if (traversed === want) return x;
    }
    return null;
  }

  /** the lowest node with a score inside min; null when none */
  firstAbove(min: ScoreBound): ZNode | null {
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.fwd(i) !== null && !aboveMin(x.fwd(i)!.score, min)) x = x.fwd(i)!;
    }
    return x.next;
  }

  /** the highest node with a score inside max; null when none */
  lastBelow(max: ScoreBound): ZNode | null {
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.fwd(i) !== null && belowMax(x.fwd(i)!.score, max)) x = x.fwd(i)!;
    }
    return x === this.head ? null : x;
  }

  /**
   * The lowest member inside a lex range, null when none. Lex ranges assume Redis' precondition that
   * every member has one score; on a set with several scores the answer is Redis' own: a linear scan
   * while Redis would hold a listpack, the skiplist descent after.
   */
  firstInLex(min: LexBound, max: LexBound): ZNode | null {
    if (!this.lexRangeMeets(min, max)) return null;
    let x: ZNode | null;
    if (this.small) {
      x = this.head.next;
      while (x !== null && !lexAboveMin(x.member, min)) x = x.next;
    } else {
      let y = this.head;
      for (let i = this.level - 1; i >= 0; i--) {
        while (y.fwd(i) !== null && !lexAboveMin(y.fwd(i)!.member, min)) y = y.fwd(i)!;
      }
      x = y.next;
    }
    return x !== null && lexBelowMax(x.member, max) ? x : null;
  }

  /** the highest member inside a lex range (see firstInLex) */
  lastInLex(min: LexBound, max: LexBound): ZNode | null {
    if (!this.lexRangeMeets(min, max)) return null;
    let x: ZNode | null;
    if (this.small) {
      x = this.tail;
      while (x !== null && !lexBelowMax(x.member, max)) x = x.prev;
    } else {
      let y = this.head;
      for (let i = this.level - 1; i >= 0; i--) {
        while (y.fwd(i) !== null && lexBelowMax(y.fwd(i)!.member, max)) y = y.fwd(i)!;
      }
      x = y === this.head ? null : y;
    }
    return x !== null && lexAboveMin(x.member, min) ? x : null;
  }

  /** Redis' zslIsInLexRange: the range is not empty, and the ends of the set do not lie outside it */
  private lexRangeMeets(min: LexBound, max: LexBound): boolean {
    const cmp = lexCompare(min, max);
    if (cmp > 0 || (cmp === 0 && (min.kind !== 'value' || min.ex || max.kind !== 'value' || max.ex))) return false;
    const last = this.tail;
    const first = this.head.next;
    return last !== null && lexAboveMin(last.member, min) && first !== null && lexBelowMax(first.member, max);
  }

  /** members in order, lowest first */
  *entries(): IterableIterator<ZNode> {
    for (let n = this.head.next; n !== null; n = n.next) yield n;
  }

  /** Redis' listpack keeps -0 as 0; its skiplist keeps it */
  private stored(score: number): number {
    return this.small && score === 0 ? 0 : score;
  }

  private randomLevel(): number {
    let l = 1;
    while (l < MAX_LEVEL && Math.random() < P) l++;
    return l;
  }

  /** inserts m (not in the set) at its place; `reuse` is its old node, removed from the list */
  private link(m: string, score: number, reuse: ZNode | null): void {
    const update = UPDATE;
    const rank = RANK;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : rank[i + 1];
      while (x.fwd(i) !== null && before(x.fwd(i)!.score, x.fwd(i)!.member, score, m)) {
        rank[i] += x.spanAt(i);
        x = x.fwd(i)!;
      }
      update[i] = x;
    }
    let node: ZNode;
    if (reuse !== null) {
      node = reuse;
      node.score = score;
    } else {
      node = new ZNode(m, score, this.randomLevel());
      this.nodes.set(m, node);
      this.held += memberCost(m) + nodeCost(node.level);
      this.encodedBytes += strBytes(m) + 8;
    }
    const level = node.level;
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.head;
        this.head.setSpan(i, this.nodes.size - 1); // members in the list before this one
      }
      this.level = level;
    }
    for (let i = 0; i < level; i++) {
      node.setFwd(i, update[i].fwd(i));
      update[i].setFwd(i, node);
      node.setSpan(i, update[i].spanAt(i) - (rank[0] - rank[i]));
      update[i].setSpan(i, rank[0] - rank[i] + 1);
    }
    for (let i = level; i < this.level; i++) update[i].setSpan(i, update[i].spanAt(i) + 1);
    node.prev = update[0] === this.head ? null : update[0];
    if (node.next !== null) node.next.prev = node;
    else this.tail = node;
  }

  /** takes a node out of the list (not out of the Map) */
  private unlink(node: ZNode): void {
    const update = UPDATE;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.fwd(i) !== null && x.fwd(i) !== node && before(x.fwd(i)!.score, x.fwd(i)!.member, node.score, node.member)) x = x.fwd(i)!;
      update[i] = x;
    }
    for (let i = 0; i < this.level; i++) {
      if (update[i].fwd(i) === node) {
        update[i].setSpan(i, update[i].spanAt(i) + node.spanAt(i) - 1);
        update[i].setFwd(i, node.fwd(i));
      } else {
        update[i].setSpan(i, update[i].spanAt(i) - 1);
      }
    }
    if (node.next !== null) node.next.prev = node.prev;
    else this.tail = node.prev;
    while (this.level > 1 && this.head.fwd(this.level - 1) === null) this.level--;
    node.prev = null;
  }

  /**
   * Disk record: u32 flags (bit 0: no longer small), u32 count, then each member and its score in
   * order, so decoding appends.
   */
  encode(): Buffer {
    const w = new Writer(this.encodedBytes);
    w.u32(this.small ? 0 : 1);
    w.u32(this.nodes.size);
    for (let x = this.head.next; x !== null; x = x.next) {
      w.str(x.member);
      w.f64(x.score);
    }
    return w.done();
  }

  static decode(bytes: Buffer): ZSetValue {
    const r = new Reader(bytes);
    const z = new ZSetValue((r.u32() & 1) === 0);
    const small = z.small;
    for (let n = r.u32(); n > 0; n--) {
      const m = r.str();
      const s = r.f64();
      z.small = false; // keeps a stored -0 as it was written
      z.set(m, s);
    }
    z.small = small;
    return z;
  }
}
