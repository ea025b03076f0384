/** RESP handlers of the list commands: arguments → a command core call → Redis' reply. */
import type { Handler } from './handler.js';

export const LIST_HANDLERS: ReadonlyArray<[string, Handler]> = [];
