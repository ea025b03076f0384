/**
 * The differential harness: the same random command sequences (fast-check) sent to redis-server and
 * to a real cairn, each reply compared byte for byte. cairn runs with 2 shards, the smallest hot
 * budget it accepts and `--durability spill`, so that keys leave memory for LevelDB and come back in
 * the middle of a sequence; the caller checks with `tierCounters` that spills and restores happened.
 *
 * Each sequence starts with FLUSHALL on both. Commands go as raw RESP over plain sockets, one at a
 * time or a few pipelined (both servers get them before any reply is awaited); a reply is the exact
 * bytes of one RESP2 reply (resp-reply.ts). The only replies allowed to differ are a TTL reading
 * after a relative expiry (see `sameReply`) and INCRBYFLOAT past the digits docs/commands.md says
 * agree (`incrByFloatPrecision`). On a difference the property fails with the commands so far and
 * both replies; fast-check shrinks the sequence and prints its seed and path (replay with
 * CAIRN_DIFF_SEED and CAIRN_DIFF_PATH). CAIRN_DIFF_RUNS overrides the number of runs, and
 * CAIRN_DIFF_ARGS adds cairn flags (e.g. `--durability sync --eviction lfu`) to explore other modes.
 *
 * The generators are in diff-commands.ts (their header says how a data type adds its commands).
 */
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { startRedisServer, type ServiceHandle } from '../../../bench/lib/procs.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { Command, type CommandGen, commandOf, KEYS } from './diff-commands.js';
import { encodeCommand, replyLength } from './resp-reply.js';

/** One connection: a command out, the bytes of one reply back. */
export class ReplyConn {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<ReplyConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true });
      s.once('connect', () => resolve(new ReplyConn(s)));
      s.once('error', reject);
    });
  }

  send(argv: readonly string[]): void {
    this.socket.write(encodeCommand(argv));
  }

  /** the next reply's bytes; fails if none is complete within timeoutMs or the server closes */
  async reply(timeoutMs = 20_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = replyLength(this.buf);
      if (n >= 0) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      const left = deadline - Date.now();
      if (this.closed) throw new Error(`the server closed the connection (buffered: ${show(this.buf)})`);
      if (left <= 0) throw new Error(`no complete reply within ${timeoutMs} ms (buffered: ${show(this.buf)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  async call(argv: readonly string[]): Promise<Buffer> {
    this.send(argv);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** a reply for a report: JSON-quoted, long ones cut around `at` (the first differing byte) */
export function show(b: Buffer, at = 0): string {
  const s = b.toString('latin1');
  if (s.length <= 120) return JSON.stringify(s);
  const from = Math.max(0, at - 40);
  return `<${s.length} bytes, from ${from}: ${JSON.stringify(s.slice(from, from + 100))}...>`;
}

export interface DiffPair {
  redis: ServiceHandle;
  cairn: TestServer;
  redisConn: ReplyConn;
  cairnConn: ReplyConn;
  stop(): Promise<void>;
}

/** redis-server (no persistence) and cairn (2 shards, 2 MB hot budget, spill mode), connected */
export async function startPair(cairnArgs: string[] = []): Promise<DiffPair> {
  const redis = await startRedisServer();
  let cairn: TestServer;
  try {
    const extra = process.env.CAIRN_DIFF_ARGS?.split(' ').filter((a) => a !== '') ?? [];
    cairn = await startServer({ args: ['--max-memory', '2mb', '--durability', 'spill', ...cairnArgs, ...extra] });
  } catch (err) {
    await redis.stop();
    throw err;
  }
  const redisConn = await ReplyConn.open(redis.port);
  const cairnConn = await ReplyConn.open(cairn.respPort);
  return {
    redis,
    cairn,
    redisConn,
    cairnConn,
    async stop() {
      redisConn.close();
      cairnConn.close();
      await Promise.all([redis.stop(), cairn.stop()]);
    },
  };
}

/** cairn's spills and restores so far (CAIRN.INFO totals over the shards) */
export async function tierCounters(pair: DiffPair): Promise<{ spills: number; restores: number; evictions: number }> {
  const text = (await pair.cairnConn.call(['CAIRN.INFO'])).toString('latin1');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:(\\d+)\\r$`, 'm').exec(text);
    if (!m) throw new Error(`CAIRN.INFO has no ${name}: ${text}`);
    return Number(m[1]);
  };
  return { spills: field('spills'), restores: field('restores'), evictions: field('evictions') };
}

/** commands whose integer reply reads the clock: seconds, and milliseconds */
const TTL_SECONDS = new Set(['TTL', 'EXPIRETIME']);
const TTL_MILLIS = new Set(['PTTL', 'PEXPIRETIME']);

/**
 * Whether cairn's reply is Redis'. Byte for byte, except a TTL reading: after a relative expiry
 * (EX 100, EXPIRE k 100, ...) the two servers' deadlines differ by the moments each ran that
 * command, and the reading by the moments each ran the reading. So TTL and EXPIRETIME (seconds) may
 * differ by 1, PTTL and PEXPIRETIME (ms) by `slackMs`: twice the longest time any command of the
 * sequence took from its send to the later reply (both servers ran it inside that window), plus 2
 * for the two servers' millisecond rounding. -1 and -2 must match exactly.
 */
export function sameReply(name: string, redis: Buffer, cairn: Buffer, slackMs: number): boolean {
  if (redis.equals(cairn)) return true;
  const seconds = TTL_SECONDS.has(name);
  if (!seconds && !TTL_MILLIS.has(name)) return false;
  const r = /^:(\d+)\r\n$/.exec(redis.toString('latin1'));
  const c = /^:(\d+)\r\n$/.exec(cairn.toString('latin1'));
  if (!r || !c) return false;
  return Math.abs(Number(r[1]) - Number(c[1])) <= (seconds ? 1 : slackMs);
}

/** the digits of a decimal number's text, leading and trailing zeros dropped */
function significantDigits(text: string): number {
  return text.replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length;
}

/**
 * INCRBYFLOAT beyond the digits where the two agree (docs/commands.md, Known differences:
 * "INCRBYFLOAT"): Redis rounds to its long double, cairn keeps the exact decimal sum. Both replies
 * are numbers equal as doubles, and one has more than 17 significant digits.
 */
export function incrByFloatPrecision(name: string, redis: Buffer, cairn: Buffer): string | null {
  if (name !== 'INCRBYFLOAT') return null;
  const bulk = /^\$\d+\r\n(-?\d+(?:\.\d+)?)\r\n$/;
  const r = bulk.exec(redis.toString('latin1'));
  const c = bulk.exec(cairn.toString('latin1'));
  if (!r || !c || Number(r[1]) !== Number(c[1])) return null;
  return significantDigits(r[1]) > 17 || significantDigits(c[1]) > 17 ? r[1] : null;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

async function flushBoth(pair: DiffPair): Promise<void> {
  const [r, c] = await Promise.all([pair.redisConn.call(['FLUSHALL']), pair.cairnConn.call(['FLUSHALL'])]);
  if (r.toString() !== '+OK\r\n' || c.toString() !== '+OK\r\n') throw new Error(`FLUSHALL: redis ${show(r)}, cairn ${show(c)}`);
}

/**
 * A reply as compared, for the commands whose reply Redis leaves partly open (an order, a random
 * pick): e.g. an array's elements sorted, or a random pick as its shape. The generators of a type
 * give it (diff-set.ts); argv is the command as sent.
 */
export type Normalise = (argv: readonly string[], reply: Buffer) => Buffer;

/**
 * Runs one sequence on both servers; throws with the sequence and both replies at the first
 * difference. A pipelined command goes out with the ones before it, before their replies are read.
 */
export async function runSequence(pair: DiffPair, commands: Command[], normalise?: Normalise): Promise<void> {
  await flushBoth(pair);
  // Redis keeps a key written with a time already past (SET ... EXAT 1) until an access or its
  // expiry cycle reclaims it, and DBSIZE counts it meanwhile; cairn never stores it (docs/commands.md,
  // Known differences: "DBSIZE and keys written already expired"). An EXISTS of every key first
  // reclaims them in Redis, so the count no longer depends on its expiry cycle's timing. Every short
  // argument counts as a key too: a fuzzed row may write a key outside the alphabet (SET 1 a PXAT 3).
  const named = new Set(KEYS);
  for (const c of commands) for (const a of c.argv.slice(1)) if (a.length <= 64) named.add(a);
  const exists = ['EXISTS', ...named];
  const sent = commands.flatMap((c) => (c.argv[0].toUpperCase() === 'DBSIZE' ? [new Command(exists, c.pipelined), c] : [c]));
  let longestMs = 0;
  const pendingFixes: string[] = [];
  for (let from = 0; from < sent.length; ) {
    let to = from + 1;
    // an INCRBYFLOAT ends its pipeline: after the documented difference below, cairn's key must take
    // Redis' value before the next command reads it
    while (to < sent.length && sent[to].pipelined && sent[to - 1].argv[0].toUpperCase() !== 'INCRBYFLOAT') to++;
    const started = performance.now();
    for (let i = from; i < to; i++) {
      pair.redisConn.send(sent[i].argv);
      pair.cairnConn.send(sent[i].argv);
    }
    for (let i = from; i < to; i++) {
      const cmd = sent[i];
      let [r, c] = await Promise.all([pair.redisConn.reply(), pair.cairnConn.reply()]);
      if (normalise !== undefined) [r, c] = [normalise(cmd.argv, r), normalise(cmd.argv, c)];
      longestMs = Math.max(longestMs, performance.now() - started);
      const name = cmd.argv[0].toUpperCase();
      const redisValue = incrByFloatPrecision(name, r, c);
      if (redisValue !== null) {
        // a documented difference: cairn's key takes Redis' value, so the sequence goes on comparing
        pendingFixes.push(cmd.argv[1], redisValue);
      } else if (!sameReply(name, r, c, Math.ceil(2 * longestMs) + 2)) {
        for (let j = i + 1; j < to; j++) await Promise.all([pair.redisConn.reply(), pair.cairnConn.reply()]);
        const at = firstDifference(r, c);
        throw new Error(
          [
            `replies differ at command ${i + 1} (first differing byte ${at}):`,
            ...sent.slice(0, i + 1).map((d, n) => `  ${n + 1}. ${d}`),
            `     redis: ${show(r, at)}`,
            `     cairn: ${show(c, at)}`,
          ].join('\n'),
        );
      }
    }
    for (let j = 0; j < pendingFixes.length; j += 2) {
      const fixed = await pair.cairnConn.call(['SET', pendingFixes[j], pendingFixes[j + 1], 'KEEPTTL']);
      if (fixed.toString() !== '+OK\r\n') throw new Error(`SET KEEPTTL after INCRBYFLOAT: ${show(fixed)}`);
    }
    pendingFixes.length = 0;
    from = to;
  }
}

export interface DiffOptions {
  commands: CommandGen[];
  /** runs (sequences); CAIRN_DIFF_RUNS overrides */
  numRuns: number;
  /** commands per sequence, at most */
  maxCommands: number;
  /** fast-check seed; CAIRN_DIFF_SEED overrides */
  seed: number;
  /** how replies left open by Redis are compared (see Normalise); byte for byte without it */
  normalise?: Normalise;
}

/** Sends `numRuns` random sequences to both servers; fails (shrunk, with seed and path) at a difference. */
export async function checkDifferential(pair: DiffPair, options: DiffOptions): Promise<void> {
  const sequence = fc.array(commandOf(options.commands), { minLength: 1, maxLength: options.maxCommands, size: 'max' });
  const path = process.env.CAIRN_DIFF_PATH;
  await fc.assert(
    fc.asyncProperty(sequence, (cmds) => runSequence(pair, cmds, options.normalise)),
    {
      numRuns: Number(process.env.CAIRN_DIFF_RUNS ?? 0) || options.numRuns,
      seed: Number(process.env.CAIRN_DIFF_SEED ?? options.seed),
      ...(path ? { path } : {}),
    },
  );
}

export { Command };
