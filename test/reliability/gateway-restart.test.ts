/**
 * A shard restart seen by the gateway thread, a front of its own that learns of the restart by
 * message from the main thread, later than the pool restarts the worker. A raw WebSocket client keeps
 * a window of pipelined native requests (each with its own request id) on a shard that is killed
 * twice. Two test hooks widen the race a busy machine opens: CAIRN_TEST_GATEWAY_NOTICE_DELAY_MS makes
 * the gateway act on each shard-down / shard-up notice late, so it goes on writing to the shard's
 * request ring after the pool has reset it, and CAIRN_TEST_SHARD_RESTART_DELAY_MS makes the new
 * worker start after the gateway has failed those requests over.
 * Checked: every request gets exactly one answer, its own reply or a CAIRN_ERR_SHARD_DOWN failure,
 * never another request's reply and never two; and requests after the restart succeed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createUnpackr } from '../../src/msgpack.js';
import { encodeRequest, ReplyReader, Status } from '../../src/native/frame.js';
import { Opcode } from '../../src/native/opcodes.js';
import { freePort } from '../helpers/server.js';
import { cleanup, keysOn, redis, shardUp, start, until } from './lib.js';

afterAll(cleanup);

const unpackr = createUnpackr(false);
/** requests the client keeps outstanding as replies come */
const WINDOW = 64;
/** more sent every 5 ms whatever comes back (up to this many outstanding), so that requests keep
 * reaching the gateway while the dead shard answers nothing */
const TRICKLE = 8;
const MAX_OUTSTANDING = 512;

describe('a shard restart seen from the gateway', () => {
  it('answers every pipelined WebSocket request exactly once across a restart the gateway learns of late', async () => {
    const httpPort = await freePort();
    const srv = await start({
      // sync: k0's value survives the kills; 4 KB items: a request in flight reserves 4 KB of the
      // socket's output limit, so the gateway takes the whole stream in while the shard answers nothing
      args: ['--http-port', String(httpPort), '--durability', 'sync', '--max-item-size', '4096'],
      // the gateway acts on a notice 100 ms late, and the new worker starts 500 ms after the exit
      env: { CAIRN_TEST_GATEWAY_NOTICE_DELAY_MS: '100', CAIRN_TEST_SHARD_RESTART_DELAY_MS: '500' },
    });
    const admin = redis(srv.respPort);
    const [k0, k0w] = keysOn(0, 2, 2, 'gw');

    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });

    /** request id → what it asked (GET of k0 or SET of k0w) */
    const sent = new Map<number, 'get' | 'set'>();
    const answers = new Map<number, number>();
    const wrong: string[] = [];
    const counts = { ok: 0, shardDown: 0 };
    let nextId = 1;
    let outstanding = 0;
    let running = true;
    let refill: ReturnType<typeof setTimeout> | null = null;

    const send = (): void => {
      const id = nextId++;
      const op = id % 8 === 0 ? 'set' : 'get';
      sent.set(id, op);
      outstanding++;
      ws.send(op === 'get' ? encodeRequest(Opcode.GET, id, Buffer.from(k0)) : encodeRequest(Opcode.SET, id, Buffer.from(k0w), [Buffer.from(`v${id}`)]));
    };
    const pump = (): void => {
      while (running && outstanding < WINDOW) send();
    };

    const reader = new ReplyReader();
    const onMessage = (m: ArrayBuffer): void => {
      reader.feed(new Uint8Array(m));
      let shardDown = false;
      for (let f = reader.next(); f !== null; f = reader.next()) {
        const id = f.requestId;
        const n = (answers.get(id) ?? 0) + 1;
        answers.set(id, n);
        const op = sent.get(id);
        if (op === undefined) {
          wrong.push(`a reply to request ${id}, never sent`);
          continue;
        }
        if (n > 1) {
          wrong.push(`answer ${n} to request ${id} (${op})`);
          continue;
        }
        outstanding--;
        const body = unpackr.unpack(f.bytes.subarray(f.bodyOffset)) as unknown;
        if (f.status === Status.ERROR) {
          const [code, message] = body as [string, string];
          if (code === 'CAIRN_ERR_SHARD_DOWN') {
            counts.shardDown++;
            shardDown = true;
          } else wrong.push(`request ${id} (${op}): ${code} ${message}`);
        } else if (op === 'get' && !(body instanceof Uint8Array && Buffer.from(body).toString() === 'zero')) {
          wrong.push(`GET request ${id} answered ${JSON.stringify(body)}`);
        } else counts.ok++;
      }
      // after a failure, a short pause: the shard fails requests at once until it is back
      if (!shardDown) pump();
      else if (refill === null) {
        refill = setTimeout(() => {
          refill = null;
          pump();
        }, 5);
      }
    };

    /** the gateway answers this many more requests successfully: waits for answers, not times */
    const served = async (n: number): Promise<void> => {
      const mark = counts.ok;
      await until(() => counts.ok - mark >= n, 60_000, `${n} requests served through the gateway`);
    };

    // HELLO, then k0's value, both as request id 0 (the stream counts from 1)
    const hello = new Promise<void>((resolve) => ws.once('message', () => resolve()));
    ws.send(encodeRequest(Opcode.HELLO, 0, new Uint8Array(0), [{ version: 1 }]));
    await hello;
    const stored = new Promise<void>((resolve) => ws.once('message', () => resolve()));
    ws.send(encodeRequest(Opcode.SET, 0, Buffer.from(k0), [Buffer.from('zero')]));
    await stored;
    ws.on('message', onMessage);
    pump();
    const trickle = setInterval(() => {
      for (let i = 0; i < TRICKLE && running && outstanding < MAX_OUTSTANDING; i++) send();
    }, 5);
    await served(200);
    for (const kill of ['shard-terminate', 'shard-crash']) {
      const failedBefore = counts.shardDown;
      await admin.call('cairn.debug', kill, '0');
      await shardUp(admin, 0);
      // the gateway has failed what the dead worker owed and serves the restarted one
      await until(() => counts.shardDown > failedBefore, 60_000, `the gateway failing shard 0's requests after ${kill}`);
      await served(200);
    }
    running = false;
    clearInterval(trickle);
    await until(() => outstanding === 0, 30_000, 'every request answered');
    // a late second answer would come from the restarted worker: one more round trip to it first
    const last = nextId++;
    sent.set(last, 'get');
    ws.send(encodeRequest(Opcode.GET, last, Buffer.from(k0)));
    await until(() => answers.has(last), 30_000, 'the last request answered');
    ws.close();

    expect(wrong).toEqual([]);
    expect([...answers.values()].every((n) => n === 1)).toBe(true);
    expect(answers.size).toBe(sent.size);
    expect(counts.shardDown).toBeGreaterThan(0);
    expect(srv.output()).toContain('shard 0 restarted');
    console.log(`gateway restart: ${sent.size} requests, ${counts.ok} served, ${counts.shardDown} failed with CAIRN_ERR_SHARD_DOWN`);
  }, 120_000);
});
