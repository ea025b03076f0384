/**
 * libmemcached's command-line tools (Debian libmemcached-tools: memccp, memccat, memcrm, memcflush,
 * memcstat, memctouch, memcexist, memcping; memcp, memcat, ... elsewhere) against cairn's memcached
 * port: files stored with memcp read back byte for byte with memcat, flags and expiry, removal,
 * flush, and server statistics.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram, requireProgram, run, tempDir } from '../../bench/lib/procs.js';
import { REFERENCE, startTarget, type Target } from './lib/target.js';

let target: Target;
let dir: string;
let servers: string;

const tool = (name: string): string => requireProgram(`memc${name}`, `mem${name}`);

async function mem(name: string, ...args: string[]) {
  const r = await run(tool(name), [servers, ...args], { timeoutMs: 15_000 });
  if (r.timedOut) throw new Error(`${name} ${args.join(' ')} timed out`);
  return r;
}

beforeAll(async () => {
  target = await startTarget({ resp: false });
  servers = `--servers=127.0.0.1:${target.memcachePort}`;
  dir = tempDir('cairn-memtools-');
});

afterAll(async () => {
  await target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('libmemcached tools', () => {
  it('the tools are installed', () => {
    for (const name of ['cp', 'cat', 'rm', 'flush', 'stat']) {
      expect(findProgram(`memc${name}`, `mem${name}`), `mem${name} / memc${name}`).not.toBeNull();
    }
  });

  it('memcp stores files (text and binary), memcat reads them back byte for byte', async () => {
    const text = join(dir, 'hello.txt');
    writeFileSync(text, 'hello from memcp\nsecond line');
    const bin = join(dir, 'blob.bin');
    const bytes = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 131 + (i >> 8)) & 255));
    writeFileSync(bin, bytes);
    const cp = await mem('cp', text, bin);
    expect(cp.code, cp.stderr).toBe(0);

    const cat = await mem('cat', 'hello.txt');
    expect(cat.code, cat.stderr).toBe(0);
    // memcat prints a newline after each value
    expect(cat.stdout).toBe('hello from memcp\nsecond line\n');

    const out = join(dir, 'out.bin');
    const catFile = await mem('cat', `--file=${out}`, 'blob.bin');
    expect(catFile.code, catFile.stderr).toBe(0);
    expect(readFileSync(out).equals(bytes)).toBe(true);

    const missing = await mem('cat', 'not-there');
    expect(missing.code).not.toBe(0);
  });

  it('memcp --flags / --expire, memcat --flags, memcp --add refuses an existing key', async () => {
    const f = join(dir, 'flagged.txt');
    writeFileSync(f, 'flagged');
    expect((await mem('cp', '--flags=77', '--expire=100', f)).code).toBe(0);
    const cat = await mem('cat', '--flags', 'flagged.txt');
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout.split('\n').slice(0, 2)).toEqual(['77', 'flagged']);
    const add = await mem('cp', '--add', f);
    expect(add.code).not.toBe(0);
    expect(add.stderr + add.stdout).toMatch(/NOT STORED/i);
    const shortLived = join(dir, 'short.txt');
    writeFileSync(shortLived, 'bye');
    expect((await mem('cp', '--expire=1', shortLived)).code).toBe(0);
    expect((await mem('cat', 'short.txt')).stdout).toBe('bye\n');
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await mem('cat', 'short.txt')).code).not.toBe(0);
  });

  it('memtouch, memexist, memping', async () => {
    const touch = findProgram('memctouch', 'memtouch');
    const exist = findProgram('memcexist', 'memexist');
    const ping = findProgram('memcping', 'memping');
    if (touch) expect((await run(touch, [servers, '--expire=500', 'hello.txt'], { timeoutMs: 10_000 })).code).toBe(0);
    if (exist) {
      expect((await run(exist, [servers, 'hello.txt'], { timeoutMs: 10_000 })).code).toBe(0);
      expect((await run(exist, [servers, 'nope.txt'], { timeoutMs: 10_000 })).code).not.toBe(0);
    }
    if (ping) expect((await run(ping, [servers], { timeoutMs: 10_000 })).code).toBe(0);
  });

  it('memrm removes a key', async () => {
    const rm = await mem('rm', 'hello.txt');
    expect(rm.code, rm.stderr).toBe(0);
    expect((await mem('cat', 'hello.txt')).code).not.toBe(0);
    expect((await mem('cat', 'blob.bin')).code).toBe(0);
  });

  it('memstat shows the server statistics, cairn tiers included', async () => {
    const st = await mem('stat');
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(`Server: 127.0.0.1 (${target.memcachePort})`);
    expect(st.stdout).toMatch(/\bversion: \d+\.\d+\.\d+/);
    expect(st.stdout).toMatch(/\bcurr_items: \d+/);
    if (!REFERENCE) {
      expect(st.stdout).toMatch(/\bhot_items: \d+/);
      expect(st.stdout).toMatch(/\bcold_items: \d+/);
    }
  });

  it('memflush empties the cache', async () => {
    const fl = await mem('flush');
    expect(fl.code, fl.stderr).toBe(0);
    expect((await mem('cat', 'blob.bin')).code).not.toBe(0);
    expect((await mem('cat', 'flagged.txt')).code).not.toBe(0);
  });
});
