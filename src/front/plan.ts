/**
 * What the acceptor does with one framed command, for every text protocol (RESP and memcached).
 * The planner decides without touching data; the shard executes; the acceptor only routes and joins.
 */

import type { CommandSpec } from '../commands/table.js';
import type { CommandCounter, CommandStats } from './cmdstats.js';

/** Figures the acceptor knows and the shards do not, for INFO and memcached stats. All optional. */
export interface ServerInfo {
  /** cairn's version. */
  version?: string;
  /** when the server started, ms since the epoch. */
  startedAt?: number;
  /** the port this protocol listens on. */
  port?: number;
  /** the shards' eviction policy (--eviction), for CONFIG GET maxmemory-policy */
  eviction?: string;
  /** --busy-reply-threshold (ms), for CONFIG GET busy-reply-threshold and lua-time-limit */
  scriptTimeLimitMs?: number;
  /** the largest value kept in memory (--max-item-size): memcached's item_size_max */
  itemSizeMax?: number;
  connectedClients?: () => number;
  totalConnections?: () => number;
  totalCommands?: () => number;
  /** bytes read from and written to clients. */
  netInput?: () => number;
  netOutput?: () => number;
  /** INFO commandstats and errorstats (RESP); absent: not counted */
  commandStats?: CommandStats;
  /** the acceptor's RESP connections, for CLIENT LIST / INFO / KILL (src/server/clients.ts) */
  clients?: ClientDirectory;
}

/** What CLIENT LIST prints of a connection, beyond its ConnState. */
export interface ClientView {
  readonly state: ConnState;
  /** ip:port of the peer, and of this end */
  readonly addr: string;
  readonly laddr: string;
  /** the socket's file descriptor, -1 when Node does not say */
  readonly fd: number;
  /** ms since the epoch: connected, last read */
  readonly createdAt: number;
  readonly lastActive: number;
  /** bytes of an incomplete command held; reply bytes queued for the socket */
  readonly queryBuffer: number;
  readonly outputBytes: number;
}

/** The RESP connections of a front (CLIENT LIST / INFO / KILL). */
export interface ClientDirectory {
  /** every connection, in id order */
  list(): ClientView[];
  get(id: number): ClientView | undefined;
  /** stop reading the connection and close it once the replies it is owed are written */
  kill(id: number): void;
}

/** Per-connection state the planner reads and, for local commands (AUTH, CLIENT SETNAME, ...), updates. */
export interface ConnState {
  /** unique per connection (CLIENT ID). */
  id: number;
  /** CLIENT SETNAME. */
  name: string | null;
  /** false until AUTH succeeds when a password is set. */
  authenticated: boolean;
  /** the server's password (requirepass); null: no authentication. */
  password: string | null;
  /** number of shards, for routing and SCAN cursors. */
  shards: number;
  /** RESP protocol version in use; cairn speaks RESP2 only. */
  protocol: 2;
  server?: ServerInfo;
  /** the connection's pub/sub (RESP on a server with a channel bus); absent: pub/sub commands fail */
  pubsub?: PubSubHandle;
  /** set on a read-only replica: write commands are refused with -READONLY */
  readOnly?: () => boolean;
  /** ROLE, REPLICAOF and INFO replication (src/replication/) */
  replication?: ReplicationHandle;
  /** MULTI and WATCH (src/resp/multi.ts); absent until the connection's first MULTI or WATCH */
  tx?: TxState;
  /** EXEC is planning the queued commands (WAIT answers at once, as in Redis) */
  inExec?: boolean;
  /**
   * every shard is held while this command is planned (a held script's command, or EXEC of a
   * transaction with a script): a move between lists may run in steps across shards, a script runs held
   */
  held?: boolean;
  /** the last command planned, as CLIENT LIST's cmd= (`client|list`); null before the first or after an unknown one */
  lastCommand?: string | null;
  /** CLIENT SETINFO LIB-NAME / LIB-VER */
  libName?: string;
  libVer?: string;
  /** CLIENT NO-EVICT on (shown as the `e` flag; cairn does not evict clients) */
  noEvict?: boolean;
}

/** a RESP connection's transaction */
export interface TxState {
  /** the commands queued since MULTI; null: not in MULTI */
  queued: QueuedCommand[] | null;
  /** a command was refused while queueing: EXEC aborts */
  dirty: boolean;
  /** watched keys by their bytes (latin1) */
  watched: Map<string, WatchedKey>;
}

export interface QueuedCommand {
  spec: CommandSpec;
  /** args[0] in lower case */
  name: string;
  args: Buffer[];
  raw: Buffer;
}

export interface WatchedKey {
  key: Buffer;
  shard: number;
  /** the version its shard gave at WATCH (src/resp/multi-exec.ts); null: the key was absent */
  version: Buffer | null;
}

export interface ReplicationHandle {
  /** ROLE, REPLICAOF / SLAVEOF: the reply */
  run(name: string, args: Buffer[]): Buffer;
  /** the lines of INFO's replication section */
  infoLines(): string[];
  /**
   * WAIT: the replicas that acknowledged the primary's offset of now, at once when at least
   * `replicas` have, else when they have or `timeoutMs` passed (0: no limit); an error reply on a replica
   */
  waitAcks(replicas: number, timeoutMs: number): number | { promise: Promise<number>; cancel(): void } | Buffer;
}

/** What the planner needs of a connection's pub/sub (src/pubsub/resp.ts). */
export interface PubSubHandle {
  /** holds at least one channel or pattern: RESP2 subscribed mode */
  readonly subscribed: boolean;
  /** channels and patterns held (CLIENT LIST sub= psub=) */
  readonly channels: number;
  readonly patterns: number;
  /** run a pub/sub command (route 'pubsub'); its reply */
  run(name: string, args: Buffer[], conn: ConnState): Buffer;
  /** CONFIG GET notify-keyspace-events */
  notifyConfig(): string;
  /** the connection closed: drop its subscriptions */
  close(): void;
}

export function createConnState(id: number, shards: number, options: { password?: string | null; server?: ServerInfo } = {}): ConnState {
  const password = options.password ?? null;
  return { id, name: null, authenticated: password === null, password, shards, protocol: 2, server: options.server };
}

/** send raw to the shard that owns key (shard = shardOf(key, conn.shards), precomputed) and write its reply as is. */
export interface ShardPlan {
  kind: 'shard';
  key: Buffer;
  shard: number;
  raw: Buffer;
  /**
   * a command that may block (BLPOP, BLMOVE, ...): sent as MessageKind.BLOCKING, and the connection
   * routes nothing else until its reply, as Redis runs nothing of a blocked client; when the
   * connection closes first, its shard is told to cancel it
   */
  blocking?: boolean;
}

export interface SplitPart {
  /** the first key of the part; every key of a part lives on `shard`. */
  key: Buffer;
  shard: number;
  raw: Buffer;
  /** a chain's only part that may block (sent as a ShardPlan's blocking command is) */
  blocking?: boolean;
}

/** send each part to its shard (one part per shard), then write join(replies in part order). */
export interface SplitPlan {
  kind: 'split';
  parts: SplitPart[];
  join(replies: Buffer[]): Buffer;
}

/** send raw to every shard, then write join(replies indexed by shard). */
export interface AllPlan {
  kind: 'all';
  raw: Buffer;
  join(replies: Buffer[]): Buffer;
}

/** send raw to one given shard (SCAN), then write join(reply), or the reply itself when there is no join. */
export interface OnePlan {
  kind: 'one';
  shard: number;
  raw: Buffer;
  join?(reply: Buffer): Buffer;
  /**
   * A plan to run instead, given the shard's reply (a script that must run held: src/resp/scripting.ts),
   * or null to keep the reply. Asked only when no later command of the connection was routed yet, so
   * that running it later changes no order; otherwise the reply goes to join.
   */
  retry?(reply: Buffer): Plan | null;
}

/** write reply without any shard (errors, PING, AUTH, ...); close the connection after it when close is set. */
export interface LocalPlan {
  kind: 'local';
  reply: Buffer;
  close?: boolean;
}

/** a reply that comes later (WAIT); the connection routes nothing else meanwhile, as Redis blocks the client */
export interface LaterPlan {
  kind: 'later';
  reply: Promise<Buffer>;
  /** the connection closed before the reply came: let go of what the reply waits for */
  cancel(): void;
}

/**
 * Two steps (MSETNX across shards): send each part to its shard, then plan again from their replies.
 * Not atomic across shards: a concurrent writer can act between the steps.
 */
export interface ChainPlan {
  kind: 'chain';
  parts: SplitPart[];
  next(replies: Buffer[]): Plan;
}

/**
 * A transaction across shards (src/resp/multi.ts): hold the shards one after another in ascending
 * order (`shards`), sending each its `holds[i]` (HOLD) and waiting for the reply before the next;
 * when every hold is granted, send each shard its `parts[i]` (RELEASE: run, then let go) and write
 * join(their replies in `shards` order). A refused hold (refusal gives the transaction's reply), a
 * hold that took too long (`expired`), or the connection closing releases every shard asked so far
 * with `release` (a RELEASE that runs nothing). The connection routes nothing else meanwhile.
 */
export interface HeldPlan {
  kind: 'held';
  shards: number[];
  holds: Buffer[];
  parts: Buffer[];
  release: Buffer;
  /** null: the hold is granted; otherwise the transaction's reply */
  refusal(reply: Buffer): Buffer | null;
  expired: Buffer;
  join(replies: Buffer[]): Buffer;
  /**
   * Instead of parts (a script across shards, src/resp/scripting.ts): once every hold is granted, the
   * reply of drive, which sends plans to the held shards as the holder's (`send`, each answered by its
   * joined reply); every shard is let go when it ends, and not before, even if the connection closes.
   * `heldSince`: performance.now() when the first HOLD was sent (the shards' hold bound counts from then).
   */
  drive?(send: (plan: Plan) => Promise<Buffer>, heldSince: number): Promise<Buffer>;
}

/**
 * What every plan may carry for INFO commandstats: the command's counter, given the reply when it
 * leaves, and whether the command was refused before it ran (rejected_calls, not calls).
 */
export interface PlanStat {
  stat?: CommandCounter;
  rejected?: boolean;
}

export type Plan = (ShardPlan | SplitPlan | AllPlan | OnePlan | LocalPlan | LaterPlan | ChainPlan | HeldPlan) & PlanStat;
