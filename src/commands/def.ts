/** A command table row as written (src/commands/table.ts and the rows-*.ts of each data type). */
/**
 * How the acceptor routes a command: see src/commands/table.ts. same: every key (the row's key spec,
 * or commandKeys() for a command with a numkeys argument) must be on one shard, where it runs.
 */
export type Route = 'key' | 'keys' | 'pairs' | 'move' | 'all' | 'scan' | 'local' | 'pubsub' | 'replication' | 'script' | 'same';

export type Def = [
  name: string,
  arity: number,
  flags: string,
  keys: [number, number, number],
  acl: string,
  group: string,
  since: string,
  route: Route,
  summary: string,
];

export const NO_KEYS: [number, number, number] = [0, 0, 0];
export const ONE_KEY: [number, number, number] = [1, 1, 1];
export const ALL_KEYS: [number, number, number] = [1, -1, 1];
export const PAIRS: [number, number, number] = [1, -1, 2];
export const TWO_KEYS: [number, number, number] = [1, 2, 1];

/**
 * Commands whose keys follow a count argument (`numkeys key ...`): where the count stands, and
 * whether a destination key comes first. Their rows declare no key spec (Redis marks them
 * movablekeys); commandKeys() finds the keys.
 */
const NUMKEYS: ReadonlyMap<string, { at: number; dest: boolean; after?: number }> = new Map([
  ['zunionstore', { at: 2, dest: true }],
  ['zinterstore', { at: 2, dest: true }],
  ['zdiffstore', { at: 2, dest: true }],
  ['zunion', { at: 1, dest: false }],
  ['zinter', { at: 1, dest: false }],
  ['zdiff', { at: 1, dest: false }],
  ['zintercard', { at: 1, dest: false }],
  ['sintercard', { at: 1, dest: false }],
  // LEFT|RIGHT (MIN|MAX) must follow the keys: a count that leaves no room for it is Redis' syntax error
  ['lmpop', { at: 1, dest: false, after: 1 }],
  ['zmpop', { at: 1, dest: false, after: 1 }],
  ['blmpop', { at: 2, dest: false, after: 1 }],
  ['bzmpop', { at: 2, dest: false, after: 1 }],
]);

/**
 * The key indexes of a numkeys command (keys after a count argument): undefined for any other
 * command; [] when the count is not a positive integer within the arguments (the shard answers
 * Redis' error for it).
 */
export function numkeyIndexes(name: string, args: readonly Uint8Array[]): number[] | undefined {
  if (name === 'xread' || name === 'xreadgroup') return streamKeyIndexes(name, args);
  const nk = NUMKEYS.get(name);
  if (nk === undefined) return undefined;
  if (nk.at >= args.length) return [];
  const text = Buffer.from(args[nk.at]).toString('latin1');
  if (!/^[1-9][0-9]{0,8}$/.test(text)) return [];
  const n = Number(text);
  if (nk.at + n + (nk.after ?? 0) >= args.length) return [];
  const out: number[] = nk.dest ? [1] : [];
  for (let i = 1; i <= n; i++) out.push(nk.at + i);
  return out;
}

/**
 * XREAD / XREADGROUP's keys, as Redis' key spec finds them: the first half of the arguments after
 * the first STREAMS (searched from argv[1], or argv[4] past XREADGROUP's GROUP g c); [] when there
 * is no STREAMS or the rest is odd (the shard answers Redis' error for it).
 */
function streamKeyIndexes(name: string, args: readonly Uint8Array[]): number[] {
  for (let i = name === 'xread' ? 1 : 4; i < args.length; i++) {
    const a = args[i];
    if (a.length !== 7 || Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('latin1').toLowerCase() !== 'streams') continue;
    const rest = args.length - i - 1;
    if (rest === 0 || rest % 2 !== 0) return [];
    const out: number[] = [];
    for (let k = i + 1; k <= i + rest / 2; k++) out.push(k);
    return out;
  }
  return [];
}

/** XREAD and XREADGROUP block only with a BLOCK option before STREAMS; every other blocking command always may */
export function mayBlock(name: string, args: readonly Uint8Array[]): boolean {
  if (name !== 'xread' && name !== 'xreadgroup') return true;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    const word = a.length === 5 || a.length === 7 ? Buffer.from(a.buffer, a.byteOffset, a.length).toString('latin1').toLowerCase() : '';
    if (word === 'block') return true;
    if (word === 'streams') return false;
  }
  return false;
}
