/**
 * The set structure (src/engine/collections/set.ts) against a Set model: members, the memory
 * estimate and the position index after random changes, the encoding round trip keeping positions,
 * random picks. Then the set commands through RESP on the Map-backed store double, one and three
 * shards: replies as Redis words them, the multi-set commands on one shard or refused with CROSSSLOT.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeCollection, ValueType } from '../../src/engine/collections/index.js';
import { distinctPositions } from '../../src/engine/collections/positions.js';
import { SetValue } from '../../src/engine/collections/set.js';
import { createConnState } from '../../src/front/plan.js';
import { shardOf } from '../../src/hash.js';
import { MapStoreDouble, resp, respSession, type Session } from './resp-store-double.js';

/**
 * Every position's member maps back to it; the charge covers the bytes held (packed-records.test.ts
 * checks it against the heap) and encode() is sized exactly.
 */
function checkSet(s: SetValue, model: Set<string>): void {
  expect(s.size).toBe(model.size);
  let bytes = 0;
  const seen = new Set<string>();
  for (let i = 0; i < s.size; i++) {
    const m = s.at(i);
    expect(seen.has(m)).toBe(false);
    seen.add(m);
    expect(s.has(m)).toBe(true);
    bytes += m.length;
  }
  expect(seen).toEqual(model);
  expect(s.bytes).toBeGreaterThan(bytes);
  expect(s.encode().length).toBe(4 + 4 * s.size + bytes);
}

const memberArb = fc.constantFrom('', 'a', 'b', 'c', '1', '-1', '\x00\xff', 'z'.repeat(50), ...Array.from({ length: 20 }, (_, i) => `m${i}`));

describe('SetValue', () => {
  it('matches a Set model after random adds, deletes and pops, positions and bytes kept', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'delete', 'pop'), memberArb, fc.nat()), { maxLength: 200 }), (ops) => {
        const s = new SetValue();
        const model = new Set<string>();
        for (const [kind, m, n] of ops) {
          if (kind === 'add') {
            expect(s.add(m)).toBe(!model.has(m));
            model.add(m);
          } else if (kind === 'delete') {
            expect(s.delete(m)).toBe(model.delete(m));
          } else if (s.size > 0) {
            const popped = s.removeAt(n % s.size);
            expect(model.delete(popped)).toBe(true);
          }
        }
        checkSet(s, model);
        const back = decodeCollection(ValueType.SET, s.encode()) as SetValue;
        checkSet(back, model);
        for (let i = 0; i < s.size; i++) expect(back.at(i)).toBe(s.at(i));
      }),
      { numRuns: 200 },
    );
  });

  it('distinct random positions are distinct, in range, and each position turns up', () => {
    for (const [size, count] of [
      [10, 9],
      [10, 1],
      [1000, 5],
      [1000, 400],
    ]) {
      const hits = new Array<number>(size).fill(0);
      for (let round = 0; round < 200; round++) {
        const picks = distinctPositions(size, count);
        expect(picks.length).toBe(count);
        expect(new Set(picks).size).toBe(count);
        for (const p of picks) {
          expect(p >= 0 && p < size).toBe(true);
          hits[p]++;
        }
      }
      // where each position is expected at least 10 times, none may be missing
      if (size * 10 <= 200 * count) expect(hits.filter((h) => h === 0).length).toBe(0);
    }
  });
});

for (const shards of [1, 3]) {
  describe(`set commands through RESP (store double, ${shards} shard${shards > 1 ? 's' : ''})`, () => {
    let s: Session;
    const r = (...parts: (string | Buffer)[]) => s.cmd(resp(...parts));
    /** the members of an array reply, sorted */
    const members = async (...parts: string[]) => {
      const lines = (await r(...parts)).split('\r\n');
      expect(lines[0]).toMatch(/^\*\d+$/);
      return lines.filter((_, i) => i > 0 && i % 2 === 0).sort();
    };
    beforeEach(() => {
      const stores = Array.from({ length: shards }, (_, i) => new MapStoreDouble(i));
      s = respSession(createConnState(1, shards), stores);
    });

    it('SADD, SREM, SISMEMBER, SMISMEMBER, SCARD, SMEMBERS', async () => {
      expect(await r('SADD', 's', 'a', 'b', 'a', 'c')).toBe(':3\r\n');
      expect(await r('SADD', 's', 'c', 'd')).toBe(':1\r\n');
      expect(await r('SCARD', 's')).toBe(':4\r\n');
      expect(await r('SCARD', 'nokey')).toBe(':0\r\n');
      expect(await r('SISMEMBER', 's', 'a')).toBe(':1\r\n');
      expect(await r('SISMEMBER', 's', 'z')).toBe(':0\r\n');
      expect(await r('SMISMEMBER', 's', 'a', 'z', 'd')).toBe('*3\r\n:1\r\n:0\r\n:1\r\n');
      expect(await r('SMISMEMBER', 'nokey', 'a')).toBe('*1\r\n:0\r\n');
      expect(await members('SMEMBERS', 's')).toEqual(['a', 'b', 'c', 'd']);
      expect(await r('SMEMBERS', 'nokey')).toBe('*0\r\n');
      expect(await r('SREM', 's', 'a', 'z', 'b')).toBe(':2\r\n');
      expect(await r('SREM', 's', 'c', 'd')).toBe(':2\r\n');
      expect(await r('EXISTS', 's')).toBe(':0\r\n');
      expect(await r('SREM', 's', 'a')).toBe(':0\r\n');
    });

    it('an EXPIRE with a condition keeps the set a set', async () => {
      expect(await r('SADD', 's', 'a')).toBe(':1\r\n');
      expect(await r('PEXPIREAT', 's', '4102444800123', 'NX')).toBe(':1\r\n');
      expect(await r('EXPIRE', 's', '100', 'GT')).toBe(':0\r\n');
      expect(await r('SISMEMBER', 's', 'a')).toBe(':1\r\n');
      expect(await r('TYPE', 's')).toBe('+set\r\n');
      expect(await r('PEXPIRETIME', 's')).toBe(':4102444800123\r\n');
      expect(await r('EXPIRE', 's', '-1', 'XX')).toBe(':1\r\n');
      expect(await r('EXISTS', 's')).toBe(':0\r\n');
    });

    it('SPOP and SRANDMEMBER: argument checks in Redis order, counts, repeats', async () => {
      expect(await r('SPOP', 'nokey')).toBe('$-1\r\n');
      expect(await r('SPOP', 'nokey', '0')).toBe('*0\r\n');
      expect(await r('SPOP', 'nokey', '-1')).toBe('-ERR value is out of range, must be positive\r\n');
      expect(await r('SPOP', 'nokey', 'x')).toBe('-ERR value is out of range, must be positive\r\n');
      expect(await r('SPOP', 'nokey', '1', '2')).toBe('-ERR syntax error\r\n');
      expect(await r('SRANDMEMBER', 'nokey')).toBe('$-1\r\n');
      expect(await r('SRANDMEMBER', 'nokey', '-5')).toBe('*0\r\n');
      expect(await r('SRANDMEMBER', 'nokey', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('SRANDMEMBER', 'nokey', '1', '2')).toBe('-ERR syntax error\r\n');
      expect(await r('SRANDMEMBER', 'nokey', '-9223372036854775808')).toBe(
        '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n',
      );
      expect(await r('SADD', 's', 'a', 'b', 'c', 'd', 'e')).toBe(':5\r\n');
      expect(await members('SRANDMEMBER', 's', '10')).toEqual(['a', 'b', 'c', 'd', 'e']);
      const three = await members('SRANDMEMBER', 's', '3');
      expect(new Set(three).size).toBe(3);
      const rep = await members('SRANDMEMBER', 's', '-20');
      expect(rep.length).toBe(20);
      for (const m of rep) expect(['a', 'b', 'c', 'd', 'e']).toContain(m);
      expect(await r('SRANDMEMBER', 's', '-1000001')).toBe('-ERR value is out of range, a negative count may ask for at most 1000000 members\r\n');
      const popped = await members('SPOP', 's', '2');
      expect(popped.length).toBe(2);
      expect(await r('SCARD', 's')).toBe(':3\r\n');
      for (const m of popped) expect(await r('SISMEMBER', 's', m)).toBe(':0\r\n');
      const one = (await r('SPOP', 's')).split('\r\n')[1];
      expect(await r('SISMEMBER', 's', one)).toBe(':0\r\n');
      expect((await members('SPOP', 's', '5')).length).toBe(2);
      expect(await r('EXISTS', 's')).toBe(':0\r\n');
    });

    it('SINTER, SUNION, SDIFF, SINTERCARD and the STORE forms on {tag} keys', async () => {
      expect(await r('SADD', '{t}1', 'a', 'b', 'c', 'd')).toBe(':4\r\n');
      expect(await r('SADD', '{t}2', 'c', 'd', 'e')).toBe(':3\r\n');
      expect(await r('SADD', '{t}3', 'd', 'f')).toBe(':2\r\n');
      expect(await members('SINTER', '{t}1', '{t}2')).toEqual(['c', 'd']);
      expect(await members('SINTER', '{t}1', '{t}2', '{t}3')).toEqual(['d']);
      expect(await r('SINTER', '{t}1', '{t}none')).toBe('*0\r\n');
      expect(await members('SUNION', '{t}1', '{t}none', '{t}3')).toEqual(['a', 'b', 'c', 'd', 'f']);
      expect(await members('SDIFF', '{t}1', '{t}2', '{t}none')).toEqual(['a', 'b']);
      expect(await r('SDIFF', '{t}1', '{t}1')).toBe('*0\r\n');
      expect(await r('SDIFF', '{t}none', '{t}1')).toBe('*0\r\n');
      expect(await r('SINTERCARD', '2', '{t}1', '{t}2')).toBe(':2\r\n');
      expect(await r('SINTERCARD', '2', '{t}1', '{t}2', 'LIMIT', '1')).toBe(':1\r\n');
      expect(await r('SINTERCARD', '2', '{t}1', '{t}2', 'LIMIT', '0')).toBe(':2\r\n');
      expect(await r('SINTERCARD', '0', '{t}1')).toBe('-ERR numkeys should be greater than 0\r\n');
      expect(await r('SINTERCARD', 'x', '{t}1')).toBe('-ERR numkeys should be greater than 0\r\n');
      expect(await r('SINTERCARD', '3', '{t}1', '{t}2')).toBe("-ERR Number of keys can't be greater than number of args\r\n");
      expect(await r('SINTERCARD', '1', '{t}1', 'LIMIT')).toBe('-ERR syntax error\r\n');
      expect(await r('SINTERCARD', '1', '{t}1', 'LIMIT', '-1')).toBe("-ERR LIMIT can't be negative\r\n");
      expect(await r('SINTERCARD', '1', '{t}1', 'FOO', '1')).toBe('-ERR syntax error\r\n');
      // the destination is replaced whatever it held, its TTL with it; an empty result deletes it
      expect(await r('SET', '{t}d', 'string', 'EX', '100')).toBe('+OK\r\n');
      expect(await r('SUNIONSTORE', '{t}d', '{t}1', '{t}3')).toBe(':5\r\n');
      expect(await r('TTL', '{t}d')).toBe(':-1\r\n');
      expect(await members('SMEMBERS', '{t}d')).toEqual(['a', 'b', 'c', 'd', 'f']);
      expect(await r('SINTERSTORE', '{t}d', '{t}d', '{t}2')).toBe(':2\r\n');
      expect(await members('SMEMBERS', '{t}d')).toEqual(['c', 'd']);
      expect(await r('SDIFFSTORE', '{t}d', '{t}1', '{t}2')).toBe(':2\r\n');
      expect(await members('SMEMBERS', '{t}d')).toEqual(['a', 'b']);
      expect(await r('SINTERSTORE', '{t}d', '{t}1', '{t}none')).toBe(':0\r\n');
      expect(await r('EXISTS', '{t}d')).toBe(':0\r\n');
      // WRONGTYPE from any key, even after a missing one
      expect(await r('SET', '{t}s', 'v')).toBe('+OK\r\n');
      const wrong = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
      expect(await r('SINTER', '{t}none', '{t}s')).toBe(wrong);
      expect(await r('SUNION', '{t}1', '{t}s')).toBe(wrong);
      expect(await r('SDIFF', '{t}none', '{t}s')).toBe(wrong);
      expect(await r('SINTERCARD', '2', '{t}none', '{t}s')).toBe(wrong);
      expect(await r('SINTERSTORE', '{t}d', '{t}1', '{t}s')).toBe(wrong);
      // a string destination is overwritten without a type check
      expect(await r('SINTERSTORE', '{t}s', '{t}1')).toBe(':4\r\n');
    });

    it('SMOVE: the source looked at first, same key, creation and deletion', async () => {
      expect(await r('SET', '{t}str', 'v')).toBe('+OK\r\n');
      expect(await r('SMOVE', '{t}none', '{t}str', 'a')).toBe(':0\r\n');
      expect(await r('SADD', '{t}a', 'x', 'y')).toBe(':2\r\n');
      expect(await r('SMOVE', '{t}a', '{t}str', 'x')).toBe('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
      expect(await r('SMOVE', '{t}str', '{t}a', 'x')).toBe('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
      expect(await r('SMOVE', '{t}a', '{t}a', 'x')).toBe(':1\r\n');
      expect(await r('SMOVE', '{t}a', '{t}a', 'z')).toBe(':0\r\n');
      expect(await r('SMOVE', '{t}a', '{t}b', 'z')).toBe(':0\r\n');
      expect(await r('EXISTS', '{t}b')).toBe(':0\r\n');
      expect(await r('SMOVE', '{t}a', '{t}b', 'x')).toBe(':1\r\n');
      expect(await r('SMOVE', '{t}a', '{t}b', 'y')).toBe(':1\r\n');
      expect(await r('EXISTS', '{t}a')).toBe(':0\r\n');
      expect(await members('SMEMBERS', '{t}b')).toEqual(['x', 'y']);
    });

    it('SSCAN pages a large set and answers a small one whole', async () => {
      expect(await r('SSCAN', 'nokey', 'x')).toBe('-ERR invalid cursor\r\n');
      expect(await r('SSCAN', 'nokey', '0', 'COUNT', '0')).toBe('*2\r\n$1\r\n0\r\n*0\r\n');
      expect(await r('SADD', 's', 'a', 'b')).toBe(':2\r\n');
      expect(await r('SSCAN', 's', '0', 'COUNT', '0')).toBe('-ERR syntax error\r\n');
      expect(await r('SSCAN', 's', '0', 'MATCH', 'a')).toBe('*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n');
      const all = Array.from({ length: 1000 }, (_, i) => `m${i}`);
      expect(await r('SADD', 'big', ...all)).toBe(':1000\r\n');
      const got = new Set<string>();
      let cursor = '0';
      do {
        const parts = (await r('SSCAN', 'big', cursor, 'COUNT', '100')).split('\r\n');
        cursor = parts[2];
        for (let i = 5; i < parts.length - 1; i += 2) got.add(parts[i]);
        // members leave during the scan: the rest must still be returned
        await r('SREM', 'big', `m${got.size % 7}`);
      } while (cursor !== '0');
      for (const m of all.slice(7)) expect(got.has(m), m).toBe(true);
    });

    if (shards > 1) {
      it('refuses multi-set commands whose keys are on different shards, naming the rule', async () => {
        const cross = "-CROSSSLOT Keys in request don't hash to the same shard (use a {hash tag} to put them on one)\r\n";
        const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
        const other = keys.find((k) => shardOf(Buffer.from(k), shards) !== shardOf(Buffer.from(keys[0]), shards))!;
        for (const c of [
          ['SINTER', ...keys],
          ['SUNIONSTORE', ...keys],
          ['SMOVE', keys[0], other, 'm'],
          ['SINTERCARD', '20', ...keys],
        ]) {
          expect(await r(...c), c[0]).toBe(cross);
        }
      });
    }
  });
}
