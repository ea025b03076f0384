import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The package root, whether this file runs compiled (dist/src) or from source (src, under vitest). */
export const packageRoot = here.includes(`${join('dist', 'src')}`) ? resolve(here, '..', '..') : resolve(here, '..');

/** A compiled worker entry. Workers always run from dist/: `npm run build` makes them. */
export function workerFile(name: string): string {
  const file = join(packageRoot, 'dist', 'workers', `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}
