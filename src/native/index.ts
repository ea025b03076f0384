/**
 * The native protocol, server side: what the acceptor (framing, sessions, routing, broadcast merges)
 * and the shard workers (the executor) import. The SDK imports the pieces it needs directly.
 */
export { PROTOCOL_VERSION, Opcode, OpClassCode, OPCODES, OPCODE_CLASS, OPCODE_NAME, DEFAULT_LIMITS, opcodeByName, opcodeInfo } from './opcodes.js';
export type { OpClass, OpcodeInfo, Limits } from './opcodes.js';
export {
  Status,
  FrameError,
  FrameReader,
  ReplyReader,
  RequestWriter,
  REQUEST_HEADER_SIZE,
  REPLY_HEADER_SIZE,
  encodeReply,
  encodeReplyRaw,
  encodeRequest,
  encodeArgs,
  errorReply,
  frameErrorReply,
  parseRequestFrame,
} from './frame.js';
export type { RequestFrame, ReplyFrame } from './frame.js';
export { NativeSession, helloReply, ROUTE_BROADCAST, ROUTE_REPLY, ROUTE_CLOSE, ROUTE_EVENTS } from './session.js';
export type { ServerInfo, HelloReply } from './session.js';
export { mergeBroadcast, mergeBroadcastReplies, scanCursorShard, parseScanCursor, formatScanCursor } from './merge.js';
export type { ParsedScanCursor } from './merge.js';
export { executeNative, handleNativeFrame } from './execute.js';
export type { ExecuteOptions, NativeReply } from './execute.js';
export { nativeAcceleration } from '../msgpack.js';
