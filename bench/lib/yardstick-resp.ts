/**
 * A plain one-thread RESP server written for bench:compare as a yardstick, not a product: what
 * Node itself gives on this machine when nothing stands between the socket and a Map. Keys are
 * latin1 strings in one Map of Buffers; every complete command of a read chunk is parsed and all
 * their replies go out in one write. No persistence, no expiry, no eviction, no threads, no limits
 * beyond what the benchmark sends.
 *
 *   node dist/bench/lib/yardstick-resp.js [port]     prints "ready <port>" once listening
 *
 * Commands: GET, SET key value (options ignored), DEL, EXISTS, DBSIZE, FLUSHALL/FLUSHDB, PING,
 * ECHO, CONFIG GET name (an empty value, which is what redis-benchmark reads at start), COMMAND,
 * QUIT. Anything else gets an error reply.
 */
import type { Socket } from 'node:net';
import { serveYardstick } from './yardstick-serve.js';

const store = new Map<string, Buffer>();

const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');
const EMPTY_ARRAY = Buffer.from('*0\r\n');
const CR = 13;
const LF = 10;

const int = (n: number): Buffer => Buffer.from(`:${n}\r\n`);
const error = (msg: string): Buffer => Buffer.from(`-ERR ${msg}\r\n`);
const bulk = (out: Buffer[], value: Buffer): void => {
  out.push(Buffer.from(`$${value.length}\r\n`), value, CRLF);
};

/** Reads a decimal after a type byte at `pos` up to CRLF; returns [value, position after LF] or null if incomplete. */
function header(buf: Buffer, pos: number): [number, number] | null {
  const eol = buf.indexOf(LF, pos);
  if (eol < 0) return null;
  let n = 0;
  for (let i = pos + 1; i < eol - 1; i++) n = n * 10 + (buf[i] - 0x30);
  return [n, eol + 1];
}

/** One command starting at `pos`: its arguments (views into buf) and where the next begins; null if incomplete. */
function parse(buf: Buffer, pos: number): { args: Buffer[]; next: number } | null {
  if (buf[pos] !== 0x2a /* '*' */) {
    // inline command (redis-cli / telnet): one line split on spaces
    const eol = buf.indexOf(LF, pos);
    if (eol < 0) return null;
    const end = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol;
    const words = buf.toString('latin1', pos, end).split(' ').filter(Boolean);
    return { args: words.map((w) => Buffer.from(w, 'latin1')), next: eol + 1 };
  }
  const head = header(buf, pos);
  if (!head) return null;
  let [count, at] = head;
  const args: Buffer[] = [];
  while (count-- > 0) {
    if (at >= buf.length) return null;
    const len = header(buf, at);
    if (!len) return null;
    const [n, from] = len;
    if (from + n + 2 > buf.length) return null;
    args.push(buf.subarray(from, from + n));
    at = from + n + 2;
  }
  return { args, next: at };
}

function execute(args: Buffer[], out: Buffer[], socket: Socket): void {
  if (args.length === 0) return;
  const name = args[0].toString('latin1').toLowerCase();
  switch (name) {
    case 'get': {
      const value = store.get(args[1]?.toString('latin1') ?? '');
      if (value) bulk(out, value);
      else out.push(NIL);
      return;
    }
    case 'set':
      if (args.length < 3) return void out.push(error("wrong number of arguments for 'set' command"));
      // a copy: the read chunk the argument points into is not ours to keep
      store.set(args[1].toString('latin1'), Buffer.from(args[2]));
      return void out.push(OK);
    case 'del':
    case 'unlink': {
      let n = 0;
      for (let i = 1; i < args.length; i++) if (store.delete(args[i].toString('latin1'))) n++;
      return void out.push(int(n));
    }
    case 'exists': {
      let n = 0;
      for (let i = 1; i < args.length; i++) if (store.has(args[i].toString('latin1'))) n++;
      return void out.push(int(n));
    }
    case 'dbsize':
      return void out.push(int(store.size));
    case 'flushall':
    case 'flushdb':
      store.clear();
      return void out.push(OK);
    case 'ping':
      if (args.length > 1) return void bulk(out, Buffer.from(args[1]));
      return void out.push(PONG);
    case 'echo':
      return void bulk(out, Buffer.from(args[1] ?? Buffer.alloc(0)));
    case 'config':
      if (args[1]?.toString('latin1').toLowerCase() === 'get' && args[2]) {
        out.push(Buffer.from('*2\r\n'));
        bulk(out, Buffer.from(args[2]));
        return void bulk(out, Buffer.alloc(0));
      }
      return void out.push(OK);
    case 'command':
      return void out.push(EMPTY_ARRAY);
    case 'quit':
      out.push(OK);
      socket.end();
      return;
    default:
      return void out.push(error(`unknown command '${name}'`));
  }
}

serveYardstick((buf, pos, out, socket) => {
  const cmd = parse(buf, pos);
  if (!cmd) return -1;
  execute(cmd.args, out, socket);
  return cmd.next;
});
