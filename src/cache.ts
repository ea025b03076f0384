import { availableParallelism } from 'node:os';
import { CairnClient } from './client/client.js';
import type { Transport } from './client/transport.js';
import type { ClientOptions } from './client/client.js';
import { claimDataDir, recordShards } from './datadir.js';
import { rehashDataDir } from './store/rehash.js';
import type { EvictionName } from './engine/index.js';
import { CairnError, ErrorCode } from './errors.js';
import { SubscriptionHub } from './events/hub.js';
import { nativeEventFrames } from './native/event-frames.js';
import { MessageKind } from './hop/kinds.js';
import { EventDemand } from './front/event-demand.js';
import { NativeRouter, routerTransport } from './native/router.js';
import { ChannelBus } from './pubsub/bus.js';
import { startBackend, type ShardBackend } from './front/backend.js';
import { createExecutors } from '../workers/executors.js';
import { perShardSettings, ringBytesFor } from './shards/messages.js';
import { VERSION } from './version.js';

export interface CacheOptions {
  /** data directory, one LevelDB per shard inside (default ./data) */
  dir?: string;
  /** shards (default: one per core); a directory keeps the count it was created with */
  shards?: number;
  /** hot-tier budget for all shards together, in bytes (default 256 MiB) */
  maxMemory?: number;
  /** default 'writeback' */
  durability?: 'spill' | 'writeback' | 'sync';
  /** writeback: how soon after a write a disk batch with it starts (default 100 ms) */
  writebackDelayMs?: number;
  /** writeback: writes wait for the disk once the oldest write not on disk is this old (default 1000 ms) */
  writebackMaxLagMs?: number;
  /** writeback: ... or once the writes not on disk hold this many bytes, all shards together (default 64 MiB) */
  writebackMaxBytes?: number;
  /** largest value accepted (default 1 MiB) */
  maxValueSize?: number;
  /** values larger than this live on disk only (default: maxValueSize, i.e. none) */
  maxItemSize?: number;
  /** an entry unused this long leaves memory but stays on disk (default: never) */
  idleMs?: number;
  /** which entry leaves memory first: lru (default), lfu, fifo, random, ttl, sieve, s3fifo (docs/eviction.md) */
  eviction?: EvictionName;
  /** cold-tier limits for the whole cache (default: unbounded) */
  coldMaxItems?: number;
  coldMaxBytes?: number;
  /**
   * true (default): each shard runs on its own worker thread, as in the server. false: every shard
   * runs on the calling thread, which suits small caches and profilers that cannot see threads.
   */
  threads?: boolean;
  /** where progress lines go when opening a directory written by an earlier version moves keys (default: nowhere) */
  log?: (line: string) => void;
}

/**
 * The embedded cache: the same sharded two-tier cache as `cairn serve`, in this process, with the
 * SDK's API (`get`, `set`, `mget`, `typed`, the data types' `hset`, `lpush`, `sadd`, `zadd`, ...) plus the library names `delete`, `has`, `getMany`,
 * `setMany` and `deleteMany`. Requests travel to the shards as native protocol frames over the same
 * rings the server uses, so the library and the server cannot drift apart.
 */
export class Cache extends CairnClient {
  private constructor(
    options: ClientOptions & { transport: () => Transport },
    private readonly backend: ShardBackend,
    private readonly release: () => void,
  ) {
    super(options);
  }

  static async open(options: CacheOptions = {}): Promise<Cache> {
    const dir = options.dir ?? './data';
    const shards = options.shards ?? availableParallelism();
    if (!Number.isInteger(shards) || shards < 1 || shards > 256) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `shards must be a whole number from 1 to 256, not ${String(shards)}`);
    }
    const maxMemory = options.maxMemory ?? 256 * 1024 * 1024;
    if (!(maxMemory >= shards * 1024 * 1024)) {
      throw new CairnError(ErrorCode.BAD_ARGUMENT, `maxMemory ${maxMemory} is too small: give each of the ${shards} shards at least 1 MiB`);
    }
    const maxValueSize = options.maxValueSize ?? 1024 * 1024;
    const maxItemSize = Math.min(options.maxItemSize ?? maxValueSize, maxValueSize);
    const release = claimDataDir(dir, shards);
    const store = perShardSettings(
      {
        maxMemory,
        durability: options.durability ?? 'writeback',
        writebackDelayMs: options.writebackDelayMs,
        writebackMaxLagMs: options.writebackMaxLagMs,
        writebackMaxBytes: options.writebackMaxBytes,
        maxValueSize,
        maxItemSize,
        idleMs: options.idleMs,
        eviction: options.eviction,
        coldMaxItems: options.coldMaxItems,
        coldMaxBytes: options.coldMaxBytes,
      },
      shards,
    );
    let backend: ShardBackend;
    try {
      // a directory written before hash tags has its tagged keys moved to their shards first
      await rehashDataDir({ dir, shards, store, log: options.log });
      backend = await startBackend({
        shards,
        dataDir: dir,
        mode: options.threads === false ? 'inline' : 'threads',
        executors: createExecutors,
        ringBytes: ringBytesFor(maxItemSize),
        store,
      });
    } catch (err) {
      release();
      throw err;
    }
    try {
      // every shard's database exists now: a later open refuses the directory if one goes missing
      recordShards(dir, shards);
    } catch (err) {
      await backend.close().catch(() => undefined);
      release();
      throw err;
    }
    const info = {
      serverVersion: VERSION,
      shards,
      password: null,
      limits: { maxValue: maxValueSize, maxFrame: Math.max(8 * 1024 * 1024, maxValueSize + 64 * 1024) },
    };
    const transport = (): Transport => inProcessTransport(backend, info);
    const cache = new Cache({ transport, reconnect: false, timeoutMs: 0, name: 'embedded' }, backend, release);
    await cache.connect();
    return cache;
  }

  delete(key: string | Uint8Array): Promise<boolean> {
    return this.del(key);
  }

  has(key: string | Uint8Array): Promise<boolean> {
    return this.exists(key);
  }

  getMany(keys: readonly (string | Uint8Array)[]): Promise<(Uint8Array | null)[]> {
    return this.mget(keys);
  }

  setMany(...args: Parameters<CairnClient['mset']>): Promise<number> {
    return this.mset(...args);
  }

  deleteMany(keys: readonly (string | Uint8Array)[]): Promise<number> {
    return this.mdel(keys);
  }

  /** Flush every shard's dirty entries to disk, close LevelDB and stop the shard threads. */
  override async close(): Promise<void> {
    await super.close();
    try {
      await this.backend.close();
    } finally {
      this.release();
    }
  }
}

/** Open an embedded cache. */
export function openCache(options: CacheOptions = {}): Promise<Cache> {
  return Cache.open(options);
}

/** A transport whose far end is a native router in this process instead of a socket. */
function inProcessTransport(backend: ShardBackend, info: ConstructorParameters<typeof NativeRouter>[2]): Transport {
  // key events (cache.subscribe()) come from the shards like replies do
  const events = new SubscriptionHub(new EventDemand((on) => backend.listenForEvents(on)).consumer(), nativeEventFrames);
  return routerTransport((sink) => {
    // channels (cache.publish() / cache.subscribe({ channel })) within this process
    const router = new NativeRouter(1, backend, info, sink, events, new ChannelBus());
    backend.onReply((kind, _conn, seq, payload) => {
      if (kind === MessageKind.EVENT) events.dispatch(seq, payload);
      else router.onReply(kind, seq, payload);
    });
    return router;
  }, 'the embedded cache rejected a frame');
}
