/**
 * Transactions across shards hold their shards (docs/architecture.md, "Transactions"): no other
 * client sees part of one, a client that goes away mid-transaction lets its shards go, and a shard
 * that dies while held leaves the other shard serving.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HOLD_TIMEOUT_MS } from '../../src/shards/hold.js';
import { cleanup, keysOn, raw, redis, shardUp, start, until } from './lib.js';

afterAll(cleanup);

const [X0] = keysOn(0, 2, 1, 'tx-a');
const [X1] = keysOn(1, 2, 1, 'tx-b');

describe('transactions across shards', () => {
  it('are isolated: readers of both counters in their own MULTI never see a move half done', async () => {
    const srv = await start();
    const admin = redis(srv.respPort);
    await admin.mset(X0, '1000', X1, '1000');
    const movers = 3;
    const moves = 150;
    let partial = 0;
    let reads = 0;
    let moveErrors = 0;
    let moving = movers;
    const mover = async (): Promise<void> => {
      const c = redis(srv.respPort);
      for (let n = 0; n < moves; n += 5) {
        // five transactions in flight on the connection at once
        const batch = await Promise.all(Array.from({ length: 5 }, () => c.multi().decr(X0).incr(X1).exec()));
        for (const r of batch) if (!r?.every(([e]) => e === null)) moveErrors++;
      }
      moving--;
    };
    const reader = async (): Promise<void> => {
      const c = redis(srv.respPort);
      while (moving > 0) {
        const batch = await Promise.all(Array.from({ length: 5 }, () => c.multi().get(X0).get(X1).exec()));
        for (const r of batch) {
          reads++;
          if (Number(r![0][1]) + Number(r![1][1]) !== 2000) partial++;
        }
      }
    };
    await Promise.all([...Array.from({ length: movers }, mover), reader(), reader()]);
    expect(reads).toBeGreaterThan(0);
    expect(partial).toBe(0);
    expect(moveErrors).toBe(0);
    expect(await admin.mget(X0, X1)).toEqual([String(1000 - movers * moves), String(1000 + movers * moves)]);
  }, 120_000);

  it('a client that disconnects right after sending MULTI ... EXEC lets its shards go', async () => {
    const srv = await start();
    const admin = redis(srv.respPort);
    const tx = `*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$${X0.length}\r\n${X0}\r\n*2\r\n$4\r\nINCR\r\n$${X1.length}\r\n${X1}\r\n*1\r\n$4\r\nEXEC\r\n`;
    for (let i = 0; i < 40; i++) {
      const c = await raw(srv.respPort);
      c.socket.write(tx);
      // gone at different points of the transaction: before its holds, between them, after
      if (i % 2 === 1) await new Promise((r) => setImmediate(r));
      c.socket.destroy();
    }
    // a shard still held would defer these for the hold timeout
    const started = Date.now();
    const [a, b] = await Promise.all([admin.incr(X0), admin.incr(X1)]);
    expect(await admin.multi().get(X0).get(X1).exec()).toEqual([
      [null, String(a)],
      [null, String(b)],
    ]);
    expect(Date.now() - started).toBeLessThan(HOLD_TIMEOUT_MS * 0.8);
    // each shard ran a disconnected client's transaction whole or not at all
    expect(a).toBe(b);
  }, 60_000);

  it('a shard killed while transactions hold it: they fail with coded errors, the other shard serves, and then they run again', async () => {
    const srv = await start();
    const admin = redis(srv.respPort);
    await admin.mset(X0, '0', X1, '0');
    const [other] = keysOn(0, 2, 1, 'other');
    const unexpected: string[] = [];
    let done = 0;
    let failed = 0;
    let running = true;
    const worker = async (): Promise<void> => {
      const c = redis(srv.respPort, { maxRetriesPerRequest: 0 });
      for (let n = 0; running && n < 5000; n++) {
        try {
          const r = await c.multi().incr(X0).incr(X1).exec();
          for (const [e] of r!) if (e !== null) throw e;
          done++;
        } catch (err) {
          failed++;
          const msg = (err as Error).message;
          if (!/shard unavailable|no longer held/.test(msg)) unexpected.push(msg);
        }
      }
    };
    const workers = Array.from({ length: 3 }, worker);
    await until(() => done >= 50, 30_000, 'transactions before the kill');
    expect(await admin.call('cairn.debug', 'shard-terminate', '1')).toBe('OK');
    await until(() => failed > 0, 30_000, 'a transaction failing on the dead shard');
    // shard 0 is not wedged by a transaction that held it when shard 1 died
    expect(await admin.set(other, 'served')).toBe('OK');
    expect(await admin.get(other)).toBe('served');
    await shardUp(admin, 1);
    const after = done;
    await until(() => done >= after + 50, 30_000, 'transactions after the restart');
    running = false;
    await Promise.all(workers);
    expect(unexpected).toEqual([]);
  }, 120_000);
});
