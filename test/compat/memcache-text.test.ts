/**
 * The memcached text protocol over a raw socket, byte for byte as memcached 1.6 answers: storage
 * commands, retrieval, cas, counters, touch / gat / gats, flush_all, stats, version, verbosity,
 * quit, noreply, the exptime rules, key length limits, bad input (and the connection living on).
 * Run with CAIRN_COMPAT_REFERENCE=1 to check the expectations against memcached itself.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RawClient, show } from './lib/raw.js';
import { REFERENCE, startTarget, type Target } from './lib/target.js';

let target: Target;
let c: RawClient;
const open: RawClient[] = [];

async function connect(): Promise<RawClient> {
  const r = await RawClient.connect(target.memcachePort);
  open.push(r);
  return r;
}

/** sends `request`, expects exactly `reply` (shown with escapes on failure) */
async function ex(request: string | Buffer, reply: string, client: RawClient = c): Promise<void> {
  const got = await client.exchange(request, reply);
  const label = typeof request === 'string' ? request : request.toString('latin1');
  expect(show(got), show(label.length > 120 ? `${label.slice(0, 120)}…` : label)).toBe(show(reply));
}

/** the connection still answers correctly */
async function alive(client: RawClient = c): Promise<void> {
  await ex('set alive:check 0 0 2\r\nok\r\nget alive:check\r\n', 'STORED\r\nVALUE alive:check 0 2\r\nok\r\nEND\r\n', client);
}

/** after an error line, memcached may answer the leftover data line with ERROR; nothing else may come */
async function afterError(client: RawClient = c): Promise<void> {
  const rest = await client.drain(200);
  expect(['', 'ERROR\r\n'], `bytes after the error: ${show(rest)}`).toContain(rest);
}

beforeAll(async () => {
  target = await startTarget({ resp: false });
});

beforeEach(async () => {
  c = await connect();
});

afterAll(async () => {
  for (const r of open) r.close();
  await target?.stop();
});

describe('memcached text protocol: storage and retrieval', () => {
  it('set / get / gets, multi-key get in request order, misses left out', async () => {
    await ex('set mt:a 0 0 5\r\nhello\r\n', 'STORED\r\n');
    await ex('get mt:a\r\n', 'VALUE mt:a 0 5\r\nhello\r\nEND\r\n');
    await ex('get mt:none\r\n', 'END\r\n');
    await ex('set mt:b 42 0 3\r\nabc\r\n', 'STORED\r\n');
    await ex('get mt:b mt:none mt:a mt:b\r\n', 'VALUE mt:b 42 3\r\nabc\r\nVALUE mt:a 0 5\r\nhello\r\nVALUE mt:b 42 3\r\nabc\r\nEND\r\n');
    c.send('gets mt:a mt:b\r\n');
    const got = await c.readUntil('END\r\n');
    const m = /^VALUE mt:a 0 5 (\d+)\r\nhello\r\nVALUE mt:b 42 3 (\d+)\r\nabc\r\nEND\r\n$/.exec(got);
    expect(m, show(got)).not.toBeNull();
    // (memcached's cas uniques come from one global counter; cairn's are per shard, so two keys may
    // share one. Clients compare them per key only; the cas test checks that a write changes it.)
  });

  it('keys spread over shards: a 100-key get answers in request order', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `mt:spread:${i}`);
    let req = '';
    let want = '';
    for (const [i, k] of keys.entries()) {
      req += `set ${k} ${i} 0 ${String(i).length}\r\n${i}\r\n`;
      want += 'STORED\r\n';
    }
    await ex(req, want);
    const order = [...keys].reverse();
    let reply = '';
    for (const k of order) {
      const i = keys.indexOf(k);
      reply += `VALUE ${k} ${i} ${String(i).length}\r\n${i}\r\n`;
    }
    await ex(`get ${order.join(' ')}\r\n`, `${reply}END\r\n`);
  });

  it('flags: 0 and 2^32-1 come back as given', async () => {
    await ex('set mt:f 4294967295 0 1\r\nx\r\n', 'STORED\r\n');
    await ex('get mt:f\r\n', 'VALUE mt:f 4294967295 1\r\nx\r\nEND\r\n');
  });

  it('binary-safe values: CR, LF, NUL and high bytes', async () => {
    const value = Buffer.from([0, 13, 10, 13, 10, 255, 128, 69, 78, 68, 13, 10]);
    const req = Buffer.concat([Buffer.from(`set mt:bin 7 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]);
    await ex(req, 'STORED\r\n');
    c.send('get mt:bin\r\n');
    const head = Buffer.from(`VALUE mt:bin 7 ${value.length}\r\n`);
    const got = await c.readBytes(head.length + value.length + 2 + 5);
    expect(got.equals(Buffer.concat([head, value, Buffer.from('\r\nEND\r\n')])), show(got.toString('latin1'))).toBe(true);
  });

  it('an empty value', async () => {
    await ex('set mt:empty 0 0 0\r\n\r\n', 'STORED\r\n');
    await ex('get mt:empty\r\n', 'VALUE mt:empty 0 0\r\n\r\nEND\r\n');
  });

  it('add / replace', async () => {
    await ex('add mt:add 1 0 1\r\nx\r\n', 'STORED\r\n');
    await ex('add mt:add 2 0 1\r\ny\r\n', 'NOT_STORED\r\n');
    await ex('replace mt:rep 0 0 1\r\nz\r\n', 'NOT_STORED\r\n');
    await ex('replace mt:add 3 0 2\r\nzz\r\n', 'STORED\r\n');
    await ex('get mt:add mt:rep\r\n', 'VALUE mt:add 3 2\r\nzz\r\nEND\r\n');
  });

  it('append / prepend keep the flags; on a missing key NOT_STORED', async () => {
    await ex('set mt:ap 5 0 1\r\nx\r\n', 'STORED\r\n');
    await ex('append mt:ap 9 0 2\r\nyz\r\n', 'STORED\r\n');
    await ex('prepend mt:ap 9 0 1\r\nw\r\n', 'STORED\r\n');
    await ex('get mt:ap\r\n', 'VALUE mt:ap 5 4\r\nwxyz\r\nEND\r\n');
    await ex('append mt:apnone 0 0 1\r\nx\r\n', 'NOT_STORED\r\n');
    await ex('prepend mt:apnone 0 0 1\r\nx\r\n', 'NOT_STORED\r\n');
  });

  it('cas: STORED with the right unique, EXISTS with a stale one, NOT_FOUND when missing', async () => {
    await ex('set mt:cas 0 0 1\r\nx\r\n', 'STORED\r\n');
    c.send('gets mt:cas\r\n');
    const got = await c.readUntil('END\r\n');
    const unique = /^VALUE mt:cas 0 1 (\d+)\r\n/.exec(got)?.[1];
    expect(unique, show(got)).toBeDefined();
    await ex(`cas mt:cas 3 0 1 ${unique}\r\ny\r\n`, 'STORED\r\n');
    await ex(`cas mt:cas 0 0 1 ${unique}\r\nz\r\n`, 'EXISTS\r\n');
    await ex('get mt:cas\r\n', 'VALUE mt:cas 3 1\r\ny\r\nEND\r\n');
    await ex('cas mt:casnone 0 0 1 1\r\nz\r\n', 'NOT_FOUND\r\n');
    // any write changes the unique
    c.send('gets mt:cas\r\n');
    const u2 = /^VALUE mt:cas 3 1 (\d+)\r\n/.exec(await c.readUntil('END\r\n'))?.[1];
    await ex('append mt:cas 0 0 1\r\n!\r\n', 'STORED\r\n');
    await ex(`cas mt:cas 0 0 1 ${u2}\r\nq\r\n`, 'EXISTS\r\n');
  });

  it('delete', async () => {
    await ex('set mt:del 0 0 1\r\nx\r\n', 'STORED\r\n');
    await ex('delete mt:del\r\n', 'DELETED\r\n');
    await ex('delete mt:del\r\n', 'NOT_FOUND\r\n');
    await ex('get mt:del\r\n', 'END\r\n');
  });

  it('incr / decr: 64-bit unsigned, wraps on incr, stops at 0 on decr', async () => {
    await ex('set mt:n 0 0 2\r\n10\r\n', 'STORED\r\n');
    await ex('incr mt:n 5\r\n', '15\r\n');
    await ex('decr mt:n 3\r\n', '12\r\n');
    await ex('decr mt:n 100\r\n', '0\r\n');
    await ex('incr mt:n 18446744073709551615\r\n', '18446744073709551615\r\n');
    await ex('incr mt:n 2\r\n', '1\r\n');
    await ex('incr mt:none 1\r\n', 'NOT_FOUND\r\n');
    await ex('decr mt:none 1\r\n', 'NOT_FOUND\r\n');
    await ex('set mt:txt 0 0 3\r\nabc\r\n', 'STORED\r\n');
    await ex('incr mt:txt 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
    await ex('incr mt:n abc\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n');
    await ex('incr mt:n -1\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n');
    await ex('incr mt:n 18446744073709551616\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n');
    await alive();
  });

  it('incr / decr read stored numbers as strtoull does and pad a shorter result in place', async () => {
    await ex('set mt:p 0 0 3\r\n100\r\ndecr mt:p 1\r\nget mt:p\r\n', 'STORED\r\n99\r\nVALUE mt:p 0 3\r\n99 \r\nEND\r\n');
    await ex('incr mt:p 1\r\nget mt:p\r\n', '100\r\nVALUE mt:p 0 3\r\n100\r\nEND\r\n');
    await ex('set mt:p 0 0 20\r\n18446744073709551615\r\nincr mt:p 1\r\nget mt:p\r\n', `STORED\r\n0\r\nVALUE mt:p 0 20\r\n0${' '.repeat(19)}\r\nEND\r\n`);
    for (const [stored, next] of [
      ['00', '1 '],
      ['+1', '2 '],
      [' 1', '2 '],
      ['1 2', '2  '],
      ['-0', '1 '],
    ]) {
      await ex(
        `set mt:p 0 0 ${stored.length}\r\n${stored}\r\nincr mt:p 1\r\nget mt:p\r\n`,
        `STORED\r\n${next.trim()}\r\nVALUE mt:p 0 ${next.length}\r\n${next}\r\nEND\r\n`,
      );
    }
    for (const stored of ['-1', '1x', ' ', '+']) {
      await ex(`set mt:p 0 0 ${stored.length}\r\n${stored}\r\nincr mt:p 1\r\n`, 'STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
    }
    await alive();
  });

  it('touch / gat / gats', async () => {
    await ex('set mt:t 0 0 1\r\nx\r\n', 'STORED\r\n');
    await ex('touch mt:t 100\r\n', 'TOUCHED\r\n');
    await ex('touch mt:tnone 100\r\n', 'NOT_FOUND\r\n');
    await ex('set mt:t2 4 0 2\r\nyy\r\n', 'STORED\r\n');
    await ex('gat 100 mt:t mt:tnone mt:t2\r\n', 'VALUE mt:t 0 1\r\nx\r\nVALUE mt:t2 4 2\r\nyy\r\nEND\r\n');
    c.send('gats 0 mt:t\r\n');
    expect(await c.readUntil('END\r\n')).toMatch(/^VALUE mt:t 0 1 \d+\r\nx\r\nEND\r\n$/);
    // gat with a negative exptime returns the item, then it is gone
    await ex('gat -1 mt:t2\r\n', 'VALUE mt:t2 4 2\r\nyy\r\nEND\r\n');
    await ex('get mt:t2\r\n', 'END\r\n');
    await ex('touch mt:t -1\r\n', 'TOUCHED\r\n');
    await ex('get mt:t\r\n', 'END\r\n');
  });

  it('touch with a 1 s exptime: the item expires', async () => {
    await ex('set mt:short 0 0 1\r\nx\r\n', 'STORED\r\n');
    await ex('touch mt:short 1\r\n', 'TOUCHED\r\n');
    await new Promise((r) => setTimeout(r, 2_100));
    await ex('get mt:short\r\n', 'END\r\n');
  });
});

describe('memcached text protocol: exptime rules', () => {
  it('0 never expires; relative up to 30 days; larger is absolute Unix time; negative is already expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    await ex('set mt:e0 0 0 1\r\nx\r\nget mt:e0\r\n', 'STORED\r\nVALUE mt:e0 0 1\r\nx\r\nEND\r\n');
    // 30 days exactly: relative, so alive
    await ex('set mt:e30 0 2592000 1\r\nx\r\nget mt:e30\r\n', 'STORED\r\nVALUE mt:e30 0 1\r\nx\r\nEND\r\n');
    // 30 days + 1 s: an absolute time in 1970, so already expired
    await ex('set mt:e31 0 2592001 1\r\nx\r\nget mt:e31\r\n', 'STORED\r\nEND\r\n');
    // absolute time in the future: alive
    await ex(`set mt:abs 0 ${now + 100} 1\r\nx\r\nget mt:abs\r\n`, 'STORED\r\nVALUE mt:abs 0 1\r\nx\r\nEND\r\n');
    // absolute time in the past: expired
    await ex(`set mt:absp 0 ${now - 100} 1\r\nx\r\nget mt:absp\r\n`, 'STORED\r\nEND\r\n');
    // negative: expired at once
    await ex('set mt:neg 0 -1 1\r\nx\r\nget mt:neg\r\n', 'STORED\r\nEND\r\n');
    // an existing key overwritten with a negative exptime is gone
    await ex('set mt:e0 0 -1 1\r\ny\r\nget mt:e0\r\n', 'STORED\r\nEND\r\n');
  });

  it('a 1 s relative exptime expires', async () => {
    await ex('set mt:e1 0 1 1\r\nx\r\nget mt:e1\r\n', 'STORED\r\nVALUE mt:e1 0 1\r\nx\r\nEND\r\n');
    await new Promise((r) => setTimeout(r, 2_100));
    await ex('get mt:e1\r\n', 'END\r\n');
  });

  it('memcached exptimes are visible to Redis clients as TTLs (same store)', async () => {
    if (REFERENCE) return;
    await ex('set mt:ttl 0 1000 1\r\nx\r\n', 'STORED\r\n');
    const r = await RawClient.connect(target.server!.respPort);
    open.push(r);
    const got = await r.exchange('TTL mt:ttl\r\n', ':1000\r\n');
    expect(got).toMatch(/^:(999|1000)\r\n$/);
    expect(await r.exchange('GET mt:ttl\r\n', '$1\r\nx\r\n')).toBe('$1\r\nx\r\n');
  });
});

describe('memcached text protocol: noreply', () => {
  it('storage, delete, incr, touch and flush_all with noreply send nothing', async () => {
    c.send(
      'set mt:nr 0 0 1 noreply\r\nx\r\n' +
        'add mt:nr 0 0 1 noreply\r\ny\r\n' +
        'replace mt:nr 0 0 1 noreply\r\n5\r\n' +
        'append mt:nr 0 0 1 noreply\r\n0\r\n' +
        'prepend mt:nr 0 0 1 noreply\r\n1\r\n' +
        'incr mt:nr 5 noreply\r\n' +
        'decr mt:nr 1 noreply\r\n' +
        'touch mt:nr 100 noreply\r\n' +
        'set mt:nr2 0 0 1 noreply\r\nq\r\n' +
        'delete mt:nr2 noreply\r\n' +
        'incr mt:missing 1 noreply\r\n',
    );
    expect(await c.drain(200)).toBe('');
    await ex('get mt:nr mt:nr2\r\n', 'VALUE mt:nr 0 3\r\n154\r\nEND\r\n');
    c.send('flush_all noreply\r\n');
    expect(await c.drain(150)).toBe('');
    await ex('get mt:nr\r\n', 'END\r\n');
  });
});

describe('memcached text protocol: admin commands', () => {
  it('version, verbosity, stats with per-tier figures, flush_all', async () => {
    c.send('version\r\n');
    expect(await c.readUntil('\r\n')).toMatch(/^VERSION \d+\.\d+\.\d+\S*\r\n$/);
    await ex('verbosity 1\r\n', 'OK\r\n');
    c.send('verbosity 0 noreply\r\n');
    expect(await c.drain(150)).toBe('');
    await ex('set mt:s 0 0 1\r\nx\r\n', 'STORED\r\n');
    c.send('stats\r\n');
    const stats = await c.readUntil('END\r\n');
    expect(stats.endsWith('END\r\n')).toBe(true);
    const lines = stats.split('\r\n').slice(0, -2);
    for (const l of lines) expect(l, show(stats)).toMatch(/^STAT \S+ \S.*$/);
    const kv = new Map(lines.map((l) => [l.split(' ')[1], l.split(' ').slice(2).join(' ')]));
    for (const key of [
      'pid',
      'uptime',
      'time',
      'version',
      'curr_connections',
      'cmd_get',
      'cmd_set',
      'get_hits',
      'get_misses',
      'curr_items',
      'bytes',
      'limit_maxbytes',
    ]) {
      expect(kv.has(key), `STAT ${key} missing from ${show(stats)}`).toBe(true);
    }
    expect(Number(kv.get('curr_items'))).toBeGreaterThanOrEqual(1);
    if (!REFERENCE) {
      for (const key of ['hot_items', 'hot_bytes', 'cold_items', 'cold_bytes']) {
        expect(kv.has(key), `STAT ${key} missing from ${show(stats)}`).toBe(true);
      }
    }
    await ex('flush_all\r\n', 'OK\r\n');
    await ex('get mt:s\r\n', 'END\r\n');
    await ex('flush_all 0\r\n', 'OK\r\n');
  });

  it('quit closes the connection', async () => {
    c.send('quit\r\n');
    expect(await c.waitClosed()).toBe(true);
    expect(await c.drain(10)).toBe('');
  });
});

describe('memcached text protocol: limits and bad input', () => {
  it('a 250-byte key works; a 251-byte key is CLIENT_ERROR for every command', async () => {
    const k250 = 'k'.repeat(250);
    const k251 = 'k'.repeat(251);
    await ex(`set ${k250} 0 0 1\r\nx\r\n`, 'STORED\r\n');
    await ex(`get ${k250}\r\n`, `VALUE ${k250} 0 1\r\nx\r\nEND\r\n`);
    await ex(`get ${k251}\r\n`, 'CLIENT_ERROR bad command line format\r\n');
    await ex(`get mt:a ${k251}\r\n`, 'CLIENT_ERROR bad command line format\r\n');
    await ex(`delete ${k251}\r\n`, 'CLIENT_ERROR bad command line format\r\n');
    await ex(`incr ${k251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n');
    await ex(`touch ${k251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n');
    c.send(`set ${k251} 0 0 1\r\nx\r\n`);
    expect(show(await c.readUntil('\r\n'))).toBe(show('CLIENT_ERROR bad command line format\r\n'));
    await afterError();
    await alive();
  });

  it('a data block longer than announced: CLIENT_ERROR bad data chunk, nothing stored, connection usable', async () => {
    c.send('set mt:chunk 0 0 3\r\nhello\r\n');
    expect(show(await c.readUntil('\r\n'))).toBe(show('CLIENT_ERROR bad data chunk\r\n'));
    await afterError();
    await ex('get mt:chunk\r\n', 'END\r\n');
    await alive();
  });

  it('unknown commands and malformed lines: ERROR / CLIENT_ERROR, connection usable', async () => {
    await ex('bogus\r\n', 'ERROR\r\n');
    await ex('GET mt:a\r\n', 'ERROR\r\n'); // commands are lower case
    await ex('get\r\n', 'ERROR\r\n');
    await ex('set mt:x 0 0\r\n', 'ERROR\r\n');
    await ex('set mt:x 0 0 abc\r\n', 'CLIENT_ERROR bad command line format\r\n');
    await ex('set mt:x 0 0 -1\r\n', 'CLIENT_ERROR bad command line format\r\n');
    c.send('set mt:x abc 0 1\r\nz\r\n');
    expect(show(await c.readUntil('\r\n'))).toBe(show('CLIENT_ERROR bad command line format\r\n'));
    await afterError();
    c.send('cas mt:x 0 0 1 abc\r\nz\r\n');
    expect(show(await c.readUntil('\r\n'))).toBe(show('CLIENT_ERROR bad command line format\r\n'));
    await afterError();
    await ex('delete mt:x 5\r\n', 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');
    await ex('stats nonsense\r\n', 'ERROR\r\n');
    await alive();
  });

  it('a value over the size limit: SERVER_ERROR object too large for cache, data swallowed', async () => {
    const size = 2 * 1024 * 1024; // cairn: --max-item-size 1mb by default; memcached: 1 MB items (-I)
    c.send(`set mt:big 0 0 ${size}\r\n`);
    c.send(Buffer.alloc(size, 'x'));
    c.send('\r\n');
    expect(show(await c.readUntil('\r\n', 10_000))).toBe(show('SERVER_ERROR object too large for cache\r\n'));
    expect(await c.drain(200)).toBe('');
    await ex('get mt:big\r\n', 'END\r\n');
    await alive();
  });

  it('a command split across many tiny writes', async () => {
    const req = 'set mt:split 0 0 5\r\nhello\r\nget mt:split\r\n';
    for (const ch of req) {
      c.send(ch);
      await new Promise((r) => setImmediate(r));
    }
    expect(show(await c.readLines(4))).toBe(show('STORED\r\nVALUE mt:split 0 5\r\nhello\r\nEND\r\n'));
  });

  it('many connections at once, each with its own pipeline', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect()));
    await Promise.all(
      clients.map(async (cl, n) => {
        let req = '';
        let want = '';
        for (let i = 0; i < 50; i++) {
          req += `set mt:conn:${n}:${i} 0 0 ${String(i).length}\r\n${i}\r\nget mt:conn:${n}:${i}\r\n`;
          want += `STORED\r\nVALUE mt:conn:${n}:${i} 0 ${String(i).length}\r\n${i}\r\nEND\r\n`;
        }
        await ex(req, want, cl);
      }),
    );
  });
});
