/**
 * What a crash would leave of a live store's directory: its files as they all were at one instant.
 * A plain recursive copy is not that: LevelDB compacts in the background, and a compaction that runs
 * while the files are copied one by one can leave a copy whose MANIFEST names a table that was copied
 * before it was complete (LevelDB then fails to map it, "Invalid argument") or that was not there yet
 * when the directory was listed ("missing files"). So the directory is listed (name, inode, size,
 * modification time) before and after the copy, and copied again until nothing changed meanwhile.
 */
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** one line per file: enough to tell that a file was written, replaced, added or removed */
function listing(dir: string): string {
  const lines: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    try {
      const st = statSync(join(dir, name), { bigint: true });
      lines.push(`${name} ${st.ino} ${st.size} ${st.mtimeNs}`);
    } catch (err) {
      // removed between the listing and the stat: the listing differs from any later one
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      lines.push(`${name} gone`);
    }
  }
  return lines.join('\n');
}

export interface CrashCopyOptions {
  /** how one attempt copies the directory (a test of this helper changes the source meanwhile) */
  copy?: (from: string, to: string) => void | Promise<void>;
  /** how long the directory may keep changing before this gives up */
  deadlineMs?: number;
}

/** Copies `from` to `to` as one instant's image; resolves to the number of attempts it took. */
export async function crashCopy(from: string, to: string, opts: CrashCopyOptions = {}): Promise<number> {
  const copy = opts.copy ?? ((a: string, b: string) => cpSync(a, b, { recursive: true }));
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    const before = listing(from);
    let copied = true;
    try {
      await copy(from, to);
    } catch (err) {
      // a file removed while the directory was copied: a change, so the copy is taken again
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      copied = false;
    }
    if (copied && listing(from) === before) return attempt;
    rmSync(to, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`${from} kept changing for ${opts.deadlineMs ?? 30_000} ms: no still copy`);
    // let the compaction that changed it get on
    await new Promise((r) => setTimeout(r, 5));
  }
}
