/**
 * Hostile-input generators and the runner shared by the CI fuzz test (test/reliability/fuzz.test.ts,
 * a short run) and `npm run bench:fuzz` (bench/fuzz.ts, 1,000,000 frames per protocol).
 *
 * Property-based, with fast-check: each protocol has an arbitrary of *valid-ish* frames (real command
 * names and opcodes, plausible arguments, msgpack bodies of any shape) and a mutation layer that
 * flips, inserts, deletes and truncates bytes, lies in length fields and splices in garbage. Frames
 * go out in batches on many connections, split at random points; the replies are read and dropped.
 * A connection the server closes (as it must after a fatal framing error) is replaced. The server
 * under test must stay up, answer PING on a fresh connection afterwards, and keep its RSS bounded.
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { connect, type Socket } from 'node:net';

export type FuzzProtocol = 'native' | 'resp' | 'memcache' | 'ws';

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

// ---- shared pieces ----

const smallKey = fc.oneof(
  fc.constantFrom('a', 'k', 'key:1', 'user:42', 'x'.repeat(250), 'counter', ''),
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
);
const number = fc.oneof(
  fc.integer({ min: -5, max: 100 }).map(String),
  fc.constantFrom('0', '-1', '9223372036854775807', '-9223372036854775808', '18446744073709551616', '1e10', 'nan', 'inf', '+1', '0x10', '', ' '),
  fc.double().map(String),
);
const word = fc.oneof(smallKey, number, fc.constantFrom('EX', 'PX', 'NX', 'XX', 'GET', 'KEEPTTL', 'MATCH', 'COUNT', 'noreply', '*', '?', '[a-'));
const value = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** Byte-level mutations of an otherwise well-formed frame. */
function mutate(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: base },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, byte]) => {
        if (b.length === 0) return b;
        const c = Buffer.from(b);
        c[at % c.length] = byte;
        return c;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(base, fc.nat()).map(([b, at]) => b.subarray(0, b.length === 0 ? 0 : at % b.length)) },
    {
      weight: 1,
      arbitrary: fc.tuple(base, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([b, at, ins]) => {
        const i = b.length === 0 ? 0 : at % b.length;
        return Buffer.concat([b.subarray(0, i), ins, b.subarray(i)]);
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  );
}

// ---- native ----

const OPCODES = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x30, 0x31, 0x32,
  0x33,
];
const msgValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.array(
    fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
      fc.integer(),
    ),
    { maxLength: 6 },
  ),
  fc.dictionary(
    fc.constantFrom('ttl', 'expiresAt', 'nx', 'xx', 'get', 'flags', 'cas', 'count', 'match', 'version', 'password', 'by'),
    fc.oneof(fc.integer(), fc.boolean(), fc.double(), fc.string({ maxLength: 8 }), fc.constant(null)),
  ),
);

export function nativeFrame(opcode: number, id: number, key: Uint8Array, body: Uint8Array): Buffer {
  const out = Buffer.alloc(13 + key.length + body.length);
  out.writeUInt32BE(9 + key.length + body.length, 0);
  out[4] = opcode;
  out.writeUInt32BE(id >>> 0, 5);
  out.writeUInt32BE(key.length, 9);
  Buffer.from(key).copy(out, 13);
  Buffer.from(body).copy(out, 13 + key.length);
  return out;
}

const nativeValid = fc
  .tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...OPCODES) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    fc.nat(),
    smallKey,
    fc.oneof({ weight: 4, arbitrary: fc.array(msgValue, { maxLength: 5 }) }, { weight: 1, arbitrary: msgValue }),
  )
  .map(([op, id, key, args]) => nativeFrame(op, id, enc(key), pack(args)));

const nativeLies = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 32 }))
  .map(([len, klen, rest]) => {
    const b = Buffer.alloc(13 + rest.length);
    b.writeUInt32BE(len % 4 === 0 ? len % 64 : len, 0); // mostly small lies; sometimes huge
    b[4] = 0x10;
    b.writeUInt32BE(1, 5);
    b.writeUInt32BE(klen, 9);
    Buffer.from(rest).copy(b, 13);
    return b;
  });

export const HELLO = nativeFrame(0x01, 1, Buffer.alloc(0), pack([{ version: 1 }]));

// ---- RESP ----

const RESP_COMMANDS =
  'append auth cairn.info cairn.restore client command config dbsize decr decrby del echo exists expire expireat expiretime flushdb get getdel getex getrange getset hello incr incrby incrbyfloat info keys mget mset msetnx persist pexpire pexpireat pexpiretime ping psetex pttl randomkey scan select set setex setnx setrange strlen ttl type unlink'.split(
    ' ',
  );

function respArray(args: string[]): Buffer {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return enc(s);
}

const respValid = fc
  .tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...RESP_COMMANDS) }, { weight: 1, arbitrary: word }),
    fc.array(fc.oneof(word, value), { maxLength: 6 }),
    fc.boolean(),
  )
  .map(([cmd, args, upper]) => {
    const name = upper ? cmd.toUpperCase() : cmd;
    // keep the keyspace scans cheap: KEYS and SCAN with a pattern only
    if (name.toLowerCase() === 'keys') return respArray([name, 'k*']);
    return respArray([name, ...args]);
  });

const respInline = fc.tuple(fc.constantFrom(...RESP_COMMANDS), fc.array(word, { maxLength: 4 })).map(([c, a]) => enc(`${[c, ...a].join(' ')}\r\n`));
const respLies = fc
  .tuple(fc.constantFrom('*', '$', '*-', '$-', '*99999999', '$99999999', '*1\r\n$'), fc.integer({ min: -3, max: 2 ** 31 }))
  .map(([p, n]) => enc(`${p}${n}\r\n`));

// ---- memcached ----

const MC_STORAGE = ['set', 'add', 'replace', 'append', 'prepend', 'cas'];
const MC_OTHER = ['get', 'gets', 'gat', 'gats', 'delete', 'incr', 'decr', 'touch', 'version', 'verbosity', 'stats', 'flush_all'];
const mcKey = fc.oneof(
  fc.constantFrom('a', 'k', 'key:1', 'x'.repeat(251)),
  fc.string({ minLength: 1, maxLength: 10 }).map((s) => s.replace(/[\s]/g, '_')),
);

const mcStorage = fc
  .tuple(fc.constantFrom(...MC_STORAGE), mcKey, number, number, value, fc.integer({ min: -2, max: 2 }), fc.boolean(), number)
  .map(([cmd, key, flags, exp, v, lie, noreply, cas]) => {
    const len = Buffer.byteLength(v, 'latin1') + (lie === 0 || lie === 1 || lie === -1 ? 0 : lie);
    return enc(`${cmd} ${key} ${flags} ${exp} ${len}${cmd === 'cas' ? ` ${cas}` : ''}${noreply ? ' noreply' : ''}\r\n${v}\r\n`);
  });
const mcOther = fc.tuple(fc.constantFrom(...MC_OTHER), fc.array(fc.oneof(mcKey, number), { maxLength: 4 })).map(([c, a]) => enc(`${[c, ...a].join(' ')}\r\n`));

// ---- the arbitraries per protocol ----

export function frameArbitrary(protocol: FuzzProtocol): fc.Arbitrary<Buffer> {
  switch (protocol) {
    case 'native':
    case 'ws':
      return fc.oneof({ weight: 12, arbitrary: mutate(nativeValid) }, { weight: 1, arbitrary: nativeLies });
    case 'resp':
      return fc.oneof({ weight: 10, arbitrary: mutate(respValid) }, { weight: 2, arbitrary: mutate(respInline) }, { weight: 1, arbitrary: respLies });
    case 'memcache':
      return fc.oneof({ weight: 5, arbitrary: mutate(mcStorage) }, { weight: 5, arbitrary: mutate(mcOther) });
  }
}

/** Deterministic stream of frames (seeded), generated in chunks. */
export function* frames(protocol: FuzzProtocol, seed: number): Generator<Buffer> {
  const arb = frameArbitrary(protocol);
  for (let round = 0; ; round++) {
    for (const f of fc.sample(arb, { numRuns: 1000, seed: seed + round })) yield f;
  }
}

// ---- runner ----

export interface FuzzTarget {
  /** opens a connection that speaks this protocol's bytes (TCP; the WS target wraps each batch) */
  open(): Promise<FuzzConn>;
}

export interface FuzzConn {
  send(bytes: Buffer): void;
  /** resolves when the connection closed (by either side) */
  closed: Promise<void>;
  isClosed(): boolean;
  /** bytes received so far */
  received(): number;
  close(): void;
}

/** Replies that reveal a server-side bug (an exception that escaped a command), with context. */
export const findings: string[] = [];
const BUG_MARKERS = ['internal error', 'shard failed', 'CAIRN_ERR_INTERNAL'];

export function scanForBugs(chunk: Buffer): void {
  if (findings.length >= 20) return;
  for (const m of BUG_MARKERS) {
    const at = chunk.indexOf(m);
    if (at >= 0) findings.push(chunk.subarray(Math.max(0, at - 40), at + 160).toString('latin1'));
  }
}

export function tcpTarget(port: number, prologue: Buffer | null = null): FuzzTarget {
  return {
    open: () =>
      new Promise((resolve, reject) => {
        const socket: Socket = connect(port, '127.0.0.1');
        let got = 0;
        let closed = false;
        const closedP = new Promise<void>((r) =>
          socket.once('close', () => {
            closed = true;
            r();
          }),
        );
        socket.on('data', (d: Buffer) => {
          got += d.length;
          scanForBugs(d);
        });
        socket.on('error', () => undefined);
        socket.once('connect', () => {
          if (prologue) socket.write(prologue);
          resolve({
            send: (b) => {
              if (!closed) socket.write(b);
            },
            closed: closedP,
            isClosed: () => closed,
            received: () => got,
            close: () => socket.destroy(),
          });
        });
        socket.once('error', reject);
      }),
  };
}

export interface FuzzResult {
  frames: number;
  bytes: number;
  connections: number;
  /** connections the server closed (fatal framing errors, as the protocols require) */
  closedByServer: number;
  ms: number;
}

/**
 * Sends `total` frames over `parallel` connections in batches of `batch`, each batch split into
 * random chunks; waits for each batch to be answered (or the connection closed) before the next, so
 * the server never sees more than `batch` frames in flight per connection.
 */
export async function runFuzz(
  protocol: FuzzProtocol,
  target: FuzzTarget,
  total: number,
  options: { seed?: number; parallel?: number; batch?: number; onProgress?: (sent: number) => void } = {},
): Promise<FuzzResult> {
  const seed = options.seed ?? 42;
  const parallel = options.parallel ?? 8;
  const batch = options.batch ?? 200;
  const gen = frames(protocol, seed);
  let sent = 0;
  let bytes = 0;
  let connections = 0;
  let closedByServer = 0;
  const started = Date.now();
  let rnd = seed >>> 0 || 1;
  const random = (): number => {
    rnd ^= rnd << 13;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    return (rnd >>> 0) / 2 ** 32;
  };

  const lane = async (): Promise<void> => {
    let conn: FuzzConn | null = null;
    while (sent < total) {
      if (!conn || conn.isClosed()) {
        if (conn) closedByServer++;
        conn = await target.open();
        connections++;
      }
      const parts: Buffer[] = [];
      for (let i = 0; i < batch && sent < total; i++) {
        parts.push(gen.next().value as Buffer);
        sent++;
      }
      const payload = Buffer.concat(parts);
      bytes += payload.length;
      // WebSocket: one frame per message, as clients send them (the mutations still break some)
      if (protocol === 'ws') for (const p of parts) conn.send(p);
      // TCP: split at random points: the framers must reassemble anything
      let at = protocol === 'ws' ? payload.length : 0;
      while (at < payload.length) {
        const n = Math.max(1, Math.floor(random() * Math.min(payload.length - at, 4096)) + 1);
        conn.send(payload.subarray(at, at + n));
        at += n;
      }
      // wait until replies stop coming (or the server closed the connection)
      let last = -1;
      for (let quiet = 0; quiet < 3 && !conn.isClosed(); ) {
        await new Promise((r) => setTimeout(r, 3));
        const now = conn.received();
        if (now === last) quiet++;
        else quiet = 0;
        last = now;
      }
      // now and then, start over on a fresh connection mid-stream
      if (random() < 0.05) {
        conn.close();
        conn = null;
      }
      options.onProgress?.(sent);
    }
    conn?.close();
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return { frames: sent, bytes, connections, closedByServer, ms: Date.now() - started };
}
