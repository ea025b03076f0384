/**
 * What the acceptor needs for commands that touch more than one shard: merging broadcast replies
 * and reading scan cursors. Pure functions, so the acceptor stays thin and these are unit-tested.
 */
import { hottest, valueSizes } from '../store/report.js';
import type { ShardStats } from '../store/types.js';
import { ErrorCode } from '../errors.js';
import { createUnpackr } from '../msgpack.js';
import { encodeReply, errorReply, REPLY_HEADER_SIZE, Status } from './frame.js';
import { Opcode, OPCODE_NAME } from './opcodes.js';

// ---- scan cursors --------------------------------------------------------------------------------
// A client sees one cursor over the whole server: "0" to start (and "0" again when done), otherwise
// "<shard>:<shard cursor>", where the shard cursor is the store's own opaque cursor ("0" = that
// shard's start). Scanning walks shard 0, 1, ... N-1 in turn.

const COLON = 0x3a;
const ZERO = 0x30;

/**
 * The shard a scan cursor names, read from the frame's route key bytes without decoding;
 * -1 when the cursor is malformed or names a shard that does not exist.
 */
export function scanCursorShard(bytes: Uint8Array, start: number, end: number, shards: number): number {
  if (end - start === 1 && bytes[start] === ZERO) return 0;
  let shard = 0;
  let i = start;
  for (; i < end && i - start < 6; i++) {
    const c = bytes[i];
    if (c === COLON) break;
    if (c < ZERO || c > ZERO + 9) return -1;
    shard = shard * 10 + (c - ZERO);
  }
  if (i === start || i >= end || bytes[i] !== COLON || i + 1 === end) return -1;
  return shard < shards ? shard : -1;
}

export interface ParsedScanCursor {
  shard: number;
  /** the shard's own cursor, '0' for its start. */
  local: string;
}

export function parseScanCursor(cursor: string, shards: number): ParsedScanCursor | null {
  if (cursor === '0') return { shard: 0, local: '0' };
  const colon = cursor.indexOf(':');
  if (colon <= 0 || colon > 6 || colon === cursor.length - 1) return null;
  const head = cursor.slice(0, colon);
  if (!/^[0-9]+$/.test(head)) return null;
  const shard = Number(head);
  if (shard >= shards) return null;
  return { shard, local: cursor.slice(colon + 1) };
}

/** The client-visible cursor after shard `shard` returned its own cursor `local`. */
export function formatScanCursor(shard: number, local: string, shards: number): string {
  if (local !== '0') return `${shard}:${local}`;
  return shard + 1 < shards ? `${shard + 1}:0` : '0';
}

// ---- broadcast merges ----------------------------------------------------------------------------

function sumInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'number') {
      target[name] = ((target[name] as number | undefined) ?? 0) + value;
    } else if (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) {
      const inner = (target[name] ??= {}) as Record<string, unknown>;
      sumInto(inner, value as Record<string, unknown>);
    }
  }
}

function shardNumber(stats: unknown): number {
  const n = (stats as { shard?: unknown } | null)?.shard;
  return typeof n === 'number' ? n : 0;
}

/**
 * Merge the decoded OK results of one broadcast command, one per shard, in any order.
 * stats → {total, shards}; count → summed per tier; flush → true.
 */
export function mergeBroadcast(opcode: number, shardResults: unknown[]): unknown {
  switch (opcode) {
    case Opcode.STATS: {
      // replies arrive in any order; report shards in index order
      shardResults = [...shardResults].sort((a, b) => shardNumber(a) - shardNumber(b));
      const total: Record<string, unknown> = {};
      for (const r of shardResults) {
        if (r && typeof r === 'object') sumInto(total, r as Record<string, unknown>);
      }
      delete total.shard;
      total.shards = shardResults.length;
      // lists and bins do not add up field by field: join them
      const reports = (shardResults as ShardStats[]).map((stats) => ({ shard: stats.shard, stats }));
      total.hotKeys = hottest(reports);
      total.hotKeyRate = reports[0]?.stats.hotKeyRate ?? 0;
      total.valueSizes = valueSizes(reports);
      total.eviction = reports[0]?.stats.eviction;
      // the lag is the oldest unwritten change of any shard, not a sum
      const wb = total.writeback as { lagMs: number } | undefined;
      if (wb) wb.lagMs = Math.max(0, ...reports.map((r) => r.stats.writeback?.lagMs ?? 0));
      return { total, shards: shardResults };
    }
    case Opcode.COUNT: {
      let hot = 0;
      let cold = 0;
      let total = 0;
      for (const r of shardResults as { hot: number; cold: number; total: number }[]) {
        hot += r.hot;
        cold += r.cold;
        total += r.total;
      }
      return { hot, cold, total };
    }
    case Opcode.FLUSH:
      return true;
    default:
      throw new Error(`opcode ${opcode} (${OPCODE_NAME[opcode] ?? 'unknown'}) is not a broadcast command`);
  }
}

const unpackr = createUnpackr(false);

/**
 * Merge the shards' complete reply frames for one broadcast request into one reply frame for the
 * client. The first shard error wins (its code and message go back); otherwise the results merge.
 */
export function mergeBroadcastReplies(opcode: number, requestId: number, replies: readonly Uint8Array[]): Uint8Array {
  const results: unknown[] = [];
  for (const frame of replies) {
    let body: unknown;
    try {
      body = unpackr.unpack(frame, { start: REPLY_HEADER_SIZE, end: frame.length });
    } catch (err) {
      return errorReply(requestId, ErrorCode.BAD_FRAME, `a shard sent an unreadable reply: ${(err as Error).message}`);
    }
    if (frame[4] === Status.ERROR) {
      const [code, message] = body as [string, string];
      return errorReply(requestId, code, message);
    }
    results.push(body);
  }
  return encodeReply(Status.OK, requestId, mergeBroadcast(opcode, results));
}
