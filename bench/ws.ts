/**
 * `npm run bench:ws`: the gateway against the native port. GET (and SET) round trips through the
 * TypeScript SDK, 50 connections at pipeline depths 1 and 16, 100-byte values, once over TCP to the
 * native port and once over WebSocket to the gateway, same server, same load threads. Then a
 * subscriber with 1,000 key subscriptions over WebSocket while a writer sets those keys (and as many
 * others that match nothing): every event must arrive, in order per key.
 * `--quick` shortens each run. The last line printed is one JSON object.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import WebSocket from 'ws';
import { CairnClient, tcpTransport, webSocketTransport, type WebSocketConstructor } from '../src/client/index.js';
import { packageRoot } from '../src/paths.js';
import { startCairn, stopAllDaemons } from './lib/procs.js';
import { runLoad, type LoadTask } from './sdk-load.js';

const quick = process.argv.includes('--quick');
const durationMs = quick ? 1500 : 5000;
const connections = 50;
const depths = [1, 16];
const valueSize = 100;
const keyspace = 100_000;
const shards = 2;
const subscriptions = 1000;
const rounds = quick ? 10 : 50;

interface Row {
  transport: 'tcp' | 'ws';
  depth: number;
  op: 'get' | 'set';
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const log = (line: string): void => console.log(line);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function loadRun(pool: Piscina, task: Omit<LoadTask, 'connections'>): Promise<Row> {
  const s = await runLoad(pool, { ...task, connections }, 2);
  return { transport: task.transport, depth: task.depth, op: task.op, opsPerSec: s.opsPerSec, p50Ms: s.p50Ms, p99Ms: s.p99Ms, errors: s.errors };
}

/** 1,000 key subscriptions on one WebSocket client; every set of those keys must come back as an event. */
async function subscriptionRun(tcpPort: number, httpPort: number): Promise<Record<string, number | boolean>> {
  const subscriber = new CairnClient({
    port: httpPort,
    reconnect: false,
    transport: webSocketTransport({ WebSocket: WebSocket as unknown as WebSocketConstructor }),
  });
  const writer = new CairnClient({ port: tcpPort, reconnect: false, transport: tcpTransport() });
  await Promise.all([subscriber.connect(), writer.connect()]);
  const seen = new Array<number>(subscriptions).fill(0);
  let outOfOrder = 0;
  let received = 0;
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  await Promise.all(
    Array.from({ length: subscriptions }, (_, i) =>
      subscriber.subscribe({ key: `watched:${i}`, events: ['set'] }, (ev) => {
        received++;
        const idx = Number(ev.keyString.slice('watched:'.length));
        // rounds are written one after another, so the n-th event of a key answers round n
        const t = sentAt.get(`${ev.keyString}#${seen[idx]++}`);
        if (t === undefined) outOfOrder++;
        else lags.push(performance.now() - t);
      }),
    ),
  );
  const expected = subscriptions * rounds;
  const value = Buffer.alloc(valueSize, 0x62);
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    const writes: Promise<boolean>[] = [];
    for (let i = 0; i < subscriptions; i++) {
      sentAt.set(`watched:${i}#${r}`, performance.now());
      writes.push(writer.set(`watched:${i}`, value));
      writes.push(writer.set(`unwatched:${i}`, value)); // matches no subscription
    }
    await Promise.all(writes);
  }
  const deadline = Date.now() + 30_000;
  while (received < expected && Date.now() < deadline) await sleep(5);
  const elapsed = performance.now() - started;
  await Promise.all([subscriber.close(), writer.close()]);
  lags.sort((a, b) => a - b);
  return {
    subscriptions,
    writes: expected * 2,
    expectedEvents: expected,
    receivedEvents: received,
    everyEventSeen: received === expected && seen.every((n) => n === rounds) && outOfOrder === 0,
    eventsPerSec: Math.round((received / elapsed) * 1000),
    lagP50Ms: +(lags[Math.floor(lags.length * 0.5)] ?? NaN).toFixed(3),
    lagP99Ms: +(lags[Math.floor(lags.length * 0.99)] ?? NaN).toFixed(3),
  };
}

async function main(): Promise<void> {
  const pool = new Piscina({ filename: fileURLToPath(new URL('./sdk-load.js', import.meta.url)), minThreads: 2, maxThreads: 2 });
  const rows: Row[] = [];
  let subs: Record<string, number | boolean> = {};
  const cairn = await startCairn({ root: packageRoot, shards, maxMemory: '1gb' });
  try {
    const total = depths.length * 4;
    let step = 0;
    for (const depth of depths) {
      for (const op of ['set', 'get'] as const) {
        for (const transport of ['tcp', 'ws'] as const) {
          log(
            `[${++step}/${total}] ${transport === 'ws' ? 'WebSocket (gateway)' : 'TCP (native port)'}, depth ${depth}, ${op.toUpperCase()} for ${durationMs / 1000}s`,
          );
          const port = transport === 'ws' ? cairn.httpPort : cairn.port;
          const row = await loadRun(pool, { transport, port, depth, op, valueSize, keyspace, durationMs });
          rows.push(row);
          log(`    ${fmt(row.opsPerSec)} ops/s  p50 ${row.p50Ms.toFixed(3)} ms  p99 ${row.p99Ms.toFixed(3)} ms  errors ${row.errors}`);
        }
      }
    }
    log(`subscriptions: ${subscriptions} key subscriptions on one WebSocket client, ${rounds} rounds of writes`);
    subs = await subscriptionRun(cairn.port, cairn.httpPort);
    log(`    ${JSON.stringify(subs)}`);
  } finally {
    await cairn.stop();
    await pool.destroy();
    await stopAllDaemons();
  }
  log('');
  log('| depth | op | TCP ops/s | WebSocket ops/s | WS / TCP | TCP p99 ms | WS p99 ms |');
  log('|---|---|---|---|---|---|---|');
  const summary: Record<string, unknown>[] = [];
  for (const depth of depths) {
    for (const op of ['get', 'set'] as const) {
      const tcp = rows.find((r) => r.depth === depth && r.op === op && r.transport === 'tcp')!;
      const ws = rows.find((r) => r.depth === depth && r.op === op && r.transport === 'ws')!;
      const ratio = ws.opsPerSec / tcp.opsPerSec;
      log(
        `| ${depth} | ${op.toUpperCase()} | ${fmt(tcp.opsPerSec)} | ${fmt(ws.opsPerSec)} | ${(ratio * 100).toFixed(0)}% | ${tcp.p99Ms.toFixed(2)} | ${ws.p99Ms.toFixed(2)} |`,
      );
      summary.push({
        depth,
        op,
        tcpOpsPerSec: Math.round(tcp.opsPerSec),
        wsOpsPerSec: Math.round(ws.opsPerSec),
        wsToTcp: +ratio.toFixed(3),
        tcpP99Ms: +tcp.p99Ms.toFixed(3),
        wsP99Ms: +ws.p99Ms.toFixed(3),
        errors: tcp.errors + ws.errors,
      });
    }
  }
  console.log(JSON.stringify({ shards, connections, valueSize, durationMs, results: summary, subscriptions: subs }));
}

main().catch(async (err) => {
  console.error(err);
  await stopAllDaemons();
  process.exit(1);
});
