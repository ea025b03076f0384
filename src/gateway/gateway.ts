/**
 * The gateway: uWebSockets.js on --http-port, on its own thread, with its own ring set to every
 * shard. WebSocket clients speak the native protocol (binary messages carry the frame byte stream,
 * see docs/protocol.md) through one NativeRouter per socket; operators get /health, /ready,
 * /metrics (Prometheus), /stats.json and the dashboard at /.
 *
 * uWS rules kept here: a message's ArrayBuffer is copied before it leaves the callback; every send's
 * result is checked (dropped → the socket is closing; backpressure → stop taking its requests until
 * `drain`); a socket is never touched after its close handler ran (`state.closed`); an HTTP response
 * answered after an await checks `onAborted` first and writes inside `cork`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket, type WebSocket } from 'uWebSockets.js';
import type { SubscriptionHub } from '../events/hub.js';
import type { ChannelBus } from '../pubsub/bus.js';
import { MessageKind } from '../hop/kinds.js';
import type { ServerInfo } from '../native/session.js';
import { packageRoot } from '../paths.js';
import { passwordMatches } from '../front/auth.js';
import { NativeRouter } from '../native/router.js';
import { DASHBOARD_HTML } from './dashboard.js';
import type { FrontLink } from '../front/link.js';
import { dashboardJson, renderPrometheus, type FrontStats, type Snapshot } from './metrics.js';

export interface GatewayOptions {
  backend: FrontLink;
  hub: SubscriptionHub;
  /** channel pub/sub of the WebSocket clients, joined to the acceptor's */
  bus?: ChannelBus;
  /** what HELLO answers (its password guards WebSocket clients) */
  info: ServerInfo;
  bind: string;
  port: number;
  /** guards /metrics, /stats.json and the dashboard (Bearer token or HTTP basic auth password) */
  password: string | null;
  /** reply bytes one socket may hold (reserved for requests in flight, or unsent) before its requests wait (--output-limit) */
  outputLimit: number;
  /** the same for all sockets together (--output-limit-total) */
  outputLimitTotal: number;
  /** bytes each request in flight reserves: the reply of one value in memory (replyReserve in src/config.ts) */
  reserve: number;
  maxConnections: number;
  version: string;
  startedAt: number;
  /** the acceptor's counters (asked of the main thread); null when it cannot answer */
  acceptorStats: () => Promise<FrontStats | null>;
  log: (line: string) => void;
  /** PEM files: serve HTTPS and wss:// instead of plain HTTP and ws:// */
  tls?: { cert: string; key: string } | null;
}

export interface RunningGateway {
  readonly port: number;
  stats(): FrontStats;
  close(): Promise<void>;
}

/** Requests of one socket past which its further messages wait (in order) for replies. */
const MAX_IN_FLIGHT = 8192;
/** Bytes of waiting messages a socket may have before it is closed (1008): uWS cannot pause a WebSocket's input. */
const MAX_HELD = 64 * 1024 * 1024;
/** How often waiting sockets are looked at while --output-limit-total holds them all. */
const TOTAL_RECHECK_MS = 50;

interface SocketState {
  id: number;
  router: NativeRouter | null;
  closed: boolean;
  /** reply bytes gathered in this tick, sent as one message */
  out: Uint8Array[];
  outBytes: number;
  queued: boolean;
  /** the router's requests wait for admission: new messages wait in `held` */
  paused: boolean;
  held: Uint8Array[];
  heldBytes: number;
  /** reply bytes reserved for requests in flight and unsent, at the last count */
  charged: number;
}

type Entry = { ws: WebSocket<SocketState>; state: SocketState };

const BUNDLE_NAME = 'cairn-client.js';

/** Bearer <password>, or basic auth with any user name and the password. */
export function authorized(header: string, password: string | null): boolean {
  if (!password) return true;
  if (header.startsWith('Bearer ') || header.startsWith('bearer ')) return passwordMatches(header.slice(7).trim(), password);
  if (header.startsWith('Basic ') || header.startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && passwordMatches(decoded.slice(colon + 1), password);
  }
  return false;
}

export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const sockets = new Map<number, { ws: WebSocket<SocketState>; state: SocketState }>();
  let nextId = 1;
  let totalConnections = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  let messagesIn = 0;
  let messagesOut = 0;
  let dropped = 0;
  let closing = false;
  let listenSocket: us_listen_socket | null = null;
  const dirty: { ws: WebSocket<SocketState>; state: SocketState }[] = [];
  let flushScheduled = false;

  let bundle: Buffer | null = null;
  try {
    bundle = readFileSync(join(packageRoot, 'dist', 'browser', BUNDLE_NAME));
  } catch {
    o.log(`cairn: gateway: dist/browser/${BUNDLE_NAME} is missing (npm run build makes it); /${BUNDLE_NAME} answers 404`);
  }

  const flush = (): void => {
    flushScheduled = false;
    for (const entry of dirty.splice(0)) {
      const { ws, state } = entry;
      state.queued = false;
      if (state.closed || state.out.length === 0) continue;
      const data = state.out.length === 1 ? state.out[0] : Buffer.concat(state.out, state.outBytes);
      state.out = [];
      state.outBytes = 0;
      let result = 0;
      ws.cork(() => {
        result = ws.send(data, true);
      });
      messagesOut++;
      bytesOut += data.length;
      if (result === 2) {
        // over maxBackpressure: uWS dropped it and closes the socket (closeOnBackpressureLimit)
        dropped++;
      }
      // a socket that waited on its unsent bytes may go on now that they went (no `drain` follows a send that fit)
      released(entry);
    }
  };

  // Memory per socket, as on the acceptor (src/server/server.ts): each request in flight reserves
  // `reserve` bytes until its reply is written; unsent bytes count as they are.
  const reserve = o.reserve;
  let charged = 0;
  let overTotal: NodeJS.Timeout | null = null;

  const account = (entry: Entry): number => {
    const { ws, state } = entry;
    const now = state.closed ? 0 : state.router!.inFlight * reserve + ws.getBufferedAmount() + state.outBytes;
    charged += now - state.charged;
    state.charged = now;
    return now;
  };

  const recount = (): void => {
    for (const entry of sockets.values()) account(entry);
  };

  const admit = (entry: Entry): boolean => {
    const state = entry.state;
    if (state.closed || closing) return false;
    const own = account(entry);
    if (own + reserve > o.outputLimit || state.router!.inFlight >= MAX_IN_FLIGHT) return wait(state);
    if (charged + reserve > o.outputLimitTotal) {
      if (!overTotal) recount();
      if (overTotal || charged + reserve > o.outputLimitTotal) {
        overTotal ??= setInterval(resumeAll, TOTAL_RECHECK_MS);
        return wait(state);
      }
    }
    state.charged += reserve;
    charged += reserve;
    return true;
  };

  const wait = (state: SocketState): false => {
    state.paused = true;
    return false;
  };

  /** Unasked bytes: a socket whose unsent bytes already pass --output-limit is closed instead. */
  const push = (entry: Entry, bytes: Uint8Array): void => {
    if (entry.state.closed) return;
    if (entry.ws.getBufferedAmount() + entry.state.outBytes > o.outputLimit) {
      dropped++;
      entry.ws.end(1008, 'unread messages exceed the output limit');
      return;
    }
    write(entry, bytes);
  };

  const write = (entry: Entry, bytes: Uint8Array): void => {
    const state = entry.state;
    if (state.closed) return;
    state.out.push(bytes);
    state.outBytes += bytes.length;
    if (!state.queued) {
      state.queued = true;
      dirty.push(entry);
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flush);
      }
    }
  };

  /** Give the router a message (or, with none, let it go on with what it holds); false if it failed. */
  const feed = (entry: Entry, chunk: Uint8Array | null): boolean => {
    const { ws, state } = entry;
    try {
      if (chunk === null) state.router!.resume();
      else {
        bytesIn += chunk.length;
        state.router!.onData(chunk);
      }
    } catch (err) {
      o.log(`cairn: gateway connection ${state.id} dropped after an internal error: ${(err as Error).stack}`);
      if (!state.closed) ws.close();
      return false;
    }
    return true;
  };

  /** A waiting socket whose held bytes fell under its limit goes on: first what its router holds, then its held messages. */
  const maybeResume = (entry: Entry): void => {
    const state = entry.state;
    if (!state.paused || state.closed || closing) return;
    if (account(entry) + reserve > o.outputLimit || overTotal) return;
    state.paused = false;
    if (!feed(entry, null)) return;
    while (state.held.length > 0 && !state.paused && !state.closed) {
      const chunk = state.held.shift()!;
      state.heldBytes -= chunk.length;
      if (!feed(entry, chunk)) return;
    }
  };

  function resumeAll(): void {
    recount();
    if (charged + reserve > o.outputLimitTotal && !closing) return;
    if (overTotal) clearInterval(overTotal);
    overTotal = null;
    for (const entry of [...sockets.values()]) if (entry.state.paused) maybeResume(entry);
  }

  /** A socket's held bytes may have fallen: let it, or every socket when the total was the bound, go on. */
  const released = (entry: Entry): void => {
    account(entry);
    if (overTotal) {
      if (charged + reserve <= o.outputLimitTotal) resumeAll();
    } else if (entry.state.paused) maybeResume(entry);
  };

  o.backend.onReply((kind, conn, seq, payload) => {
    if (kind === MessageKind.EVENT) {
      o.hub.dispatch(seq, payload);
      o.bus?.keyEvent(seq, payload);
      return;
    }
    const entry = sockets.get(conn);
    if (!entry) return;
    entry.state.router!.onReply(kind, seq, payload);
    released(entry);
  });

  const stats = (): FrontStats => ({
    front: 'gateway',
    connections: { websocket: sockets.size },
    connectionsTotal: { websocket: totalConnections },
    bytesIn,
    bytesOut,
    hub: o.hub.stats(),
    messagesIn,
    messagesOut,
    dropped,
  });

  const snapshot = async (): Promise<Snapshot> => {
    const [shards, acceptor] = await Promise.all([o.backend.metrics(2000), o.acceptorStats().catch(() => null)]);
    return {
      time: Date.now(),
      startedAt: o.startedAt,
      version: o.version,
      shards,
      fronts: acceptor ? [acceptor, stats()] : [stats()],
    };
  };

  /** Answer after an await: skip when the client went away, write corked. */
  /**
   * The body of a GET, or for a HEAD the same headers and Content-Length with no body: a body after
   * a HEAD's headers would be read by the client as the start of the next response.
   */
  const finish = (res: HttpResponse, head: boolean, body: string | Buffer): void => {
    // endWithoutBody(length) leaves the request unanswered in the uWS build we ship (the process
    // aborts); the header written by hand, then endWithoutBody(), is answered and keeps the length
    if (head) res.writeHeader('Content-Length', String(Buffer.byteLength(body))).endWithoutBody();
    else res.end(body);
  };
  /** one handler for GET and HEAD of a path */
  const getOrHead = (pattern: string, handler: (res: HttpResponse, req: HttpRequest, head: boolean) => void): void => {
    app.get(pattern, (res, req) => handler(res, req, false));
    app.head(pattern, (res, req) => handler(res, req, true));
  };

  const respondLater = (res: HttpResponse, head: boolean, work: () => Promise<{ status: string; type: string; body: string }>): void => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    work().then(
      (r) => {
        if (aborted) return;
        res.cork(() => {
          finish(res.writeStatus(r.status).writeHeader('Content-Type', r.type).writeHeader('Cache-Control', 'no-store'), head, r.body);
        });
      },
      (err: unknown) => {
        if (aborted) return;
        res.cork(() => {
          finish(res.writeStatus('503 Service Unavailable').writeHeader('Content-Type', 'text/plain'), head, `unavailable: ${(err as Error).message}\n`);
        });
      },
    );
  };

  /** Guarded routes: false (and a 401 written) when the request lacks the password. */
  const guard = (res: HttpResponse, req: HttpRequest, head: boolean): boolean => {
    if (authorized(req.getHeader('authorization'), o.password)) return true;
    const denied = res
      .writeStatus('401 Unauthorized')
      .writeHeader('WWW-Authenticate', 'Basic realm="cairn", charset="UTF-8"')
      .writeHeader('Content-Type', 'text/plain');
    finish(denied, head, 'this server has a password: send Authorization: Bearer <password> (or basic auth)\n');
    return false;
  };

  const maxFrame = o.info.limits?.maxFrame ?? 8 * 1024 * 1024;
  const app: TemplatedApp = o.tls ? uWS.SSLApp({ cert_file_name: o.tls.cert, key_file_name: o.tls.key }) : uWS.App();
  app.ws<SocketState>('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: maxFrame + 64 * 1024,
    // requests wait at --output-limit (admit), so only a reply larger than the rest can pass it:
    // room for one whole frame more, and unasked messages are refused at the limit itself (push)
    maxBackpressure: o.outputLimit + maxFrame,
    closeOnBackpressureLimit: 1,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      if (closing || sockets.size >= o.maxConnections) {
        res.writeStatus('503 Service Unavailable').end('too many connections\n');
        return;
      }
      let id = nextId;
      while (sockets.has(id)) id = (id + 1) >>> 0 || 1;
      nextId = (id + 1) >>> 0 || 1;
      const state: SocketState = { id, router: null, closed: false, out: [], outBytes: 0, queued: false, paused: false, held: [], heldBytes: 0, charged: 0 };
      res.upgrade(state, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      const state = ws.getUserData();
      const entry = { ws, state };
      state.router = new NativeRouter(
        state.id,
        o.backend,
        o.info,
        {
          write: (bytes) => write(entry, bytes),
          push: (bytes) => push(entry, bytes),
          end: () => {
            // the peer broke framing: send what is queued, then close
            flush();
            if (!state.closed) ws.end(1002, 'protocol error');
          },
        },
        o.hub,
        o.bus ?? null,
      );
      state.router.admit = () => admit(entry);
      sockets.set(state.id, entry);
      totalConnections++;
    },
    message: (ws, message, isBinary) => {
      const state = ws.getUserData();
      if (state.closed) return;
      messagesIn++;
      if (!isBinary) {
        ws.end(1003, 'cairn speaks binary frames only');
        return;
      }
      // the ArrayBuffer is only valid during this callback; the router may keep a partial frame
      const chunk = new Uint8Array(message.slice(0));
      const entry = sockets.get(state.id)!;
      if (state.paused) {
        state.held.push(chunk);
        state.heldBytes += chunk.length;
        if (state.heldBytes > MAX_HELD) ws.end(1008, 'too many requests waiting: read the replies');
        return;
      }
      feed(entry, chunk);
    },
    drain: (ws) => {
      const state = ws.getUserData();
      const entry = sockets.get(state.id);
      if (entry) released(entry);
    },
    close: (ws) => {
      const state = ws.getUserData();
      state.closed = true;
      state.out = [];
      state.held = [];
      state.router?.close();
      sockets.delete(state.id);
      charged -= state.charged;
      state.charged = 0;
      if (overTotal) resumeAll();
    },
  });

  getOrHead('/health', (res, _req, head) => {
    finish(res.writeHeader('Content-Type', 'text/plain'), head, 'ok\n');
  });
  getOrHead('/ready', (res, _req, head) => {
    respondLater(res, head, async () => {
      const shards = await o.backend.metrics(1000);
      const down = shards.filter((s) => !s.open).map((s) => s.shard);
      const body = JSON.stringify({ ready: down.length === 0, shards: shards.length, down });
      return { status: down.length === 0 ? '200 OK' : '503 Service Unavailable', type: 'application/json', body: body + '\n' };
    });
  });
  getOrHead('/metrics', (res, req, head) => {
    if (!guard(res, req, head)) return;
    respondLater(res, head, async () => ({
      status: '200 OK',
      type: 'text/plain; version=0.0.4; charset=utf-8',
      body: renderPrometheus(await snapshot()),
    }));
  });
  getOrHead('/stats.json', (res, req, head) => {
    if (!guard(res, req, head)) return;
    respondLater(res, head, async () => ({ status: '200 OK', type: 'application/json', body: JSON.stringify(dashboardJson(await snapshot())) }));
  });
  getOrHead(`/${BUNDLE_NAME}`, (res, _req, head) => {
    if (!bundle) {
      finish(res.writeStatus('404 Not Found'), head, 'the browser bundle was not built: run npm run build\n');
      return;
    }
    finish(res.writeHeader('Content-Type', 'text/javascript; charset=utf-8').writeHeader('Cache-Control', 'no-cache'), head, bundle);
  });
  getOrHead('/', (res, req, head) => {
    if (!guard(res, req, head)) return;
    finish(res.writeHeader('Content-Type', 'text/html; charset=utf-8').writeHeader('Cache-Control', 'no-store'), head, DASHBOARD_HTML);
  });
  app.any('/*', (res, req) => {
    const head = req.getMethod() === 'head';
    finish(res.writeStatus('404 Not Found').writeHeader('Content-Type', 'text/plain'), head, 'not found: try /, /health, /ready, /metrics, /ws\n');
  });

  const port = await new Promise<number>((resolve, reject) => {
    app.listen(o.bind, o.port, (token) => {
      if (!token) {
        reject(new Error(`the gateway cannot listen on ${o.bind}:${o.port}`));
        return;
      }
      listenSocket = token;
      resolve(uWS.us_socket_local_port(token as unknown as uWS.us_socket));
    });
  });

  return {
    port,
    stats,
    async close() {
      if (closing) return;
      closing = true;
      if (overTotal) clearInterval(overTotal);
      overTotal = null;
      if (listenSocket) uWS.us_listen_socket_close(listenSocket);
      listenSocket = null;
      flush();
      // let in-flight requests finish briefly, then close every socket so the thread can exit
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && [...sockets.values()].some((s) => s.state.router!.inFlight > 0)) {
        await new Promise((r) => setTimeout(r, 10));
      }
      flush();
      for (const { ws, state } of [...sockets.values()]) if (!state.closed) ws.end(1001, 'server shutting down');
    },
  };
}
