import type { ServerConfig } from '../config.js';
import { MEMCACHE_WRITES } from '../commands/table.js';
import { MessageKind } from '../hop/kinds.js';
import { MemcacheFramer, planMemcache, type MemcacheFrame } from '../memcache/index.js';
import { createConnState, planResp, RespFramer, type ConnState, type RespFrame, type ServerInfo } from '../resp/index.js';
import { passwordMatches } from '../front/auth.js';
import { ErrorCode } from '../errors.js';
import type { TextProtocol } from './text-conn.js';
import type { ChannelBus } from '../pubsub/bus.js';
import type { ReplicationHandle } from '../front/plan.js';
import { RespPubSub } from '../pubsub/resp.js';

/** A hidden command's handler (test hooks); returns the reply, or null for "not a hook". */
export type DebugHook = (args: Buffer[]) => Buffer | null;

const MC_UNAUTHENTICATED = Buffer.from('CLIENT_ERROR unauthenticated\r\n');
const MC_AUTH_FAILED = Buffer.from('CLIENT_ERROR authentication failure\r\n');
const MC_STORED = Buffer.from('STORED\r\n');

export type ProtocolStats = ServerInfo;

/** RESP2 on the acceptor: frame with Redis' limits, plan with the connection's auth state. */
export function respProtocol(
  config: ServerConfig,
  shards: number,
  server: ServerInfo,
  debug?: DebugHook,
  /** this thread's channel bus; without one, pub/sub commands fail */
  bus?: ChannelBus,
  /** a read-only replica refuses writes while this answers true */
  readOnly?: () => boolean,
  /** ROLE, REPLICAOF, INFO replication */
  replication?: ReplicationHandle,
): TextProtocol<ConnState, RespFrame> {
  return {
    kind: MessageKind.RESP,
    attach: (state, push) => {
      if (bus) state.pubsub = new RespPubSub(bus, push);
      if (readOnly) state.readOnly = readOnly;
      if (replication) state.replication = replication;
    },
    detach: (state) => state.pubsub?.close(),
    newState: (id) => createConnState(id, shards, { password: config.password, server }),
    // Before AUTH, Redis' pre-auth limits apply to what the framer accepts.
    newFramer: (state) => new RespFramer({ maxBulkLength: Math.max(config.maxValueSize, 64 * 1024), authRequired: () => !state.authenticated }),
    plan: (frame, state) => {
      // CAIRN.DEBUG exists only when the server runs with CAIRN_TEST_HOOKS=1 (and after AUTH).
      if (debug && (state.password === null || state.authenticated)) {
        const reply = debug(frame.args);
        if (reply !== null) return { kind: 'local', reply };
      }
      return planResp(frame, state);
    },
    // a dead shard's failure reads as its message; anything else that escaped a command is an internal error
    failure: (message, code) =>
      Buffer.from(
        code === ErrorCode.SHARD_DOWN ? `-ERR ${message.replace(/[\r\n]+/g, ' ')}\r\n` : `-ERR internal error: ${message.replace(/[\r\n]+/g, ' ')}\r\n`,
      ),
  };
}

/** memcached text protocol on the acceptor. */
const MC_READONLY = Buffer.from("SERVER_ERROR You can't write against a read only replica.\r\n");

export function memcacheProtocol(
  config: ServerConfig,
  shards: number,
  server: ServerInfo,
  /** a read-only replica refuses writes while this answers true */
  readOnly?: () => boolean,
): TextProtocol<ConnState, MemcacheFrame> {
  return {
    kind: MessageKind.MEMCACHE,
    // memcached's item size limit (-I, 1 MB by default) is --max-item-size
    newFramer: () => new MemcacheFramer({ maxValueSize: config.maxItemSize }),
    newState: (id) => {
      const state = createConnState(id, shards, { password: null, server });
      state.authenticated = config.password === null;
      return state;
    },
    plan: (frame, state) => {
      // With --password, memcached's own ASCII authentication (memcached -Y): the first command must
      // be a `set` of any key whose data is "<username> <password>" (the username is not checked).
      // Anything else, or a wrong password, gets memcached's error and the connection is closed.
      if (config.password !== null && !state.authenticated && frame.type === 'command') {
        if (frame.args[0]?.toString('latin1') !== 'set' || frame.data === null) {
          return { kind: 'local', reply: MC_UNAUTHENTICATED, close: true };
        }
        const space = frame.data.indexOf(0x20);
        if (space < 0 || !passwordMatches(frame.data.subarray(space + 1), config.password)) {
          return { kind: 'local', reply: MC_AUTH_FAILED, close: true };
        }
        state.authenticated = true;
        return { kind: 'local', reply: frame.noreply ? Buffer.alloc(0) : MC_STORED };
      }
      if (readOnly?.() && frame.type === 'command' && frame.args.length > 0 && MEMCACHE_WRITES.has(frame.args[0].toString('latin1'))) {
        return { kind: 'local', reply: MC_READONLY };
      }
      return planMemcache(frame, state);
    },
    failure: (message) => Buffer.from(`SERVER_ERROR ${message.replace(/[\r\n]+/g, ' ')}\r\n`),
  };
}
