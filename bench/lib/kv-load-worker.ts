/**
 * One worker thread of the key-value load generator (see kv-load.ts): drives its share of the
 * connections with pipelined GET / SET / mixed requests over RESP or the memcached text protocol,
 * for a fixed time (or, in preload mode, until every key of its range has been written once), and
 * reports counts and an HDR latency histogram (microseconds, compressed base64).
 *
 * Requests are written straight into one reused buffer per connection and replies are parsed as
 * bytes (no string per line), so the generator costs less than the servers it drives.
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';

export type KvProtocol = 'resp' | 'memcache';

export interface KvWorkerJob {
  host: string;
  port: number;
  protocol: KvProtocol;
  connections: number;
  /** share of GETs in [0, 1]: 1 = all GET, 0 = all SET, 0.9 = the 90:10 mix */
  getRatio: number;
  pipeline: number;
  valueSize: number;
  keyspace: number;
  durationMs: number;
  seed: number;
  /** preload mode: SET every key in [from, to) once (sequentially, pipelined), then stop */
  preload?: { from: number; to: number };
}

export interface KvWorkerReport {
  requests: number;
  gets: number;
  sets: number;
  hits: number;
  misses: number;
  errors: number;
  elapsedMs: number;
  histogram: string;
  firstError?: string;
}

const KEY_PREFIX = 'key:';
/** redis-benchmark's `key:__rand_int__` is "key:" and 12 digits; every generator here uses the same names */
const KEY_DIGITS = 12;
const KEY_LEN = KEY_PREFIX.length + KEY_DIGITS;

const CR = 13;
const LF = 10;

function writeKey(buf: Buffer, off: number, n: number): number {
  buf[off] = 0x6b; // k
  buf[off + 1] = 0x65; // e
  buf[off + 2] = 0x79; // y
  buf[off + 3] = 0x3a; // :
  for (let i = off + KEY_LEN - 1; i >= off + 4; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return off + KEY_LEN;
}

/** Encodes requests into a reused buffer. */
class Encoder {
  readonly buf: Buffer;
  private readonly value: Buffer;
  private readonly getHead: Buffer;
  private readonly setHead: Buffer;
  private readonly setMid: Buffer;
  private readonly getTail: Buffer;
  private readonly crlf = Buffer.from('\r\n', 'latin1');

  constructor(protocol: KvProtocol, valueSize: number, maxRequests: number) {
    this.value = Buffer.alloc(valueSize, 0x78);
    if (protocol === 'resp') {
      this.getHead = Buffer.from(`*2\r\n$3\r\nGET\r\n$${KEY_LEN}\r\n`, 'latin1');
      this.getTail = this.crlf;
      this.setHead = Buffer.from(`*3\r\n$3\r\nSET\r\n$${KEY_LEN}\r\n`, 'latin1');
      this.setMid = Buffer.from(`\r\n$${valueSize}\r\n`, 'latin1');
    } else {
      this.getHead = Buffer.from('get ', 'latin1');
      this.getTail = this.crlf;
      this.setHead = Buffer.from('set ', 'latin1');
      this.setMid = Buffer.from(` 0 0 ${valueSize}\r\n`, 'latin1');
    }
    const perRequest = this.setHead.length + KEY_LEN + this.setMid.length + valueSize + 2;
    this.buf = Buffer.allocUnsafe(perRequest * maxRequests);
  }

  get(off: number, key: number): number {
    off += this.getHead.copy(this.buf, off);
    off = writeKey(this.buf, off, key);
    return off + this.getTail.copy(this.buf, off);
  }

  set(off: number, key: number): number {
    off += this.setHead.copy(this.buf, off);
    off = writeKey(this.buf, off, key);
    off += this.setMid.copy(this.buf, off);
    off += this.value.copy(this.buf, off);
    return off + this.crlf.copy(this.buf, off);
  }
}

/**
 * Streaming reply parser: feed() returns how many whole replies completed and counts hits, misses
 * and error replies. Keeps at most one partial line between chunks; value bytes are skipped, not copied.
 */
class Replies {
  private rest: Buffer | null = null;
  /** value bytes (plus CRLF) still to skip */
  private skip = 0;
  /** memcached: a VALUE block has been seen for the current get (its END completes it) */
  hits = 0;
  misses = 0;
  errors = 0;
  firstError: string | undefined;

  constructor(private readonly protocol: KvProtocol) {}

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
        if (this.protocol === 'resp') done++; // a bulk reply ends with its data
      }
      if (pos >= len) break;
      const eol = buf.indexOf(LF, pos);
      if (eol < 0) break;
      const lineEnd = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol;
      const first = buf[pos];
      if (this.protocol === 'resp') {
        if (first === 0x24 /* $ */) {
          if (buf[pos + 1] === 0x2d /* $-1 */) {
            this.misses++;
            done++;
          } else {
            let bytes = 0;
            for (let i = pos + 1; i < lineEnd; i++) bytes = bytes * 10 + (buf[i] - 0x30);
            this.hits++;
            this.skip = bytes + 2;
          }
        } else if (first === 0x2b /* + */ || first === 0x3a /* : */) {
          done++;
        } else {
          this.errors++;
          this.firstError ??= buf.toString('latin1', pos, lineEnd);
          done++;
        }
      } else if (first === 0x56 /* VALUE key flags bytes [cas] */ && buf[pos + 1] === 0x41) {
        let i = pos;
        let spaces = 0;
        while (i < eol && spaces < 3) if (buf[i++] === 0x20) spaces++;
        let bytes = 0;
        while (i < eol && buf[i] >= 0x30 && buf[i] <= 0x39) bytes = bytes * 10 + (buf[i++] - 0x30);
        this.skip = bytes + 2;
        this.hits++;
        this.pendingValue = true;
        pos = eol + 1;
        continue;
      } else if (first === 0x45 /* END */ && lineEnd - pos === 3 && buf[pos + 1] === 0x4e) {
        if (!this.pendingValue) this.misses++;
        this.pendingValue = false;
        done++;
      } else if (first === 0x53 /* STORED */ && lineEnd - pos === 6 && buf[pos + 1] === 0x54) {
        done++;
      } else {
        // ERROR / CLIENT_ERROR / SERVER_ERROR / NOT_STORED: one reply, counted as an error
        this.errors++;
        this.firstError ??= buf.toString('latin1', pos, lineEnd);
        this.pendingValue = false;
        done++;
      }
      pos = eol + 1;
    }
    if (pos < len) this.rest = Buffer.from(buf.subarray(pos));
    return done;
  }

  private pendingValue = false;
}

const job = workerData as KvWorkerJob;
const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

let seed = job.seed >>> 0 || 1;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

let requests = 0;
let gets = 0;
let sets = 0;
let socketErrors = 0;
let socketError: string | undefined;
const parsers: Replies[] = [];
const started = performance.now();
const deadline = started + job.durationMs;
let lastDone = started;
let preloadNext = job.preload?.from ?? 0;

function drive(): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: job.host, port: job.port, noDelay: true });
    const parser = new Replies(job.protocol);
    parsers.push(parser);
    const enc = new Encoder(job.protocol, job.valueSize, job.pipeline);
    let outstanding = 0;
    let inBatch = 0;
    let sentAt = 0;
    let closed = false;
    const send = (): void => {
      let off = 0;
      let n = 0;
      if (job.preload) {
        const to = job.preload.to;
        while (n < job.pipeline && preloadNext < to) {
          off = enc.set(off, preloadNext++);
          n++;
        }
        sets += n;
      } else if (performance.now() < deadline) {
        for (; n < job.pipeline; n++) {
          const key = Math.floor(rand() * job.keyspace);
          if (job.getRatio >= 1 || (job.getRatio > 0 && rand() < job.getRatio)) {
            off = enc.get(off, key);
            gets++;
          } else {
            off = enc.set(off, key);
            sets++;
          }
        }
      }
      if (n === 0) {
        closed = true;
        socket.end();
        return;
      }
      outstanding = n;
      inBatch = n;
      sentAt = performance.now();
      socket.write(enc.buf.subarray(0, off));
    };
    socket.once('connect', send);
    socket.on('data', (chunk: Buffer) => {
      outstanding -= parser.feed(chunk);
      if (outstanding <= 0 && !closed) {
        const now = performance.now();
        histogram.recordValueWithCount(Math.max(1, Math.round((now - sentAt) * 1000)), inBatch);
        requests += inBatch;
        lastDone = now;
        send();
      }
    });
    socket.on('error', (err) => {
      socketErrors++;
      socketError ??= `socket: ${err.message}`;
    });
    socket.on('close', () => resolve());
  });
}

await Promise.all(Array.from({ length: job.connections }, () => drive()));
const report: KvWorkerReport = {
  requests,
  gets,
  sets,
  hits: parsers.reduce((a, p) => a + p.hits, 0),
  misses: parsers.reduce((a, p) => a + p.misses, 0),
  errors: socketErrors + parsers.reduce((a, p) => a + p.errors, 0),
  elapsedMs: lastDone - started,
  histogram: encodeIntoCompressedBase64(histogram),
  firstError: socketError ?? parsers.find((p) => p.firstError)?.firstError,
};
parentPort!.postMessage(report);
