/**
 * Load: 10,000 concurrent connections held open and served, with the memory per idle connection
 * measured (bench/connections.ts, which raises the file-descriptor limit for itself and the server);
 * and a short soak (bench/soak.ts: mixed traffic, graceful and SIGKILL restarts in sync mode, every
 * key checked against a model). Both scripts run from dist/ (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

function runScript(name: string, args: string[], timeoutMs: number): Record<string, unknown> {
  const r = spawnSync(process.execPath, [join(packageRoot, 'dist', 'bench', `${name}.js`), ...args, '--json'], { encoding: 'utf8', timeout: timeoutMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0) throw new Error(`${name} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('load', () => {
  it('holds and serves 10,000 concurrent connections', () => {
    const r = runScript('connections', ['--connections', '10000'], 150_000);
    expect(r.open).toBe(10_000);
    expect(r.answered).toBe(10_000);
    expect(r.bytesPerIdleConnection as number).toBeLessThan(64 * 1024);
    console.log(`connections: ${JSON.stringify(r)}`);
  }, 160_000);

  it('soak: mixed traffic with graceful and SIGKILL restarts matches the model', () => {
    const r = runScript('soak', ['--seconds', '10', '--restart-every', '2.5', '--workers', '6', '--keys', '600'], 120_000);
    expect(r.mismatches).toBe(0);
    expect((r.restarts as { kill: number }).kill).toBeGreaterThan(0);
    console.log(`soak: ${JSON.stringify(r)}`);
  }, 130_000);
});
