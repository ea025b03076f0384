/**
 * The replica side of replication (docs/replication.md): a link to the primary's native port that
 * copies every key (both tiers, value or collection with its type, flags, absolute expiry) and then
 * follows the primary's writes.
 *
 * The link sends REPLSYNC {runId, offset} (src/replication/backlog.ts). When the primary still holds
 * the events after `offset` of the same run, it answers 'partial' and sends them: no copy. Otherwise
 * it answers 'full' with its current offset, and the replica empties itself, scans the primary over
 * both tiers and copies each key (GETMETA) while writes continue; the events pushed meanwhile are
 * captured and replayed after the copy. Events are applied in groups, in offset order: the events
 * received while the previous group's reads were out (at most APPLY_BATCH) form the next one. Within
 * a group the last event of each key decides: a `set` or `ttl` reads the key's current entry from the
 * primary (one pipelined round trip for the group, overlapping the previous group's writes), a
 * `delete` / `expire` / `drop` deletes it, and a `flush` empties the replica between the events
 * before and after it. The group's writes go to the shards as MSET / MDEL (one per shard, expiry and
 * flags), so each shard commits them as one batch: one fsync per group in `--durability sync`, not
 * one per event. The applied offset and the primary's run id are saved in replication.json in the
 * data directory (once a second, and by a clean stop), so a restarted replica resumes with a partial
 * resync too.
 *
 * The local side is a CairnClient whose transport is a native router inside this process (it is
 * not subject to the read-only rule that refuses clients' writes).
 */
import { CairnClient, type EntryMeta, type MsetOptions } from '../client/client.js';
import { tcpTransport } from '../client/tcp.js';
import type { Transport } from '../client/transport.js';
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { Opcode } from '../native/opcodes.js';
import { KeyEvent } from '../events/codes.js';
import { PUSH_REPL } from './backlog.js';

/** One replicated event: its offset on the primary, its code, its key. */
interface ReplEvent {
  offset: number;
  code: number;
  key: Uint8Array;
}

/** Events applied together (see enqueue), and, once its reads went out, their parts. */
interface Group {
  events: ReplEvent[];
  gen: number;
  parts: Part[] | null;
}

/** A flush (null), or a stretch of events between flushes: the keys to read from the primary and to delete. */
type Part = { reads: Uint8Array[]; metas: Promise<(EntryMeta | null)[]>; dels: Uint8Array[] } | null;

/** What a replica saves in its data directory (replication.json) to resume with a partial resync. */
export interface SavedReplState {
  runId: string;
  offset: number;
  primary: string;
  /** written by a clean stop (the tiers were then flushed to disk behind it) */
  clean: boolean;
}

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
  /** full copies done */
  fullSyncs: number;
  /** resyncs served from the primary's backlog (no copy) */
  partialSyncs: number;
  /** the primary's run id this replica's data follows; null until a full copy completed */
  runId: string | null;
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
  /** where the applied offset is saved (null: nowhere) */
  stateFile?: string | null;
  /** a saved state to resume from (partial resync) */
  resume?: SavedReplState | null;
  /** this server's RESP/native port, reported to the primary for its ROLE */
  listeningPort?: number;
}

/** keys per SCAN page and per copied batch in a full copy */
const BATCH = 256;
/**
 * The most events applied as one group. Groups grow while the previous one is being applied, so a
 * replica whose writes are slow (fsync) applies more per write instead of falling behind; the bound
 * keeps a group's reads and MSET frames small.
 */
const APPLY_BATCH = 1024;

export class ReplicaLink {
  private primary: CairnClient | null = null;
  private local: CairnClient | null = null;
  private stopped = false;
  private state: ReplicaState = 'connecting';
  /** the primary's offset of the last event applied (valid when runId is set) */
  private offset = 0;
  /** the highest offset received */
  private received = 0;
  /** the primary run whose events this replica's data reflects; null: a full copy is needed */
  private runId: string | null = null;
  private copied = 0;
  private fullSyncs = 0;
  private partialSyncs = 0;
  /** bumped per connection: applies of an older link are dropped */
  private gen = 0;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private savedOffset = -1;
  private lastIo = 0;
  private downSince = 0;
  /** events captured during the copy */
  private captured: ReplEvent[] | null = null;
  /** groups are applied one after another, in event order */
  private chain: Promise<void> = Promise.resolve();
  /** the group queued on the chain and not started yet: events received meanwhile join it */
  private open: Group | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: ReplicaOptions) {
    const r = o.resume;
    if (r && r.primary === `${o.host}:${o.port}`) {
      this.runId = r.runId;
      this.offset = this.received = this.savedOffset = r.offset;
    }
  }

  start(): void {
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref?.();
    void this.run();
  }

  /** Once a second: tell the primary what is applied, and save it. */
  private tick(): void {
    const p = this.primary;
    if (p && this.state === 'connected') void p.command(Opcode.REPLACK, '', [{ offset: this.offset }]).catch(() => undefined);
    if (this.state === 'connected' && this.offset !== this.savedOffset) this.save(false);
  }

  /** Save {runId, offset} (after applying), or remove the file while the data matches no offset. */
  private save(clean: boolean): void {
    const file = this.o.stateFile;
    if (!file) return;
    try {
      if (this.runId === null) {
        unlinkSync(file);
        return;
      }
      const state: SavedReplState = { runId: this.runId, offset: this.offset, primary: `${this.o.host}:${this.o.port}`, clean };
      writeFileSync(`${file}.tmp`, JSON.stringify(state) + '\n');
      renameSync(`${file}.tmp`, file);
      this.savedOffset = this.offset;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log(`cairn: replica could not save ${file}: ${(err as Error).message}`);
    }
  }

  info(): ReplicaInfo {
    return {
      primaryHost: this.o.host,
      primaryPort: this.o.port,
      state: this.state,
      offset: this.offset,
      lag: this.captured ? this.captured.length : Math.max(0, this.received - this.offset),
      copied: this.copied,
      fullSyncs: this.fullSyncs,
      partialSyncs: this.partialSyncs,
      runId: this.runId,
      lastIo: this.lastIo,
      downSince: this.downSince,
    };
  }

  /** Stop following the primary (REPLICAOF NO ONE, shutdown); what was applied stays. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.retry) clearTimeout(this.retry);
    if (this.ticker) clearInterval(this.ticker);
    const p = this.primary;
    this.primary = null;
    this.gen++;
    await p?.close().catch(() => undefined);
    await this.chain.catch(() => undefined);
    // the server flushes its tiers after this, so the saved offset matches the data on disk
    if (this.state === 'stopped' && this.captured === null) this.save(true);
    const l = this.local;
    this.local = null;
    await l?.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.state = 'connecting';
    const gen = ++this.gen;
    try {
      this.local ??= await new CairnClient({ host: 'local', port: 0, reconnect: false, transport: () => this.o.local() }).connect();
      // what the previous link applied is final before asking for what comes after it
      await this.chain.catch(() => undefined);
      const primary = new CairnClient({
        host: this.o.host,
        port: this.o.port,
        password: this.o.password ?? undefined,
        reconnect: false,
        transport: tcpTransport(),
      });
      this.primary = primary;
      primary.on('close', (err) => this.lost(primary, err));
      // events (the backlog's, then live ones) may arrive right behind the REPLSYNC reply
      this.captured = [];
      // what this link receives is counted from what is applied; a previous link's figure may belong
      // to another run of the primary
      this.received = this.offset;
      primary.on('push', (m) => {
        if (m[0] === PUSH_REPL && gen === this.gen) this.onEvent({ offset: Number(m[1]), code: Number(m[2]), key: m[3] as Uint8Array });
      });
      await primary.connect();
      this.state = 'sync';
      const known = this.runId !== null;
      const reply = (await primary.command(Opcode.REPLSYNC, '', [{ runId: this.runId, offset: this.offset, port: this.o.listeningPort ?? 0 }])) as {
        mode: string;
        runId: string;
        offset: number;
      };
      if (gen !== this.gen) return;
      if (reply.mode === 'partial') {
        this.partialSyncs++;
        this.o.log(`cairn: partial resync with ${this.o.host}:${this.o.port} from offset ${reply.offset}`);
      } else {
        if (known)
          this.o.log(
            `cairn: ${this.o.host}:${this.o.port} cannot continue from offset ${this.offset} (run ${reply.runId === this.runId ? 'same' : 'changed'}); full copy`,
          );
        // until the copy completes the data matches no offset
        this.runId = null;
        this.save(false);
        await this.fullCopy(primary);
        if (gen !== this.gen) return;
        // the data is now the primary's at reply.offset, in its run's numbering (a restarted primary
        // counts from 0 again): received and applied figures restart from there
        this.runId = reply.runId;
        this.offset = reply.offset;
        this.received = reply.offset;
        for (const ev of this.captured) if (ev.offset > this.received) this.received = ev.offset;
      }
      // replay what arrived meanwhile, then follow live events
      const captured = this.captured;
      this.captured = null;
      for (const ev of captured) this.enqueue(ev, gen);
      await this.chain;
      if (this.primary === primary && gen === this.gen) {
        this.state = 'connected';
        this.downSince = 0;
        this.save(false);
        this.o.log(
          `cairn: replica in sync with ${this.o.host}:${this.o.port} at offset ${this.offset}${reply.mode === 'full' ? ` (${this.copied} keys copied)` : ''}`,
        );
      }
    } catch (err) {
      if (gen !== this.gen) return;
      this.captured = null;
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
    this.gen++;
    this.captured = null;
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
      await this.store(keys, metas, []);
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

  private onEvent(ev: ReplEvent): void {
    this.lastIo = Date.now();
    if (ev.offset > this.received) this.received = ev.offset;
    if (this.captured) this.captured.push(ev);
    else this.enqueue(ev, this.gen);
  }

  /**
   * Queue an event after the ones before it. It joins the group waiting on the chain, or starts one;
   * a group's reads go out when the previous group's reads are answered (or, when none is being
   * applied, once the chunk the event came in has been read), so all its events have arrived before
   * its reads, and its reads overlap the previous group's writes.
   */
  private enqueue(ev: ReplEvent, gen: number): void {
    const open = this.open;
    if (open !== null && open.gen === gen && open.events.length < APPLY_BATCH) {
      open.events.push(ev);
      return;
    }
    const group: Group = { events: [ev], gen, parts: null };
    this.open = group;
    this.chain = this.chain.then(() => this.applyGroup(group));
  }

  /**
   * Apply a group: its parts in order, a flush or one write batch of what was read. The offset
   * advances only when the whole group is applied; a failure ends the link (a reconnect resumes after
   * the last applied group, and applying an event twice is harmless: it re-reads the primary).
   */
  private async applyGroup(group: Group): Promise<void> {
    if (this.open === group) this.open = null;
    const { events, gen } = group;
    if (gen !== this.gen) return; // the link broke: the next one resumes after this.offset
    try {
      const parts = group.parts ?? this.read(group);
      for (const part of parts) if (part) await part.metas;
      const next = this.open;
      if (next !== null && next.gen === gen) {
        this.open = null;
        this.read(next);
      }
      for (const part of parts) {
        if (part) await this.store(part.reads, await part.metas, part.dels);
        else await this.local!.flush();
      }
    } catch (err) {
      if (gen !== this.gen) return;
      const last = events[events.length - 1];
      this.o.log(`cairn: replica could not apply events ${events[0].offset}..${last.offset}: ${(err as Error).message}; reconnecting`);
      const p = this.primary;
      if (p) {
        this.lost(p, err as Error);
        void p.close().catch(() => undefined);
      }
      return;
    }
    this.offset = events[events.length - 1].offset;
  }

  /**
   * Split a group at its flush events and send the reads of each stretch: within a stretch the last
   * event of each key decides (a set or ttl reads the key's entry, anything else deletes it).
   */
  private read(group: Group): Part[] {
    const primary = this.primary;
    const parts: Part[] = [];
    const events = group.events;
    let last = new Map<string, ReplEvent>();
    const close = (): void => {
      if (last.size === 0) return;
      const reads: Uint8Array[] = [];
      const dels: Uint8Array[] = [];
      for (const ev of last.values()) (ev.code === KeyEvent.SET || ev.code === KeyEvent.TTL ? reads : dels).push(ev.key);
      let metas: Promise<(EntryMeta | null)[]> = Promise.resolve([]);
      if (reads.length > 0) metas = primary ? Promise.all(reads.map((k) => primary.getMeta(k))) : Promise.reject(new Error('no primary'));
      // a failure is seen when the part is applied; a group after a failed one is never applied
      metas.catch(() => undefined);
      parts.push({ reads, metas, dels });
      last = new Map();
    };
    for (const ev of events) {
      if (ev.code === KeyEvent.FLUSH) {
        close();
        parts.push(null);
        continue;
      }
      const k = ev.key;
      last.set(Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1'), ev);
    }
    close();
    group.parts = parts;
    return parts;
  }

  /**
   * Write entries read from the primary (absent or expired: delete) and delete `dels`, as one MSET
   * per expiry, flags and type and one MDEL; the client splits each by shard.
   */
  private async store(keys: Uint8Array[], metas: (EntryMeta | null)[], dels: Uint8Array[]): Promise<void> {
    const local = this.local!;
    const now = Date.now();
    const sets = new Map<string, { expiresAt: number; flags: number; type: number; entries: [Uint8Array, Uint8Array][] }>();
    for (let i = 0; i < keys.length; i++) {
      const m = metas[i];
      if (m === null || (m.expiresAt > 0 && m.expiresAt <= now)) {
        dels.push(keys[i]);
        continue;
      }
      // a collection comes as its encoded bytes and its type, and is written whole with that type
      const type = m.type ?? 0;
      const id = `${m.expiresAt}:${m.flags}:${type}`;
      let s = sets.get(id);
      if (!s) sets.set(id, (s = { expiresAt: m.expiresAt, flags: m.flags, type, entries: [] }));
      s.entries.push([keys[i], m.value]);
    }
    const writes: Promise<number>[] = [];
    if (dels.length > 0) writes.push(local.mdel(dels));
    for (const s of sets.values()) {
      const options: MsetOptions = { flags: s.flags };
      if (s.expiresAt > 0) options.expiresAt = s.expiresAt;
      if (s.type !== 0) options.type = s.type;
      writes.push(local.mset(s.entries, options));
    }
    await Promise.all(writes);
  }
}
