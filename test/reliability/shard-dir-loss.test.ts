/**
 * A shard's LevelDB directory removed under a running server, or missing or emptied between runs.
 * LevelDB keeps writing into the files it has open after their directory is gone, so nothing fails
 * by itself until much later: cairn looks for the directory, answers what needs the disk with
 * CAIRN_ERR_DISK, still exits on SIGTERM (reporting what it could not write), and refuses to start
 * on the data directory rather than serve that shard empty. `cairn repair` accepts the loss.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { isCairnError } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';
import { tempDir } from '../helpers/server.js';
import { cleanup, keysOn, redis, sleep, start, until } from './lib.js';

const dirs: string[] = [];
afterAll(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = tempDir('cairn-shardloss-');
  dirs.push(d);
  return d;
}

function startFails(dir: string): Promise<string> {
  return start({ dataDir: dir }).then(
    () => {
      throw new Error('the server started without a shard database');
    },
    (err: Error) => err.message,
  );
}

const cli = join(packageRoot, 'dist', 'src', 'cli.js');

describe('a shard directory lost', () => {
  it('removed while running: coded disk errors, SIGTERM exits, the restart is refused, repair accepts the loss', async () => {
    const dir = dataDir();
    // 4 MB of memory per shard, 8 MB of values: most keys live on disk only
    const srv = await start({ dataDir: dir, args: ['--max-memory', '8mb'] });
    const r = redis(srv.respPort);
    const lost = keysOn(0, 2, 20_000, 'a');
    const kept = keysOn(1, 2, 20_000, 'b');
    const value = 'v'.repeat(200);
    for (let i = 0; i < lost.length; i += 1000) {
      const args: string[] = [];
      for (const k of [...lost.slice(i, i + 1000), ...kept.slice(i, i + 1000)]) args.push(k, value);
      await r.mset(...args);
    }
    expect(await r.dbsize()).toBe(40_000);

    // LevelDB may write a file into it meanwhile (ENOTEMPTY): rmSync retries then
    rmSync(join(dir, 'shard-0'), { recursive: true, force: true, maxRetries: 20, retryDelay: 20 });

    // reads that need shard 0's disk fail with a coded error, not an internal one
    const sdk = await createClient({ port: srv.port, reconnect: false, timeoutMs: 10_000 });
    let code: string | null = null;
    let i = 0;
    await until(
      async () => {
        const k = lost[i++ % lost.length];
        try {
          await sdk.get(k);
        } catch (err) {
          code = isCairnError(err) ? err.code : `uncoded: ${(err as Error).message}`;
        }
        return code !== null;
      },
      20_000,
      'a disk error on shard 0',
    );
    expect(code).toBe('CAIRN_ERR_DISK');
    let respError = '';
    await until(async () => {
      respError = await r.get(lost[i++ % lost.length]).then(
        () => '',
        (e: Error) => e.message,
      );
      return respError !== '';
    });
    expect(respError).not.toMatch(/internal error/);
    expect(respError).toContain(join(dir, 'shard-0'));
    // writes to shard 0 are refused once the writeback delay has passed without a disk to write to
    await until(async () => (await r.set(lost[0], 'new').catch((e: Error) => e.message)) !== 'OK', 20_000, 'a refused write');
    // the other shard serves reads and writes throughout
    expect(await r.get(kept[0])).toBe(value);
    expect(await r.set(kept[1], 'new')).toBe('OK');
    await sdk.close();

    // SIGTERM exits, and says what it could not write
    const exit = await Promise.race([srv.stop(), sleep(60_000).then(() => 'still running 60 s after SIGTERM')]);
    expect(exit).toBe(1);
    expect(srv.output()).toMatch(/close failed: .*shard-0 was removed/);

    const message = await startFails(dir);
    expect(message).toContain(`${join(dir, 'shard-0')} is missing`);
    expect(message).toContain(`cairn repair --data ${dir}`);

    const repaired = spawnSync(process.execPath, [cli, 'repair', '--data', dir], { encoding: 'utf8' });
    expect(repaired.status).toBe(0);
    expect(repaired.stdout).toMatch(/shard-0: no LevelDB database left/);
    const after = await start({ dataDir: dir });
    const r2 = redis(after.respPort);
    expect(await r2.dbsize()).toBe(kept.length);
    expect(await r2.get(kept[1])).toBe('new');
    expect(await r2.get(lost[1])).toBeNull();
    expect(await after.stop()).toBe(0);
    // shard 0 is recorded again: losing it now is refused again
    // LevelDB may write a file into it meanwhile (ENOTEMPTY): rmSync retries then
    rmSync(join(dir, 'shard-0'), { recursive: true, force: true, maxRetries: 20, retryDelay: 20 });
    expect(await startFails(dir)).toContain('shard-0');
  }, 180_000);

  it('emptied between runs: refused with a message naming the directory', async () => {
    const dir = dataDir();
    const srv = await start({ dataDir: dir });
    await redis(srv.respPort).mset(...keysOn(1, 2, 100, 'e').flatMap((k) => [k, k]));
    expect(await srv.stop()).toBe(0);
    const shardDir = join(dir, 'shard-1');
    for (const f of readdirSync(shardDir)) rmSync(join(shardDir, f), { recursive: true, force: true });
    const message = await startFails(dir);
    expect(message).toContain(`${shardDir} holds no LevelDB database`);
    expect(message).toContain('cairn repair');
  }, 60_000);
});
