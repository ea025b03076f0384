/**
 * What a writeback crash can lose is the lag: under continuous write load the server reports a
 * non-zero lag (INFO persistence, native STATS, /metrics), is SIGKILLed, and after a restart every
 * write acknowledged more than --writeback-max-lag + a margin before the kill is there; idle, the
 * lag is zero.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type CairnClient } from '../../src/client/index.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';
import { cleanup, redis, until } from './lib.js';

const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await cleanup();
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const MAX_LAG = 1000;
/** one batch commit and the reply's way back, as the other crash tests allow */
const MARGIN = 500;

interface Lag {
  info: { lagMs: number; keys: number; bytes: number };
  stats: { lagMs: number; ops: number; bytes: number };
  metric: number;
}

async function lagOf(srv: TestServer, sdk: CairnClient): Promise<Lag> {
  const r = redis(srv.respPort);
  const text = (await r.info('persistence')) as string;
  r.disconnect();
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const stats = (await sdk.stats()) as { total: { writeback: Lag['stats'] } };
  const metrics = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
  let metric = 0;
  for (const m of metrics.matchAll(/^cairn_writeback_lag_seconds\{shard="\d+"\} ([\d.e+-]+)$/gm)) metric = Math.max(metric, Number(m[1]));
  return {
    info: { lagMs: field('cairn_writeback_lag_ms'), keys: field('cairn_writeback_unwritten_keys'), bytes: field('cairn_writeback_unwritten_bytes') },
    stats: stats.total.writeback,
    metric,
  };
}

describe('writeback lag', () => {
  it('is reported under load and zero when idle; a SIGKILL loses only writes within the max lag', async () => {
    const dir = tempDir('cairn-lag-');
    dirs.push(dir);
    // a batching delay of 200 ms keeps some writes waiting at any moment of the load
    const args = ['--durability', 'writeback', '--writeback-delay', '200ms', '--writeback-max-lag', `${MAX_LAG}ms`];
    const srv = await startServer({ dataDir: dir, args });
    servers.push(srv);
    const sdk = await createClient({ port: srv.port, reconnect: false, timeoutMs: 10_000 });

    const acked = new Map<string, number>();
    let running = true;
    const writer = async (w: number): Promise<void> => {
      const r = redis(srv.respPort, { retryStrategy: () => null, autoResendUnfulfilledCommands: false });
      for (let n = 0; running; n++) {
        const key = `w${w}:${n}`;
        try {
          await r.set(key, `value-${n}-${'x'.repeat(100)}`);
          acked.set(key, Date.now());
        } catch {
          return; // killed
        }
      }
    };
    const load = Array.from({ length: 8 }, (_, w) => writer(w));

    // under load: every view reports unwritten writes and their age
    const seen = { info: false, stats: false, metric: false };
    await until(
      async () => {
        const lag = await lagOf(srv, sdk);
        if (lag.info.lagMs > 0 && lag.info.keys > 0 && lag.info.bytes > 0) seen.info = true;
        if (lag.stats.lagMs > 0 && lag.stats.ops > 0 && lag.stats.bytes > 0) seen.stats = true;
        if (lag.metric > 0) seen.metric = true;
        return seen.info && seen.stats && seen.metric;
      },
      30_000,
      'a non-zero lag in INFO, STATS and /metrics under load',
    );
    await sdk.close().catch(() => undefined);
    // enough load for writes older than the bound to exist at the kill
    const started = Math.min(...acked.values());
    await until(() => Date.now() - started > MAX_LAG + MARGIN + 1500, 30_000, 'load time');
    const killedAt = Date.now();
    await srv.kill();
    running = false;
    await Promise.all(load);

    const again = await startServer({ dataDir: dir, args });
    servers.push(again);
    const r = redis(again.respPort);
    const old = [...acked].filter(([, at]) => at < killedAt - MAX_LAG - MARGIN).map(([key]) => key);
    expect(old.length).toBeGreaterThan(100);
    const missing = async (keys: string[]): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        (await r.mget(...chunk)).forEach((v, j) => v === null && out.push(chunk[j]));
      }
      return out;
    };
    const lost = await missing(old);
    const recent = (await missing([...acked.keys()].filter((key) => acked.get(key)! >= killedAt - MAX_LAG - MARGIN))).length;
    console.log(
      `writeback lag: ${acked.size} acknowledged; ${old.length} more than ${MAX_LAG} + ${MARGIN} ms before the kill, ${lost.length} of them lost; ${recent} later ones lost`,
    );
    expect(lost).toEqual([]);

    // idle: the lag returns to zero
    await r.set('after-restart', '1');
    const sdk2 = await createClient({ port: again.port, reconnect: false, timeoutMs: 10_000 });
    let idle: Lag | null = null;
    await until(
      async () => {
        idle = await lagOf(again, sdk2);
        return idle.info.keys === 0 && idle.stats.ops === 0;
      },
      15_000,
      'the queue to drain',
    );
    expect(idle).toEqual({ info: { lagMs: 0, keys: 0, bytes: 0 }, stats: { lagMs: 0, ops: 0, bytes: 0 }, metric: 0 });
    await sdk2.close().catch(() => undefined);
  }, 120_000);
});
