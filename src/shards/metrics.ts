/**
 * Per-shard command metrics, kept by the shard worker: commands by type and service-time histograms
 * (from the moment the shard takes a message off its ring to the moment its reply is written, disk
 * waits included). Preallocated typed arrays; recording is a counter bump and a short bucket search.
 */
import { MessageKind } from '../hop/kinds.js';
import { OPCODE_CLASS, OPCODE_NAME, OpClassCode, Opcode } from '../native/opcodes.js';
import type { ShardStats } from '../store/types.js';

/** Upper bounds of the latency buckets, in seconds (Prometheus `le`); a last bucket holds the rest. */
export const LATENCY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;
const BUCKETS_MS = LATENCY_BUCKETS.map((s) => s * 1000);
const SLOTS = LATENCY_BUCKETS.length + 1;

/** Latency classes (the `class` label). */
export const LATENCY_CLASSES = ['read', 'write', 'admin', 'resp', 'memcache'] as const;
export const LatencyClass = { READ: 0, WRITE: 1, ADMIN: 2, RESP: 3, MEMCACHE: 4 } as const;

const READ_OPCODES: number[] = [Opcode.GET, Opcode.GETMETA, Opcode.EXISTS, Opcode.TTL, Opcode.MGET, Opcode.RESTORE];
/** latency class per native opcode */
const NATIVE_CLASS = new Uint8Array(256).fill(LatencyClass.WRITE);
for (let op = 0; op < 256; op++) {
  const cls = OPCODE_CLASS[op];
  if (cls === OpClassCode.BROADCAST || cls === OpClassCode.CURSOR || cls === OpClassCode.UNKNOWN) NATIVE_CLASS[op] = LatencyClass.ADMIN;
}
for (const op of READ_OPCODES) NATIVE_CLASS[op] = LatencyClass.READ;

/** What a shard answers to MessageKind.METRICS. */
export interface ShardMetricsReport {
  shard: number;
  /** the store is open (its LevelDB is usable) */
  open: boolean;
  stats: ShardStats;
  /** protocol → command name → count */
  commands: Record<string, Record<string, number>>;
  /** class → {buckets: counts per LATENCY_BUCKETS plus +Inf (not cumulative), sum: seconds, count} */
  latency: Record<string, { buckets: number[]; sum: number; count: number }>;
}

const TEXT_NAME = /^[a-z][a-z0-9._-]{0,23}$/;

export class ShardMetrics {
  private readonly native = new Float64Array(256);
  private readonly text = [new Map<string, number>(), new Map<string, number>()];
  private readonly hist = new Float64Array(LATENCY_CLASSES.length * SLOTS);
  private readonly sums = new Float64Array(LATENCY_CLASSES.length);

  /** Count one message and return its latency class. */
  count(kind: number, payload: Uint8Array): number {
    switch (kind) {
      case MessageKind.NATIVE: {
        const op = payload.length > 4 ? payload[4] : 0;
        this.native[op]++;
        return NATIVE_CLASS[op];
      }
      case MessageKind.NATIVE_BROADCAST:
        this.native[payload.length > 4 ? payload[4] : 0]++;
        return LatencyClass.ADMIN;
      case MessageKind.RESP:
        // named by the RESP executor, which reads the name anyway (countResp)
        return LatencyClass.RESP;
      case MessageKind.MEMCACHE:
        this.countText(1, memcacheName(payload));
        return LatencyClass.MEMCACHE;
      default:
        return LatencyClass.ADMIN;
    }
  }

  /** count one RESP command by its table name (the executor's `count` hook); 'other' when unknown */
  countResp(name: string): void {
    this.countText(0, name);
  }

  private countText(protocol: number, name: string): void {
    const m = this.text[protocol];
    const n = m.get(name);
    if (n !== undefined) m.set(name, n + 1);
    else if (m.size < 256)
      m.set(name, 1); // bounded: unknown command names must not grow it forever
    else m.set('other', (m.get('other') ?? 0) + 1);
  }

  /** Record a service time in ms. */
  record(cls: number, ms: number): void {
    let b = 0;
    while (b < BUCKETS_MS.length && ms > BUCKETS_MS[b]) b++;
    this.hist[cls * SLOTS + b]++;
    this.sums[cls] += ms;
  }

  report(shard: number, open: boolean, stats: ShardStats): ShardMetricsReport {
    const native: Record<string, number> = {};
    for (let op = 0; op < 256; op++) {
      if (this.native[op] > 0) native[OPCODE_NAME[op] ?? 'unknown'] = (native[OPCODE_NAME[op] ?? 'unknown'] ?? 0) + this.native[op];
    }
    const latency: ShardMetricsReport['latency'] = {};
    LATENCY_CLASSES.forEach((name, cls) => {
      const buckets = Array.from(this.hist.subarray(cls * SLOTS, (cls + 1) * SLOTS));
      latency[name] = { buckets, sum: this.sums[cls] / 1000, count: buckets.reduce((a, b) => a + b, 0) };
    });
    return {
      shard,
      open,
      stats,
      commands: { native, resp: Object.fromEntries(this.text[0]), memcache: Object.fromEntries(this.text[1]) },
      latency,
    };
  }
}

/** The command word of a memcached command line. */
function memcacheName(p: Uint8Array): string {
  let end = 0;
  while (end < p.length && end < 24 && p[end] !== 0x20 && p[end] !== 0x0d && p[end] !== 0x0a) end++;
  return textName(p, 0, end);
}

function textName(p: Uint8Array, start: number, end: number): string {
  if (end <= start || end - start > 24) return 'other';
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(p[i] | (p[i] >= 0x41 && p[i] <= 0x5a ? 0x20 : 0));
  return TEXT_NAME.test(s) ? s : 'other';
}
