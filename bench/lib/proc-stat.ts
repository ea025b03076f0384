/**
 * What a server process costs, read from Linux /proc: CPU time (utime + stime of the whole thread
 * group, so a cairn process's acceptor, shard and LevelDB threads all count) and resident memory
 * (VmRSS, one figure per process: threads share the address space, so cairn's shards are in it).
 * Benchmarks use these because they survive a busy machine better than throughput does.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sleep } from './procs.js';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU seconds (user + system) the process has used so far, all its threads included, plus the
 * children it has waited for (redis-server's AOF rewrite runs in a forked child).
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14 to 17
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks();
}

/**
 * CPU seconds (user + system) one thread of the process has used; the main thread's tid is the
 * pid (cairn's acceptor, redis-server's event loop).
 */
export function threadCpuSeconds(pid: number, tid = pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

export interface MemoryStatus {
  /** VmRSS in bytes */
  rss: number;
  threads: number;
}

export function memoryStatus(pid: number): MemoryStatus {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0) };
}

export interface CpuReading<T> {
  result: T;
  /** the whole process */
  cpuSeconds: number;
  /** its main thread alone */
  mainThreadCpuSeconds: number;
}

/** CPU used by a process, and by its main thread, while `work` ran. */
export async function measureCpu<T>(pid: number, work: () => Promise<T>): Promise<CpuReading<T>> {
  const cpu0 = cpuSeconds(pid);
  const main0 = threadCpuSeconds(pid);
  const result = await work();
  return { result, cpuSeconds: cpuSeconds(pid) - cpu0, mainThreadCpuSeconds: threadCpuSeconds(pid) - main0 };
}

/**
 * Waits until the process uses under `share` of a core over a quarter second (a server still
 * flushing to disk or compacting after a write load would otherwise steal CPU from the next run),
 * for at most `limitMs`.
 */
export async function settle(pid: number, share = 0.05, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const before = cpuSeconds(pid);
    await sleep(250);
    if (cpuSeconds(pid) - before < share * 0.25 || Date.now() - started > limitMs) return;
  }
}
