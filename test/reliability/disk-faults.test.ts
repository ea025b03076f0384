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
import { tempDir } from '../helpers/server.js';
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
    await sleep(50);
    const err = await r.set(a2, 'during').then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/CAIRN_ERR_DISK|disk/i);
    expect(err).toMatch(/No space left on device/);
    expect(await r.get(a)).toBe('before'); // in memory
    expect(await r.set(b, 'other shard')).toBe('OK');
    expect(await r.get(b)).toBe('other shard');

    await r.call('cairn.debug', 'disk-fault', '0', 'off');
    // the failed batch is retried every second; new writes go through at once
    expect(await r.set(a3, 'after')).toBe('OK');
    expect(srv.output()).toMatch(/disk batch failed/);

    // everything written (the failed write too: it was applied in memory and written on recovery)
    const dir = srv.dataDir;
    await srv.kill();
    const again = await start({ dataDir: dir });
    const r2 = redis(again.respPort);
    expect(await r2.mget(a, a2, a3, b)).toEqual(['before', 'during', 'after', 'other shard']);
  }, 60_000);

  it('writeback: writes are acknowledged from memory during the fault and reach the disk when it clears', async () => {
    const srv = await start({ args: ['--durability', 'writeback', '--writeback-delay', '50ms'], dataDir: keptDir() });
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
    await sleep(300);
    expect(srv.output()).toMatch(/disk batch failed/);
    await r.call('cairn.debug', 'disk-fault', '0', 'off');
    await sleep(1500); // one retry period
    const dir = srv.dataDir;
    await srv.kill();
    const again = await start({ dataDir: dir });
    expect(await redis(again.respPort).mget(...keys)).toEqual(keys);
  }, 60_000);
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
});
