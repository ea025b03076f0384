/**
 * The crash copy the store tests open (test/helpers/crash-copy.ts): an image of a live LevelDB
 * directory at one instant, taken again while anything in it changed. A compaction that ends between
 * the copy of the tables and the copy of the MANIFEST leaves a plain copy that does not open (its
 * MANIFEST names tables it lacks); the crash copy takes it again, and that image opens with every key
 * written. A file written, added or removed during a copy makes it take another; a directory that
 * never stands still is an error.
 */
import { appendFileSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { crashCopy } from '../helpers/crash-copy.js';
import { closeStores, tempDir } from '../helpers/temp-store.js';

afterEach(() => closeStores());

/** copies the tables first and the rest (logs, MANIFEST, CURRENT) after them */
function tablesFirst(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  const names = readdirSync(from).sort((a, b) => Number(!a.endsWith('.ldb')) - Number(!b.endsWith('.ldb')));
  for (const name of names) if (name !== 'LOCK') copyFileSync(join(from, name), join(to, name));
}

describe('a crash copy of a live directory', () => {
  it('opens with every key when a compaction ends while it is copied (a plain copy then names tables it lacks)', async () => {
    const dir = tempDir();
    // a small write buffer: the writes below are flushed to several tables on level 0
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 16 * 1024 });
    await db.open();
    const model = new Map<string, number>();
    try {
      for (let b = 0; b < 6; b++) {
        const batch = db.batch();
        for (let i = 0; i < 100; i++) {
          const key = `k${(b * 131 + i * 17) % 400}`;
          model.set(key, b);
          batch.put(Buffer.from(key), Buffer.alloc(600, b));
        }
        await batch.write();
      }
      const plain = tempDir();
      const copy = tempDir();
      let calls = 0;
      const attempts = await crashCopy(dir, copy, {
        copy: async (from, to) => {
          if (calls++ > 0) return tablesFirst(from, to);
          // the first attempt: the tables, then a compaction that replaces them, then the MANIFEST
          mkdirSync(to, { recursive: true });
          const names = readdirSync(from).filter((n) => n !== 'LOCK');
          for (const name of names.filter((n) => n.endsWith('.ldb'))) copyFileSync(join(from, name), join(to, name));
          await db.compactRange(Buffer.from('k'), Buffer.from('l'));
          for (const name of readdirSync(from).filter((n) => n !== 'LOCK' && !n.endsWith('.ldb'))) copyFileSync(join(from, name), join(to, name));
          cpSync(to, plain, { recursive: true });
        },
      });
      expect(attempts).toBe(2);
      // what the plain copy took does not open: its MANIFEST names the compaction's tables
      await expect(new ClassicLevel(plain).open()).rejects.toMatchObject({ cause: { message: expect.stringMatching(/missing files/) } });
      const c = new ClassicLevel<Buffer, Buffer>(copy, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await c.open();
      try {
        const seen = new Map<string, number>();
        for await (const [k, v] of c.iterator()) seen.set(k.toString(), v[0]);
        expect(seen).toEqual(model);
      } finally {
        await c.close();
      }
    } finally {
      await db.close();
    }
  });

  it('takes the copy again when a file was written, added or removed while it was copied', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.log'), 'one');
    writeFileSync(join(dir, 'b.ldb'), 'table');
    const changes = [
      (from: string) => appendFileSync(join(from, 'a.log'), ' two'),
      (from: string) => writeFileSync(join(from, 'c.ldb'), 'new table'),
      (from: string) => rmSync(join(from, 'b.ldb')),
    ];
    const copy = tempDir();
    let calls = 0;
    const attempts = await crashCopy(dir, copy, {
      copy: (from, to) => {
        tablesFirst(from, to);
        changes[calls++]?.(from);
      },
    });
    expect(attempts).toBe(4);
    expect(readdirSync(copy).sort()).toEqual(['a.log', 'c.ldb']);
    expect(readFileSync(join(copy, 'a.log'), 'utf8')).toBe('one two');
  });

  it('gives up on a directory that never stands still', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.log'), '');
    const copy = tempDir();
    const never = crashCopy(dir, copy, {
      deadlineMs: 50,
      copy: (from, to) => {
        tablesFirst(from, to);
        appendFileSync(join(from, 'a.log'), 'x');
      },
    });
    await expect(never).rejects.toThrow(/kept changing/);
  });
});
