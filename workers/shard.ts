/**
 * One shard: the only thread that touches its store (hot engine + its LevelDB partition). It drains
 * the request ring of every front thread, runs each command, and writes the reply to that front's
 * reply ring. Commands are started in arrival order and each one's effect on the store happens when it
 * starts (see ShardStore), so a connection's pipeline sees its own writes; replies may finish out of
 * order and carry the connection and sequence they answer.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell, Ring } from '../src/hop/ring.js';
import { Endpoint } from '../src/hop/link.js';
import { Outbox } from '../src/hop/outbox.js';
import { MessageKind } from '../src/hop/kinds.js';
import { createExecutors } from '../src/shards/executors.js';
import { TieredShardStore } from '../src/store/shard-store.js';
import type { ShardWorkerData, WorkerRequest, WorkerReply } from '../src/shards/messages.js';

const data = workerData as ShardWorkerData;
const port = parentPort!;

const store = await TieredShardStore.open({
  shard: data.shard,
  dir: join(data.dataDir, `shard-${data.shard}`),
  ...data.store,
});
const execute = createExecutors(store, data.shard, data.shards, { maxValueSize: data.store.maxValueSize });

const outboxes = data.links.map((l) => new Outbox(new Ring(l.reply), new Doorbell(l.frontBell)));

function failure(err: unknown): Uint8Array {
  const message = err instanceof Error ? err.message : String(err);
  return Buffer.from(message);
}

const inbound = data.links.map((l) => new Ring(l.request));
const visitors = outboxes.map((out) => (kind: number, conn: number, seq: number, payload: Buffer) => {
  let result: Uint8Array | Promise<Uint8Array>;
  try {
    result = execute(kind, payload);
  } catch (err) {
    out.send(MessageKind.FAILURE, conn, seq, failure(err));
    return;
  }
  if (result instanceof Uint8Array) out.send(kind, conn, seq, result);
  else
    result.then(
      (reply) => out.send(kind, conn, seq, reply),
      (err) => out.send(MessageKind.FAILURE, conn, seq, failure(err)),
    );
});
const endpoint = new Endpoint(outboxes, inbound, new Doorbell(data.bell), visitors);

async function close(): Promise<void> {
  await endpoint.stop();
  await store.close();
}

port.on('message', (msg: WorkerRequest) => {
  const reply = (value?: unknown, error?: unknown): void => {
    const out: WorkerReply = error
      ? {
          type: 'reply',
          id: msg.id,
          error: {
            code: (error as { code?: string }).code ?? 'CAIRN_ERR_DISK',
            message: error instanceof Error ? error.message : String(error),
          },
        }
      : { type: 'reply', id: msg.id, value };
    port.postMessage(out);
  };
  if (msg.type === 'stats') reply(store.stats());
  else if (msg.type === 'close') {
    close().then(
      () => {
        reply(true);
        port.close();
      },
      (err) => reply(undefined, err),
    );
  }
});

endpoint.start();
port.postMessage({ type: 'ready' } satisfies WorkerReply);
