/** The zset commands' rows of the command table (src/commands/table.ts). */
import type { Def } from './def.js';

export const ZSET_DEFS: Def[] = [];
