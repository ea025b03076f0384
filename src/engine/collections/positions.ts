/**
 * What hashes and sets share: members kept at positions of an array, with a Map member → position
 * beside it, so that a random member is one index away (SPOP, SRANDMEMBER, HRANDFIELD) and a removal
 * moves the last member into the hole (swap-remove): both O(1), nothing copied.
 *
 * The scan cursor (HSCAN, SSCAN) counts positions from the top down. Cursor 0 starts at the size; a
 * page visits the `count` positions below its cursor and answers the lowest one it visited as the
 * next cursor (0 once it reached position 0). A member only ever moves down (from the last position
 * into a hole), and new members go on top. So a member present for the whole scan is either visited
 * before it moves, or moves from a position not yet visited to a lower one, also not yet visited:
 * every one is returned at least once, as Redis guarantees. A member added during the scan may be
 * missed, and one moved from above the cursor to below it is returned twice; Redis allows both.
 * The positions survive a spill and restore: the encoding keeps the array's order.
 */

/**
 * A collection of at most this many members is answered whole in one page (cursor 0), as Redis
 * answers its small listpack and intset encodings whatever the COUNT.
 */
export const WHOLE_SCAN_MAX = 128;

/**
 * The positions one scan page visits, [from, to), and the cursor to answer. `cursor` is the client's
 * (0: a new scan; past the size, since members were removed: the top).
 */
export function scanPage(size: number, cursor: number, count: number): { from: number; to: number; next: number } {
  if (size <= WHOLE_SCAN_MAX) return { from: 0, to: size, next: 0 };
  const to = cursor === 0 || cursor > size ? size : cursor;
  const from = to > count ? to - count : 0;
  return { from, to, next: from };
}

/** a random position below size (size > 0) */
export function randomPosition(size: number): number {
  return Math.floor(Math.random() * size);
}

/**
 * `count` distinct random positions below size (0 < count < size), in O(count): a partial
 * Fisher-Yates shuffle of the positions when count is a large part of size, else random draws
 * until enough distinct ones came (expected draws under 1.5 × count).
 */
export function distinctPositions(size: number, count: number): number[] {
  if (count * 3 > size) {
    const all = new Array<number>(size);
    for (let i = 0; i < size; i++) all[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      const t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    all.length = count;
    return all;
  }
  const seen = new Set<number>();
  while (seen.size < count) seen.add(randomPosition(size));
  return [...seen];
}
