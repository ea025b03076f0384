/** A command table row as written (src/commands/table.ts and the rows-*.ts of each data type). */
/** how the acceptor routes a command: see src/commands/table.ts */
export type Route = 'key' | 'keys' | 'pairs' | 'move' | 'all' | 'scan' | 'local' | 'pubsub' | 'replication' | 'script';

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
