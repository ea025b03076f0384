/**
 * The shard's executor wiring (workers/executors.ts): RESP commands are named in the shard's metrics
 * by the executor, from the name it reads anyway, not by parsing the forwarded bytes again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { MessageKind } from '../../src/hop/kinds.js';
import { command } from '../../src/resp/encode.js';
import { ShardMetrics } from '../../src/shards/metrics.js';
import { TieredShardStore } from '../../src/store/shard-store.js';
import { createExecutors } from '../../workers/executors.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

it('counts each RESP command by its table name, unknown ones as other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-exec-'));
  const store = await TieredShardStore.open({ shard: 0, dir, maxMemory: 1 << 20 });
  cleanup.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const metrics = new ShardMetrics();
  const execute = createExecutors(store, 0, 1, { metrics });
  const run = async (...args: string[]) => {
    const raw = command(args);
    metrics.count(MessageKind.RESP, raw);
    return Buffer.from(await execute(MessageKind.RESP, raw)).toString();
  };
  expect(await run('SET', 'k', 'v')).toBe('+OK\r\n');
  expect(await run('set', 'k', 'w')).toBe('+OK\r\n');
  expect(await run('GET', 'k')).toBe('$1\r\nw\r\n');
  expect(await run('OBJECT', 'FREQ', 'k')).toMatch(/^[:$-]/);
  expect(await run('NOSUCH', 'k')).toMatch(/^-ERR unknown command/);
  const counted = metrics.report(0, true, store.stats()).commands.resp;
  expect(counted).toEqual({ set: 2, get: 1, object: 1, other: 1 });
});
