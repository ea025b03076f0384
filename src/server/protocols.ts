import type { ServerConfig } from '../config.js';
import { MessageKind } from '../hop/kinds.js';
import { MemcacheFramer, planMemcache, type MemcacheFrame } from '../memcache/index.js';
import { createConnState, planResp, RespFramer, type ConnState, type RespFrame, type ServerInfo } from '../resp/index.js';
import type { TextProtocol } from './text-conn.js';

export type ProtocolStats = ServerInfo;

/** RESP2 on the acceptor: frame with Redis' limits, plan with the connection's auth state. */
export function respProtocol(config: ServerConfig, shards: number, server: ServerInfo): TextProtocol<ConnState, RespFrame> {
  return {
    kind: MessageKind.RESP,
    newState: (id) => createConnState(id, shards, { password: config.password, server }),
    // Before AUTH, Redis' pre-auth limits apply to what the framer accepts.
    newFramer: (state) =>
      new RespFramer({ maxBulkLength: Math.max(config.maxValueSize, 64 * 1024), authRequired: () => !state.authenticated }),
    plan: (frame, state) => planResp(frame, state),
    failure: (message) => Buffer.from(`-ERR internal error: ${message.replace(/[\r\n]+/g, ' ')}\r\n`),
  };
}

/** memcached text protocol on the acceptor. */
export function memcacheProtocol(config: ServerConfig, shards: number, server: ServerInfo): TextProtocol<ConnState, MemcacheFrame> {
  return {
    kind: MessageKind.MEMCACHE,
    newFramer: () => new MemcacheFramer({ maxValueSize: config.maxValueSize }),
    newState: (id) => createConnState(id, shards, { password: null, server }),
    plan: (frame, state) => planMemcache(frame, state),
    failure: (message) => Buffer.from(`SERVER_ERROR ${message.replace(/[\r\n]+/g, ' ')}\r\n`),
  };
}
