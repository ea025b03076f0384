/** The per-shard in-flight log behind shard failover: takeAll() is exactly what was not answered. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InflightLog } from '../../src/front/inflight.js';

describe('InflightLog', () => {
  it('after any interleaving of sends and (reordered, duplicate-id) replies, takeAll returns the unanswered requests', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 3000 }),
        fc.nat(),
        (requests, order, answeredCount) => {
          const log = new InflightLog();
          const pending: [number, number][] = [];
          let o = 0;
          let answered = 0;
          const limit = answeredCount % (requests.length + 1);
          for (const [conn, seq] of requests) {
            log.push(1, conn, seq);
            pending.push([conn, seq]);
            // answer some outstanding request, in any order (ids may repeat: identical requests are interchangeable)
            if (answered < limit && order.length > 0 && order[o++ % order.length] % 3 === 0) {
              const i = order[o % order.length] % pending.length;
              const [c, s] = pending.splice(i, 1)[0];
              log.settle(c, s);
              answered++;
            }
          }
          const left = log
            .takeAll()
            .map((r) => `${r.conn}:${r.seq}`)
            .sort();
          expect(left).toEqual(pending.map(([c, s]) => `${c}:${s}`).sort());
          expect(log.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
