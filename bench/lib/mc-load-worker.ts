/**
 * One worker thread of the memcached load generator (see mc-load.ts): drives its share of the
 * connections with pipelined text-protocol `set` or `get` for a fixed time and reports the request
 * count, errors and a latency histogram (microseconds, HdrHistogram, base64).
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';

export interface WorkerJob {
  host: string;
  port: number;
  connections: number;
  op: 'set' | 'get';
  pipeline: number;
  valueSize: number;
  keyspace: number;
  durationMs: number;
  /** a per-worker seed so workers pick different keys */
  seed: number;
}

export interface WorkerReport {
  requests: number;
  errors: number;
  hits: number;
  misses: number;
  elapsedMs: number;
  histogram: string;
  firstError?: string;
}

const job = workerData as WorkerJob;
const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

let seed = job.seed >>> 0 || 1;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

const valueText = 'x'.repeat(job.valueSize);

function key(): string {
  return `key:${String(Math.floor(rand() * job.keyspace)).padStart(12, '0')}`;
}

/** one pipelined batch of requests, as one write */
function batch(): Buffer {
  let text = '';
  for (let i = 0; i < job.pipeline; i++) {
    text += job.op === 'set' ? `set ${key()} 0 0 ${job.valueSize}\r\n${valueText}\r\n` : `get ${key()}\r\n`;
  }
  return Buffer.from(text, 'latin1');
}

let requests = 0;
let errors = 0;
let hits = 0;
let misses = 0;
let firstError: string | undefined;
const started = performance.now();
const deadline = started + job.durationMs;

const CR = 13;
const LF = 10;

/**
 * Streaming reply parser for one connection: feed() returns how many whole replies completed.
 * Works on bytes (no string per line) so the generator stays cheaper than the servers it drives.
 */
class Replies {
  private rest: Buffer | null = null;
  /** bytes of a VALUE's data block (plus CRLF) still to skip */
  private skip = 0;
  hits = 0;

  feed(chunk: Buffer): number {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let done = 0;
    let pos = 0;
    const len = buf.length;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - pos);
        pos += n;
        this.skip -= n;
        if (this.skip > 0) break;
      }
      const eol = buf.indexOf(LF, pos);
      if (eol < 0) break;
      const first = buf[pos];
      if (first === 0x56 /* V: VALUE key flags bytes [cas] */ && buf[pos + 1] === 0x41) {
        // the byte count is the 4th word
        let i = pos;
        let spaces = 0;
        while (i < eol && spaces < 3) if (buf[i++] === 0x20) spaces++;
        let bytes = 0;
        while (i < eol && buf[i] >= 0x30 && buf[i] <= 0x39) bytes = bytes * 10 + (buf[i++] - 0x30);
        this.skip = bytes + 2;
        this.hits++;
        pos = eol + 1;
        continue;
      }
      const lineEnd = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol;
      if (first === 0x45 /* E */ && lineEnd - pos === 3 && buf[pos + 1] === 0x4e && buf[pos + 2] === 0x44) {
        done++; // END
      } else if (first === 0x53 /* S */ && lineEnd - pos === 6 && buf[pos + 1] === 0x54 && buf[pos + 2] === 0x4f) {
        done++; // STORED
      } else {
        // ERROR / CLIENT_ERROR / SERVER_ERROR / NOT_STORED: one reply, counted as an error
        errors++;
        firstError ??= buf.toString('latin1', pos, lineEnd);
        done++;
      }
      pos = eol + 1;
    }
    if (pos < len) this.rest = buf.subarray(pos);
    return done;
  }
}

function drive(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: job.host, port: job.port, noDelay: true });
    const parser = new Replies();
    let outstanding = 0;
    let sentAt = 0;
    let hitsBefore = 0;
    const send = (): void => {
      if (performance.now() >= deadline) {
        socket.end();
        return;
      }
      outstanding = job.pipeline;
      hitsBefore = parser.hits;
      sentAt = performance.now();
      socket.write(batch());
    };
    socket.once('connect', send);
    socket.on('data', (chunk: Buffer) => {
      outstanding -= parser.feed(chunk);
      if (outstanding <= 0) {
        const us = Math.max(1, Math.round((performance.now() - sentAt) * 1000));
        histogram.recordValueWithCount(us, job.pipeline);
        requests += job.pipeline;
        if (job.op === 'get') {
          hits += parser.hits - hitsBefore;
          misses += job.pipeline - (parser.hits - hitsBefore);
        }
        send();
      }
    });
    socket.on('error', (err) => {
      errors++;
      firstError ??= `socket: ${err.message}`;
      reject(err);
    });
    socket.on('close', () => resolve());
  });
}

const results = await Promise.allSettled(Array.from({ length: job.connections }, () => drive()));
const failed = results.find((r) => r.status === 'rejected');
const report: WorkerReport = {
  requests,
  errors,
  hits,
  misses,
  elapsedMs: performance.now() - started,
  histogram: encodeIntoCompressedBase64(histogram),
  firstError: firstError ?? (failed && failed.status === 'rejected' ? String(failed.reason) : undefined),
};
parentPort!.postMessage(report);
