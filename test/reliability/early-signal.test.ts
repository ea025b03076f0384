/**
 * A SIGTERM that comes while the server is still starting — its RESP port already answers and
 * acknowledges writes, the gateway thread is still coming up — closes it gracefully: in `spill` mode,
 * where nothing reaches the disk before a graceful stop, the acknowledged SET is there after a restart.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { freePort, startServer, tempDir, type TestServer } from '../helpers/server.js';

const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Sends one RESP command on a new connection; resolves with the reply, or null if nothing listens yet. */
function tryCommand(port: number, command: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('error', () => resolve(null));
    socket.on('connect', () => socket.write(command));
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.endsWith('\r\n')) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('close', () => resolve(got === '' ? null : got));
  });
}

describe('a signal while the server starts', () => {
  it('spill: SIGTERM right after the first acknowledged SET exits gracefully and keeps the write', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = tempDir('cairn-early-signal-');
      dirs.push(dir);
      const respPort = await freePort();
      const child = spawn(
        process.execPath,
        [
          join(packageRoot, 'dist', 'src', 'cli.js'),
          'serve',
          '--port',
          '0',
          '--resp-port',
          String(respPort),
          '--memcache-port',
          '0',
          '--http-port',
          '0',
          '--data',
          dir,
          '--shards',
          '2',
          '--max-memory',
          '64mb',
          '--durability',
          'spill',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      // The moment the port answers: SET, then SIGTERM as soon as it is acknowledged.
      const deadline = Date.now() + 60_000;
      let reply: string | null = null;
      while (reply === null && Date.now() < deadline && child.exitCode === null) reply = await tryCommand(respPort, `SET early ${round}\r\n`);
      const readyBefore = /ready:/.test(out);
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      expect(reply, out).toBe('+OK\r\n');
      expect({ code, signal }, out).toEqual({ code: 0, signal: null });
      console.log(`round ${round}: SET acknowledged ${readyBefore ? 'after' : 'before'} the ready line; SIGTERM: exit code ${code}`);

      const again = await startServer({ dataDir: dir, args: ['--durability', 'spill', '--http-port', 'off'] });
      servers.push(again);
      const r = new Redis({ port: again.respPort, host: '127.0.0.1', lazyConnect: true });
      r.on('error', () => undefined);
      await r.connect();
      expect(await r.get('early')).toBe(String(round));
      r.disconnect();
      expect(await again.stop()).toBe(0);
    }
  }, 240_000);
});
