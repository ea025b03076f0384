/** RESP handlers of the set commands: arguments → a command core call → Redis' reply. */
import type { Handler } from './handler.js';

export const SET_HANDLERS: ReadonlyArray<[string, Handler]> = [];
