/**
 * The cairn SDK core: a native-protocol client over an injected transport. No platform imports here,
 * so the same code can run over WebSocket in a browser.
 *
 * Every command made in one tick is appended to one batch and goes out in one write
 * (auto-pipelining). Replies are matched by request id, so multi-key commands split across shards
 * come back in any order and are joined in the caller's order.
 *
 * It passes 600 lines because it is the SDK's one public class: a documented method per command of
 * the protocol (options checked, the reply typed), above the batching and reply matching they share.
 * The data-type methods (hashes, lists, sets, sorted sets) are inherited from data-types.ts.
 */
import { CairnError, ErrorCode } from '../errors.js';
import { shardOf, wholeKeyShardOf } from '../hash.js';
import { createUnpackr, utf8Encode } from '../msgpack.js';
import { encodeArgs, encodeRequest, type FrameError, ReplyReader, REPLY_HEADER_SIZE, RequestWriter, Status } from '../native/frame.js';
import { DEFAULT_LIMITS, Opcode, PROTOCOL_VERSION, type Limits } from '../native/opcodes.js';
import { ALL_KEY_EVENTS, KEY_EVENT_NAMES, KeyEvent, keyEventMask, PUSH_KEYEVENT, PUSH_MESSAGE, PUSH_PMESSAGE, type KeyEventName } from '../events/codes.js';
import { binaryString, SubscriptionIndex } from '../events/index.js';
import {
  Subscription,
  type ChannelMessage,
  type ChannelMessageCallback,
  type ChannelSubscribeOptions,
  type KeyEventCallback,
  type KeyEventMessage,
  type SubscribeOptions,
} from './subscription.js';
import type { Transport, TransportFactory } from './transport.js';
import { TypedCollection } from './typed.js';
import { DataTypeCommands } from './data-types.js';

export type Key = string | Uint8Array;
export type Value = string | Uint8Array;

export interface ReconnectOptions {
  /** first retry delay in ms (default 50); each further attempt doubles it, with jitter. */
  initialDelayMs?: number;
  /** the longest delay between attempts in ms (default 2000). */
  maxDelayMs?: number;
  /** give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
}

export interface ClientOptions {
  host?: string;
  port?: number;
  password?: string;
  /** shown in the server's logs. */
  name?: string;
  /** the byte transport; the Node entry point defaults to TCP. */
  transport?: TransportFactory;
  /** per-request timeout in ms (default 10000; 0 = none). A request waiting for a reconnect counts. */
  timeoutMs?: number;
  /** reconnect after a lost connection (default true). Requests made meanwhile wait for the new one. */
  reconnect?: boolean | ReconnectOptions;
}

export interface RequestOptions {
  /** overrides the client's timeoutMs for this request. */
  timeoutMs?: number;
  /** stop waiting when aborted (rejects with CAIRN_ERR_ABORTED; a request already sent still runs). */
  signal?: AbortSignal;
}

/** An expiry: ttl in ms from now, or an absolute time in ms since the epoch. */
export interface ExpiryOptions {
  ttl?: number;
  expiresAt?: number;
}

export interface SetOptions extends ExpiryOptions, RequestOptions {
  /** only if the key is absent */
  nx?: boolean;
  /** only if the key is present */
  xx?: boolean;
  /** keep the key's current expiry */
  keepTtl?: boolean;
  /** memcached-style client flags, u32 */
  flags?: number;
  /** store only if the key's current CAS equals this */
  cas?: number;
  /**
   * the value is a collection's encoded bytes of this type (1 hash, 2 list, 3 set, 4 zset), as
   * getMeta returns them: the key gets that collection, whole. Excludes cas and returnOld.
   */
  type?: number;
}

export interface MsetOptions extends ExpiryOptions, RequestOptions {
  flags?: number;
  /** every value is a collection's encoded bytes of this type (see SetOptions.type) */
  type?: number;
}

export interface EntryMeta {
  /** a string's bytes; for a collection (see type), its encoded bytes */
  value: Uint8Array;
  flags: number;
  /** absolute expiry in ms, 0 for none */
  expiresAt: number;
  cas: number;
  /** the key holds a collection of this type (1 hash, 2 list, 3 set, 4 zset); absent for a string */
  type?: number;
}

export type SetStatus = 'stored' | 'not_stored' | 'exists' | 'not_found';

export interface SetResult {
  /** stored; not_stored (nx/xx failed); exists (cas mismatch); not_found (cas on a missing key) */
  status: SetStatus;
  /** the stored entry's CAS, 0 when not stored */
  cas: number;
  /** the previous entry, when asked for with returnOld */
  old?: EntryMeta | null;
}

export interface ScanPage {
  /** pass back to continue; '0' when the scan is complete */
  cursor: string;
  keys: Uint8Array[];
}

export interface TierCounts {
  hot: number;
  cold: number;
  total: number;
}

export interface ServerStats {
  /** every numeric field summed over the shards */
  total: Record<string, unknown>;
  /** one ShardStats per shard (see docs/protocol.md) */
  shards: Record<string, unknown>[];
}

export interface ServerInfo {
  version: number;
  server: string;
  serverVersion: string;
  shards: number;
  /** 'tags' when the server routes a key by its hash tag; absent from servers before hash tags (whole keys) */
  keyHash?: string;
  limits: Limits;
}

export type ClientState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface ClientEvents {
  ready: (info: ServerInfo) => void;
  reconnecting: (event: { attempt: number; delayMs: number; error: Error }) => void;
  /** the connection was lost (a reconnect may follow) */
  disconnect: (error?: Error) => void;
  /** the client closed for good (close(), or reconnecting gave up) */
  close: (error?: Error) => void;
  /** a server-pushed frame, [kind, ...]: key events are ['keyevent', event, key] (see subscribe()) */
  push: (message: unknown[]) => void;
}

type Decode = ((value: unknown) => unknown) | null;

const NO_TIMER = undefined;

class Command {
  /** the batch the frame went into; it is on the wire once the client's batch number has passed it. */
  batch = -1;
  deadline = 0;
  timer: ReturnType<typeof setTimeout> | undefined = NO_TIMER;
  onAbort: (() => void) | null = null;
  constructor(
    readonly id: number,
    readonly opcode: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    readonly decode: Decode,
    readonly signal: AbortSignal | undefined,
  ) {}
}

const replyUnpackr = createUnpackr(true);
const utf8 = new TextDecoder();

function toBytes(value: Key | Value): Uint8Array {
  return typeof value === 'string' ? utf8Encode(value) : value;
}

function entryMeta(raw: unknown): EntryMeta | null {
  if (!raw) return null;
  const r = raw as EntryMeta;
  if (r.type) return { value: r.value, flags: r.flags, expiresAt: r.expiresAt, cas: r.cas, type: r.type };
  return { value: r.value, flags: r.flags, expiresAt: r.expiresAt, cas: r.cas };
}

function asNumber(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

function expiryArg(options: ExpiryOptions | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (options?.ttl !== undefined) out.ttl = options.ttl;
  if (options?.expiresAt !== undefined) out.expiresAt = options.expiresAt;
  return out;
}

const sleepNever = (): void => {};

export class CairnClient extends DataTypeCommands {
  private readonly host: string;
  private readonly port: number;
  private readonly password: string | undefined;
  private readonly name: string | undefined;
  private readonly factory: TransportFactory;
  private readonly timeoutMs: number;
  private readonly reconnectOptions: Required<ReconnectOptions> | null;

  private state: ClientState = 'idle';
  private transport: Transport | null = null;
  private readonly writer = new RequestWriter();
  private readonly pending = new Map<number, Command>();
  private nextId = 0;
  private flushScheduled = false;
  /** the number of the batch being filled; flushing a batch moves it on. */
  private batchNo = 0;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private info: ServerInfo | null = null;
  private looping = false;
  private wake: () => void = sleepNever;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly listeners: { [E in keyof ClientEvents]?: ClientEvents[E][] } = {};
  /** local subscriptions, matched against each key event */
  private readonly subIndex = new SubscriptionIndex<Subscription>();
  /** one server-side subscription per distinct filter: id → the local subscriptions on it */
  private readonly serverSubs = new Map<string, { prefix: boolean; bytes: Uint8Array; text: string; subs: Set<Subscription> }>();
  /** channel subscriptions: 'c' + channel or 'p' + pattern (binary strings) → the local subscriptions */
  private readonly channelSubs = new Map<string, { pattern: boolean; bytes: Uint8Array; subs: Set<Subscription<ChannelMessage>> }>();
  private readonly flushNow = (): void => this.flushBatch();

  constructor(options: ClientOptions & { transport: TransportFactory }) {
    super();
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 7379;
    this.password = options.password;
    this.name = options.name;
    this.factory = options.transport;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const r = options.reconnect ?? true;
    this.reconnectOptions =
      r === false
        ? null
        : {
            initialDelayMs: (r === true ? undefined : r.initialDelayMs) ?? 50,
            maxDelayMs: (r === true ? undefined : r.maxDelayMs) ?? 2000,
            maxAttempts: (r === true ? undefined : r.maxAttempts) ?? Infinity,
          };
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  get status(): ClientState {
    return this.state;
  }

  /** What the server said in the handshake (null before the first one). */
  get serverInfo(): ServerInfo | null {
    return this.info;
  }

  /** Open the connection and run the handshake. Rejects on the first failure (no retry here). */
  async connect(): Promise<this> {
    if (this.state === 'ready') return this;
    if (this.state === 'closed') throw new CairnError(ErrorCode.CLOSED, 'the client is closed');
    if (this.state !== 'idle') {
      await this.ready();
      return this;
    }
    this.state = 'connecting';
    try {
      await this.open();
    } catch (err) {
      this.shutdown(err as Error);
      throw err;
    }
    return this;
  }

  /** Resolves when the client is connected and the handshake is done. */
  ready(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new CairnError(ErrorCode.CLOSED, 'the client is closed'));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Close the connection; requests still waiting reject with CAIRN_ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.shutdown(new CairnError(ErrorCode.CLOSED, 'the client was closed'));
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    ((this.listeners[event] ??= []) as ClientEvents[E][]).push(listener);
    return this;
  }

  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this {
    const list = this.listeners[event] as ClientEvents[E][] | undefined;
    if (list) {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  private emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    const list = this.listeners[event] as ((...a: Parameters<ClientEvents[E]>) => void)[] | undefined;
    if (!list) return;
    for (const listener of [...list]) {
      try {
        listener(...args);
      } catch {
        // a listener's failure is its own business, never the connection's
      }
    }
  }

  private async open(): Promise<void> {
    const transport = this.factory({ host: this.host, port: this.port });
    const reader = new ReplyReader();
    this.transport = transport;
    transport.onData((chunk) => {
      if (this.transport === transport) this.onData(transport, reader, chunk);
    });
    transport.onClose((error) => this.onTransportClose(transport, error));
    try {
      await transport.connect();
    } catch (err) {
      if (this.transport === transport) this.transport = null;
      throw new CairnError(ErrorCode.CLOSED, `cannot connect to ${this.host}:${this.port}: ${(err as Error).message}`, { cause: err });
    }
    if (this.state === 'closed') {
      transport.close();
      throw new CairnError(ErrorCode.CLOSED, 'the client was closed');
    }
    const hello: Record<string, unknown> = { version: PROTOCOL_VERSION };
    if (this.password !== undefined) hello.password = this.password;
    if (this.name !== undefined) hello.name = this.name;
    let info: ServerInfo;
    try {
      info = (await new Promise<unknown>((resolve, reject) => {
        const id = this.allocateId();
        const cmd = new Command(id, Opcode.HELLO, resolve, reject, null, undefined);
        cmd.batch = -1;
        this.track(cmd, this.timeoutMs);
        transport.write(encodeRequest(Opcode.HELLO, id, new Uint8Array(0), [hello]));
      })) as ServerInfo;
    } catch (err) {
      transport.close();
      throw err;
    }
    if (this.transport !== transport || (this.state as ClientState) === 'closed') {
      throw new CairnError(ErrorCode.CLOSED, 'the connection closed during the handshake');
    }
    this.info = { ...info, limits: { ...DEFAULT_LIMITS, ...info.limits } };
    this.state = 'ready';
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    this.emit('ready', this.info);
    // a new connection has no subscriptions: ask again for every one (events in between are lost)
    for (const id of this.serverSubs.keys()) void this.syncServerSub(id).catch(() => undefined);
    for (const entry of this.channelSubs.values()) {
      void this.call(Opcode.SUBSCRIBE, '', [entry.pattern ? { pattern: entry.bytes } : { channel: entry.bytes }], null).catch(() => undefined);
    }
    this.flushBatch();
  }

  private onTransportClose(transport: Transport, error?: Error): void {
    if (this.transport !== transport) return;
    this.transport = null;
    // requests already on the wire may or may not have run: they fail; unsent ones wait for the next connection
    const lost = new CairnError(ErrorCode.CLOSED, `connection to ${this.host}:${this.port} lost${error ? `: ${error.message}` : ''}`, { cause: error });
    for (const cmd of [...this.pending.values()]) if (cmd.batch < this.batchNo) this.settle(cmd, lost);
    if (this.state === 'closed') return;
    this.emit('disconnect', error);
    if (this.state === 'ready') {
      if (!this.reconnectOptions) {
        this.shutdown(lost);
        return;
      }
      this.state = 'reconnecting';
      void this.reconnectLoop(lost);
    }
  }

  private async reconnectLoop(cause: Error): Promise<void> {
    if (this.looping || !this.reconnectOptions) return;
    this.looping = true;
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.reconnectOptions;
    let attempt = 0;
    let lastError = cause;
    try {
      while (this.state === 'reconnecting') {
        attempt++;
        if (attempt > maxAttempts) {
          this.shutdown(new CairnError(ErrorCode.CLOSED, `gave up reconnecting after ${maxAttempts} attempts: ${lastError.message}`, { cause: lastError }));
          return;
        }
        const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30));
        const delayMs = Math.round(base / 2 + (Math.random() * base) / 2);
        this.emit('reconnecting', { attempt, delayMs, error: lastError });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = sleepNever;
        if (this.state !== 'reconnecting') return;
        try {
          await this.open();
          return;
        } catch (err) {
          lastError = err as Error;
          const code = (err as CairnError).code;
          if (code === ErrorCode.AUTH || code === ErrorCode.PROTOCOL_VERSION) {
            this.shutdown(lastError);
            return;
          }
          if ((this.state as ClientState) === 'ready') return;
        }
      }
    } finally {
      this.looping = false;
    }
  }

  private shutdown(error: Error): void {
    const wasClosed = this.state === 'closed';
    this.state = 'closed';
    const transport = this.transport;
    this.transport = null;
    transport?.close();
    this.wake();
    for (const cmd of [...this.pending.values()]) this.settle(cmd, error);
    this.writer.truncate(0);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    for (const { subs } of this.serverSubs.values()) for (const sub of subs) sub.end();
    this.serverSubs.clear();
    for (const { subs } of this.channelSubs.values()) for (const sub of subs) sub.end();
    this.channelSubs.clear();
    if (this.sweepTimer !== undefined) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    if (!wasClosed) this.emit('close', error.message === 'the client was closed' ? undefined : error);
  }

  // ---- request plumbing --------------------------------------------------------------------------

  private allocateId(): number {
    do {
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    } while (this.pending.has(this.nextId));
    return this.nextId;
  }

  private track(cmd: Command, timeoutMs: number): void {
    this.pending.set(cmd.id, cmd);
    if (timeoutMs <= 0) return;
    if (timeoutMs === this.timeoutMs) {
      // the common case shares one sweep timer: insertion order is deadline order
      cmd.deadline = Date.now() + timeoutMs;
      if (this.sweepTimer === undefined) {
        const every = Math.min(1000, Math.max(5, Math.floor(timeoutMs / 10)));
        this.sweepTimer = setInterval(() => this.sweep(), every);
        (this.sweepTimer as { unref?: () => void }).unref?.();
      }
    } else {
      cmd.timer = setTimeout(() => this.timeout(cmd, timeoutMs), timeoutMs);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const cmd of this.pending.values()) {
      if (cmd.deadline === 0) continue;
      if (cmd.deadline > now) break;
      this.timeout(cmd, this.timeoutMs);
    }
    if (this.pending.size === 0 && this.sweepTimer !== undefined) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  private timeout(cmd: Command, timeoutMs: number): void {
    if (this.pending.get(cmd.id) !== cmd) return;
    this.settle(cmd, new CairnError(ErrorCode.TIMEOUT, `no reply within ${timeoutMs} ms`));
  }

  /** Finish a command: exactly once, with a value or an error. */
  private settle(cmd: Command, error: Error | null, value?: unknown): void {
    if (this.pending.get(cmd.id) !== cmd) return;
    this.pending.delete(cmd.id);
    if (cmd.timer !== NO_TIMER) clearTimeout(cmd.timer);
    if (cmd.onAbort && cmd.signal) cmd.signal.removeEventListener('abort', cmd.onAbort);
    if (error) cmd.reject(error);
    else cmd.resolve(value);
  }

  /** Queue one request frame; it goes out with everything else made in this tick. */
  private call<T>(opcode: number, key: Key, args: readonly unknown[] | null, decode: Decode, options?: RequestOptions): Promise<T> {
    if (this.state === 'closed') return Promise.reject(new CairnError(ErrorCode.CLOSED, 'the client is closed'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new CairnError(ErrorCode.ABORTED, 'the request was aborted', { cause: signal.reason }));
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
      return Promise.reject(new CairnError(ErrorCode.BAD_ARGUMENT, `a key must be a string or Uint8Array, got ${typeof key}`));
    }
    const limits = this.info?.limits ?? DEFAULT_LIMITS;
    const keyBytes = typeof key === 'string' ? (key.length * 3 <= limits.maxKey ? key.length : utf8Encode(key).length) : key.length;
    if (keyBytes > limits.maxKey) {
      return Promise.reject(new CairnError(ErrorCode.KEY_TOO_LARGE, `key of ${keyBytes} bytes exceeds the limit of ${limits.maxKey}`));
    }
    let body: Uint8Array;
    try {
      body = encodeArgs(args);
    } catch (err) {
      return Promise.reject(new CairnError(ErrorCode.BAD_ARGUMENT, `cannot encode the arguments: ${(err as Error).message}`, { cause: err }));
    }
    const id = this.allocateId();
    const mark = this.writer.length;
    const size = this.writer.write(opcode, id, key, body);
    if (size - 4 > limits.maxFrame) {
      this.writer.truncate(mark);
      return Promise.reject(new CairnError(ErrorCode.FRAME_TOO_LARGE, `request of ${size - 4} bytes exceeds the frame limit of ${limits.maxFrame}`));
    }
    return new Promise<T>((resolve, reject) => {
      const cmd = new Command(id, opcode, resolve as (v: unknown) => void, reject, decode, signal);
      cmd.batch = this.batchNo;
      if (signal) {
        cmd.onAbort = () => this.settle(cmd, new CairnError(ErrorCode.ABORTED, 'the request was aborted', { cause: signal.reason }));
        signal.addEventListener('abort', cmd.onAbort, { once: true });
      }
      this.track(cmd, options?.timeoutMs ?? this.timeoutMs);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flushNow);
      }
    });
  }

  private flushBatch(): void {
    this.flushScheduled = false;
    if (this.state !== 'ready' || !this.transport || this.writer.length === 0) return;
    const bytes = this.writer.take();
    this.batchNo++;
    this.transport.write(bytes);
  }

  private onData(transport: Transport, reader: ReplyReader, chunk: Uint8Array): void {
    reader.feed(chunk);
    for (;;) {
      let frame;
      try {
        frame = reader.next();
      } catch (err) {
        // framing is lost: nothing more on this connection can be trusted
        transport.close();
        this.onTransportClose(transport, err as FrameError);
        return;
      }
      if (!frame) return;
      if (frame.status === Status.PUSH) {
        try {
          const message = replyUnpackr.unpack(frame.bytes, { start: REPLY_HEADER_SIZE, end: frame.bytes.length });
          this.emit('push', Array.isArray(message) ? message : [message]);
          if (Array.isArray(message) && message[0] === PUSH_KEYEVENT) this.routeKeyEvent(message);
          else if (Array.isArray(message) && (message[0] === PUSH_MESSAGE || message[0] === PUSH_PMESSAGE)) this.routeChannelMessage(message);
        } catch {
          // an unreadable push is dropped; replies are what matter
        }
        continue;
      }
      const cmd = this.pending.get(frame.requestId);
      if (!cmd) continue; // timed out or aborted already
      let body: unknown;
      try {
        body = frame.bytes.length === REPLY_HEADER_SIZE ? null : replyUnpackr.unpack(frame.bytes, { start: REPLY_HEADER_SIZE, end: frame.bytes.length });
      } catch (err) {
        this.settle(cmd, new CairnError(ErrorCode.BAD_FRAME, `unreadable reply: ${(err as Error).message}`));
        continue;
      }
      if (frame.status === Status.ERROR) {
        const [code, message] = Array.isArray(body) ? (body as [string, string]) : [ErrorCode.BAD_FRAME, 'malformed error reply'];
        this.settle(cmd, new CairnError(code as ErrorCode, String(message)));
        continue;
      }
      let value: unknown;
      try {
        value = cmd.decode ? cmd.decode(body) : body;
      } catch (err) {
        this.settle(cmd, new CairnError(ErrorCode.BAD_FRAME, `unexpected reply: ${(err as Error).message}`));
        continue;
      }
      this.settle(cmd, null, value);
    }
  }

  /** The shard count to group multi-key commands by (waits for the first handshake if needed). */
  private async shardCount(): Promise<number> {
    if (!this.info) await this.ready();
    return this.info!.shards;
  }

  /**
   * Split keys into per-shard frames (bounded in size), run them, and hand each group's reply to
   * `join` with the caller's indices.
   */
  private async multi(
    opcode: number,
    keys: Uint8Array[],
    values: Uint8Array[] | null,
    extra: unknown,
    options: RequestOptions | undefined,
    join: (indices: number[], reply: unknown) => void,
  ): Promise<void> {
    if (keys.length === 0) return;
    const shards = await this.shardCount();
    // group as the server routes: a server before hash tags hashes every key whole
    const route = this.info?.keyHash === 'tags' ? shardOf : wholeKeyShardOf;
    // A batch spans shards, and shards cannot roll back together: check every item first, so a bad
    // one rejects the whole batch before any shard writes anything.
    const limits = this.info?.limits ?? DEFAULT_LIMITS;
    for (let i = 0; i < keys.length; i++) {
      if (!(keys[i] instanceof Uint8Array)) {
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `item ${i}: a key must be a string or Uint8Array, got ${typeof keys[i]}`);
      }
      if (values && !(values[i] instanceof Uint8Array)) {
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `item ${i}: a value must be a string or Uint8Array, got ${typeof values[i]}`);
      }
      if (keys[i].length > limits.maxKey) {
        throw new CairnError(ErrorCode.KEY_TOO_LARGE, `item ${i}: key of ${keys[i].length} bytes exceeds the limit of ${limits.maxKey}`);
      }
      if (values && values[i].length > limits.maxValue) {
        throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `item ${i}: value of ${values[i].length} bytes exceeds the limit of ${limits.maxValue}`);
      }
    }
    const limit = Math.max(1024, Math.floor(limits.maxFrame / 2));
    const byShard = new Map<number, { indices: number[]; bytes: number }[]>();
    const groups: { indices: number[]; bytes: number }[] = [];
    for (let i = 0; i < keys.length; i++) {
      const shard = shards === 1 ? 0 : route(keys[i], shards);
      let list = byShard.get(shard);
      if (!list) byShard.set(shard, (list = []));
      let group = list[list.length - 1];
      const size = keys[i].length + (values ? values[i].length : 0) + 16;
      if (!group || (group.bytes + size > limit && group.indices.length > 0)) {
        group = { indices: [], bytes: 0 };
        list.push(group);
        groups.push(group);
      }
      group.indices.push(i);
      group.bytes += size;
    }
    await Promise.all(
      groups.map(async (group) => {
        const groupKeys = group.indices.map((i) => keys[i]);
        let list: unknown[];
        if (values) {
          list = [];
          for (const i of group.indices) list.push(keys[i], values[i]);
        } else {
          list = groupKeys;
        }
        const args = extra === undefined ? [list] : [list, extra];
        const reply = await this.call<unknown>(opcode, groupKeys[0], args, null, options);
        join(group.indices, reply);
      }),
    );
  }

  // ---- commands ----------------------------------------------------------------------------------

  /** The value, or null when the key is missing. */
  get(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.call(Opcode.GET, key, null, null, options);
  }

  /** The value decoded as UTF-8, or null. */
  getString(key: Key, options?: RequestOptions): Promise<string | null> {
    return this.call(Opcode.GET, key, null, (v) => (v === null ? null : utf8.decode(v as Uint8Array)), options);
  }

  /** The value with its flags, expiry and CAS, or null. */
  getMeta(key: Key, options?: RequestOptions): Promise<EntryMeta | null> {
    return this.call(Opcode.GETMETA, key, null, entryMeta, options);
  }

  /** Store a value; true when stored (false when an nx/xx/cas condition failed). */
  async set(key: Key, value: Value, options?: SetOptions): Promise<boolean> {
    return (await this.setResult(key, value, options)).status === 'stored';
  }

  /** Store a value and learn the outcome in full: status, the new CAS, and the old entry when asked for. */
  setResult(key: Key, value: Value, options?: SetOptions & { returnOld?: boolean }): Promise<SetResult> {
    const opts: Record<string, unknown> = expiryArg(options);
    if (options) {
      if (options.nx) opts.nx = true;
      if (options.xx) opts.xx = true;
      if (options.keepTtl) opts.keepTtl = true;
      if (options.flags !== undefined) opts.flags = options.flags;
      if (options.cas !== undefined) opts.cas = options.cas;
      if (options.returnOld) opts.returnOld = true;
      if (options.type) opts.type = options.type;
    }
    const args = Object.keys(opts).length > 0 ? [toBytes(value), opts] : [toBytes(value)];
    return this.call(
      Opcode.SET,
      key,
      args,
      (v) => {
        const [status, cas, old] = v as [SetStatus, number, unknown];
        const result: SetResult = { status, cas: asNumber(cas) };
        if (options?.returnOld) result.old = entryMeta(old);
        return result;
      },
      options,
    );
  }

  /** Set and return the previous value (null when there was none). */
  async getSet(key: Key, value: Value, options?: SetOptions): Promise<Uint8Array | null> {
    const result = await this.setResult(key, value, { ...options, returnOld: true });
    return result.old?.value ?? null;
  }

  /** Delete a key; with cas, only if its CAS still equals it. True when a key was deleted. */
  del(key: Key, options?: RequestOptions & { cas?: number }): Promise<boolean> {
    return this.call(Opcode.DEL, key, options?.cas !== undefined ? [{ cas: options.cas }] : null, null, options);
  }

  exists(key: Key, options?: RequestOptions): Promise<boolean> {
    return this.call(Opcode.EXISTS, key, null, null, options);
  }

  /** Expire the key ttlMs from now (≤ 0 deletes it). False when the key is missing. */
  expire(key: Key, ttlMs: number, options?: RequestOptions): Promise<boolean> {
    return this.call(Opcode.EXPIRE, key, [{ ttl: ttlMs }], null, options);
  }

  /** Expire the key at an absolute time in ms (a time already past deletes it). */
  expireAt(key: Key, expiresAt: number, options?: RequestOptions): Promise<boolean> {
    return this.call(Opcode.EXPIRE, key, [{ expiresAt }], null, options);
  }

  /** Remove the key's expiry; false when the key is missing or had none. */
  persist(key: Key, options?: RequestOptions): Promise<boolean> {
    return this.call(Opcode.PERSIST, key, null, null, options);
  }

  /** Milliseconds left to live; -1 when the key has no expiry, -2 when it is missing. */
  ttl(key: Key, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.TTL, key, null, asNumber, options);
  }

  /** The absolute expiry in ms; -1 none, -2 missing. */
  expireTime(key: Key, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.TTL, key, [true], asNumber, options);
  }

  /** Give the key a new expiry ({} = none) without reading it; false when missing. */
  async touch(key: Key, expiry: ExpiryOptions, options?: RequestOptions): Promise<boolean> {
    return (await this.getAndTouch(key, expiry, options)) !== null;
  }

  /** Give the key a new expiry and return its value (memcached gat). */
  getAndTouch(key: Key, expiry: ExpiryOptions, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.call(Opcode.TOUCH, key, [expiryArg(expiry)], (v) => (v ? (v as EntryMeta).value : null), options);
  }

  /** Add `by` (default 1) to a decimal integer value; a missing key starts at 0. Exact within ±2^53. */
  incr(key: Key, by: number | bigint = 1, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.INCR, key, [by], asNumber, options);
  }

  /** Subtract `by` (default 1); a missing key starts at 0. */
  decr(key: Key, by: number | bigint = 1, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.DECR, key, [by], asNumber, options);
  }

  /** incr over the full signed 64-bit range. */
  incrBig(key: Key, by: bigint | number = 1n, options?: RequestOptions): Promise<bigint> {
    return this.call(Opcode.INCR, key, [by], (v) => BigInt(v as number | bigint), options);
  }

  /** Append bytes (creating the key when missing); the new length. */
  append(key: Key, value: Value, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.APPEND, key, [toBytes(value)], null, options);
  }

  prepend(key: Key, value: Value, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.PREPEND, key, [toBytes(value)], null, options);
  }

  /** Get and delete in one step. */
  getdel(key: Key, options?: RequestOptions): Promise<Uint8Array | null> {
    return this.call(Opcode.GETDEL, key, null, null, options);
  }

  /** Load a key from disk into memory now; false when it is on neither tier. */
  restore(key: Key, options?: RequestOptions): Promise<boolean> {
    return this.call(Opcode.RESTORE, key, null, null, options);
  }

  /** Values in the order of `keys` (null for missing ones). */
  async mget(keys: readonly Key[], options?: RequestOptions): Promise<(Uint8Array | null)[]> {
    const out: (Uint8Array | null)[] = new Array(keys.length).fill(null);
    await this.multi(Opcode.MGET, keys.map(toBytes), null, undefined, options, (indices, reply) => {
      const values = reply as (Uint8Array | null)[];
      for (let j = 0; j < indices.length; j++) out[indices[j]] = values[j] ?? null;
    });
    return out;
  }

  /** Store many entries; the number stored. Each shard validates its part whole before writing. */
  async mset(entries: Iterable<readonly [Key, Value]> | Record<string, Value>, options?: MsetOptions): Promise<number> {
    const pairs: (readonly [Key, Value])[] =
      Symbol.iterator in entries ? [...(entries as Iterable<readonly [Key, Value]>)] : Object.entries(entries as Record<string, Value>);
    const extra: Record<string, number> = expiryArg(options);
    if (options?.flags !== undefined) extra.flags = options.flags;
    if (options?.type) extra.type = options.type;
    let stored = 0;
    await this.multi(
      Opcode.MSET,
      pairs.map((p) => toBytes(p[0])),
      pairs.map((p) => toBytes(p[1])),
      Object.keys(extra).length > 0 ? extra : undefined,
      options,
      (_indices, reply) => {
        stored += asNumber(reply);
      },
    );
    return stored;
  }

  /** Delete many keys; the number deleted. */
  async mdel(keys: readonly Key[], options?: RequestOptions): Promise<number> {
    let deleted = 0;
    await this.multi(Opcode.MDEL, keys.map(toBytes), null, undefined, options, (_indices, reply) => {
      deleted += asNumber(reply);
    });
    return deleted;
  }

  /** One page of a scan over every key on every shard; start with '0', stop when the cursor is '0' again. */
  scan(cursor = '0', count = 100, options?: RequestOptions): Promise<ScanPage> {
    return this.call(
      Opcode.SCAN,
      cursor,
      [count],
      (v) => {
        const [next, keys] = v as [string, Uint8Array[]];
        return { cursor: next, keys };
      },
      options,
    );
  }

  /** Every key, page by page. A key present for the whole scan is yielded at least once. */
  async *scanKeys(options?: RequestOptions & { count?: number }): AsyncGenerator<Uint8Array> {
    let cursor = '0';
    do {
      const page = await this.scan(cursor, options?.count ?? 100, options);
      for (const key of page.keys) yield key;
      cursor = page.cursor;
    } while (cursor !== '0');
  }

  /** Live keys per tier, over all shards. */
  count(options?: RequestOptions): Promise<TierCounts> {
    return this.call(Opcode.COUNT, '', null, null, options);
  }

  /** Remove every key from both tiers of every shard. */
  async flush(options?: RequestOptions): Promise<void> {
    await this.call(Opcode.FLUSH, '', null, null, options);
  }

  stats(options?: RequestOptions): Promise<ServerStats> {
    return this.call(Opcode.STATS, '', null, null, options);
  }

  /** 'PONG', or the message echoed back. */
  ping<T = string>(message?: T, options?: RequestOptions): Promise<T | 'PONG'> {
    return this.call(Opcode.PING, '', message === undefined ? null : [message], null, options);
  }

  /** Re-authenticate this connection. */
  auth(password: string, options?: RequestOptions): Promise<boolean> {
    return this.call(Opcode.AUTH, '', [password], null, options);
  }

  /**
   * Typed, schema-versioned values under `name:`: msgpack-encoded objects tagged with `version`.
   * A stored value of another version (or not typed at all) reads as a miss and is deleted.
   */
  typed<T>(name: string, options: { version: number }): TypedCollection<T> {
    return new TypedCollection<T>(this, name, options.version);
  }

  // ---- key events ------------------------------------------------------------------------------

  /**
   * Subscribe to key events of one key or of every key with a prefix. With a callback, each event
   * calls it; without, iterate the subscription (`for await (const ev of sub)`). Resolves once the
   * server has the subscription. After a reconnect the client subscribes again by itself; events in
   * between are lost.
   */
  subscribe(options: ChannelSubscribeOptions, callback?: ChannelMessageCallback): Promise<Subscription<ChannelMessage>>;
  subscribe(options: SubscribeOptions, callback?: KeyEventCallback): Promise<Subscription>;
  async subscribe(
    options: SubscribeOptions | ChannelSubscribeOptions,
    callback?: KeyEventCallback | ChannelMessageCallback,
  ): Promise<Subscription | Subscription<ChannelMessage>> {
    const o = options as Record<string, unknown>;
    if ((o.channel !== undefined || o.pattern !== undefined) && o.key === undefined && o.prefix === undefined) {
      return this.subscribeChannel(options as ChannelSubscribeOptions, callback as ChannelMessageCallback | undefined);
    }
    return this.subscribeKeys(options as SubscribeOptions, callback as KeyEventCallback | undefined);
  }

  private async subscribeKeys(options: SubscribeOptions, callback?: KeyEventCallback): Promise<Subscription> {
    const hasKey = options.key !== undefined;
    const hasPrefix = options.prefix !== undefined;
    if (hasKey === hasPrefix) throw new CairnError(ErrorCode.BAD_ARGUMENT, 'subscribe takes exactly one of key or prefix');
    const bytes = toBytes((hasKey ? options.key : options.prefix)!);
    const mask = options.events ? keyEventMask(options.events) : ALL_KEY_EVENTS;
    if (mask === null || mask === 0) throw new CairnError(ErrorCode.BAD_ARGUMENT, `events must be some of ${KEY_EVENT_NAMES.filter(Boolean).join(', ')}`);
    if (this.state === 'closed') throw new CairnError(ErrorCode.CLOSED, 'the client is closed');
    const text = binaryString(bytes);
    const id = (hasPrefix ? 'p' : 'k') + text;
    const sub = new Subscription(hasKey ? { key: bytes } : { prefix: bytes }, mask, callback, options.highWaterMark ?? 100_000, (s) =>
      this.dropSubscription(id, s),
    );
    let entry = this.serverSubs.get(id);
    if (!entry) this.serverSubs.set(id, (entry = { prefix: hasPrefix, bytes, text, subs: new Set() }));
    entry.subs.add(sub);
    this.subIndex.add(sub, hasPrefix, text, mask);
    try {
      await this.syncServerSub(id);
    } catch (err) {
      sub.end();
      this.forget(id, sub);
      throw err;
    }
    return sub;
  }

  // ---- channels (pub/sub) ----------------------------------------------------------------------

  /** Publish a message on a channel (every protocol's subscribers get it); resolves with the number of receivers. */
  publish(channel: string | Uint8Array, message: string | Uint8Array, options?: RequestOptions): Promise<number> {
    return this.call(Opcode.PUBLISH, '', [toBytes(channel), toBytes(message)], null, options);
  }

  private async subscribeChannel(options: ChannelSubscribeOptions, callback?: ChannelMessageCallback): Promise<Subscription<ChannelMessage>> {
    const pattern = options.pattern !== undefined;
    if (pattern === (options.channel !== undefined)) throw new CairnError(ErrorCode.BAD_ARGUMENT, 'subscribe takes exactly one of channel or pattern');
    if (this.state === 'closed') throw new CairnError(ErrorCode.CLOSED, 'the client is closed');
    const bytes = toBytes((pattern ? options.pattern : options.channel)!);
    const id = (pattern ? 'p' : 'c') + binaryString(bytes);
    const sub = new Subscription<ChannelMessage>(
      pattern ? { pattern: bytes } : { channel: bytes },
      0,
      callback,
      options.highWaterMark ?? 100_000,
      async (s) => {
        const entry = this.channelSubs.get(id);
        if (!entry?.subs.delete(s)) return;
        if (entry.subs.size > 0) return;
        this.channelSubs.delete(id);
        if (this.state !== 'closed') await this.call(Opcode.UNSUBSCRIBE, '', [pattern ? { pattern: bytes } : { channel: bytes }], null);
      },
    );
    let entry = this.channelSubs.get(id);
    const first = !entry;
    if (!entry) this.channelSubs.set(id, (entry = { pattern, bytes, subs: new Set() }));
    entry.subs.add(sub);
    if (first) {
      try {
        await this.call(Opcode.SUBSCRIBE, '', [pattern ? { pattern: bytes } : { channel: bytes }], null);
      } catch (err) {
        sub.end();
        entry.subs.delete(sub);
        if (entry.subs.size === 0) this.channelSubs.delete(id);
        throw err;
      }
    }
    return sub;
  }

  private routeChannelMessage(message: unknown[]): void {
    const isPattern = message[0] === PUSH_PMESSAGE;
    const pattern = isPattern ? message[1] : null;
    const channel = message[isPattern ? 2 : 1];
    const body = message[isPattern ? 3 : 2];
    const name = isPattern ? pattern : channel;
    if (!(name instanceof Uint8Array) || !(channel instanceof Uint8Array) || !(body instanceof Uint8Array)) return;
    const entry = this.channelSubs.get((isPattern ? 'p' : 'c') + binaryString(name));
    if (!entry) return;
    const msg: ChannelMessage = { channel: utf8.decode(channel), message: body, messageString: utf8.decode(body) };
    if (isPattern) msg.pattern = utf8.decode(name);
    for (const sub of entry.subs) sub.deliver(msg);
  }

  private forget(id: string, sub: Subscription): boolean {
    const entry = this.serverSubs.get(id);
    if (!entry?.subs.delete(sub)) return false;
    this.subIndex.remove(sub, entry.prefix, entry.text);
    if (entry.subs.size === 0) this.serverSubs.delete(id);
    return true;
  }

  private async dropSubscription(id: string, sub: Subscription): Promise<void> {
    const entry = this.serverSubs.get(id);
    if (!this.forget(id, sub) || this.state === 'closed') return;
    if (entry!.subs.size > 0) {
      await this.syncServerSub(id);
      return;
    }
    const filter = entry!.prefix ? { prefix: entry!.bytes } : { key: entry!.bytes };
    await this.call(Opcode.UNSUBSCRIBE, '', [filter], null);
  }

  /** Tell the server what the local subscriptions on one filter want (the union of their events). */
  private async syncServerSub(id: string): Promise<void> {
    const entry = this.serverSubs.get(id);
    if (!entry) return;
    let mask = 0;
    for (const sub of entry.subs) mask |= sub.mask;
    const filter: Record<string, unknown> = entry.prefix ? { prefix: entry.bytes } : { key: entry.bytes };
    if (mask !== ALL_KEY_EVENTS) filter.events = KEY_EVENT_NAMES.filter((n, code) => n !== undefined && (mask & (1 << code)) !== 0);
    await this.call(Opcode.SUBSCRIBE, '', [filter], null);
  }

  private routeKeyEvent(message: unknown[]): void {
    const name = message[1] as KeyEventName;
    const code = KEY_EVENT_NAMES.indexOf(name);
    const key = message[2];
    if (code <= 0 || !(key instanceof Uint8Array) || this.subIndex.size === 0) return;
    let event: KeyEventMessage | null = null;
    const deliver = (sub: Subscription): void => {
      event ??= { event: name, key, keyString: utf8.decode(key) };
      sub.deliver(event);
    };
    if (code === KeyEvent.FLUSH) this.subIndex.all(1 << code, deliver);
    else this.subIndex.match(binaryString(key), 1 << code, deliver);
  }

  /**
   * Run a data command by its Redis name with Redis' arguments (opcode CALL; the hash, list, set and
   * sorted-set methods are built on it): its reply in Redis' shape (integers as numbers, bulk strings
   * as bytes, nil as null, arrays). `routeKey` is the command's first key (default: the first argument).
   */
  callCommand(name: string, args: readonly (Key | number | bigint)[], options?: RequestOptions & { routeKey?: Key }): Promise<unknown> {
    const routeKey = options?.routeKey ?? (args.length > 0 && typeof args[0] !== 'number' && typeof args[0] !== 'bigint' ? args[0] : '');
    return this.dataCall(name, routeKey, [...args], null, options);
  }

  protected dataCall<T>(name: string, routeKey: Key, args: unknown[], decode: ((value: unknown) => T) | null, options: RequestOptions | undefined): Promise<T> {
    args.unshift(name);
    return this.call(Opcode.CALL, routeKey, args, decode, options);
  }

  /** Send a raw request (tools, the CLI and tests): the decoded reply body. */
  command(opcode: number, key: Key, args: readonly unknown[] | null, options?: RequestOptions): Promise<unknown> {
    return this.call(opcode, key, args, null, options);
  }
}
