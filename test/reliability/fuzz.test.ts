/**
 * Hostile input (short CI run; `npm run bench:fuzz` sends 1,000,000 frames per protocol): mutated
 * and valid-ish frames from fast-check generators (bench/fuzz-gen.ts) on many connections. The server
 * must not crash or hang (a fresh connection gets PING answered afterwards), must not answer with an
 * internal error (an exception that escaped a command), and its RSS must stay bounded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { findings, HELLO, runFuzz, tcpTarget, type FuzzProtocol } from '../../bench/fuzz-gen.js';
import { cleanup, exchange, respPing, rssOf, start } from './lib.js';

afterAll(cleanup);

const FRAMES = Number(process.env.CAIRN_FUZZ_FRAMES ?? 25_000);

describe('fuzz', () => {
  it(`survives ${FRAMES} mutated frames per protocol (native, RESP, memcached)`, async () => {
    // no test hooks here: the fuzzer must not reach CAIRN.DEBUG
    const srv = await start({ env: { CAIRN_TEST_HOOKS: '0' }, args: ['--max-memory', '64mb'] });
    const pid = srv.process.pid!;
    const rssBefore = await rssOf(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => void rssOf(pid).then((r) => (rssPeak = Math.max(rssPeak, r))), 200);
    const targets: Record<Exclude<FuzzProtocol, 'ws'>, ReturnType<typeof tcpTarget>> = {
      native: tcpTarget(srv.port, HELLO),
      resp: tcpTarget(srv.respPort),
      memcache: tcpTarget(srv.memcachePort),
    };
    const results = await Promise.all(
      (Object.keys(targets) as (keyof typeof targets)[]).map(async (p) => [p, await runFuzz(p, targets[p], FRAMES, { seed: 7, parallel: 4 })] as const),
    );
    clearInterval(sampler);
    expect(srv.process.exitCode).toBeNull();
    expect(await respPing(srv.respPort)).toBe(true);
    expect(await exchange(srv.memcachePort, 'version\r\n', 'VERSION')).toContain('VERSION');
    expect(srv.output()).not.toMatch(/internal error|uncaught|exited \(code/);
    expect(findings).toEqual([]);
    const rssAfter = await rssOf(pid);
    expect(rssPeak).toBeLessThan(1024 * 1024 * 1024);
    for (const [p, r] of results) {
      console.log(
        `fuzz ${p}: ${r.frames} frames, ${(r.bytes / 1e6).toFixed(1)} MB, ${r.connections} connections (${r.closedByServer} closed by the server) in ${r.ms} ms`,
      );
    }
    console.log(
      `fuzz RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MB before, ${(rssPeak / 2 ** 20).toFixed(0)} MB peak, ${(rssAfter / 2 ** 20).toFixed(0)} MB after`,
    );
  }, 180_000);
});
