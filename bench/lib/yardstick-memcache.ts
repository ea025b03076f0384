/**
 * A plain one-thread memcached text-protocol server written for bench:compare as a yardstick, not
 * a product (the memcached-port twin of yardstick-resp.ts): one Map of Buffers, every complete
 * command of a read chunk parsed, all their replies sent in one write. No persistence, expiry,
 * eviction, CAS or limits.
 *
 *   node dist/bench/lib/yardstick-memcache.js [port]     prints "ready <port>" once listening
 *
 * Commands: get/gets (one key or many), set/add/replace (all stored the same way; noreply
 * honoured), delete, flush_all, version, quit. Anything else gets ERROR.
 */
import type { Socket } from 'node:net';
import { serveYardstick } from './yardstick-serve.js';

/** the stored value is "<flags> <bytes>\r\n<data>\r\n": a get copies it after "VALUE <key> " */
const store = new Map<string, Buffer>();

const STORED = Buffer.from('STORED\r\n');
const END = Buffer.from('END\r\n');
const DELETED = Buffer.from('DELETED\r\n');
const NOT_FOUND = Buffer.from('NOT_FOUND\r\n');
const OK = Buffer.from('OK\r\n');
const ERROR = Buffer.from('ERROR\r\n');
const VERSION = Buffer.from('VERSION yardstick\r\n');
const CR = 13;
const LF = 10;

/** Runs the command at `pos`; returns where the next begins, or -1 if the command is incomplete. */
function execute(buf: Buffer, pos: number, out: Buffer[], socket: Socket): number {
  const eol = buf.indexOf(LF, pos);
  if (eol < 0) return -1;
  const end = eol > pos && buf[eol - 1] === CR ? eol - 1 : eol;
  const words = buf.toString('latin1', pos, end).split(' ').filter(Boolean);
  const next = eol + 1;
  switch (words[0]) {
    case 'get':
    case 'gets':
      for (let i = 1; i < words.length; i++) {
        const entry = store.get(words[i]);
        if (entry) out.push(Buffer.from(`VALUE ${words[i]} `, 'latin1'), entry);
      }
      out.push(END);
      return next;
    case 'set':
    case 'add':
    case 'replace': {
      const bytes = Number(words[4]);
      if (words.length < 5 || !Number.isInteger(bytes) || bytes < 0) {
        out.push(Buffer.from('CLIENT_ERROR bad command line format\r\n'));
        return next;
      }
      if (next + bytes + 2 > buf.length) return -1;
      const entry = Buffer.allocUnsafe(words[2].length + 1 + words[4].length + 2 + bytes + 2);
      let at = entry.write(`${words[2]} ${words[4]}\r\n`, 0, 'latin1');
      at += buf.copy(entry, at, next, next + bytes + 2);
      store.set(words[1], entry);
      if (words[words.length - 1] !== 'noreply') out.push(STORED);
      return next + bytes + 2;
    }
    case 'delete':
      if (words[words.length - 1] !== 'noreply') out.push(store.delete(words[1] ?? '') ? DELETED : NOT_FOUND);
      else store.delete(words[1] ?? '');
      return next;
    case 'flush_all':
      store.clear();
      if (words[words.length - 1] !== 'noreply') out.push(OK);
      return next;
    case 'version':
      out.push(VERSION);
      return next;
    case 'quit':
      socket.end();
      return buf.length;
    default:
      out.push(ERROR);
      return next;
  }
}

serveYardstick(execute);
