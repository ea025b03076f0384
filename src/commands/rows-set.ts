/** The set commands' rows of the command table (src/commands/table.ts). */
import type { Def } from './def.js';

export const SET_DEFS: Def[] = [];
