/**
 * Disk faults. Two mechanisms, because tests run as root here (file permissions do not stop root, so
 * a chmod'ed read-only directory proves nothing):
 *
 * 1. A test hook (CAIRN_TEST_HOOKS=1, CAIRN.DEBUG DISK-FAULT) makes one shard's disk batches fail
 *    the way LevelDB reports a full disk. Always runs.
 * 2. A real full disk: the data directory on a small tmpfs, grown with `mount -o remount` when the
 *    test wants "space returns". Runs where the test may mount (root with CAP_SYS_ADMIN); skipped
 *    elsewhere.
 *
 * Checked: writes that need the disk (sync mode) fail with a clear error, reads of what memory
 * holds keep working, the other shard is unaffected, and writes succeed again once the fault clears
 * (LevelDB's sticky error is cleared by reopening the database), with everything on disk after a
 * restart.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/hash.js';
import { tempDir, type TestServer } from '../helpers/server.js';
import { cleanup, keysOn, redis, sleep, start, until } from './lib.js';

const mounts: string[] = [];
const dirs: string[] = [];
/** a data directory that survives the server (restart tests) */
function keptDir(): string {
  const d = tempDir('cairn-disk-');
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const m of mounts) {
    spawnSync('umount', [m]);
    rmSync(m, { recursive: true, force: true });
  }
});

describe('disk faults (test hook)', () => {
  it('sync: writes to the faulty shard fail clearly, reads from memory and the other shard work, and it recovers', async () => {
    const srv = await start({ args: ['--durability', 'sync'], dataDir: keptDir() });
    const r = redis(srv.respPort);
    const [a, a2, a3] = keysOn(0, 2, 3, 'a');
    const [b] = keysOn(1, 2, 1, 'b');
    await r.set(a, 'before');
    await r.call('cairn.debug', 'disk-fault', '0', 'on');
    // the hook reaches the shard by its control channel: write until the fault is in force
    let err: string | null = null;
    await until(
      async () =>
        (err = await r.set(a2, 'during').then(
          () => null,
          (e: Error) => e.message,
        )) !== null,
      15_000,
      'the fault to take effect',
    );
    expect(err).toMatch(/CAIRN_ERR_DISK|disk/i);
    expect(err).toMatch(/No space left on device/);
    expect(await r.get(a)).toBe('before'); // in memory
    expect(await r.set(b, 'other shard')).toBe('OK');
    expect(await r.get(b)).toBe('other shard');

    await r.call('cairn.debug', 'disk-fault', '0', 'off');
    // the failed batch is retried every second; new writes go through once the hook is off
    await until(async () => (await r.set(a3, 'after').catch(() => 'refused')) === 'OK', 15_000, 'writes to go through again');
    expect(srv.output()).toMatch(/disk batch failed/);

    // everything written (the failed write too: it was applied in memory and written on recovery)
    const dir = srv.dataDir;
    await srv.kill();
    const again = await start({ dataDir: dir });
    const r2 = redis(again.respPort);
    expect(await r2.mget(a, a2, a3, b)).toEqual(['before', 'during', 'after', 'other shard']);
  }, 60_000);

  it('writeback: writes are acknowledged from memory during the fault and reach the disk when it clears', async () => {
    const srv = await start({ args: ['--durability', 'writeback', '--writeback-delay', '50ms', '--writeback-max-lag', '50ms'], dataDir: keptDir() });
    const r = redis(srv.respPort);
    const keys = keysOn(0, 2, 50, 'w');
    await r.call('cairn.debug', 'disk-fault', '0', 'on');
    // Acknowledged from memory until the queue is older than the writeback delay; from then on a
    // write waits for a batch, which fails: the writeback promise cannot be kept, so it says so.
    let refused = 0;
    for (const k of keys) {
      const reply = await r.set(k, k).catch((e: Error) => e.message);
      if (reply !== 'OK') {
        expect(reply).toMatch(/disk batch failed/);
        refused++;
      }
      await sleep(2);
    }
    expect(refused).toBeLessThan(keys.length);
    await until(() => /disk batch failed/.test(srv.output()), 15_000, 'a failed batch');
    await r.call('cairn.debug', 'disk-fault', '0', 'off');
    // the queued writes reach the disk at the next retry (a state, not a time)
    await until(async () => /cairn_writeback_unwritten_keys:0\r\n/.test(await r.info('persistence')), 30_000, 'every queued write on disk');
    const dir = srv.dataDir;
    await srv.kill();
    const again = await start({ dataDir: dir });
    expect(await redis(again.respPort).mget(...keys)).toEqual(keys);
  }, 60_000);

  it('writeback: once batches fail, writes are refused within the delay until one commits, and nothing is lost when the fault clears', async () => {
    const delay = 100;
    const margin = 500;
    const srv = await start({
      args: ['--durability', 'writeback', '--writeback-delay', `${delay}ms`, '--writeback-max-lag', `${delay}ms`],
      dataDir: keptDir(),
    });
    const control = redis(srv.respPort);
    let faultAt = Infinity;
    const loading = writeLoad(srv, 6, 100, 60_000, (w) => w.at > faultAt + 2500);
    await sleep(500);
    await control.call('cairn.debug', 'disk-fault', '0', 'on');
    faultAt = performance.now();
    const writes = await loading;
    const writesAfter = (shard: number, t: number): Write[] => writes.filter((w) => w.shard === shard && w.at > t);
    // by when the write was sent, not when its reply came: a stalled test process reads replies late
    const ackedLate = writes.filter((w) => w.shard === 0 && w.sentAt > faultAt + delay + margin && w.error === null).length;
    const refused = writesAfter(0, faultAt).filter((w) => w.error !== null);
    console.log(
      `writeback, shard 0's batches failing for 2.5 s under load: ${refused.length} writes refused, ` +
        `${ackedLate} sent more than delay + ${margin} ms after the fault and acknowledged; shard 1 acknowledged ${writesAfter(1, faultAt).filter((w) => w.error === null).length}`,
    );
    expect(refused.length).toBeGreaterThan(0);
    for (const w of refused) expect(w.error).toMatch(/^ERR shard 0: disk batch failed: .*No space left on device/);
    expect(ackedLate).toBe(0);
    expect(writesAfter(1, faultAt + delay + margin).every((w) => w.error === null)).toBe(true);

    await control.call('cairn.debug', 'disk-fault', '0', 'off');
    const [probe] = keysOn(0, 2, 1, 'probe');
    await until(async () => (await control.set(probe, '1').catch(() => 'refused')) === 'OK', 15_000, 'shard 0 to acknowledge writes again');
    // The refused writes were applied in memory and stay queued: wait until the writer has put every
    // queued write on disk (a state, not a time).
    await until(async () => /cairn_writeback_unwritten_keys:0\r\n/.test(await control.info('persistence')), 30_000, 'every queued write on disk');
    const dir = srv.dataDir;
    await srv.kill();
    // every write reached the disk, the refused ones too (they were applied in memory)
    const lost = await lostWrites(dir, writes);
    expect(lost.size).toBe(0);
  }, 120_000);
});

/** Can this process mount a tmpfs? (root with CAP_SYS_ADMIN, outside most CI containers) */
function tmpfs(sizeMb: number): string | null {
  const dir = tempDir('cairn-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  mounts.push(dir);
  return dir;
}

interface Write {
  key: string;
  value: string;
  shard: number;
  /** performance.now() when the request was sent */
  sentAt: number;
  /** performance.now() when the reply arrived */
  at: number;
  /** the error text, or null when acknowledged */
  error: string | null;
}

/**
 * Writers on `clients` connections, each SETting new keys as fast as replies come, until `stop` says
 * so (it sees every reply) or `maxMs` passes. Every write with its reply and its time.
 */
async function writeLoad(srv: TestServer, clients: number, valueBytes: number, maxMs: number, stop: (w: Write) => boolean): Promise<Write[]> {
  const writes: Write[] = [];
  const deadline = performance.now() + maxMs;
  let done = false;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const r = redis(srv.respPort);
      for (let i = 0; !done && performance.now() < deadline; i++) {
        const key = `load:${c}:${i}`;
        const value = randomBytes(valueBytes).toString('base64');
        let error: string | null = null;
        const sentAt = performance.now();
        try {
          await r.set(key, value);
        } catch (e) {
          error = (e as Error).message;
        }
        const w: Write = { key, value, shard: shardOf(Buffer.from(key), 2), sentAt, at: performance.now(), error };
        writes.push(w);
        if (stop(w)) done = true;
      }
    }),
  );
  return writes;
}

/** The writes whose value is not what a server on `dir` reads back. */
async function lostWrites(dir: string, writes: Write[]): Promise<Set<Write>> {
  const srv = await start({ dataDir: dir });
  const r = redis(srv.respPort);
  const lost = new Set<Write>();
  for (let i = 0; i < writes.length; i += 1000) {
    const chunk = writes.slice(i, i + 1000);
    const got = await r.mget(...chunk.map((w) => w.key));
    chunk.forEach((w, j) => {
      if (got[j] !== w.value) lost.add(w);
    });
  }
  await srv.stop();
  return lost;
}

const probe = process.platform === 'linux' && process.getuid?.() === 0 ? tmpfs(1) : null;

describe.skipIf(probe === null)('disk faults (a real full disk: tmpfs)', () => {
  it('sync: ENOSPC gives clear errors, reads keep working, writes work again when space returns', async () => {
    const mnt = tmpfs(8)!;
    const dir = `${mnt}/data`;
    mkdirSync(dir);
    const srv = await start({ dataDir: dir, args: ['--durability', 'sync', '--max-value-size', '1mb'] });
    const r = redis(srv.respPort);
    const acked = new Map<string, string>();
    const errors: string[] = [];
    for (let i = 0; i < 300 && errors.length < 20; i++) {
      const k = `big:${i}`;
      const v = randomBytes(32 * 1024).toString('base64');
      try {
        expect(await r.set(k, v)).toBe('OK');
        acked.set(k, v);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/No space left on device/);
    // reads of what memory holds keep working
    const first = [...acked.keys()][0];
    expect(await r.get(first)).toBe(acked.get(first));

    spawnSync('mount', ['-o', 'remount,size=256m', mnt]);
    await until(async () => (await r.set('probe', '1').catch(() => 'failed')) === 'OK', 15_000, 'writes to succeed again');
    for (let i = 0; i < 20; i++) {
      const k = `after:${i}`;
      const v = randomBytes(32 * 1024).toString('base64');
      expect(await r.set(k, v)).toBe('OK');
      acked.set(k, v);
    }
    expect(await srv.stop()).toBe(0);
    const again = await start({ dataDir: dir });
    const r2 = redis(again.respPort);
    for (const [k, v] of acked) expect(await r2.get(k)).toBe(v);
    console.log(`full disk (tmpfs 8 MB): ${acked.size} acknowledged writes all on disk after ENOSPC and recovery; ${errors.length} writes refused`);
  }, 90_000);

  it('writeback: once the disk is full, writes fail with CAIRN_ERR_DISK within the writeback delay, and nothing acknowledged before that is lost to SIGKILL', async () => {
    const delay = 100;
    // what the bound allows beyond the delay: one failing batch commit and the reply's way back
    const margin = 500;
    const mnt = tmpfs(20)!;
    const dir = `${mnt}/data`;
    mkdirSync(dir);
    const srv = await start({
      dataDir: dir,
      args: ['--durability', 'writeback', '--writeback-delay', `${delay}ms`, '--writeback-max-lag', `${delay}ms`, '--max-memory', '512mb'],
    });
    // Load until the disk has refused writes for 3 s (so that acknowledgements had every chance to
    // resume), bounded to 90 s in all.
    let firstRefusal = Infinity;
    const writes = await writeLoad(srv, 8, 600, 90_000, (w) => {
      if (w.error !== null && firstRefusal === Infinity) firstRefusal = w.at;
      return w.at > firstRefusal + 3000;
    });
    await srv.kill();
    const refused = writes.filter((w) => w.error !== null);
    expect(refused.length).toBeGreaterThan(0);
    // the RESP error text of CAIRN_ERR_DISK
    for (const w of refused) expect(w.error).toMatch(/^ERR shard \d: disk batch failed: /);

    spawnSync('mount', ['-o', 'remount,size=512m', mnt]);
    const lost = await lostWrites(dir, writes);
    // The oldest write of each shard that never reached the disk: from then on the shard's writer could
    // not write, so its acknowledgements must stop within the delay (+ margin) of that write's reply.
    let lostAcked = 0;
    let late = 0;
    const ackedAfter: number[] = [];
    let latest = 0; // the latest lost acknowledgement, ms after its shard's oldest lost write
    for (const shard of [0, 1]) {
      const ofShard = writes.filter((w) => w.shard === shard).sort((a, b) => a.at - b.at);
      const oldestLost = ofShard.find((w) => lost.has(w));
      if (oldestLost === undefined) continue;
      for (const w of ofShard) {
        if (w.error !== null || !lost.has(w)) continue;
        lostAcked++;
        latest = Math.max(latest, w.at - oldestLost.at);
        // sent after the bound (its reply may come later still when the test process is stalled)
        if (w.sentAt > oldestLost.at + delay + margin) late++;
      }
      // acknowledgements of writes sent after the bound, lost or not (none can have reached the full disk)
      ackedAfter.push(ofShard.filter((w) => w.error === null && w.sentAt > oldestLost.at + delay + margin).length);
    }
    console.log(
      `writeback on a full disk (tmpfs 20 MB): ${writes.length - refused.length} acknowledged, ${refused.length} refused with CAIRN_ERR_DISK; ` +
        `after SIGKILL ${lostAcked} acknowledged writes lost, acknowledged at most ${Math.round(latest)} ms after their shard's oldest lost write, ${late} of them sent more than delay + ${margin} ms after their shard stopped writing; ` +
        `sent after that bound and acknowledged, per shard: ${ackedAfter.join(', ')}`,
    );
    expect(ackedAfter.length).toBeGreaterThan(0);
    expect(ackedAfter.every((n) => n === 0)).toBe(true);
    expect(late).toBe(0);
    expect(refused[0].error).toMatch(/No space left on device/);
  }, 180_000);

  it('SIGTERM while the disk is full exits within --shutdown-timeout, non-zero, saying what was not written', async () => {
    const mnt = tmpfs(8)!;
    const dir = `${mnt}/data`;
    mkdirSync(dir);
    const srv = await start({
      dataDir: dir,
      args: ['--durability', 'writeback', '--writeback-delay', '50ms', '--writeback-max-lag', '50ms', '--shutdown-timeout', '3s', '--max-memory', '256mb'],
    });
    let refusals = 0;
    await writeLoad(srv, 4, 600, 90_000, (w) => w.error !== null && ++refusals >= 20);
    expect(refusals).toBeGreaterThanOrEqual(20);
    const t0 = performance.now();
    srv.process.kill('SIGTERM');
    // a hang is reported, not waited for
    const hang = setTimeout(() => srv.process.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => {
      if (srv.process.exitCode !== null) resolve(srv.process.exitCode);
      else srv.process.once('exit', (c) => resolve(c));
    });
    clearTimeout(hang);
    const took = performance.now() - t0;
    console.log(
      `SIGTERM on a full disk: exited with ${code} after ${Math.round(took)} ms (--shutdown-timeout 3s): ${/cairn: close failed.*/.exec(srv.output())?.[0]}`,
    );
    expect(code).toBe(1);
    expect(took).toBeLessThan(3000 + 5000);
    expect(srv.output()).toMatch(/shard \d: \d+ keys not written to disk \(lost\): .*No space left on device/);

    // with space again the data directory opens and serves
    spawnSync('mount', ['-o', 'remount,size=256m', mnt]);
    const again = await start({ dataDir: dir });
    expect(await redis(again.respPort).set('after', 'x')).toBe('OK');
  }, 180_000);
});
