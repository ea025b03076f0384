/**
 * The replica side of replication (docs/replication.md): a link to the primary's native port that
 * copies every key (both tiers, value, flags, absolute expiry) and then follows the primary's writes.
 *
 * How it converges: the link first subscribes to every key event of the primary (`{prefix: ''}`),
 * so every write from that moment on is captured, then scans the primary over both tiers and copies
 * each key (GETMETA) while writes continue, and finally replays the captured events and follows the
 * live ones. A `set` or `ttl` event is replayed by reading the key's current entry from the primary
 * (its value, flags and expiry, or its absence), a `delete` / `expire` / `drop` deletes it, a `flush`
 * empties the replica. Reads for consecutive events are pipelined; their results are applied in
 * event order, so the last event of a key always leaves the replica with the primary's state.
 *
 * The local side is a CairnClient whose transport is a native router inside this process (it is
 * not subject to the read-only rule that refuses clients' writes).
 */
import { CairnClient, type EntryMeta } from '../client/client.js';
import { tcpTransport } from '../client/tcp.js';
import type { Transport } from '../client/transport.js';
import type { KeyEventMessage } from '../client/subscription.js';

export type ReplicaState = 'connecting' | 'sync' | 'connected' | 'down' | 'stopped';

export interface ReplicaInfo {
  primaryHost: string;
  primaryPort: number;
  state: ReplicaState;
  /** key events applied since the link was created (the replica's replication offset) */
  offset: number;
  /** events received and not yet applied */
  lag: number;
  /** keys copied by the last full copy */
  copied: number;
  /** full copies done (1 + reconnects) */
  fullSyncs: number;
  /** ms since the epoch of the last message from the primary; 0 before any */
  lastIo: number;
  /** when the link went down (ms since the epoch), 0 while up */
  downSince: number;
}

export interface ReplicaOptions {
  host: string;
  port: number;
  password?: string | null;
  /** a fresh client on this server's own shards (an in-process transport) */
  local: () => Transport;
  log: (line: string) => void;
  /** ms between reconnect attempts (default 500) */
  retryMs?: number;
}

const BATCH = 256;

export class ReplicaLink {
  private primary: CairnClient | null = null;
  private local: CairnClient | null = null;
  private stopped = false;
  private state: ReplicaState = 'connecting';
  private offset = 0;
  private received = 0;
  private copied = 0;
  private fullSyncs = 0;
  private lastIo = 0;
  private downSince = 0;
  /** events captured during the copy */
  private captured: KeyEventMessage[] | null = null;
  /** applies happen in event order */
  private chain: Promise<void> = Promise.resolve();
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: ReplicaOptions) {}

  start(): void {
    void this.run();
  }

  info(): ReplicaInfo {
    return {
      primaryHost: this.o.host,
      primaryPort: this.o.port,
      state: this.state,
      offset: this.offset,
      lag: this.received - this.offset,
      copied: this.copied,
      fullSyncs: this.fullSyncs,
      lastIo: this.lastIo,
      downSince: this.downSince,
    };
  }

  /** Stop following the primary (REPLICAOF NO ONE, shutdown); what was applied stays. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.retry) clearTimeout(this.retry);
    const p = this.primary;
    this.primary = null;
    await p?.close().catch(() => undefined);
    await this.chain.catch(() => undefined);
    const l = this.local;
    this.local = null;
    await l?.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.state = 'connecting';
    try {
      this.local ??= await new CairnClient({ host: 'local', port: 0, reconnect: false, transport: () => this.o.local() }).connect();
      const primary = new CairnClient({
        host: this.o.host,
        port: this.o.port,
        password: this.o.password ?? undefined,
        reconnect: false,
        transport: tcpTransport(),
      });
      this.primary = primary;
      primary.on('close', (err) => this.lost(primary, err));
      await primary.connect();
      this.state = 'sync';
      this.captured = [];
      // every write from now on is captured before the copy starts
      await primary.subscribe({ prefix: '' }, (ev) => this.onEvent(ev));
      await this.fullCopy(primary);
      // replay what changed during the copy, then follow live events
      const captured = this.captured;
      this.captured = null;
      for (const ev of captured) this.apply(ev);
      await this.chain;
      if (this.primary === primary) {
        this.state = 'connected';
        this.downSince = 0;
        this.o.log(`cairn: replica in sync with ${this.o.host}:${this.o.port} (${this.copied} keys copied)`);
      }
    } catch (err) {
      this.o.log(`cairn: replication from ${this.o.host}:${this.o.port} failed: ${(err as Error).message}`);
      const p = this.primary;
      this.primary = null;
      await p?.close().catch(() => undefined);
      this.scheduleRetry();
    }
  }

  private lost(client: CairnClient, err?: Error): void {
    if (this.primary !== client || this.stopped) return;
    this.primary = null;
    this.o.log(`cairn: replica lost its primary ${this.o.host}:${this.o.port}${err ? `: ${err.message}` : ''}; reconnecting`);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    this.state = 'down';
    this.downSince ||= Date.now();
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.run();
    }, this.o.retryMs ?? 500);
  }

  /** Copy every key of the primary (both tiers); keys the primary no longer has are deleted here. */
  private async fullCopy(primary: CairnClient): Promise<void> {
    const local = this.local!;
    this.fullSyncs++;
    this.copied = 0;
    // a flush first: keys deleted on the primary while this replica was away must not survive
    await local.flush();
    let batch: Uint8Array[] = [];
    const copyBatch = async (keys: Uint8Array[]): Promise<void> => {
      const metas = await Promise.all(keys.map((k) => primary.getMeta(k)));
      await Promise.all(metas.map((m, i) => this.write(keys[i], m)));
      this.copied += keys.length;
      this.lastIo = Date.now();
    };
    for await (const key of primary.scanKeys({ count: BATCH })) {
      batch.push(key);
      if (batch.length >= BATCH) {
        await copyBatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await copyBatch(batch);
  }

  private onEvent(ev: KeyEventMessage): void {
    this.lastIo = Date.now();
    if (ev.event === 'evict' || ev.event === 'restore') return; // tier moves, not changes
    this.received++;
    if (this.captured) this.captured.push(ev);
    else this.apply(ev);
  }

  /** Apply one event after the ones before it; reads from the primary start at once. */
  private apply(ev: KeyEventMessage): void {
    const primary = this.primary;
    let step: () => Promise<unknown>;
    switch (ev.event) {
      case 'set':
      case 'ttl': {
        const read = primary ? primary.getMeta(ev.key) : Promise.reject(new Error('no primary'));
        read.catch(() => undefined);
        step = async () => this.write(ev.key, await read);
        break;
      }
      case 'flush':
        step = () => this.local!.flush();
        break;
      default: // delete, expire, drop
        step = () => this.local!.del(ev.key);
    }
    this.chain = this.chain.then(step).then(
      () => void this.offset++,
      (err: Error) => {
        this.offset++;
        this.o.log(`cairn: replica could not apply a ${ev.event} of ${ev.keyString}: ${err.message}`);
      },
    );
  }

  private async write(key: Uint8Array, meta: EntryMeta | null): Promise<void> {
    const local = this.local!;
    if (meta === null || (meta.expiresAt > 0 && meta.expiresAt <= Date.now())) {
      await local.del(key);
      return;
    }
    await local.set(key, meta.value, meta.expiresAt > 0 ? { expiresAt: meta.expiresAt, flags: meta.flags } : { flags: meta.flags });
  }
}
