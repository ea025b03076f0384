/**
 * `node dist/bench/lib/kv-load-main.js '<KvLoadOptions as JSON>'`: one kvLoad run in its own process
 * (so it can be pinned with taskset); prints the KvLoadResult as one JSON line.
 */
import { kvLoad, type KvLoadOptions } from './kv-load.js';

const options = JSON.parse(process.argv[2] ?? '{}') as KvLoadOptions;
try {
  const result = await kvLoad(options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
