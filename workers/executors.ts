/**
 * The shard side of every protocol, wired here (a composition root) so that the shard worker below
 * the codecs does not import them: a ring message in, the reply bytes out.
 */
import { MessageKind } from '../src/hop/kinds.js';
import { executeMemcache } from '../src/memcache/executor.js';
import { handleNativeFrame } from '../src/native/execute.js';
import { cancelBlocked, executeResp, executeRespArgs, serveBlocked } from '../src/resp/executor.js';
import type { ShardMetrics } from '../src/shards/metrics.js';
import type { ShardStore } from '../src/store/types.js';

/** `conn`: the message's connection id on the shard (ConnectionOrder.id), for BLOCKING and CANCEL */
export type Executor = (kind: number, payload: Buffer, conn?: number) => Uint8Array | Promise<Uint8Array>;

export interface ExecutorOptions {
  maxValueSize?: number;
  /** a Lua script running longer is stopped (ms, 0: never) */
  scriptTimeLimitMs?: number;
  /** the shard's command metrics: the RESP executor names each command it runs there */
  metrics?: ShardMetrics;
}

export function createExecutors(store: ShardStore, shard: number, shards: number, options: ExecutorOptions = {}): Executor {
  const metrics = options.metrics;
  const respOptions = {
    maxValueSize: options.maxValueSize,
    scriptTimeLimitMs: options.scriptTimeLimitMs,
    shard,
    shards,
    count: metrics && ((name: string) => metrics.countResp(name)),
  };
  // native CALL runs a data command through the same handler as RESP (src/native/call.ts says why)
  const callOptions = { maxValueSize: options.maxValueSize, shard, shards };
  const nativeOptions = {
    maxValue: options.maxValueSize,
    runCommand: (args: Buffer[]) => {
      const reply = executeRespArgs(store, args, callOptions);
      // a native push serves clients blocked on the list, as a RESP one does
      serveBlocked(store);
      return reply;
    },
  };
  return (kind, payload, conn = 0) => {
    switch (kind) {
      case MessageKind.BLOCKING:
        return executeResp(store, payload, respOptions, conn);
      case MessageKind.CANCEL:
        return cancelBlocked(store, conn);
      case MessageKind.NATIVE:
      case MessageKind.NATIVE_BROADCAST:
        return handleNativeFrame(store, shard, shards, payload, nativeOptions);
      case MessageKind.RESP:
        return executeResp(store, payload, respOptions);
      case MessageKind.MEMCACHE:
        return executeMemcache(store, payload);
      default:
        throw new Error(`unknown message kind ${kind}`);
    }
  };
}
