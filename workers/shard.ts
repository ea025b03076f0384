/**
 * One shard: the only thread that touches its store (hot engine + its LevelDB partition). It drains
 * the request ring of every front thread, runs each command, and writes the reply to that front's
 * reply ring. Commands are started in arrival order and each one's effect on the store happens when it
 * starts (see ShardStore), so a connection's pipeline sees its own writes; a command that awaits the
 * disk holds its connection's later ones until it ends (src/shards/order.ts); replies may finish out
 * of order and carry the connection and sequence they answer.
 *
 * Key events go to every front whose word in the shared events array is set; while no front listens
 * the store has no listener at all (one word read per message decides).
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell, Ring } from '../src/hop/ring.js';
import { Endpoint } from '../src/hop/link.js';
import { Outbox } from '../src/hop/outbox.js';
import { MessageKind } from '../src/hop/kinds.js';
import { failureOf } from '../src/hop/failure.js';
import { CairnError, ErrorCode } from '../src/errors.js';
import { createPackr } from '../src/msgpack.js';
import { createExecutors } from './executors.js';
import { ShardMetrics } from '../src/shards/metrics.js';
import { ConnectionOrder } from '../src/shards/order.js';
import { BlockingMessages } from '../src/shards/blocked.js';
import { type DeferredMessage, ShardHold, notHeldFailure } from '../src/shards/hold.js';
import { TieredShardStore } from '../src/store/shard-store.js';
import type { ShardWorkerData, WorkerRequest, WorkerReply } from '../src/shards/messages.js';

const data = workerData as ShardWorkerData;
const port = parentPort!;

const store = await TieredShardStore.open({
  shard: data.shard,
  dir: join(data.dataDir, `shard-${data.shard}`),
  ...data.store,
});
const metrics = new ShardMetrics();
const execute = createExecutors(store, data.shard, data.shards, {
  maxValueSize: data.store.maxValueSize,
  scriptTimeLimitMs: data.store.scriptTimeLimitMs,
  metrics,
});
const packr = createPackr();

const outboxes = data.links.map((l) => new Outbox(new Ring(l.reply), new Doorbell(l.frontBell)));

// ---- key events ----
const eventWords = new Int32Array(data.events);
let listening = false;
const sendEvent = (code: number, key: Uint8Array): void => {
  for (let f = 0; f < outboxes.length; f++) if (eventWords[1 + f] !== 0) outboxes[f].send(MessageKind.EVENT, 0, code, key);
};
function checkListeners(): void {
  const on = eventWords[0] !== 0;
  if (on === listening) return;
  listening = on;
  store.onKeyEvent(on ? sendEvent : null);
}
// expiry and eviction also happen between messages (the store's maintenance timer)
const listenerCheck = setInterval(checkListeners, 25);
listenerCheck.unref();

const inbound = data.links.map((l) => new Ring(l.request));
const order = new ConnectionOrder();

const hold = new ShardHold(runDeferred);
const blocking = new BlockingMessages();
const EMPTY = new Uint8Array(0);

/** Runs one message and sends its reply; a command that does not finish at once holds its connection's later ones. */
function run(f: number, out: Outbox, kind: number, conn: number, seq: number, payload: Buffer): void {
  const id = ConnectionOrder.id(f, conn);
  if (kind === MessageKind.BLOCKING) {
    runBlocking(f, out, id, conn, seq, payload);
    return;
  }
  let runKind = kind;
  if (kind === MessageKind.HOLD || kind === MessageKind.RELEASE || kind === MessageKind.HELD) {
    // a hold's payload is a RESP command: transactions and scripts are RESP's
    runKind = MessageKind.RESP;
    if (kind === MessageKind.HOLD) hold.take(id);
    else if (!hold.heldBy(id)) {
      out.send(MessageKind.FAILURE, conn, seq, notHeldFailure(data.shard));
      return;
    }
  }
  const releases = kind === MessageKind.RELEASE;
  const cls = metrics.count(runKind, payload);
  const started = performance.now();
  let result: Uint8Array | Promise<Uint8Array>;
  try {
    result = execute(runKind, payload);
  } catch (err) {
    out.send(MessageKind.FAILURE, conn, seq, failureOf(err));
    if (releases) runDeferred(hold.release());
    return;
  }
  if (result instanceof Uint8Array) {
    metrics.record(cls, performance.now() - started);
    out.send(kind, conn, seq, result);
    if (releases) runDeferred(hold.release());
    return;
  }
  order.begin(id);
  // a RELEASE's commands (a whole-shard walk) finish inside the hold: it ends with the reply
  result.then(
    (reply) => {
      metrics.record(cls, performance.now() - started);
      out.send(kind, conn, seq, reply);
      if (releases) runDeferred(hold.release());
      release(f, out, id);
    },
    (err) => {
      out.send(MessageKind.FAILURE, conn, seq, failureOf(err));
      if (releases) runDeferred(hold.release());
      release(f, out, id);
    },
  );
}

/**
 * A BLOCKING message (BLPOP and friends): run with its connection's id so that it may wait; while it
 * waits its connection's later messages wait too (the front sends none). One whose connection closed
 * before it ran is answered empty without running: it must not take anything.
 */
function runBlocking(f: number, out: Outbox, id: number, conn: number, seq: number, payload: Buffer): void {
  const answer = (kind: number, reply: Uint8Array): void => {
    blocking.answered(id);
    out.send(kind, conn, seq, reply);
  };
  if (!blocking.runs(id)) {
    answer(MessageKind.BLOCKING, EMPTY);
    return;
  }
  metrics.count(MessageKind.RESP, payload);
  let result: Uint8Array | Promise<Uint8Array>;
  try {
    result = execute(MessageKind.BLOCKING, payload, id);
  } catch (err) {
    answer(MessageKind.FAILURE, failureOf(err));
    return;
  }
  if (result instanceof Uint8Array) {
    answer(MessageKind.BLOCKING, result);
    return;
  }
  order.begin(id);
  result.then(
    (reply) => {
      answer(MessageKind.BLOCKING, reply);
      release(f, out, id);
    },
    (err) => {
      answer(MessageKind.FAILURE, failureOf(err));
      release(f, out, id);
    },
  );
}

/**
 * A CANCEL: the connection closed while its BLOCKING message was unanswered. It passes the
 * connection's queue (where its own blocked command would keep it) but not another connection's
 * hold, so it never overtakes a BLOCKING message deferred there.
 */
function cancel(f: number, conn: number, seq: number, payload: Buffer): void {
  const id = ConnectionOrder.id(f, conn);
  if (hold.defer(id, f, MessageKind.CANCEL, conn, seq, payload)) return;
  if (blocking.cancel(id)) execute(MessageKind.CANCEL, payload, id);
  outboxes[f].send(MessageKind.CANCEL, conn, seq, EMPTY);
}

/** A message off a ring (or one that waited): deferred while another connection holds the shard, queued behind its connection's command in progress, or run. */
function dispatch(f: number, kind: number, conn: number, seq: number, payload: Buffer): void {
  if (kind === MessageKind.CANCEL) {
    cancel(f, conn, seq, payload);
    return;
  }
  const id = ConnectionOrder.id(f, conn);
  if (hold.defer(id, f, kind, conn, seq, payload)) return;
  if (order.hold(id, kind, conn, seq, payload)) return;
  run(f, outboxes[f], kind, conn, seq, payload);
}

/** The messages a hold deferred, in arrival order; a HOLD among them defers the rest again. */
function runDeferred(waiting: DeferredMessage[]): void {
  for (const m of waiting) dispatch(m.front, m.kind, m.conn, m.seq, m.payload);
}

function release(f: number, out: Outbox, id: number): void {
  for (const m of order.end(id)) {
    if (hold.defer(id, f, m.kind, m.conn, m.seq, m.payload)) continue;
    if (!order.hold(id, m.kind, m.conn, m.seq, m.payload)) run(f, out, m.kind, m.conn, m.seq, m.payload);
  }
}

const visitors = outboxes.map((_out, f) => (kind: number, conn: number, seq: number, payload: Buffer) => {
  if ((eventWords[0] !== 0) !== listening) checkListeners();
  if (kind === MessageKind.METRICS) {
    outboxes[f].send(kind, conn, seq, packr.pack(metrics.report(data.shard, store.isOpen, store.stats())) as Uint8Array);
    return;
  }
  if (kind === MessageKind.BLOCKING) blocking.arrived(ConnectionOrder.id(f, conn));
  dispatch(f, kind, conn, seq, payload);
});
// a front's requests are read once it has failed over what it sent this shard's previous worker
const endpoint = new Endpoint(outboxes, inbound, new Doorbell(data.bell), visitors, { blockingWait: true, epoch: data.epoch });

async function close(giveUpAt?: number): Promise<void> {
  clearInterval(listenerCheck);
  store.onKeyEvent(null);
  await endpoint.stop();
  await store.close(giveUpAt);
}

port.on('message', (msg: WorkerRequest) => {
  const reply = (value?: unknown, error?: unknown): void => {
    const out: WorkerReply = error
      ? {
          type: 'reply',
          id: msg.id,
          error: {
            // a store's failure is coded (CAIRN_ERR_DISK when the disk refused); anything else is internal
            code: error instanceof CairnError ? error.code : ErrorCode.INTERNAL,
            message: error instanceof Error ? error.message : String(error),
          },
        }
      : { type: 'reply', id: msg.id, value };
    port.postMessage(out);
  };
  if (msg.type === 'stats') reply(store.stats());
  else if (msg.type === 'close') {
    // Failed or not, the store is closed and the thread ends: the pool waits for it to exit.
    close(msg.giveUpAt).then(
      () => {
        reply(true);
        port.close();
      },
      (err) => {
        reply(undefined, err);
        port.close();
      },
    );
  } else if (msg.type === 'debug') {
    // Test hooks: the server sends these only with CAIRN_TEST_HOOKS=1; refuse them otherwise too.
    if (process.env.CAIRN_TEST_HOOKS !== '1') reply(undefined, new CairnError(ErrorCode.BAD_ARGUMENT, 'test hooks are off'));
    else if (msg.action === 'crash') {
      reply(true);
      setImmediate(() => {
        throw new Error(`test hook: shard ${data.shard} crashed on request`);
      });
    } else if (msg.action === 'disk-fault') {
      store.injectDiskFault(msg.arg === 'off' ? null : 'IO error: No space left on device (injected by test hook)');
      reply(true);
    } else reply(undefined, new CairnError(ErrorCode.BAD_ARGUMENT, `unknown test hook ${msg.action}`));
  }
});

// An uncaught error leaves this shard in an unknown state: write what memory holds that disk lacks
// (bounded in time), then exit; the acceptor fails the requests it still owes and restarts the shard.
let crashing = false;
process.on('uncaughtException', (err) => {
  if (crashing) return;
  crashing = true;
  console.error(`cairn shard ${data.shard}: uncaught error, flushing and exiting for a restart: ${err.stack ?? String(err)}`);
  const timer = setTimeout(() => process.exit(1), 5000);
  close()
    .catch(() => undefined)
    .finally(() => {
      clearTimeout(timer);
      process.exit(1);
    });
});

endpoint.start();
port.postMessage({ type: 'ready' } satisfies WorkerReply);
