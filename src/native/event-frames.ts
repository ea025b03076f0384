/**
 * The native protocol's key-event frames, handed to the front thread's subscription hub
 * (src/events/hub.ts), which knows no wire format: SUBSCRIBE/UNSUBSCRIBE replies and PUSH frames.
 */
import type { CairnError } from '../errors.js';
import { PUSH_KEYEVENT } from '../events/codes.js';
import { encodeReply, errorReply, Status } from './frame.js';
import { Opcode } from './opcodes.js';

export const nativeEventFrames = {
  subscribe: Opcode.SUBSCRIBE,
  count: (requestId: number, count: number): Uint8Array => encodeReply(Status.OK, requestId, count),
  error: (requestId: number, err: CairnError): Uint8Array => errorReply(requestId, err.code, err.message),
  push: (event: string, key: Uint8Array): Uint8Array => encodeReply(Status.PUSH, 0, [PUSH_KEYEVENT, event, key]),
};
