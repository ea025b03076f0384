import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Worker } from 'node:worker_threads';
import { claimDataDir, recordShards } from '../datadir.js';
import { rehashDataDir } from '../store/rehash.js';
import { replyReserve, type ServerConfig } from '../config.js';
import { SubscriptionHub } from '../events/hub.js';
import { nativeEventFrames } from '../native/event-frames.js';
import { ChannelBus, parseNotifyFlags } from '../pubsub/bus.js';
import type { FromGateway, GatewayWorkerData, ToGateway } from '../gateway/messages.js';
import type { FrontStats } from '../gateway/metrics.js';
import type { LinkMemory } from '../hop/link.js';
import { MessageKind } from '../hop/kinds.js';
import type { ServerInfo } from '../native/session.js';
import { workerFile } from '../paths.js';
import { startBackend, type ShardBackend } from '../front/backend.js';
import { EventDemand } from '../front/event-demand.js';
import { NativeRouter, routerTransport, type RouterPipe } from '../native/router.js';
import { createExecutors } from '../../workers/executors.js';
import { perShardSettings, ringBytesFor } from '../shards/messages.js';
import { VERSION } from '../version.js';
import { CairnError, ErrorCode } from '../errors.js';
import type { Connection, ConnectionContext } from './connection.js';
import { NativeConnection } from './native-conn.js';
import { Replication } from '../replication/manager.js';
import { ReplSource } from '../replication/backlog.js';
import { join } from 'node:path';
import { memcacheProtocol, respProtocol, type ProtocolStats } from './protocols.js';
import { CommandStats } from '../front/cmdstats.js';
import { TextConnection } from './text-conn.js';
import { ClientGuard } from './guard.js';
import { ClientRegistry } from './clients.js';
import { debugHook, TEST_HOOKS_ENABLED } from './hooks.js';

const EMPTY = Buffer.alloc(0);

/** Requests one connection may have in flight, whatever their bytes (OrderedReplies' sequence space is far larger). */
const MAX_IN_FLIGHT = 8192;
/** How often waiting connections are looked at while --output-limit-total holds them all. */
const TOTAL_RECHECK_MS = 50;

export interface RunningServer {
  readonly config: ServerConfig;
  readonly backend: ShardBackend;
  /** the ports actually bound (useful with port 0), null where a protocol is off */
  readonly ports: { native: number | null; resp: number | null; memcache: number | null; http: number | null };
  connections(): number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** 'inline' runs every shard on this thread (for profilers that cannot see worker threads) */
  mode?: 'threads' | 'inline';
  log?: (line: string) => void;
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const release = claimDataDir(config.data, config.shards);
  const store = perShardSettings(
    {
      maxMemory: config.maxMemory,
      durability: config.durability,
      writebackDelayMs: config.writebackDelay,
      writebackMaxLagMs: config.writebackMaxLag,
      writebackMaxBytes: config.writebackMaxBytes,
      maxValueSize: config.maxValueSize,
      maxItemSize: config.maxItemSize,
      chunkMembers: config.chunkMembers,
      scriptTimeLimitMs: config.busyReplyThreshold,
      idleMs: config.idle,
      eviction: config.eviction,
      coldMaxItems: config.coldMaxItems,
      coldMaxBytes: config.coldMaxBytes,
    },
    config.shards,
  );
  let backend: ShardBackend;
  const mode = options.mode ?? (config.inline ? 'inline' : 'threads');
  try {
    // a directory written before hash tags has its tagged keys moved to their shards first
    await rehashDataDir({ dir: config.data, shards: config.shards, store, log });
    backend = await startBackend({
      shards: config.shards,
      dataDir: config.data,
      mode,
      executors: createExecutors,
      log,
      // the gateway thread gets a ring set of its own
      extraFronts: config.httpPort !== null && mode === 'threads' ? 1 : 0,
      ringBytes: ringBytesFor(config.maxItemSize),
      store,
    });
  } catch (err) {
    release();
    throw err;
  }
  try {
    // every shard's database exists now: a later start refuses the directory if one goes missing
    recordShards(config.data, config.shards);
  } catch (err) {
    await backend.close().catch(() => undefined);
    release();
    throw err;
  }
  const server = new Acceptor(config, backend, release, log);
  try {
    await server.listen();
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CairnError(ErrorCode.BAD_ARGUMENT, `cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}

type Protocol = 'native' | 'resp' | 'memcache';

class Acceptor implements RunningServer, ConnectionContext {
  commands = 0;
  readonly ports = { native: null as number | null, resp: null as number | null, memcache: null as number | null, http: null as number | null };
  readonly events: SubscriptionHub;
  /** channel pub/sub of this thread's connections, joined to the gateway's (src/pubsub/bus.ts) */
  readonly bus: ChannelBus;
  /** primary or read-only replica (src/replication/) */
  readonly replication: Replication;
  readonly readOnly: () => boolean;
  /** the primary side of replication: offset, backlog, attached replicas (src/replication/backlog.ts) */
  readonly replSource: ReplSource;
  /** replication status for the native STATS reply */
  readonly replicationStats = (): unknown => this.replication.metrics();
  /** in-process native routers (the replica's writes to its own shards), by connection id */
  private readonly internal = new Map<number, NativeRouter>();
  private nextInternal = 0xfff00000;
  private nativeInfo: ServerInfo | null = null;
  private readonly conns = new Map<number, Connection>();
  private readonly openConns = { native: 0, resp: 0, memcache: 0 };
  private readonly accepted = { native: 0, resp: 0, memcache: 0 };
  private gateway: Worker | null = null;
  private readonly servers: Server[] = [];
  private nextId = 1;
  private readonly corked = new Set<Connection>();
  /** connections whose socket is paused: they wait for `admit` (below) */
  private readonly paused = new Set<Connection>();
  /**
   * Memory per connection (docs/reliability.md): each request in flight reserves `reserve` bytes (the
   * largest reply a value in memory makes) until its reply leaves the ordered queue; unsent bytes
   * count as they are. `held` is the sum of every connection's `held`.
   */
  private readonly reserve: number;
  private held = 0;
  /** waiting connections told when their queued bytes have gone to the kernel */
  private readonly flushWatched = new Set<Connection>();
  /** some connection waits because of --output-limit-total */
  private overTotal: NodeJS.Timeout | null = null;
  private closed: Promise<void> | null = null;
  private readonly startedAt = Date.now();
  private totalConnections = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  /** --client-timeout / --idle-timeout */
  private readonly guard: ClientGuard;
  /** the RESP connections, for CLIENT LIST / INFO / KILL */
  private readonly clients = new ClientRegistry();

  constructor(
    readonly config: ServerConfig,
    readonly backend: ShardBackend,
    private readonly release: () => void,
    private readonly log: (line: string) => void,
  ) {
    // the shards send key events while the hub (key subscriptions), the bus (keyspace notifications)
    // or replication (the backlog, attached replicas) wants them
    const demand = new EventDemand((on) => backend.listenForEvents(on));
    this.events = new SubscriptionHub(demand.consumer(), nativeEventFrames);
    this.bus = new ChannelBus(demand.consumer(), parseNotifyFlags(config.notifyKeyspaceEvents ?? '') ?? 0);
    this.replSource = new ReplSource(config.replBacklog ?? 0, demand.consumer());
    if ((config.replBacklog ?? 0) > config.outputLimit / 2) {
      log(
        `cairn: warning: --repl-backlog ${config.replBacklog} is more than half of --output-limit ${config.outputLimit}; a partial resync of a full backlog may exceed the output limit`,
      );
    }
    this.guard = new ClientGuard(config.clientTimeout, config.idleTimeout, (c) => this.paused.has(c) || c.blocked === true, log);
    this.reserve = replyReserve(config);
    backend.onReply((kind, conn, seq, payload) => {
      if (kind === MessageKind.EVENT) {
        this.replSource.record(seq, payload);
        this.events.dispatch(seq, payload);
        this.bus.keyEvent(seq, payload);
        return;
      }
      const c = this.conns.get(conn);
      if (c) {
        // a dropped connection's replies are let go as they come
        if (c.socket.destroyed) return;
        c.onReply(kind, seq, payload);
        this.released(c);
      } else this.internal.get(conn)?.onReply(kind, seq, payload);
    });
    this.replication = new Replication({
      password: config.primaryPassword ?? config.password,
      local: () => this.localTransport(),
      log,
      source: this.replSource,
      stateFile: join(config.data, 'replication.json'),
      // with --durability sync every applied write is on disk, so an offset saved while running is good after a crash
      trustRunningState: config.durability === 'sync',
      listeningPort: () => this.ports.native ?? 0,
    });
    this.readOnly = this.replication.readOnly;
  }

  /** The acceptor's counters, for the gateway's /metrics. */
  frontStats(): FrontStats {
    return {
      front: 'acceptor',
      connections: { ...this.openConns },
      connectionsTotal: { ...this.accepted },
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      hub: this.events.stats(),
      replication: this.replication.metrics(),
    };
  }

  connections(): number {
    return this.conns.size;
  }

  private stats(port: number | null): ProtocolStats {
    return {
      version: VERSION,
      startedAt: this.startedAt,
      port: port ?? undefined,
      eviction: this.config.eviction,
      scriptTimeLimitMs: this.config.busyReplyThreshold,
      itemSizeMax: this.config.maxItemSize,
      connectedClients: () => this.conns.size,
      totalConnections: () => this.totalConnections,
      totalCommands: () => this.commands,
      netInput: () => this.bytesIn,
      netOutput: () => this.bytesOut,
    };
  }

  async listen(): Promise<void> {
    const c = this.config;
    const nativeInfo: ServerInfo = {
      serverVersion: VERSION,
      shards: this.backend.shards,
      password: c.password,
      limits: { maxValue: c.maxValueSize, maxFrame: Math.max(8 * 1024 * 1024, c.maxValueSize + 64 * 1024) },
    };
    this.nativeInfo = nativeInfo;
    if (c.port !== null) {
      this.ports.native = await this.open(c.port, 'native', (id, socket) => new NativeConnection(id, socket, this, nativeInfo));
    }
    if (c.respPort !== null) {
      const hook = TEST_HOOKS_ENABLED() ? debugHook(this.backend, this.log, () => this.replSource.cutAll()) : undefined;
      const info = { ...this.stats(c.respPort), commandStats: new CommandStats(), clients: this.clients };
      const proto = respProtocol(c, this.backend.shards, info, hook, this.bus, this.readOnly, this.replication);
      this.ports.resp = await this.open(c.respPort, 'resp', (id, socket) => {
        const conn = new TextConnection(id, socket, this, proto);
        this.clients.add(conn);
        return conn;
      });
    }
    if (c.memcachePort !== null) {
      const proto = memcacheProtocol(c, this.backend.shards, this.stats(c.memcachePort), this.readOnly);
      this.ports.memcache = await this.open(c.memcachePort, 'memcache', (id, socket) => new TextConnection(id, socket, this, proto));
    }
    if (c.httpPort !== null) {
      const link = this.backend.frontLink(1);
      if (link) this.ports.http = await this.startGateway(c.httpPort, link, nativeInfo);
      else this.log('cairn: the HTTP/WebSocket gateway needs shard threads; it is off in inline mode');
    }
    if (c.bind !== '127.0.0.1' && c.bind !== 'localhost' && c.bind !== '::1' && !c.password) {
      this.log(`cairn: warning: listening on ${c.bind} without a password; anyone who can reach it can read and write`);
    }
    if (c.replicaOf) {
      const colon = c.replicaOf.lastIndexOf(':');
      await this.replication.follow({ host: c.replicaOf.slice(0, colon), port: Number(c.replicaOf.slice(colon + 1)) }, true);
    }
    this.log(
      `cairn ${VERSION} ready: native ${this.ports.native ?? 'off'}, resp ${this.ports.resp ?? 'off'}, ` +
        `memcache ${this.ports.memcache ?? 'off'}, http ${this.ports.http ?? 'off'} on ${c.bind}; ${this.backend.shards} shards, data ${c.data}, ` +
        `durability ${c.durability}`,
    );
  }

  /** Start the gateway thread on its own ring set; resolves with the bound port. */
  private startGateway(port: number, link: LinkMemory, info: ServerInfo): Promise<number> {
    const c = this.config;
    const data: GatewayWorkerData = {
      link,
      info,
      bind: c.bind,
      port,
      password: c.password,
      outputLimit: c.outputLimit,
      outputLimitTotal: c.outputLimitTotal,
      reserve: this.reserve,
      maxConnections: c.maxConnections,
      version: VERSION,
      startedAt: this.startedAt,
      tls: c.tlsCert !== null && c.tlsKey !== null ? { cert: c.tlsCert, key: c.tlsKey } : null,
    };
    const worker = new Worker(workerFile('gateway'), { workerData: data, name: 'cairn-gateway' });
    this.gateway = worker;
    this.backend.onShardState?.((shard, up, why, epoch) => {
      if (this.gateway === worker) {
        worker.postMessage((up ? { type: 'shard-up', shard } : { type: 'shard-down', shard, why, epoch }) satisfies ToGateway);
      }
    });
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromGateway) => {
        if (msg.type === 'ready') {
          ready = true;
          this.bus.attachPeer((m) => worker.postMessage({ type: 'bus', msg: m } satisfies ToGateway));
          resolve(msg.port);
        } else if (msg.type === 'error') reject(new Error(msg.message));
        else if (msg.type === 'log') this.log(msg.line);
        else if (msg.type === 'bus') this.bus.fromPeer(msg.msg);
        else if (msg.type === 'acceptor-stats') {
          worker.postMessage({ type: 'acceptor-stats', id: msg.id, value: this.frontStats() } satisfies ToGateway);
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(err);
        else this.log(`cairn: gateway thread failed: ${err.stack ?? err.message}`);
      });
      worker.on('exit', (code) => {
        if (this.gateway === worker) this.gateway = null;
        this.bus.attachPeer(null);
        if (!ready) reject(new Error(`the gateway thread exited with code ${code} while starting`));
      });
    });
  }

  /** Close the gateway's sockets and let its thread end (uWS must close before the process exits). */
  private async stopGateway(): Promise<void> {
    const worker = this.gateway;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies ToGateway);
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** A native conversation with this server's own shards, inside the process (no password, no read-only rule). */
  private localTransport(): RouterPipe {
    const id = this.nextInternal;
    this.nextInternal = this.nextInternal >= 0xfffffff0 ? 0xfff00000 : this.nextInternal + 1;
    return routerTransport(
      (sink) => {
        const router = new NativeRouter(id, this.backend, { ...this.nativeInfo!, password: null }, sink);
        this.internal.set(id, router);
        return router;
      },
      'an internal conversation broke the protocol',
      (router, byClient) => {
        if (byClient) router.close();
        this.internal.delete(id);
      },
    );
  }

  private open(port: number, protocol: Protocol, make: (id: number, socket: Socket) => Connection): Promise<number> {
    const c = this.config;
    const tls = protocol === 'native' && c.tlsCert !== null && c.tlsKey !== null;
    const server = tls
      ? createTlsServer({ cert: readPem(c.tlsCert!, '--tls-cert'), key: readPem(c.tlsKey!, '--tls-key') }, (socket) => {
          socket.setNoDelay(true);
          this.accept(socket, protocol, make);
        })
      : createServer({ noDelay: true }, (socket) => this.accept(socket, protocol, make));
    if (tls) server.on('tlsClientError', () => undefined);
    server.maxConnections = this.config.maxConnections;
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.bind, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  private accept(socket: Socket, protocol: Protocol, make: (id: number, socket: Socket) => Connection): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    let id = this.nextId;
    while (this.conns.has(id)) id = (id + 1) >>> 0 || 1;
    this.nextId = (id + 1) >>> 0 || 1;
    const conn = make(id, socket);
    this.conns.set(id, conn);
    this.totalConnections++;
    this.openConns[protocol]++;
    this.accepted[protocol]++;
    this.guard.track(conn);
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      try {
        const before = conn.buffered ?? 0;
        conn.onData(chunk);
        this.guard.afterData(conn, before, chunk.length);
      } catch (err) {
        this.log(`cairn: connection ${id} dropped after an internal error: ${(err as Error).stack}`);
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('drain', () => this.released(conn));
    socket.on('close', () => {
      this.openConns[protocol]--;
      conn.onClose?.();
      this.guard.untrack(conn);
      this.conns.delete(id);
      if (protocol === 'resp') this.clients.delete(id);
      this.paused.delete(conn);
      this.corked.delete(conn);
      this.flushWatched.delete(conn);
      this.held -= conn.held;
      conn.held = 0;
      if (this.overTotal) this.resumeAll();
    });
  }

  write(conn: Connection, bytes: Uint8Array): void {
    const socket = conn.socket;
    if (socket.destroyed) return;
    if (!this.corked.has(conn)) {
      socket.cork();
      if (this.corked.size === 0) process.nextTick(this.uncorkAll);
      this.corked.add(conn);
    }
    this.bytesOut += bytes.length;
    socket.write(bytes);
  }

  dropIfBehind(conn: Connection): boolean {
    const socket = conn.socket;
    if (socket.destroyed) return true;
    if (socket.writableLength <= this.config.outputLimit) return false;
    this.log(`cairn: connection ${conn.id} dropped: ${socket.writableLength} unread bytes exceed --output-limit and more unasked messages came`);
    socket.destroy();
    return true;
  }

  private readonly uncorkAll = (): void => {
    for (const c of this.corked) {
      c.socket.uncork();
      this.account(c);
    }
    this.corked.clear();
  };

  /** Count the connection's held bytes again (and the total with it); returns them. */
  private account(conn: Connection): number {
    const now = conn.inFlight * this.reserve + conn.socket.writableLength;
    this.held += now - conn.held;
    conn.held = now;
    return now;
  }

  admit(conn: Connection): boolean {
    if (conn.socket.destroyed || this.closed) return false;
    const own = this.account(conn);
    if (own + this.reserve > this.config.outputLimit || conn.inFlight >= MAX_IN_FLIGHT) return this.wait(conn);
    if (this.held + this.reserve > this.config.outputLimitTotal) {
      if (this.overTotal) return this.wait(conn);
      // other connections' counts may be stale (the kernel took their bytes since): count exactly first
      this.recount();
      if (this.held + this.reserve > this.config.outputLimitTotal) {
        this.overTotal = setInterval(() => this.resumeAll(), TOTAL_RECHECK_MS);
        return this.wait(conn);
      }
    }
    // reserved now; the next count sees the request in flight instead
    conn.held += this.reserve;
    this.held += this.reserve;
    if (this.paused.has(conn)) {
      this.paused.delete(conn);
      conn.socket.resume();
    }
    return true;
  }

  private wait(conn: Connection): false {
    if (!this.paused.has(conn)) {
      this.paused.add(conn);
      conn.socket.pause();
    }
    this.watchFlush(conn);
    return false;
  }

  /**
   * A waiting connection hears when the bytes queued so far have gone to the kernel: 'drain' comes
   * only after a write the socket refused, this callback whenever they go.
   */
  private watchFlush(conn: Connection): void {
    const socket = conn.socket;
    if (socket.writableLength === 0 || socket.writableEnded || this.flushWatched.has(conn)) return;
    this.flushWatched.add(conn);
    socket.write(EMPTY, () => {
      this.flushWatched.delete(conn);
      if (!socket.destroyed) this.released(conn);
    });
  }

  /** The connection's held bytes may have fallen (a reply left the queue, the socket drained): let it go on. */
  private released(conn: Connection): void {
    const own = this.account(conn);
    if (this.overTotal) {
      if (this.held + this.reserve <= this.config.outputLimitTotal) this.resumeAll();
    } else if (this.paused.has(conn) && !this.closed) {
      if (own + this.reserve <= this.config.outputLimit) conn.resume();
      else this.watchFlush(conn);
    }
  }

  private recount(): void {
    let held = 0;
    for (const c of this.conns.values()) {
      c.held = c.inFlight * this.reserve + c.socket.writableLength;
      held += c.held;
    }
    this.held = held;
  }

  /** While --output-limit-total holds connections: once under it, every waiting connection goes on. */
  private resumeAll(): void {
    this.recount();
    if (this.held + this.reserve > this.config.outputLimitTotal && !this.closed) return;
    if (this.overTotal) clearInterval(this.overTotal);
    this.overTotal = null;
    if (this.closed) return;
    for (const c of [...this.paused]) if (this.paused.has(c)) c.resume();
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  /**
   * Stop accepting, let in-flight requests finish, close clients, flush and close the shards. Waiting
   * for requests, and retrying writes a full or failing disk refuses, ends --shutdown-timeout after
   * the close began; a flush the disk accepts is never cut short.
   */
  private async shutdown(): Promise<void> {
    const deadline = Date.now() + this.config.shutdownTimeout;
    this.guard.stop();
    if (this.overTotal) clearInterval(this.overTotal);
    this.overTotal = null;
    await this.replication.close();
    for (const s of this.servers) s.close();
    const gatewayStopped = this.stopGateway();
    for (const c of this.conns.values()) c.socket.pause();
    while (Date.now() < deadline && [...this.conns.values()].some((c) => c.inFlight > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.uncorkAll();
    for (const c of this.conns.values()) c.socket.end();
    await new Promise((r) => setTimeout(r, 20));
    for (const c of this.conns.values()) c.socket.destroy();
    await gatewayStopped;
    try {
      await this.backend.close(deadline);
    } finally {
      this.release();
    }
  }
}
