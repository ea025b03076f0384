/**
 * Replication lag figures and a replica's apply rate (docs/replication.md), with a real primary and
 * a real replica on loopback:
 * - a primary restarted on the same data directory has a new run id and restarts its offsets: the
 *   replica realigns (full copy) and reports lag 0 and the primary's offset, not the old run's;
 * - a `--durability sync` replica keeps up with 8 concurrent writers on its primary: after they
 *   stop it reaches lag 0 (its applied rate is printed; the assertion is that it catches up).
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport } from '../../src/client/index.js';
import type { TestServer } from '../helpers/server.js';
import { cleanup, redis, start, until } from './lib.js';

const dirs: string[] = [];
const clients: CairnClient[] = [];
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function sdk(server: TestServer): Promise<CairnClient> {
  const c = await new CairnClient({ host: '127.0.0.1', port: server.port, reconnect: false, transport: tcpTransport() }).connect();
  clients.push(c);
  return c;
}

/** INFO replication over RESP, as field → value */
/** waits until the replica has caught up; a timeout says what it last saw */
async function untilCaughtUp(primary: TestServer, replica: TestServer, what: string, ms: number): Promise<void> {
  try {
    await until(() => caughtUp(primary, replica), ms, what);
  } catch (err) {
    throw new Error(`${(err as Error).message} (${seen})`);
  }
}

async function replInfo(server: TestServer): Promise<Map<string, string>> {
  const r = redis(server.respPort, { lazyConnect: true });
  try {
    await r.connect();
    const text = await r.info('replication');
    return new Map(
      text
        .split('\r\n')
        .filter((l) => l.includes(':'))
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
    );
  } finally {
    r.disconnect();
  }
}

/** the figures caughtUp saw last, for a timeout's message */
let seen = '';

/** The replica has applied everything its primary numbered, and says so. */
async function caughtUp(primary: TestServer, replica: TestServer): Promise<boolean> {
  const [p, r] = await Promise.all([replInfo(primary), replInfo(replica)]);
  seen =
    `primary master_repl_offset:${p.get('master_repl_offset')}; replica master_link_status:${r.get('master_link_status')} ` +
    `cairn_repl_lag_events:${r.get('cairn_repl_lag_events')} slave_repl_offset:${r.get('slave_repl_offset')} ` +
    `slave_read_repl_offset:${r.get('slave_read_repl_offset')}`;
  return (
    r.get('master_link_status') === 'up' &&
    r.get('cairn_repl_lag_events') === '0' &&
    r.get('cairn_repl_primary_run_id') === p.get('master_replid') &&
    r.get('slave_repl_offset') === p.get('master_repl_offset') &&
    r.get('slave_read_repl_offset') === p.get('master_repl_offset')
  );
}

describe('replication lag figures', () => {
  it('realigns with a restarted primary: lag 0 and the new run offset when the data is identical', async () => {
    const primary = await start({ args: ['--shards', '2'], keepData: true });
    dirs.push(primary.dataDir);
    const replica = await start({ args: ['--shards', '2', '--replica-of', `127.0.0.1:${primary.port}`] });
    let p = await sdk(primary);
    for (let i = 0; i < 280; i++) await p.set(`k${i}`, `v${i}`);
    await untilCaughtUp(primary, replica, 'the replica caught up before the restart', 60_000);
    expect(Number((await replInfo(replica)).get('slave_repl_offset'))).toBeGreaterThanOrEqual(280);

    // a clean primary restart on the same data directory and ports: same data, a new run, offset 0
    const oldRun = (await replInfo(primary)).get('master_replid');
    await p.close();
    await primary.stop();
    const restarted = await start({
      dataDir: primary.dataDir,
      ports: { port: primary.port, respPort: primary.respPort, memcachePort: primary.memcachePort, httpPort: primary.httpPort },
      args: ['--shards', '2'],
    });
    const info = await replInfo(restarted);
    expect(info.get('master_replid')).not.toBe(oldRun);
    await untilCaughtUp(restarted, replica, 'the replica caught up with the restarted primary', 60_000);
    const r = await replInfo(replica);
    expect(r.get('cairn_repl_lag_events')).toBe('0');
    expect(r.get('slave_repl_offset')).toBe((await replInfo(restarted)).get('master_repl_offset'));

    // and it follows the new run's offsets from there
    p = await sdk(restarted);
    for (let i = 0; i < 50; i++) await p.set(`after${i}`, `a${i}`);
    await untilCaughtUp(restarted, replica, 'the replica caught up after new writes', 60_000);
    expect(Number((await replInfo(replica)).get('slave_repl_offset'))).toBeGreaterThanOrEqual(50);
    const rc = await sdk(replica);
    expect(await rc.getString('k279')).toBe('v279');
    expect(await rc.getString('after49')).toBe('a49');
  }, 240_000);

  it('a sync-mode replica keeps up with 8 writers on its primary', async () => {
    const primary = await start({ args: ['--shards', '2'] });
    const replica = await start({ args: ['--shards', '2', '--durability', 'sync', '--replica-of', `127.0.0.1:${primary.port}`] });
    await until(async () => (await replInfo(replica)).get('master_link_status') === 'up', 60_000, 'the replica linked');

    const WRITERS = 8;
    const PER_WRITER = 2500; // 20 000 writes in all
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => sdk(primary)));
    const value = 'v'.repeat(100);
    const began = Date.now();
    await Promise.all(
      writers.map(async (c, w) => {
        for (let i = 0; i < PER_WRITER; i++) await c.set(`w${w}:${i}`, `${value}${i}`);
      }),
    );
    const wroteMs = Date.now() - began;
    const target = Number((await replInfo(primary)).get('master_repl_offset'));
    expect(target).toBeGreaterThanOrEqual(WRITERS * PER_WRITER);
    const appliedAtStop = Number((await replInfo(replica)).get('slave_repl_offset'));
    console.log(`sync replica: the primary took ${wroteMs} ms for ${target} events; the replica had applied ${appliedAtStop} by then`);
    // catching up is the assertion; the deadline is generous for a loaded machine
    await untilCaughtUp(primary, replica, 'the sync replica caught up after the writers stopped', 45_000);
    const totalMs = Date.now() - began;
    console.log(
      `sync replica: the primary wrote ${Math.round((target / wroteMs) * 1000)} events/s; ` +
        `the replica applied all ${target} after ${totalMs} ms (${Math.round((target / totalMs) * 1000)} events/s)`,
    );
    const rc = await sdk(replica);
    expect(await rc.getString(`w7:${PER_WRITER - 1}`)).toBe(`${value}${PER_WRITER - 1}`);
  }, 240_000);
});
