/** RESP handlers of the hash commands: arguments → a command core call → Redis' reply. */
import type { Handler } from './handler.js';

export const HASH_HANDLERS: ReadonlyArray<[string, Handler]> = [];
