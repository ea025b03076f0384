/**
 * The gateway thread: uWebSockets.js (WebSocket clients, /health, /ready, /metrics, the dashboard)
 * with its own ring set to every shard, so WebSocket traffic never passes through the acceptor.
 * Its traffic with the main thread is control (ready, close, the acceptor's counters for /metrics)
 * and the channel bus (subscription counts and PUBLISHed messages, src/pubsub/bus.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SubscriptionHub } from '../src/events/hub.js';
import { nativeEventFrames } from '../src/native/event-frames.js';
import { ChannelBus } from '../src/pubsub/bus.js';
import { EventDemand } from '../src/front/event-demand.js';
import { FrontLink } from '../src/front/link.js';
import { startGateway } from '../src/gateway/gateway.js';
import type { FromGateway, GatewayWorkerData, ToGateway } from '../src/gateway/messages.js';
import type { FrontStats } from '../src/gateway/metrics.js';

const data = workerData as GatewayWorkerData;
const port = parentPort!;
const post = (msg: FromGateway): void => port.postMessage(msg);

const backend = new FrontLink(data.link);
// key events are wanted while the hub (key subscriptions) or the bus (keyspace notifications) wants them
const demand = new EventDemand((on) => backend.listenForEvents(on));
const hub = new SubscriptionHub(demand.consumer(), nativeEventFrames);
const bus = new ChannelBus(demand.consumer());
bus.attachPeer((msg) => post({ type: 'bus', msg }));

/**
 * Test hook (CAIRN_TEST_HOOKS=1 only): CAIRN_TEST_GATEWAY_NOTICE_DELAY_MS holds each shard-down /
 * shard-up notice this long before the gateway acts on it (in order), as a busy gateway thread would;
 * the restart tests use it to keep sending to a shard the pool has already restarted.
 */
const noticeDelayMs = process.env.CAIRN_TEST_HOOKS === '1' ? Number(process.env.CAIRN_TEST_GATEWAY_NOTICE_DELAY_MS ?? 0) || 0 : 0;
let notices = Promise.resolve();
const onNotice = (act: () => void): void => {
  if (noticeDelayMs <= 0) act();
  else notices = notices.then(() => new Promise<void>((resolve) => setTimeout(resolve, noticeDelayMs))).then(act);
};

const asked = new Map<number, (value: FrontStats | null) => void>();
let nextAsk = 1;
const acceptorStats = (): Promise<FrontStats | null> =>
  new Promise((resolve) => {
    const id = nextAsk++;
    const timer = setTimeout(() => {
      asked.delete(id);
      resolve(null);
    }, 1000);
    asked.set(id, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
    post({ type: 'acceptor-stats', id });
  });

async function main(): Promise<void> {
  let running: Awaited<ReturnType<typeof startGateway>>;
  try {
    running = await startGateway({
      backend,
      hub,
      bus,
      info: data.info,
      bind: data.bind,
      port: data.port,
      password: data.password,
      outputLimit: data.outputLimit,
      outputLimitTotal: data.outputLimitTotal,
      reserve: data.reserve,
      maxConnections: data.maxConnections,
      version: data.version,
      startedAt: data.startedAt,
      acceptorStats,
      log: (line) => post({ type: 'log', line }),
      tls: data.tls,
    });
  } catch (err) {
    await backend.close('the gateway is closing');
    post({ type: 'error', message: (err as Error).message });
    port.close();
    return;
  }
  port.on('message', (msg: ToGateway) => {
    if (msg.type === 'bus') bus.fromPeer(msg.msg);
    else if (msg.type === 'shard-down') onNotice(() => backend.shardDown(msg.shard, msg.why, msg.epoch));
    else if (msg.type === 'shard-up') onNotice(() => backend.shardUp(msg.shard));
    else if (msg.type === 'acceptor-stats') {
      asked.get(msg.id)?.(msg.value);
      asked.delete(msg.id);
    } else if (msg.type === 'close') {
      void (async () => {
        await running.close();
        await backend.close('the gateway is closing');
        post({ type: 'closed' });
        port.close();
      })();
    }
  });
  post({ type: 'ready', port: running.port });
}

await main();
