/** RESP handlers of the sorted set commands: arguments → a command core call → Redis' reply. */
import type { Handler } from './handler.js';

export const ZSET_HANDLERS: ReadonlyArray<[string, Handler]> = [];
