/**
 * Child processes for benchmarks and compatibility tests: free loopback ports, daemons that are
 * waited for and always stopped (redis-server, memcached, nutcracker, a cairn server), and one-shot
 * commands with a time limit.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** nutcracker is installed in /usr/sbin, which a non-root PATH may lack. */
const EXTRA_PATH = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];

/** The first of `names` found on PATH (or in the sbin directories), as an absolute path; null if none. */
export function findProgram(...names: string[]): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_PATH];
  for (const name of names) {
    for (const dir of dirs) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        /* next */
      }
    }
  }
  return null;
}

/** Like findProgram, but throws a message that says how to install the tools. */
export function requireProgram(...names: string[]): string {
  const found = findProgram(...names);
  if (!found) {
    throw new Error(`${names.join(' / ')} not found: run test/tools.sh (Debian packages redis-server redis-tools memcached libmemcached-tools nutcracker)`);
  }
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 10_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`the process meant to listen on port ${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface Daemon {
  name: string;
  process: ChildProcess;
  output(): string;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process has gone. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Daemon>();
/** one-shot commands (run()) still going */
const commands = new Set<ChildProcess>();

/** Every daemon started here and not yet stopped (for last-resort cleanup). */
export function runningDaemons(): Daemon[] {
  return [...running];
}

/** Kills (SIGKILL, synchronously) every daemon still running: for process 'exit' handlers. */
export function killAllDaemonsSync(): void {
  for (const c of commands) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  commands.clear();
  for (const d of running) {
    try {
      d.process.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  running.clear();
}

export async function stopAllDaemons(): Promise<void> {
  await Promise.all([...running].map((d) => d.stop()));
}

export function spawnDaemon(name: string, command: string, args: string[], options: SpawnOptions = {}): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      out += `\n[spawn error] ${err.message}\n`;
      exited = true;
      resolve();
    });
  });
  const daemon: Daemon = {
    name,
    process: child,
    output: () => out,
    alive: () => !exited,
    async stop(graceMs = 5_000) {
      running.delete(daemon);
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, graceMs);
        await gone;
        clearTimeout(timer);
      }
    },
  };
  running.add(daemon);
  return daemon;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** called with each chunk of stdout (for progress displays) */
  onStdout?: (chunk: string) => void;
}

/** Runs a command to completion (SIGKILL at timeoutMs), collecting its output. Never rejects on a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
    });
    commands.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      options.onStdout?.(s);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      commands.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      commands.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {
      /* the command may exit before reading its input */
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export interface ServiceHandle {
  port: number;
  daemon: Daemon;
  stop(): Promise<void>;
}

/**
 * Optional launch settings shared by the start* helpers: `wrap` is a command prefix such as
 * `['taskset', '-c', '0']` (it must exec the program, so the daemon's pid stays the program's).
 */
export interface LaunchOptions {
  wrap?: string[];
}

/** spawnDaemon with an optional command prefix (taskset) in front of the program. */
function spawnWrapped(name: string, command: string, args: string[], launch: LaunchOptions = {}, options: SpawnOptions = {}): Daemon {
  const wrap = launch.wrap ?? [];
  if (wrap.length === 0) return spawnDaemon(name, command, args, options);
  return spawnDaemon(name, requireProgram(wrap[0]), [...wrap.slice(1), command, ...args], options);
}

/** redis-server with no persistence on 127.0.0.1:port. */
export async function startRedisServer(port?: number, extraArgs: string[] = [], launch: LaunchOptions = {}): Promise<ServiceHandle> {
  const p = port ?? (await freePort());
  const dir = tempDir('cairn-redis-');
  const daemon = spawnWrapped(
    'redis-server',
    requireProgram('redis-server'),
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', ...extraArgs],
    launch,
  );
  try {
    await waitForPort(p, 10_000, daemon.alive);
  } catch (err) {
    await daemon.stop();
    throw new Error(`redis-server did not start: ${(err as Error).message}\n${daemon.output()}`);
  }
  return {
    port: p,
    daemon,
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** memcached on 127.0.0.1:port, TCP only. */
export async function startMemcached(port?: number, extraArgs: string[] = [], launch: LaunchOptions = {}): Promise<ServiceHandle> {
  const p = port ?? (await freePort());
  const args = ['-p', String(p), '-U', '0', '-l', '127.0.0.1', ...extraArgs];
  // memcached refuses to run as root without -u
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const daemon = spawnWrapped('memcached', requireProgram('memcached'), args, launch);
  try {
    await waitForPort(p, 10_000, daemon.alive);
  } catch (err) {
    await daemon.stop();
    throw new Error(`memcached did not start: ${(err as Error).message}\n${daemon.output()}`);
  }
  return { port: p, daemon, stop: () => daemon.stop() };
}

export interface CairnHandle {
  /** 0 when that protocol is off */
  port: number;
  respPort: number;
  memcachePort: number;
  httpPort: number;
  dataDir: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

export interface CairnOptions extends LaunchOptions {
  /** the package root (dist/src/cli.js lives under it) */
  root: string;
  shards: number;
  maxMemory?: string;
  /** more `cairn serve` flags; given after the ones set here, so they win (e.g. `--resp-port off`) */
  args?: string[];
  startTimeoutMs?: number;
  /** which listeners to open (default: all four); the others get "off" */
  protocols?: { native?: boolean; resp?: boolean; memcache?: boolean; http?: boolean };
  /** flags for node itself, before the script (e.g. --cpu-prof, --cpu-prof-dir=DIR) */
  nodeArgs?: string[];
  /** every shard on the main thread (`--inline`) */
  inline?: boolean;
  /** keep the data directory after stop() (default: removed) */
  keepData?: boolean;
  /** use this data directory (a warm restart of an earlier run kept with keepData) */
  dataDir?: string;
  /** graceful stop limit before SIGKILL (default 15 s) */
  stopGraceMs?: number;
}

/** `node dist/src/cli.js serve` on free loopback ports with a temporary data directory. */
export async function startCairn(options: CairnOptions): Promise<CairnHandle> {
  const want = { native: true, resp: true, memcache: true, http: true, ...options.protocols };
  const extra = options.args ?? [];
  /** a listener is off when this helper was told so, or when `args` turns it off */
  const on = (flag: string, wanted: boolean): boolean => {
    const i = extra.lastIndexOf(`--${flag}`);
    if (i >= 0 && i + 1 < extra.length) return extra[i + 1] !== 'off';
    const eq = extra.filter((a) => a.startsWith(`--${flag}=`)).pop();
    if (eq) return eq.slice(flag.length + 3) !== 'off';
    return wanted;
  };
  const pick = async (flag: string, wanted: boolean): Promise<number> => (on(flag, wanted) ? freePort() : 0);
  const ports = {
    port: await pick('port', want.native),
    respPort: await pick('resp-port', want.resp),
    memcachePort: await pick('memcache-port', want.memcache),
    httpPort: await pick('http-port', want.http),
  };
  const flag = (n: number): string => (n === 0 ? 'off' : String(n));
  const dataDir = options.dataDir ?? tempDir('cairn-bench-');
  const daemon = spawnWrapped(
    'cairn',
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      join(options.root, 'dist', 'src', 'cli.js'),
      'serve',
      '--port',
      flag(ports.port),
      '--resp-port',
      flag(ports.respPort),
      '--memcache-port',
      flag(ports.memcachePort),
      '--http-port',
      flag(ports.httpPort),
      '--data',
      dataDir,
      '--shards',
      String(options.shards),
      '--max-memory',
      options.maxMemory ?? '1gb',
      ...(options.inline ? ['--inline', 'true'] : []),
      ...extra,
    ],
    options,
  );
  const cleanup = (): void => {
    if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    while (!daemon.output().includes('ready')) {
      if (!daemon.alive()) throw new Error('cairn exited while starting');
      if (Date.now() > deadline) throw new Error('cairn did not print "ready" in time');
      await sleep(50);
    }
    for (const p of [ports.port, ports.respPort, ports.memcachePort]) {
      if (p !== 0) await waitForPort(p, 5_000, daemon.alive);
    }
  } catch (err) {
    await daemon.stop();
    cleanup();
    throw new Error(`${(err as Error).message}\n${daemon.output()}`);
  }
  return {
    ...ports,
    dataDir,
    daemon,
    async stop() {
      await daemon.stop(options.stopGraceMs ?? 15_000);
      cleanup();
    },
  };
}

/**
 * One of the plain one-thread Node yardsticks (bench/lib/yardstick-resp.ts or
 * yardstick-memcache.ts) in its own process on a free loopback port.
 */
export async function startYardstick(protocol: 'resp' | 'memcache', launch: LaunchOptions = {}): Promise<ServiceHandle> {
  const p = await freePort();
  const here = fileURLToPath(import.meta.url);
  // loaded from source (tests run bench/lib/procs.ts), the yardstick runs from the build
  const script = here.endsWith('.ts')
    ? join(dirname(here), '..', '..', 'dist', 'bench', 'lib', `yardstick-${protocol}.js`)
    : join(dirname(here), `yardstick-${protocol}.js`);
  const daemon = spawnWrapped(`yardstick-${protocol}`, process.execPath, [script, String(p)], launch);
  try {
    await waitForPort(p, 10_000, daemon.alive);
  } catch (err) {
    await daemon.stop();
    throw new Error(`the ${protocol} yardstick did not start: ${(err as Error).message}\n${daemon.output()}`);
  }
  return { port: p, daemon, stop: () => daemon.stop() };
}
