import { describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { RespFramer, type RespCommand } from '../../src/resp/framer.js';
import { createConnState, type ConnState } from '../../src/front/plan.js';
import { planResp, rewriteScanCursor, ScanCursorTable } from '../../src/resp/planner.js';
import { resp } from './resp-store-double.js';

function frame(text: string): RespCommand {
  const f = new RespFramer();
  f.push(Buffer.from(text, 'latin1'));
  const out = f.next();
  if (out?.type !== 'command') throw new Error('no command');
  return out;
}

const plan = (conn: ConnState, ...parts: string[]) => planResp(frame(resp(...parts)), conn);
const localText = (conn: ConnState, ...parts: string[]): string => {
  const p = plan(conn, ...parts);
  if (p.kind !== 'local') throw new Error(`expected a local plan, got ${p.kind}`);
  return p.reply.toString('latin1');
};

/** two keys that live on different shards of 4 */
function keysOnDifferentShards(): [string, string] {
  for (let i = 1; ; i++) {
    if (shardOf(Buffer.from(`k${i}`), 4) !== shardOf(Buffer.from('k0'), 4)) return ['k0', `k${i}`];
  }
}

describe('planResp: routing', () => {
  const conn = createConnState(7, 4);

  it('sends a blocking command as one that may wait, XREAD and XREADGROUP only with BLOCK', () => {
    const conn = createConnState(2, 1);
    const blocking = (...parts: string[]) => (plan(conn, ...parts) as { blocking?: boolean }).blocking === true;
    expect(blocking('BLPOP', 'q', '1')).toBe(true);
    expect(blocking('XREAD', 'BLOCK', '100', 'STREAMS', 's', '$')).toBe(true);
    expect(blocking('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>')).toBe(true);
    // without BLOCK they answer at once: nothing behind them on the connection need wait
    expect(blocking('XREAD', 'COUNT', '1', 'STREAMS', 's', '0')).toBe(false);
    expect(blocking('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'block', '>')).toBe(false);
  });

  it('sends single-key commands to the owning shard with the raw bytes', () => {
    const text = resp('GET', 'user:1');
    const p = planResp(frame(text), conn);
    expect(p).toMatchObject({ kind: 'shard', shard: shardOf(Buffer.from('user:1'), 4) });
    if (p.kind === 'shard') {
      expect(p.key.toString()).toBe('user:1');
      expect(p.raw.toString('latin1')).toBe(text);
    }
    expect(planResp(frame('set user:1 v\r\n'), conn).kind).toBe('shard');
  });

  it('keeps multi-key commands whole when every key is on one shard', () => {
    const p = plan(createConnState(1, 1), 'MGET', 'a', 'b', 'c');
    expect(p.kind).toBe('shard');
  });

  it('splits MGET per shard and joins the values back in key order', () => {
    const [a, b] = keysOnDifferentShards();
    const p = plan(conn, 'MGET', a, b, a);
    expect(p.kind).toBe('split');
    if (p.kind !== 'split') return;
    expect(p.parts).toHaveLength(2);
    const partA = p.parts.findIndex((x) => x.shard === shardOf(Buffer.from(a), 4));
    expect(p.parts[partA].raw.toString()).toBe(resp('MGET', a, a));
    const replies = p.parts.map((_, i) => (i === partA ? Buffer.from('*2\r\n$2\r\nva\r\n$2\r\nva\r\n') : Buffer.from('*1\r\n$-1\r\n')));
    expect(p.join(replies).toString()).toBe('*3\r\n$2\r\nva\r\n$-1\r\n$2\r\nva\r\n');
    expect(p.join([Buffer.from('-ERR boom\r\n'), replies[1]]).toString()).toBe('-ERR boom\r\n');
  });

  it('sums DEL / EXISTS / UNLINK replies and checks MSET / MSETNX', () => {
    const [a, b] = keysOnDifferentShards();
    for (const name of ['DEL', 'UNLINK', 'EXISTS']) {
      const p = plan(conn, name, a, b);
      if (p.kind !== 'split') throw new Error('split expected');
      expect(p.join([Buffer.from(':1\r\n'), Buffer.from(':2\r\n')]).toString()).toBe(':3\r\n');
    }
    const mset = plan(conn, 'MSET', a, '1', b, '2');
    if (mset.kind !== 'split') throw new Error('split expected');
    expect(mset.parts.map((x) => x.raw.toString()).sort()).toEqual([resp('MSET', a, '1'), resp('MSET', b, '2')].sort());
    expect(mset.join([Buffer.from('+OK\r\n'), Buffer.from('+OK\r\n')]).toString()).toBe('+OK\r\n');
    // MSETNX across shards: probe with EXISTS, then MSET only if nothing exists
    const msetnx = plan(conn, 'MSETNX', a, '1', b, '2');
    if (msetnx.kind !== 'chain') throw new Error('chain expected');
    expect(msetnx.parts.map((x) => x.raw.toString()).sort()).toEqual([resp('EXISTS', a), resp('EXISTS', b)].sort());
    const found = msetnx.next([Buffer.from(':0\r\n'), Buffer.from(':1\r\n')]);
    expect(found).toEqual({ kind: 'local', reply: Buffer.from(':0\r\n') });
    const write = msetnx.next([Buffer.from(':0\r\n'), Buffer.from(':0\r\n')]);
    if (write.kind !== 'split') throw new Error('split expected');
    expect(write.parts.map((x) => x.raw.toString()).sort()).toEqual([resp('MSET', a, '1'), resp('MSET', b, '2')].sort());
    expect(write.join([Buffer.from('+OK\r\n'), Buffer.from('+OK\r\n')]).toString()).toBe(':1\r\n');
    expect(localText(conn, 'MSET', a, '1', b)).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
  });

  it('broadcasts DBSIZE, FLUSHALL, KEYS, RANDOMKEY, INFO and CAIRN.INFO', () => {
    const dbsize = plan(conn, 'DBSIZE');
    if (dbsize.kind !== 'all') throw new Error('all expected');
    expect(dbsize.join([':1\r\n', ':2\r\n', ':0\r\n', ':4\r\n'].map((s) => Buffer.from(s))).toString()).toBe(':7\r\n');
    const keys = plan(conn, 'KEYS', '*');
    if (keys.kind !== 'all') throw new Error('all expected');
    expect(keys.join(['*1\r\n$1\r\na\r\n', '*0\r\n', '*1\r\n$1\r\nb\r\n', '*0\r\n'].map((s) => Buffer.from(s))).toString()).toBe(
      '*2\r\n$1\r\na\r\n$1\r\nb\r\n',
    );
    const random = plan(conn, 'RANDOMKEY');
    if (random.kind !== 'all') throw new Error('all expected');
    expect(random.join(['$-1\r\n', '$1\r\nx\r\n', '$-1\r\n', '$-1\r\n'].map((s) => Buffer.from(s))).toString()).toBe('$1\r\nx\r\n');
    expect(random.join(['$-1\r\n', '$-1\r\n', '$-1\r\n', '$-1\r\n'].map((s) => Buffer.from(s))).toString()).toBe('$-1\r\n');
    expect(plan(conn, 'FLUSHALL', 'ASYNC').kind).toBe('all');
    expect(localText(conn, 'FLUSHALL', 'LATER')).toBe('-ERR syntax error\r\n');
    expect(plan(conn, 'INFO').kind).toBe('all');
    expect(plan(conn, 'CAIRN.INFO').kind).toBe('all');
  });

  it('walks SCAN over the shards with cursors that pack the shard', () => {
    const first = plan(conn, 'SCAN', '0', 'MATCH', 'a*', 'COUNT', '5');
    if (first.kind !== 'one') throw new Error('one expected');
    expect(first.shard).toBe(0);
    expect(first.raw.toString()).toBe(resp('SCAN', '0', 'MATCH', 'a*', 'COUNT', '5'));
    // shard 0 has more: its cursor 3 becomes (3 * 4 + 0) * 2 = 24
    expect(first.join!(Buffer.from('*2\r\n$1\r\n3\r\n*1\r\n$1\r\na\r\n')).toString()).toBe('*2\r\n$2\r\n24\r\n*1\r\n$1\r\na\r\n');
    const again = plan(conn, 'SCAN', '24');
    if (again.kind !== 'one') throw new Error('one expected');
    expect([again.shard, again.raw.toString()]).toEqual([0, resp('SCAN', '3')]);
    // shard 0 done: continue with shard 1 at its start, cursor (0 * 4 + 1) * 2 = 2
    expect(again.join!(Buffer.from('*2\r\n$1\r\n0\r\n*0\r\n')).toString()).toBe('*2\r\n$1\r\n2\r\n*0\r\n');
    const last = plan(conn, 'SCAN', '6');
    if (last.kind !== 'one') throw new Error('one expected');
    expect([last.shard, last.raw.toString()]).toEqual([3, resp('SCAN', '0')]);
    expect(last.join!(Buffer.from('*2\r\n$1\r\n0\r\n*0\r\n')).toString()).toBe('*2\r\n$1\r\n0\r\n*0\r\n');
    expect(localText(conn, 'SCAN', 'x')).toBe('-ERR invalid cursor\r\n');
  });

  it('keeps opaque shard cursors in a table behind odd cursors', () => {
    const out = rewriteScanCursor(Buffer.from('*2\r\n$4\r\nh123\r\n*0\r\n'), 2, 4).toString();
    const cursor = /^\*2\r\n\$\d+\r\n(\d+)\r\n/.exec(out)![1];
    expect(BigInt(cursor) & 1n).toBe(1n);
    const next = plan(conn, 'SCAN', cursor);
    if (next.kind !== 'one') throw new Error('one expected');
    expect([next.shard, next.raw.toString()]).toEqual([2, resp('SCAN', 'h123')]);
    const table = new ScanCursorTable(2);
    const ids = [table.put(0, 'a'), table.put(1, 'b'), table.put(2, 'c')];
    expect(table.get(ids[0])).toBeUndefined();
    expect(table.get(ids[2])).toEqual({ shard: 2, cursor: 'c' });
    expect(localText(conn, 'SCAN', '999999999999999')).toBe('-ERR invalid cursor\r\n');
  });
});

describe('planResp: errors and local commands', () => {
  it('words unknown commands and arity errors as Redis', () => {
    const conn = createConnState(1, 2);
    expect(localText(conn, 'FOO', 'a', 'b')).toBe("-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    expect(localText(conn, 'foo')).toBe("-ERR unknown command 'foo', with args beginning with: \r\n");
    const long = localText(conn, 'foo', 'x'.repeat(200), 'y');
    expect(long).toBe(`-ERR unknown command 'foo', with args beginning with: '${'x'.repeat(128)}' \r\n`);
    expect(localText(conn, 'x\r\ny')).toBe("-ERR unknown command 'x  y', with args beginning with: \r\n");
    expect(localText(conn, 'GET')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(localText(conn, 'CLIENT')).toBe("-ERR wrong number of arguments for 'client' command\r\n");
    expect(localText(conn, 'CLIENT', 'SETNAME')).toBe("-ERR wrong number of arguments for 'client|setname' command\r\n");
    expect(localText(conn, 'CLIENT', 'KILL')).toBe("-ERR wrong number of arguments for 'client|kill' command\r\n");
    // Redis 7.2's CLIENT NO-TOUCH is unknown to Redis 7.0, as to cairn
    expect(localText(conn, 'CLIENT', 'NO-TOUCH', 'on')).toBe("-ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.\r\n");
    expect(localText(conn, 'PING', 'a', 'b')).toBe("-ERR wrong number of arguments for 'ping' command\r\n");
    const http = planResp(frame('POST / HTTP/1.1\r\n'), conn);
    expect(http).toEqual({ kind: 'local', reply: Buffer.alloc(0), close: true });
  });

  it('knows GET and SET in any case and nothing that only looks like them', () => {
    const conn = createConnState(1, 2);
    for (const name of ['GET', 'get', 'Get', 'gEt', 'geT', 'SET', 'set', 'sEt', 'seT']) {
      expect(plan(conn, name, 'k', ...(name.toLowerCase() === 'set' ? ['v'] : []))).toMatchObject({ kind: 'shard' });
    }
    // bytes that a case-folding shortcut could confuse with the letters of get/set
    for (const name of ['gex', 'sez', 'ge', 'gets', '\x07et', 'G\x05T', 'gE\x14', '\xe7et', 'g\xc5t']) {
      expect(localText(conn, name, 'k')).toMatch(/^-ERR unknown command '/);
    }
  });

  it('answers PING, ECHO, SELECT, QUIT and CLIENT locally', () => {
    const conn = createConnState(42, 2);
    expect(localText(conn, 'PING')).toBe('+PONG\r\n');
    expect(localText(conn, 'ping', 'hi')).toBe('$2\r\nhi\r\n');
    expect(localText(conn, 'ECHO', 'x y')).toBe('$3\r\nx y\r\n');
    expect(localText(conn, 'SELECT', '0')).toBe('+OK\r\n');
    expect(localText(conn, 'SELECT', '1')).toBe('-ERR DB index is out of range\r\n');
    expect(localText(conn, 'SELECT', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
    expect(plan(conn, 'QUIT')).toEqual({ kind: 'local', reply: Buffer.from('+OK\r\n'), close: true });
    expect(localText(conn, 'CLIENT', 'ID')).toBe(':42\r\n');
    expect(localText(conn, 'CLIENT', 'GETNAME')).toBe('$-1\r\n');
    expect(localText(conn, 'CLIENT', 'SETNAME', 'worker-1')).toBe('+OK\r\n');
    expect(conn.name).toBe('worker-1');
    expect(localText(conn, 'client', 'getname')).toBe('$8\r\nworker-1\r\n');
    expect(localText(conn, 'CLIENT', 'SETNAME', 'a b')).toBe('-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
    expect(localText(conn, 'CLIENT', 'SETNAME', '')).toBe('+OK\r\n');
    expect(conn.name).toBeNull();
    expect(localText(conn, 'CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis')).toBe('+OK\r\n');
  });

  it('authenticates with AUTH and HELLO, and refuses other commands before', () => {
    const conn = createConnState(3, 2, { password: 's3cret' });
    expect(localText(conn, 'GET', 'k')).toBe('-NOAUTH Authentication required.\r\n');
    expect(localText(conn, 'FOO')).toContain('unknown command'); // lookup errors come first, as in Redis
    expect(localText(conn, 'HELLO')).toMatch(/^-NOAUTH HELLO must be called/);
    expect(localText(conn, 'AUTH', 'nope')).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(localText(conn, 'AUTH', 'admin', 's3cret')).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(localText(conn, 'AUTH', 'a', 'b', 'c')).toBe('-ERR syntax error\r\n');
    expect(conn.authenticated).toBe(false);
    expect(localText(conn, 'AUTH', 's3cret')).toBe('+OK\r\n');
    expect(conn.authenticated).toBe(true);
    expect(plan(conn, 'GET', 'k').kind).toBe('shard');

    const other = createConnState(4, 2, { password: 's3cret' });
    const hello = localText(other, 'HELLO', '2', 'AUTH', 'default', 's3cret', 'SETNAME', 'me');
    expect(hello).toBe(
      '*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:4\r\n' +
        '$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n',
    );
    expect([other.authenticated, other.name]).toEqual([true, 'me']);

    const open = createConnState(5, 2);
    expect(localText(open, 'AUTH', 'x')).toBe(
      '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
    );
    expect(localText(open, 'AUTH', 'default', 'anything')).toBe('+OK\r\n');
    expect(localText(open, 'HELLO', '3')).toBe('-NOPROTO unsupported protocol version\r\n');
    expect(localText(open, 'HELLO', 'x')).toBe('-ERR Protocol version is not an integer or out of range\r\n');
    expect(localText(open, 'HELLO', '2', 'FOO')).toBe("-ERR Syntax error in HELLO option 'FOO'\r\n");
  });

  it('describes commands for COMMAND, COMMAND COUNT/INFO/DOCS/LIST/GETKEYS and CONFIG GET', () => {
    const conn = createConnState(1, 2);
    const count = Number(/^:(\d+)/.exec(localText(conn, 'COMMAND', 'COUNT'))![1]);
    expect(count).toBeGreaterThan(45);
    expect(localText(conn, 'COMMAND').startsWith(`*${count}\r\n`)).toBe(true);
    const info = localText(conn, 'COMMAND', 'INFO', 'get', 'nosuch');
    expect(info).toBe(
      '*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n',
    );
    expect(localText(conn, 'COMMAND', 'DOCS', 'get')).toBe(
      '*2\r\n$3\r\nget\r\n*6\r\n$7\r\nsummary\r\n$34\r\nReturns the string value of a key.\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n',
    );
    expect(localText(conn, 'COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'getr*')).toBe('*1\r\n$8\r\ngetrange\r\n');
    expect(localText(conn, 'COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')).toBe('*2\r\n$1\r\na\r\n$1\r\nb\r\n');
    expect(localText(conn, 'COMMAND', 'GETKEYS', 'PING')).toBe('-ERR The command has no key arguments\r\n');
    expect(localText(conn, 'CONFIG', 'GET', 'save')).toBe('*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
    expect(localText(conn, 'CONFIG', 'GET', 'appendonly')).toBe('*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
    expect(localText(conn, 'CONFIG', 'GET', 'nosuch')).toBe('*0\r\n');
  });

  it('turns a framing error into a closing local reply', () => {
    const f = new RespFramer();
    f.push(Buffer.from('*x\r\n'));
    const e = f.next()!;
    expect(planResp(e, createConnState(1, 1))).toEqual({
      kind: 'local',
      reply: Buffer.from('-ERR Protocol error: invalid multibulk length\r\n'),
      close: true,
    });
  });
});
