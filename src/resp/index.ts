/** The Redis protocol (RESP2): framer and planner (acceptor side), executor (shard side). */
export {
  RespFramer,
  parseRespCommand,
  parseRespCommands,
  type RespCommand,
  type RespFrame,
  type RespFramerOptions,
  type RespProtocolError,
} from './framer.js';
export { planResp, scanCursors, SHARD_STATS_COMMAND } from './planner.js';
export { executeResp, executeRespArgs, executeRespBatch, type RespExecOptions } from './executor.js';
export { createConnState, type ConnState, type Plan, type ServerInfo } from '../front/plan.js';
