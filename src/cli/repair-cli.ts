/** `cairn repair --data <dir>`: see src/store/repair.ts. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { claimDataDir, forgetShards } from '../datadir.js';
import { parseFlags } from '../config.js';
import { repairDataDir } from '../store/repair.js';

export async function runRepairCli(argv: string[]): Promise<number> {
  const flags = parseFlags(argv);
  const data = resolve(flags.data ?? process.env.CAIRN_DATA ?? './data');
  let shards: number;
  try {
    shards = (JSON.parse(readFileSync(join(data, 'cairn.json'), 'utf8')) as { shards: number }).shards;
  } catch (err) {
    console.error(`cairn repair: ${data} is not a cairn data directory: ${(err as Error).message}`);
    return 1;
  }
  // the same lock as the server: refuses while a server runs on this directory (but not a missing
  // shard database, which is what repair is for)
  const release = claimDataDir(data, shards, { checkShards: false });
  try {
    const { lost } = await repairDataDir(data, shards, (line) => console.log(line));
    forgetShards(data, lost);
    console.log('cairn repair: done; start the server as usual');
    return 0;
  } finally {
    release();
  }
}
