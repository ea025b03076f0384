/**
 * Starts a real cairn server (the compiled CLI, `node dist/src/cli.js serve`) on free loopback ports
 * with its own temporary data directory, for functional and compatibility tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

export interface TestServer {
  port: number;
  respPort: number;
  memcachePort: number;
  httpPort: number;
  dataDir: string;
  process: ChildProcess;
  /** everything the server printed so far */
  output(): string;
  /** graceful stop (SIGTERM); resolves with the exit code */
  stop(): Promise<number | null>;
  /** SIGKILL, no flush */
  kill(): Promise<void>;
}

export interface TestServerOptions {
  /** reuse a data directory (a restart); a fresh temporary one otherwise */
  dataDir?: string;
  /** keep the data directory when the test ends */
  keepData?: boolean;
  args?: string[];
  env?: Record<string, string>;
  /** reuse ports (a restart on the same address) */
  ports?: { port: number; respPort: number; memcachePort: number; httpPort: number };
}

export { freePort } from '../../bench/lib/procs.js';

/** The server's ready line, with the ports it bound. */
const READY = /ready: native (\d+|off), resp (\d+|off), memcache (\d+|off), http (\d+|off)/;

export function tempDir(prefix = 'cairn-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  // Port 0 (unless a restart asks for the old ports): the server binds free ports itself and names
  // them in its ready line, so no other process can take one between a pick and the bind.
  const ports = options.ports ?? { port: 0, respPort: 0, memcachePort: 0, httpPort: 0 };
  const args = [
    join(packageRoot, 'dist', 'src', 'cli.js'),
    'serve',
    '--port',
    String(ports.port),
    '--resp-port',
    String(ports.respPort),
    '--memcache-port',
    String(ports.memcachePort),
    '--http-port',
    String(ports.httpPort),
    '--data',
    dataDir,
    '--shards',
    '2',
    '--max-memory',
    '64mb',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), 30_000);
    const check = (): void => {
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = (s: string): number => (s === 'off' ? 0 : Number(s));
        Object.assign(ports, { port: port(m[1]), respPort: port(m[2]), memcachePort: port(m[3]), httpPort: port(m[4]) });
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code ?? child.signalCode} while starting:\n${out}`));
    });
  });

  const cleanup = (): void => {
    if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    ...ports,
    dataDir,
    process: child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      cleanup();
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      cleanup();
    },
  };
}
