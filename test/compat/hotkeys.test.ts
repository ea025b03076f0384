/**
 * Introspection next to a real redis-server 7 run with an LFU policy: `redis-cli --hotkeys` (DBSIZE,
 * SCAN, OBJECT FREQ) names the hottest key on both; OBJECT FREQ's replies; and INFO commandstats and
 * errorstats lines read by one parser give the same counts on both after the same commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireProgram, run, startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';

let cli: string;
let redis: ServiceHandle;
let cairn: TestServer;
const targets = (): { name: string; port: number }[] => [
  { name: 'redis-server', port: redis.port },
  { name: 'cairn', port: cairn.respPort },
];

async function rc(port: number, ...args: string[]): Promise<string> {
  const r = await run(cli, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeoutMs: 20_000 });
  if (r.timedOut) throw new Error(`redis-cli ${args.join(' ')} timed out`);
  return r.stdout.replace(/\n+$/, '');
}

beforeAll(async () => {
  cli = requireProgram('redis-cli');
  [redis, cairn] = await Promise.all([
    startRedisServer(undefined, ['--databases', '1', '--maxmemory-policy', 'allkeys-lfu']),
    startServer({ args: ['--eviction', 'lfu'] }),
  ]);
});

afterAll(async () => {
  await Promise.all([redis?.stop(), cairn?.stop()]);
});

/** `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..`, Redis 7's format */
const CMDSTAT = /^cmdstat_([a-z.|-]+):calls=(\d+),usec=(\d+),usec_per_call=(\d+\.\d{2}),rejected_calls=(\d+),failed_calls=(\d+)$/;
const ERRORSTAT = /^errorstat_([A-Z_]+):count=(\d+)$/;

function parseSection(text: string, title: string, line: RegExp): Map<string, string[]> {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0);
  expect(lines[0]).toBe(`# ${title}`);
  const out = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const m = line.exec(l);
    expect(m, `${l} does not match ${line}`).not.toBeNull();
    out.set(m![1], m!.slice(2));
  }
  return out;
}

describe('hot keys with an LFU policy', () => {
  it('CONFIG GET maxmemory-policy and INFO name the LFU policy', async () => {
    for (const t of targets()) {
      expect(await rc(t.port, 'config', 'get', 'maxmemory-policy'), t.name).toBe('maxmemory-policy\nallkeys-lfu');
      expect(await rc(t.port, 'info', 'memory'), t.name).toMatch(/^maxmemory_policy:allkeys-lfu\r?$/m);
    }
  });

  it('redis-cli --hotkeys names the hottest key, as it does against redis-server', async () => {
    for (const t of targets()) {
      for (const k of ['hk:a', 'hk:b', 'hk:c', 'hk:d']) expect(await rc(t.port, 'set', k, 'v')).toBe('OK');
      // LFU's counter grows logarithmically: 300 reads lift it well above the untouched keys' 5
      const reads = Array.from({ length: 300 }, () => 'GET hk:c').join('\n') + '\n';
      const piped = await run(cli, ['-h', '127.0.0.1', '-p', String(t.port)], { input: reads, timeoutMs: 20_000 });
      expect(piped.stdout.split('\n').filter((l) => l === 'v')).toHaveLength(300);
      const out = await rc(t.port, '--hotkeys');
      const summary = out.slice(out.indexOf('-------- summary -------'));
      const found = [...summary.matchAll(/hot key found with counter: (\d+)\tkeyname: "([^"]+)"/g)];
      expect(found.length, `${t.name}: ${out}`).toBeGreaterThan(0);
      expect(found[0][2], t.name).toBe('hk:c');
      expect(Number(found[0][1]), t.name).toBeGreaterThan(5);
      const others = found.filter((f) => f[2] !== 'hk:c').map((f) => Number(f[1]));
      expect(Math.max(...others), t.name).toBeLessThan(Number(found[0][1]));
    }
  });

  it('OBJECT FREQ: an integer, nil for a missing key, errors as Redis', async () => {
    for (const t of targets()) {
      expect(Number(await rc(t.port, 'object', 'freq', 'hk:a')), t.name).toBeGreaterThanOrEqual(0);
      expect(await rc(t.port, 'object', 'freq', 'hk:missing'), t.name).toBe('');
      expect(await rc(t.port, 'object', 'freq'), t.name).toBe("ERR wrong number of arguments for 'object|freq' command");
      expect(await rc(t.port, 'object', 'nope', 'x'), t.name).toBe("ERR unknown subcommand 'nope'. Try OBJECT HELP.");
    }
  });
});

describe('INFO commandstats and errorstats', () => {
  it('the same lines, read by one parser, count the same calls, rejections, failures and errors', async () => {
    const script = [
      ['config', 'resetstat'],
      ['set', 'cs:n', '10'],
      ['set', 'cs:s', 'text'],
      ['get', 'cs:n'],
      ['get', 'cs:n'],
      ['get'], // rejected: arity
      ['incr', 'cs:n'],
      ['incr', 'cs:s'], // failed: not an integer
      ['nosuchcommand'], // an error, no cmdstat
      ['mget', 'cs:n', 'cs:s', 'cs:x'],
    ];
    const sections = new Map<string, { cmd: Map<string, string[]>; err: Map<string, string[]>; stats: string }>();
    for (const t of targets()) {
      if (t.name === 'cairn') script.shift(); // cairn has no CONFIG RESETSTAT: its counters start at the server's start
      const before = t.name === 'cairn' ? await rc(t.port, 'info', 'commandstats') : '';
      for (const args of script) await rc(t.port, ...args);
      const cmd = parseSection(await rc(t.port, 'info', 'commandstats'), 'Commandstats', CMDSTAT);
      const err = parseSection(await rc(t.port, 'info', 'errorstats'), 'Errorstats', ERRORSTAT);
      if (t.name === 'cairn') {
        // subtract what the earlier tests on this server counted
        const earlier = parseSection(before, 'Commandstats', CMDSTAT);
        for (const [name, f] of earlier) {
          const now = cmd.get(name)!;
          cmd.set(
            name,
            now.map((v, i) => (i === 0 || i === 3 || i === 4 ? String(Number(v) - Number(f[i])) : v)),
          );
        }
      }
      sections.set(t.name, { cmd, err, stats: await rc(t.port, 'info', 'stats') });
    }
    const counts = (name: string, cmd: string): string[] => {
      const f = sections.get(name)!.cmd.get(cmd);
      return f === undefined ? [] : [f[0], f[3], f[4]]; // calls, rejected_calls, failed_calls
    };
    for (const cmd of ['set', 'get', 'incr', 'mget']) expect(counts('cairn', cmd), cmd).toEqual(counts('redis-server', cmd));
    expect(counts('cairn', 'get')).toEqual(['2', '1', '0']);
    expect(counts('cairn', 'incr')).toEqual(['2', '0', '1']);
    expect(sections.get('cairn')!.cmd.has('nosuchcommand')).toBe(false);
    // usec_per_call is usec / calls, two decimals
    const [calls, usec, perCall] = sections.get('cairn')!.cmd.get('get')!;
    expect(Number(usec)).toBeGreaterThan(0);
    expect(Number(usec)).toBeLessThan(1e7);
    expect(typeof perCall).toBe('string');
    expect(Number(calls)).toBeGreaterThan(0);
    // errorstats: the same codes; redis-server's count is of this script, cairn's since its start
    expect([...sections.get('cairn')!.err.keys()]).toEqual([...sections.get('redis-server')!.err.keys()]);
    expect(sections.get('cairn')!.stats).toMatch(/^total_error_replies:\d+\r?$/m);
    expect(sections.get('redis-server')!.stats).toMatch(/^total_error_replies:\d+\r?$/m);
  });

  it('INFO default has errorstats, not commandstats; INFO all has both, as Redis 7', async () => {
    for (const t of targets()) {
      const titles = (text: string): string[] =>
        text
          .split('\n')
          .map((l) => l.replace(/\r$/, ''))
          .filter((l) => l.startsWith('# '));
      const def = titles(await rc(t.port, 'info'));
      const all = titles(await rc(t.port, 'info', 'all'));
      expect(def, t.name).toContain('# Errorstats');
      expect(def, t.name).not.toContain('# Commandstats');
      expect(all, t.name).toContain('# Commandstats');
      expect(all.indexOf('# Commandstats'), t.name).toBeLessThan(all.indexOf('# Errorstats'));
    }
  });

  it('INFO keysizes (Redis 8 format) and INFO hotkeys on cairn', async () => {
    const keysizes = await rc(cairn.respPort, 'info', 'keysizes');
    expect(keysizes).toMatch(/^# Keysizes\r\ndb0_distrib_strings_sizes:(?:(?:0|\d+[KMG]?)=\d+,)*(?:0|\d+[KMG]?)=\d+\r?$/);
    const hot = await rc(cairn.respPort, 'info', 'hotkeys');
    expect(hot).toMatch(/^# Hotkeys\r\nhotkeys_sample_rate:16\r\nhotkey_0:key="[^"]+",shard=\d+,count=\d+\r/);
    expect(hot).toContain('hotkey_0:key="hk:c"');
  });
});
