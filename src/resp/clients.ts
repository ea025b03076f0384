/**
 * CLIENT LIST, CLIENT INFO and CLIENT KILL over the acceptor's RESP connections (ServerInfo.clients,
 * src/server/clients.ts), worded as Redis 7.0 prints them.
 */
import { NOT_INTEGER, SYNTAX } from './errors.js';
import { OK, array, bulkString, err, integer } from './encode.js';
import type { ClientView, ConnState, LaterPlan, LocalPlan } from '../front/plan.js';

const INTEGER = /^-?(0|[1-9]\d{0,18})$/;
const NO_CLIENT = err('No such client');
const BAD_ID = err('client-id should be greater than 0');

/** a RESP integer argument as Redis' string2ll reads it; null when it is not one */
function int(arg: Buffer): bigint | null {
  const text = arg.toString('latin1');
  if (!INTEGER.test(text)) return null;
  const n = BigInt(text);
  return n > 9223372036854775807n || n < -9223372036854775808n ? null : n;
}

/** Redis' flag letters, in the order clientInfoString writes them (N when none applies) */
function flags(s: ConnState): string {
  let f = '';
  if (s.pubsub?.subscribed) f += 'P';
  if (s.tx?.queued != null) f += 'x';
  if (s.noEvict) f += 'e';
  return f === '' ? 'N' : f;
}

/**
 * One connection's line, the fields in Redis 7.0's order. Memory fields cairn does not keep per
 * connection (qbuf-free, argv-mem, multi-mem, rbs, rbp, obl, oll) read 0; omem is the bytes queued
 * for the socket; lib-name and lib-ver (CLIENT SETINFO, Redis 7.2) follow resp= as in Redis 7.2.
 */
export function clientLine(c: ClientView, now: number): string {
  const s = c.state;
  const qbuf = c.queryBuffer;
  const omem = c.outputBytes;
  return (
    `id=${s.id} addr=${c.addr} laddr=${c.laddr} fd=${c.fd} name=${s.name ?? ''} ` +
    `age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastActive) / 1000)} flags=${flags(s)} db=0 ` +
    `sub=${s.pubsub?.channels ?? 0} psub=${s.pubsub?.patterns ?? 0} ssub=0 multi=${s.tx?.queued?.length ?? -1} ` +
    `qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${omem} tot-mem=${qbuf + omem} ` +
    `events=r${omem > 0 ? 'w' : ''} cmd=${s.lastCommand ?? 'NULL'} user=default redir=-1 resp=2 ` +
    `lib-name=${s.libName ?? ''} lib-ver=${s.libVer ?? ''}\n`
  );
}

/** CLIENT TYPE names; cairn's RESP connections are `normal`, or `pubsub` while subscribed */
function typeOf(name: string): 'normal' | 'pubsub' | 'none' | null {
  switch (name.toLowerCase()) {
    case 'normal':
    case 'pubsub':
      return name.toLowerCase() as 'normal' | 'pubsub';
    case 'master':
    case 'slave':
    case 'replica':
      return 'none';
    default:
      return null;
  }
}

function isType(c: ClientView, type: 'normal' | 'pubsub' | 'none'): boolean {
  if (type === 'none') return false;
  return (c.state.pubsub?.subscribed === true) === (type === 'pubsub');
}

/** CLIENT INFO */
export function clientInfo(conn: ConnState): Buffer {
  const me = conn.server?.clients?.get(conn.id);
  return me ? bulkString(clientLine(me, Date.now())) : err('CLIENT INFO is not available on this connection');
}

/** CLIENT LIST [TYPE type | ID id ...] */
export function clientList(args: Buffer[], conn: ConnState): Buffer {
  const dir = conn.server?.clients;
  if (!dir) return err('CLIENT LIST is not available on this connection');
  let chosen: ClientView[];
  const opt = args.length > 2 ? args[2].toString('latin1').toLowerCase() : '';
  if (args.length === 2) chosen = dir.list();
  else if (args.length > 3 && opt === 'id') {
    chosen = [];
    for (const a of args.slice(3)) {
      const id = int(a);
      if (id === null) return err('Invalid client ID');
      const c = id > 0n && id <= 0xffffffffn ? dir.get(Number(id)) : undefined;
      if (c) chosen.push(c);
    }
  } else if (args.length === 4 && opt === 'type') {
    const type = typeOf(args[3].toString('latin1'));
    if (type === null) return err(`Unknown client type '${args[3].toString('latin1')}'`);
    chosen = dir.list().filter((c) => isType(c, type));
  } else return SYNTAX;
  const now = Date.now();
  return bulkString(chosen.map((c) => clientLine(c, now)).join(''));
}

/**
 * CLIENT KILL ip:port (`-ERR No such client` or +OK), or CLIENT KILL <filter> <value> ... (how many).
 * Another connection stops being read and closes once its owed replies are written; this one
 * (matched with SKIPME no, or by the old form) closes after this reply.
 */
export function clientKill(args: Buffer[], conn: ConnState): LocalPlan {
  const dir = conn.server?.clients;
  if (!dir) return { kind: 'local', reply: err('CLIENT KILL is not available on this connection') };
  let addr: string | null = null;
  let laddr: string | null = null;
  let id: number | null = null;
  let type: 'normal' | 'pubsub' | 'none' | null = null;
  let skipme = true;
  const old = args.length === 3;
  if (old) {
    addr = args[2].toString('latin1');
    skipme = false;
  } else {
    if ((args.length - 2) % 2 !== 0) return { kind: 'local', reply: SYNTAX };
    for (let i = 2; i < args.length; i += 2) {
      const opt = args[i].toString('latin1').toLowerCase();
      const value = args[i + 1].toString('latin1');
      if (opt === 'id') {
        const n = int(args[i + 1]);
        if (n === null || n < 1n) return { kind: 'local', reply: BAD_ID };
        id = n > 0xffffffffn ? -1 : Number(n);
      } else if (opt === 'type') {
        type = typeOf(value);
        if (type === null) return { kind: 'local', reply: err(`Unknown client type '${value}'`) };
      } else if (opt === 'addr') addr = value;
      else if (opt === 'laddr') laddr = value;
      else if (opt === 'user') {
        // the one user is `default`; every connection is its
        if (value !== 'default') return { kind: 'local', reply: err(`No such user '${value}'`) };
      } else if (opt === 'skipme') {
        const v = value.toLowerCase();
        if (v !== 'yes' && v !== 'no') return { kind: 'local', reply: SYNTAX };
        skipme = v === 'yes';
      } else return { kind: 'local', reply: SYNTAX };
    }
  }
  let killed = 0;
  let self = false;
  for (const c of dir.list()) {
    if (addr !== null && c.addr !== addr) continue;
    if (laddr !== null && c.laddr !== laddr) continue;
    if (type !== null && !isType(c, type)) continue;
    if (id !== null && c.state.id !== id) continue;
    if (c.state.id === conn.id) {
      if (skipme) continue;
      self = true;
    } else dir.kill(c.state.id);
    killed++;
  }
  const reply = old ? (killed === 0 ? NO_CLIENT : OK) : integer(killed);
  return self ? { kind: 'local', reply, close: true } : { kind: 'local', reply };
}

/** CLIENT NO-EVICT on|off */
export function clientNoEvict(args: Buffer[], conn: ConnState): Buffer {
  const v = args[2].toString('latin1').toLowerCase();
  if (v !== 'on' && v !== 'off') return SYNTAX;
  conn.noEvict = v === 'on';
  return OK;
}

/** TIME: seconds and microseconds, as two bulk strings; the wall clock's ms, the monotonic clock's fraction of one */
export function time(): Buffer {
  const ms = Date.now();
  const us = (ms % 1000) * 1000 + Math.floor((performance.now() % 1) * 1000);
  return array([bulkString(String(Math.floor(ms / 1000))), bulkString(String(us))]);
}

/**
 * WAIT numreplicas timeout: the replicas that acknowledged every write recorded before it (the
 * primary's offset of now), waiting for `numreplicas` of them up to `timeout` ms (0: no limit).
 * Inside EXEC it answers at once, as Redis does.
 */
export function wait(args: Buffer[], conn: ConnState): LocalPlan | LaterPlan {
  const want = int(args[1]);
  if (want === null) return { kind: 'local', reply: NOT_INTEGER };
  const timeout = int(args[2]);
  if (timeout === null) return { kind: 'local', reply: err('timeout is not an integer or out of range') };
  if (timeout < 0n) return { kind: 'local', reply: err('timeout is negative') };
  const repl = conn.replication;
  if (!repl) return { kind: 'local', reply: integer(0) };
  const wanted = want > 1000000n ? 1000000 : Number(want);
  // inside EXEC the answer is what is acknowledged now
  const answer = repl.waitAcks(conn.inExec ? 0 : wanted, timeout > 2147483647n ? 0 : Number(timeout));
  if (Buffer.isBuffer(answer)) return { kind: 'local', reply: answer };
  if (typeof answer === 'number') return { kind: 'local', reply: integer(answer) };
  return { kind: 'later', reply: answer.promise.then(integer), cancel: answer.cancel };
}
