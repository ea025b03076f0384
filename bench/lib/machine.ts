/**
 * A description of the machine a benchmark ran on: CPU model, cores, RAM, OS, Node, and the
 * versions of the servers it was compared with.
 */
import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { findProgram, run } from './procs.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  redis: string | null;
  memcached: string | null;
  redisBenchmark: string | null;
  /** 1-minute load average when the run started: a busy machine makes noisy figures */
  loadAvgAtStart: number;
}

async function version(name: string, args: string[], pattern: RegExp): Promise<string | null> {
  const bin = findProgram(name);
  if (!bin) return null;
  try {
    const r = await run(bin, args, { timeoutMs: 5_000 });
    const m = pattern.exec(`${r.stdout}\n${r.stderr}`);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

export async function describeMachine(): Promise<MachineInfo> {
  let cpuModel = cpus()[0]?.model?.trim() ?? 'unknown';
  if (!cpuModel || cpuModel === 'unknown') cpuModel = 'unknown CPU';
  return {
    cpuModel,
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
    redis: await version('redis-server', ['--version'], /v=(\S+)/),
    memcached: await version('memcached', ['-V'], /memcached (\S+)/),
    redisBenchmark: await version('redis-benchmark', ['--version'], /redis-benchmark (\S+)/),
    loadAvgAtStart: Math.round(loadavg()[0] * 100) / 100,
  };
}

export function machineLine(m: MachineInfo): string {
  return (
    `${m.cpuModel}, ${m.cores} core${m.cores === 1 ? '' : 's'}, ${m.ramGiB} GiB RAM, ${m.os}; ` +
    `Node ${m.node}, redis-server ${m.redis ?? 'n/a'}, memcached ${m.memcached ?? 'n/a'}; load average ${m.loadAvgAtStart} at start`
  );
}
