import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CairnError, ErrorCode } from './errors.js';

const META = 'cairn.json';
const LOCK = 'cairn.pid';
const FORMAT = 1;

interface Meta {
  format: number;
  shards: number;
  /**
   * Shards whose LevelDB directory has been created (absent in files written before it existed).
   * Each must still have its database at every start: see checkShards.
   */
  opened?: number[];
  /**
   * How keys were routed to shards when this directory was written: 'tags' (a key's hash tag alone,
   * src/hash.ts's shardOf). Absent in directories written before hash tags, which hashed every key
   * whole: a start moves their tagged keys to their new shards, then records 'tags' (src/store/rehash.ts).
   */
  keyHash?: KeyHash;
}

/** The only way this version routes keys; 'whole' is what a directory without `keyHash` was written with. */
export type KeyHash = 'whole' | 'tags';
export const KEY_HASH: KeyHash = 'tags';

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
 * process is gone), a fixed shard count, since a key's shard decides which LevelDB holds it, and
 * every shard database it has had still there (`checkShards: false` skips that, for `cairn repair`).
 * Returns a function that releases the claim.
 */
export function claimDataDir(dir: string, shards: number, options: { checkShards?: boolean } = {}): () => void {
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
        throw new CairnError(ErrorCode.DATA_DIR, `data directory ${root} is in use by process ${owner}; stop that server or choose another --data`);
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
    const meta = checkMeta(root, shards);
    if (options.checkShards !== false) checkShards(root, meta.opened ?? []);
  } catch (err) {
    release();
    throw err;
  }
  return release;
}

function shardDir(root: string, shard: number): string {
  return join(root, `shard-${shard}`);
}

/** Does the shard's directory hold a LevelDB database (its CURRENT file)? */
function hasDatabase(root: string, shard: number): boolean {
  return existsSync(join(shardDir(root, shard), 'CURRENT'));
}

/**
 * A shard directory that has gone missing or been emptied would be opened as a new, empty database:
 * its keys would silently be gone. Whether it held keys when it went cannot be known without it, so
 * every shard this data directory has had must still have its database.
 */
function checkShards(root: string, opened: number[]): void {
  for (const shard of opened) {
    if (hasDatabase(root, shard)) continue;
    const dir = shardDir(root, shard);
    throw new CairnError(
      ErrorCode.DATA_DIR,
      `${dir} ${existsSync(dir) ? 'holds no LevelDB database (no CURRENT file)' : 'is missing'}, but ${root} has had shard ${shard} ` +
        `since it was created: starting would serve that shard empty, its keys gone. Restore ${dir} from a backup, or ` +
        `run \`cairn repair --data ${root}\` to accept the loss (it repairs what is left and starts shard ${shard} empty)`,
    );
  }
}

function readMeta(root: string): Meta {
  return JSON.parse(readFileSync(join(root, META), 'utf8')) as Meta;
}

function writeMeta(root: string, meta: Meta): void {
  // a torn cairn.json would make the directory unreadable: write it whole, then rename over it
  const file = join(root, META);
  writeFileSync(`${file}.tmp`, JSON.stringify(meta, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/**
 * Records the shards whose LevelDB database exists now (call it once they are open): from then on a
 * start refuses this data directory if one of them is missing or emptied.
 */
export function recordShards(dir: string, shards: number): void {
  const root = resolve(dir);
  const meta = readMeta(root);
  const opened = new Set(meta.opened ?? []);
  for (let i = 0; i < shards; i++) if (hasDatabase(root, i)) opened.add(i);
  if (opened.size === (meta.opened?.length ?? -1)) return;
  writeMeta(root, { ...meta, opened: [...opened].sort((a, b) => a - b) });
}

/** How the keys of a claimed data directory were routed to its shards. */
export function keyHashOf(dir: string): KeyHash {
  return readMeta(resolve(dir)).keyHash ?? 'whole';
}

/** Records that every key of the directory sits where this version routes it (written last by the move). */
export function recordKeyHash(dir: string): void {
  const root = resolve(dir);
  const meta = readMeta(root);
  if (meta.keyHash !== KEY_HASH) writeMeta(root, { ...meta, keyHash: KEY_HASH });
}

/** Forgets shards whose loss `cairn repair` accepted: they start empty and are recorded again. */
export function forgetShards(dir: string, lost: number[]): void {
  const root = resolve(dir);
  const meta = readMeta(root);
  writeMeta(root, { ...meta, opened: (meta.opened ?? []).filter((s) => !lost.includes(s)) });
}

function checkMeta(root: string, shards: number): Meta {
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
    meta = { format: FORMAT, shards, keyHash: KEY_HASH };
    writeMeta(root, meta);
    return meta;
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
  return meta;
}
