/**
 * Subscriptions by exact key or key prefix, matched against a key in O(distinct prefix lengths)
 * map lookups rather than one comparison per subscription. Platform-free: the fronts use it per
 * connection, the SDK per local subscription.
 */

/** The bytes as a string of char codes 0-255 (a Map key that compares like the bytes). */
export function binaryString(bytes: Uint8Array, end = bytes.length): string {
  if (end <= 64) {
    let s = '';
    for (let i = 0; i < end; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  let s = '';
  for (let i = 0; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, Math.min(end, i + 4096))));
  }
  return s;
}

export class SubscriptionIndex<T> {
  private readonly exact = new Map<string, Map<T, number>>();
  /** prefix length → prefix → owner → event mask */
  private readonly prefixes = new Map<number, Map<string, Map<T, number>>>();
  /** the distinct prefix lengths in use, ascending */
  private lengths: number[] = [];
  /** (owner, filter) pairs */
  size = 0;

  /** Add or replace a subscription; true when it is new. */
  add(owner: T, prefix: boolean, filter: string, mask: number): boolean {
    let byText: Map<string, Map<T, number>>;
    if (prefix) {
      let m = this.prefixes.get(filter.length);
      if (!m) {
        m = new Map();
        this.prefixes.set(filter.length, m);
        this.lengths = [...this.prefixes.keys()].sort((a, b) => a - b);
      }
      byText = m;
    } else {
      byText = this.exact;
    }
    let owners = byText.get(filter);
    if (!owners) byText.set(filter, (owners = new Map()));
    const isNew = !owners.has(owner);
    owners.set(owner, mask);
    if (isNew) this.size++;
    return isNew;
  }

  /** Remove a subscription; true when it existed. */
  remove(owner: T, prefix: boolean, filter: string): boolean {
    const byText = prefix ? this.prefixes.get(filter.length) : this.exact;
    const owners = byText?.get(filter);
    if (!owners?.delete(owner)) return false;
    this.size--;
    if (owners.size === 0) {
      byText!.delete(filter);
      if (prefix && byText!.size === 0) {
        this.prefixes.delete(filter.length);
        this.lengths = this.lengths.filter((l) => l !== filter.length);
      }
    }
    return true;
  }

  /**
   * Calls visit for every owner with a subscription matching the key (given as binaryString) whose
   * mask has `bit`. An owner with several matching subscriptions is visited once per subscription.
   */
  match(key: string, bit: number, visit: (owner: T) => void): void {
    const exact = this.exact.get(key);
    if (exact) for (const [owner, mask] of exact) if (mask & bit) visit(owner);
    const lengths = this.lengths;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i];
      if (len > key.length) break;
      const owners = this.prefixes.get(len)!.get(len === key.length ? key : key.slice(0, len));
      if (owners) for (const [owner, mask] of owners) if (mask & bit) visit(owner);
    }
  }

  /** Every owner of any subscription whose mask has `bit`. */
  all(bit: number, visit: (owner: T) => void): void {
    for (const owners of this.exact.values()) for (const [owner, mask] of owners) if (mask & bit) visit(owner);
    for (const byText of this.prefixes.values()) {
      for (const owners of byText.values()) for (const [owner, mask] of owners) if (mask & bit) visit(owner);
    }
  }
}
