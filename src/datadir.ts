import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError, ErrorCode } from './errors.js';

const META = 'cairn.json';
const LOCK = 'cairn.pid';
const FORMAT = 1;

interface Meta {
  format: number;
  shards: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims a data directory for this process: one owner at a time (a pid file, taken over when its
 * process is gone), and a fixed shard count, since a key's shard decides which LevelDB holds it.
 * Returns a function that releases the claim.
 */
export function claimDataDir(dir: string, shards: number): () => void {
  const root = resolve(dir);
  try {
    mkdirSync(root, { recursive: true });
  } catch (err) {
    throw new CairnError(ErrorCode.DATA_DIR, `cannot create data directory ${root}: ${(err as Error).message}`);
  }
  const lock = join(root, LOCK);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' || attempt > 0) {
        throw new CairnError(ErrorCode.DATA_DIR, `cannot lock data directory ${root}: ${(err as Error).message}`);
      }
      const owner = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new CairnError(
          ErrorCode.DATA_DIR,
          `data directory ${root} is in use by process ${owner}; stop that server or choose another --data`,
        );
      }
      rmSync(lock, { force: true });
    }
  }
  const release = (): void => {
    try {
      if (readFileSync(lock, 'utf8').trim() === String(process.pid)) rmSync(lock, { force: true });
    } catch {
      // already gone
    }
  };
  try {
    checkMeta(root, shards);
  } catch (err) {
    release();
    throw err;
  }
  return release;
}

function checkMeta(root: string, shards: number): void {
  const file = join(root, META);
  let meta: Meta | null = null;
  try {
    meta = JSON.parse(readFileSync(file, 'utf8')) as Meta;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CairnError(ErrorCode.DATA_DIR, `${file} is unreadable: ${(err as Error).message}`);
    }
  }
  if (meta === null) {
    writeFileSync(file, JSON.stringify({ format: FORMAT, shards } satisfies Meta, null, 2) + '\n');
    return;
  }
  if (meta.format !== FORMAT) {
    throw new CairnError(ErrorCode.DATA_DIR, `${root} has data format ${meta.format}; this cairn reads format ${FORMAT}`);
  }
  if (meta.shards !== shards) {
    throw new CairnError(
      ErrorCode.DATA_DIR,
      `${root} holds ${meta.shards} shards but ${shards} were asked for: start with --shards ${meta.shards} ` +
        `(a data directory keeps the shard count it was created with) or use a new --data directory`,
    );
  }
}
