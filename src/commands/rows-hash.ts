/** The hash commands' rows of the command table (src/commands/table.ts). */
import type { Def } from './def.js';

export const HASH_DEFS: Def[] = [];
