/**
 * redis-cli (Debian redis-tools) against cairn's RESP port: the answers it prints, as it prints
 * them when its output is not a terminal (raw mode), and inline commands sent over a plain socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram, run } from '../../bench/lib/procs.js';
import { RawClient, show } from './lib/raw.js';
import { REFERENCE, spreadKeys, startTarget, type Target } from './lib/target.js';

let target: Target;
let cli: string;

/** runs redis-cli against the target; returns stdout with the trailing newline(s) trimmed */
async function rc(...args: string[]): Promise<string> {
  const r = await run(cli, ['-h', '127.0.0.1', '-p', String(target.respPort), ...args], { timeoutMs: 10_000 });
  if (r.timedOut) throw new Error(`redis-cli ${args.join(' ')} timed out; output so far ${show(r.stdout)}`);
  return r.stdout.replace(/\n+$/, '');
}

async function rcIn(input: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const r = await run(cli, ['-h', '127.0.0.1', '-p', String(target.respPort), ...args], { input, timeoutMs: 10_000 });
  if (r.timedOut) throw new Error(`redis-cli ${args.join(' ')} (stdin ${show(input)}) timed out`);
  return r;
}

beforeAll(async () => {
  cli = requireProgram('redis-cli');
  target = await startTarget({ memcache: false });
});

afterAll(async () => {
  await target?.stop();
});

describe('redis-cli', () => {
  it('PING and ECHO', async () => {
    expect(await rc('ping')).toBe('PONG');
    expect(await rc('ping', 'hello there')).toBe('hello there');
    expect(await rc('echo', 'a b c')).toBe('a b c');
  });

  it('SET / GET / DEL / EXISTS / TYPE / STRLEN / APPEND', async () => {
    expect(await rc('set', 'cli:k', 'value one')).toBe('OK');
    expect(await rc('get', 'cli:k')).toBe('value one');
    expect(await rc('get', 'cli:missing')).toBe('');
    expect(await rc('exists', 'cli:k', 'cli:missing', 'cli:k')).toBe('2');
    expect(await rc('type', 'cli:k')).toBe('string');
    expect(await rc('type', 'cli:missing')).toBe('none');
    expect(await rc('strlen', 'cli:k')).toBe('9');
    expect(await rc('append', 'cli:k', '!')).toBe('10');
    expect(await rc('get', 'cli:k')).toBe('value one!');
    expect(await rc('del', 'cli:k', 'cli:missing')).toBe('1');
    expect(await rc('get', 'cli:k')).toBe('');
  });

  it('stores a value from stdin with -x, binary-safe', async () => {
    const value = 'line one\r\nline two\n\ttab \u00e9';
    const r = await rcIn(value, '-x', 'set', 'cli:stdin');
    expect(r.stdout.trim()).toBe('OK');
    expect(await rc('strlen', 'cli:stdin')).toBe(String(Buffer.byteLength(value)));
    expect(await rc('get', 'cli:stdin')).toBe(value);
  });

  it('TTL commands', async () => {
    expect(await rc('set', 'cli:t', 'v', 'ex', '100')).toBe('OK');
    expect(Number(await rc('ttl', 'cli:t'))).toBeGreaterThanOrEqual(95);
    expect(Number(await rc('pttl', 'cli:t'))).toBeGreaterThan(98_000);
    expect(await rc('--no-raw', 'ttl', 'cli:t')).toMatch(/^\(integer\) (9[5-9]|100)$/);
    const at = Number(await rc('expiretime', 'cli:t'));
    expect(Math.abs(at - (Math.floor(Date.now() / 1000) + 100))).toBeLessThanOrEqual(5);
    expect(await rc('persist', 'cli:t')).toBe('1');
    expect(await rc('ttl', 'cli:t')).toBe('-1');
    expect(await rc('expiretime', 'cli:t')).toBe('-1');
    expect(await rc('ttl', 'cli:none')).toBe('-2');
    expect(await rc('expiretime', 'cli:none')).toBe('-2');
    expect(await rc('expire', 'cli:t', '50')).toBe('1');
    expect(Number(await rc('ttl', 'cli:t'))).toBeGreaterThanOrEqual(45);
    expect(await rc('pexpire', 'cli:t', '200000')).toBe('1');
    expect(Number(await rc('ttl', 'cli:t'))).toBeGreaterThanOrEqual(195);
    const future = Math.floor(Date.now() / 1000) + 1000;
    expect(await rc('expireat', 'cli:t', String(future))).toBe('1');
    expect(await rc('expiretime', 'cli:t')).toBe(String(future));
    expect(await rc('pexpireat', 'cli:t', String(future * 1000))).toBe('1');
    expect(await rc('pexpiretime', 'cli:t')).toBe(String(future * 1000));
    expect(await rc('expire', 'cli:none', '10')).toBe('0');
    expect(await rc('setex', 'cli:t2', '30', 'v')).toBe('OK');
    expect(Number(await rc('ttl', 'cli:t2'))).toBeGreaterThanOrEqual(25);
    expect(await rc('psetex', 'cli:t3', '1500', 'v')).toBe('OK');
    expect(Number(await rc('pttl', 'cli:t3'))).toBeGreaterThan(1000);
    // a past expiry deletes at once
    expect(await rc('expire', 'cli:t2', '-1')).toBe('1');
    expect(await rc('exists', 'cli:t2')).toBe('0');
  });

  it('a key with a short TTL is gone after it', async () => {
    expect(await rc('set', 'cli:short', 'v', 'px', '1000')).toBe('OK');
    expect(await rc('get', 'cli:short')).toBe('v');
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await rc('get', 'cli:short')).toBe('');
    expect(await rc('ttl', 'cli:short')).toBe('-2');
  });

  it('INCR family', async () => {
    expect(await rc('incr', 'cli:n')).toBe('1');
    expect(await rc('incrby', 'cli:n', '41')).toBe('42');
    expect(await rc('decr', 'cli:n')).toBe('41');
    expect(await rc('decrby', 'cli:n', '50')).toBe('-9');
    expect(await rc('incrbyfloat', 'cli:n', '1.5')).toBe('-7.5');
    expect(await rc('incrbyfloat', 'cli:n', '7.5')).toBe('0');
    expect(await rc('set', 'cli:big', '9223372036854775807')).toBe('OK');
    expect(await rc('incr', 'cli:big')).toBe('ERR increment or decrement would overflow');
    expect(await rc('set', 'cli:s', 'abc')).toBe('OK');
    expect(await rc('incr', 'cli:s')).toBe('ERR value is not an integer or out of range');
    expect(await rc('incrbyfloat', 'cli:s', '1')).toBe('ERR value is not a valid float');
    expect(await rc('incrby', 'cli:n', 'x')).toBe('ERR value is not an integer or out of range');
  });

  it('MSET / MGET across shards, replies in order', async () => {
    const keys = spreadKeys('cli:m', 40);
    const args = keys.flatMap((k, i) => [k, `v${i}`]);
    expect(await rc('mset', ...args)).toBe('OK');
    const missing = ['cli:m:absent1', 'cli:m:absent2'];
    const raw = await run(cli, ['-p', String(target.respPort), 'mget', missing[0], ...keys, missing[1]], { timeoutMs: 10_000 });
    const got = raw.stdout.replace(/\n$/, '').split('\n');
    expect(got).toEqual(['', ...keys.map((_, i) => `v${i}`), '']);
    expect(await rc('del', ...keys.slice(0, 10))).toBe('10');
    expect(await rc('exists', ...keys)).toBe('30');
    expect(await rc('msetnx', 'cli:m:new1', 'a', keys[20], 'b')).toBe('0');
    expect(await rc('get', 'cli:m:new1')).toBe('');
    expect(await rc('msetnx', 'cli:m:new1', 'a', 'cli:m:new2', 'b')).toBe('1');
    expect(await rc('mget', 'cli:m:new1', 'cli:m:new2')).toBe('a\nb');
  });

  it('KEYS, SCAN and --scan see every key', async () => {
    const keys = spreadKeys('cli:scan', 120);
    expect(await rc('mset', ...keys.flatMap((k) => [k, 'x']))).toBe('OK');
    const listed = (await rc('keys', 'cli:scan:*')).split('\n').sort();
    expect(listed).toEqual([...keys].sort());
    const scanned = (await rc('--scan', '--pattern', 'cli:scan:*')).split('\n');
    expect(new Set(scanned)).toEqual(new Set(keys));
    // the SCAN cursor loop by hand, small COUNT: every key at least once, cursor back to 0
    const seen = new Set<string>();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, ...found] = (await rc('scan', cursor, 'match', 'cli:scan:*', 'count', '17')).split('\n');
      expect(next).toMatch(/^\d+$/);
      for (const k of found) if (k) seen.add(k);
      cursor = next;
      rounds++;
    } while (cursor !== '0' && rounds < 1000);
    expect(cursor).toBe('0');
    expect(seen).toEqual(new Set(keys));
    expect(await rc('keys', 'cli:nomatch:*')).toBe('');
    // SCAN 0 MATCH with COUNT returns a cursor then keys
    const first = (await rc('scan', '0', 'match', 'cli:scan:*', 'count', '1000')).split('\n');
    expect(first[0]).toMatch(/^\d+$/);
    expect(Number(await rc('dbsize'))).toBeGreaterThanOrEqual(120);
  });

  it('INFO has the cairn tier section', async () => {
    if (REFERENCE) return;
    const info = await rc('info');
    expect(info).toContain('# Server');
    expect(info).toMatch(/redis_version:\d+\.\d+\.\d+/);
    expect(info).toContain('# Cairn');
    expect(info).toMatch(/hot_items:\d+/);
    expect(info).toMatch(/cold_items:\d+/);
    const cairn = await rc('info', 'cairn');
    expect(cairn.startsWith('# Cairn')).toBe(true);
    expect(cairn).not.toContain('# Server');
    const kv = Object.fromEntries(
      cairn
        .split(/\r?\n/)
        .filter((l) => l.includes(':'))
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
    );
    expect(Number(kv.shards)).toBe(2);
    expect(Number(kv.keys)).toBeGreaterThan(0);
    expect(await rc('info', 'keyspace')).toMatch(/^# Keyspace\r?\ndb0:keys=\d+/);
  });

  it('errors as Redis words them', async () => {
    expect(await rc('nosuchcommand', 'a', 'b')).toBe("ERR unknown command 'nosuchcommand', with args beginning with: 'a' 'b' ");
    expect(await rc('get')).toBe("ERR wrong number of arguments for 'get' command");
    expect(await rc('set', 'cli:e', 'v', 'bogus')).toBe('ERR syntax error');
    expect(await rc('set', 'cli:e', 'v', 'px', '0')).toBe("ERR invalid expire time in 'set' command");
    expect(await rc('set', 'cli:e', 'v', 'nx', 'xx')).toBe('ERR syntax error');
    expect(await rc('expire', 'cli:e', 'abc')).toBe('ERR value is not an integer or out of range');
    expect(await rc('select', '0')).toBe('OK');
    expect(await rc('select', '1')).toBe('ERR DB index is out of range');
    expect(await rc('ping')).toBe('PONG');
  });

  it('--pipe sends inline commands and RESP, counts replies and errors', async () => {
    const inline = await rcIn('SET cli:pipe:a 1\r\nSET cli:pipe:b 2\r\nINCR cli:pipe:a\r\n', '--pipe');
    expect(inline.stdout).toContain('errors: 0, replies: 3');
    expect(inline.code).toBe(0);
    expect(await rc('mget', 'cli:pipe:a', 'cli:pipe:b')).toBe('2\n2');
    const resp = await rcIn('*3\r\n$3\r\nSET\r\n$10\r\ncli:pipe:c\r\n$3\r\nabc\r\n*2\r\n$4\r\nINCR\r\n$10\r\ncli:pipe:c\r\n', '--pipe');
    expect(resp.stdout).toContain('errors: 1, replies: 2');
  });

  it('reads commands from stdin, one per line, quoted arguments', async () => {
    const r = await rcIn('ping\nset cli:q "hello world"\nget cli:q\n');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['PONG', 'OK', 'hello world']);
  });
});

describe('inline commands over a plain socket', () => {
  it('PING, SET with quotes, GET, errors, and the connection lives on', async () => {
    const c = await RawClient.connect(target.respPort);
    try {
      let got = await c.exchange('PING\r\n', '+PONG\r\n');
      expect(show(got)).toBe(show('+PONG\r\n'));
      got = await c.exchange('SET inline:k "hello world"\r\n', '+OK\r\n');
      expect(show(got)).toBe(show('+OK\r\n'));
      got = await c.exchange('GET inline:k\r\n', '$11\r\nhello world\r\n');
      expect(show(got)).toBe(show('$11\r\nhello world\r\n'));
      // a bare LF ends an inline command too (telnet / printf without \r)
      got = await c.exchange('EXISTS inline:k\n', ':1\r\n');
      expect(show(got)).toBe(show(':1\r\n'));
      got = await c.exchange('NOPE\r\n', "-ERR unknown command 'NOPE', with args beginning with: \r\n");
      expect(show(got)).toBe(show("-ERR unknown command 'NOPE', with args beginning with: \r\n"));
      // several inline commands in one write, answered in order
      got = await c.exchange('INCR inline:n\r\nINCR inline:n\r\nGET inline:n\r\n', ':1\r\n:2\r\n$1\r\n2\r\n');
      expect(show(got)).toBe(show(':1\r\n:2\r\n$1\r\n2\r\n'));
      got = await c.exchange('SET inline:u "unbalanced\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n');
      expect(show(got)).toBe(show('-ERR Protocol error: unbalanced quotes in request\r\n'));
      // Redis closes the connection after a protocol error
      expect(await c.waitClosed()).toBe(true);
    } finally {
      c.close();
    }
    // a fresh connection works
    const d = await RawClient.connect(target.respPort);
    try {
      expect(show(await d.exchange('PING\r\n', '+PONG\r\n'))).toBe(show('+PONG\r\n'));
      expect(show(await d.exchange('QUIT\r\n', '+OK\r\n'))).toBe(show('+OK\r\n'));
      expect(await d.waitClosed()).toBe(true);
    } finally {
      d.close();
    }
  });

  it('printf "PING\\r\\n" through a socket, the way shell scripts do', async () => {
    const c = await RawClient.connect(target.respPort);
    try {
      c.send('PING\r\n');
      c.socket.end();
      const got = await c.readUntil('\r\n');
      expect(show(got)).toBe(show('+PONG\r\n'));
    } finally {
      c.close();
    }
  });
});
