/**
 * The hash structure (src/engine/collections/hash.ts) against a Map model: fields, values, the
 * memory estimate and the position index after random changes; the encoding round trip keeping
 * positions; the scan cursor's guarantee while the hash changes between pages. Then the hash
 * commands through RESP on the Map-backed store double, one and three shards.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { HashValue } from '../../src/engine/collections/hash.js';
import { decodeCollection, ValueType } from '../../src/engine/collections/index.js';
import { scanPage, WHOLE_SCAN_MAX } from '../../src/engine/collections/positions.js';
import { createConnState } from '../../src/front/plan.js';
import { MapStoreDouble, resp, respSession, type Session } from './resp-store-double.js';

/**
 * Every position's field maps back to it; the charge covers the bytes held (packed-records.test.ts
 * checks it against the heap) and encode() is sized exactly.
 */
function checkHash(h: HashValue, model: Map<string, string>): void {
  expect(h.size).toBe(model.size);
  let bytes = 0;
  const seen = new Map<string, string>();
  for (let i = 0; i < h.size; i++) {
    const f = h.fieldAt(i);
    expect(seen.has(f)).toBe(false);
    seen.set(f, h.valueAt(i));
    expect(h.get(f)).toBe(h.valueAt(i));
    bytes += f.length + h.valueAt(i).length;
  }
  expect(seen).toEqual(model);
  expect(h.bytes).toBeGreaterThan(bytes);
  expect(h.encode().length).toBe(4 + 8 * h.size + bytes);
}

const field = fc.constantFrom('', 'a', 'b', 'c', 'field', '\x00\xff', 'x'.repeat(40), ...Array.from({ length: 20 }, (_, i) => `f${i}`));
const value = fc.constantFrom('', 'v', '1', 'longer value', '\r\n', 'y'.repeat(100));
const op = fc.oneof(fc.tuple(fc.constant('set' as const), field, value), fc.tuple(fc.constant('delete' as const), field, fc.constant('')));

describe('HashValue', () => {
  it('matches a Map model after random sets and deletes, positions and bytes kept', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const h = new HashValue();
        const model = new Map<string, string>();
        for (const [kind, f, v] of ops) {
          if (kind === 'set') {
            expect(h.set(f, v)).toBe(!model.has(f));
            model.set(f, v);
          } else {
            expect(h.delete(f)).toBe(model.delete(f));
          }
        }
        checkHash(h, model);
        const back = decodeCollection(ValueType.HASH, h.encode()) as HashValue;
        checkHash(back, model);
        for (let i = 0; i < h.size; i++) expect(back.fieldAt(i)).toBe(h.fieldAt(i));
      }),
      { numRuns: 200 },
    );
  });

  it('a delete moves only the last field into the hole', () => {
    const h = new HashValue();
    for (const f of ['a', 'b', 'c', 'd']) h.set(f, f.toUpperCase());
    h.delete('b');
    expect([0, 1, 2].map((i) => h.fieldAt(i))).toEqual(['a', 'd', 'c']);
    expect(h.get('d')).toBe('D');
    h.delete('c');
    expect([0, 1].map((i) => h.fieldAt(i))).toEqual(['a', 'd']);
  });
});

/**
 * Runs a scan over `h` to its end, applying `change` between pages; returns every field returned.
 * Fails if it takes more pages than the hash could need.
 */
function fullScan(size: () => number, at: (i: number) => string, count: number, change: (page: number) => void): Set<string> {
  const got = new Set<string>();
  let cursor = 0;
  for (let page = 0; ; page++) {
    const { from, to, next } = scanPage(size(), cursor, count);
    for (let i = to - 1; i >= from; i--) got.add(at(i));
    if (next === 0) return got;
    expect(page).toBeLessThan(100_000);
    cursor = next;
    change(page);
  }
}

describe('the position scan cursor', () => {
  it('returns every field present for the whole scan at least once while fields come and go', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 300 }),
        (initial, count, changes) => {
          const h = new HashValue();
          for (let i = 0; i < initial; i++) h.set(`m${i}`, 'v');
          const removed = new Set<string>();
          let added = initial;
          const got = fullScan(
            () => h.size,
            (i) => h.fieldAt(i),
            count,
            (page) => {
              // a few changes between pages: removals of random fields, new fields
              for (let k = page * 3; k < page * 3 + 3 && k < changes.length; k++) {
                const [add, n] = changes[k];
                if (add || h.size === 0) h.set(`m${added++}`, 'v');
                else {
                  const f = h.fieldAt(n % h.size);
                  removed.add(f);
                  h.delete(f);
                }
              }
            },
          );
          for (let i = 0; i < initial; i++) if (!removed.has(`m${i}`)) expect(got.has(`m${i}`), `m${i}`).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers a small collection whole, as Redis does its listpack, and pages a larger one', () => {
    expect(scanPage(WHOLE_SCAN_MAX, 0, 1)).toEqual({ from: 0, to: WHOLE_SCAN_MAX, next: 0 });
    expect(scanPage(1000, 0, 10)).toEqual({ from: 990, to: 1000, next: 990 });
    expect(scanPage(1000, 990, 10)).toEqual({ from: 980, to: 990, next: 980 });
    expect(scanPage(1000, 5, 10)).toEqual({ from: 0, to: 5, next: 0 });
    // a cursor past the size (members went meanwhile) starts from the top
    expect(scanPage(500, 990, 10)).toEqual({ from: 490, to: 500, next: 490 });
    expect(scanPage(500, Number.POSITIVE_INFINITY, 10)).toEqual({ from: 490, to: 500, next: 490 });
  });
});

for (const shards of [1, 3]) {
  describe(`hash commands through RESP (store double, ${shards} shard${shards > 1 ? 's' : ''})`, () => {
    let s: Session;
    const r = (...parts: (string | Buffer)[]) => s.cmd(resp(...parts));
    beforeEach(() => {
      const stores = Array.from({ length: shards }, (_, i) => new MapStoreDouble(i));
      s = respSession(createConnState(1, shards), stores);
    });

    it('HSET, HGET, HMGET, HLEN, HEXISTS, HSTRLEN, HDEL as Redis answers them', async () => {
      expect(await r('HSET', 'h', 'a', '1', 'b', '22')).toBe(':2\r\n');
      expect(await r('HSET', 'h', 'a', 'x', 'c', '')).toBe(':1\r\n');
      expect(await r('HMSET', 'h', 'd', '4')).toBe('+OK\r\n');
      expect(await r('HSETNX', 'h', 'a', 'no')).toBe(':0\r\n');
      expect(await r('HSETNX', 'h', 'e', 'yes')).toBe(':1\r\n');
      expect(await r('HGET', 'h', 'a')).toBe('$1\r\nx\r\n');
      expect(await r('HGET', 'h', 'c')).toBe('$0\r\n\r\n');
      expect(await r('HGET', 'h', 'zz')).toBe('$-1\r\n');
      expect(await r('HGET', 'nokey', 'a')).toBe('$-1\r\n');
      expect(await r('HMGET', 'h', 'b', 'zz', 'e')).toBe('*3\r\n$2\r\n22\r\n$-1\r\n$3\r\nyes\r\n');
      expect(await r('HMGET', 'nokey', 'a', 'b')).toBe('*2\r\n$-1\r\n$-1\r\n');
      expect(await r('HLEN', 'h')).toBe(':5\r\n');
      expect(await r('HEXISTS', 'h', 'b')).toBe(':1\r\n');
      expect(await r('HEXISTS', 'h', 'zz')).toBe(':0\r\n');
      expect(await r('HSTRLEN', 'h', 'b')).toBe(':2\r\n');
      expect(await r('HSTRLEN', 'h', 'zz')).toBe(':0\r\n');
      expect(await r('HDEL', 'h', 'a', 'zz', 'b')).toBe(':2\r\n');
      expect(await r('HDEL', 'h', 'c', 'd', 'e')).toBe(':3\r\n');
      expect(await r('EXISTS', 'h')).toBe(':0\r\n');
      expect(await r('HDEL', 'h', 'a')).toBe(':0\r\n');
    });

    it('arity and WRONGTYPE as Redis words them', async () => {
      expect(await r('HSET', 'h', 'a')).toBe("-ERR wrong number of arguments for 'hset' command\r\n");
      expect(await r('HSET', 'h', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'hset' command\r\n");
      expect(await r('HMSET', 'h', 'a', '1', 'b')).toBe("-ERR wrong number of arguments for 'hmset' command\r\n");
      expect(await r('SET', 's', 'v')).toBe('+OK\r\n');
      const wrong = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
      for (const c of [
        ['HSET', 's', 'a', '1'],
        ['HGET', 's', 'a'],
        ['HMGET', 's', 'a'],
        ['HGETALL', 's'],
        ['HDEL', 's', 'a'],
        ['HLEN', 's'],
        ['HINCRBY', 's', 'a', '1'],
        ['HINCRBYFLOAT', 's', 'a', '1'],
        ['HRANDFIELD', 's'],
        ['HRANDFIELD', 's', '-2000000', 'WITHVALUES'],
        ['HSCAN', 's', '0'],
        ['HSCAN', 's', '0', 'COUNT', '0'],
      ]) {
        expect(await r(...c), c.join(' ')).toBe(wrong);
      }
      expect(await r('GET', 's')).toBe('$1\r\nv\r\n');
    });

    it('HINCRBY and HINCRBYFLOAT with Redis numbers and errors', async () => {
      expect(await r('HINCRBY', 'h', 'n', '5')).toBe(':5\r\n');
      expect(await r('HINCRBY', 'h', 'n', '-7')).toBe(':-2\r\n');
      expect(await r('HINCRBY', 'h', 'n', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('HSET', 'h', 'big', '9223372036854775807', 's', 'abc', 'z', '007')).toBe(':3\r\n');
      expect(await r('HINCRBY', 'h', 'big', '1')).toBe('-ERR increment or decrement would overflow\r\n');
      expect(await r('HINCRBY', 'h', 's', '1')).toBe('-ERR hash value is not an integer\r\n');
      expect(await r('HINCRBY', 'h', 'z', '1')).toBe('-ERR hash value is not an integer\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'f', '10.5')).toBe('$4\r\n10.5\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'f', '0.1')).toBe('$4\r\n10.6\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'n', '2.0e2')).toBe('$3\r\n198\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 's', '1')).toBe('-ERR hash value is not a float\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'f', 'inf')).toBe('-ERR value is NaN or Infinity\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'f', 'nan')).toBe('-ERR value is not a valid float\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'f', 'abc')).toBe('-ERR value is not a valid float\r\n');
      expect(await r('HSET', 'h', 'i', 'inf')).toBe(':1\r\n');
      expect(await r('HINCRBYFLOAT', 'h', 'i', '1')).toBe('-ERR increment would produce NaN or Infinity\r\n');
      // a refused increment on a new key leaves no empty hash behind
      expect(await r('HINCRBYFLOAT', 'new', 'f', 'inf')).toBe('-ERR value is NaN or Infinity\r\n');
      expect(await r('EXISTS', 'new')).toBe(':0\r\n');
    });

    it('HGETALL, HKEYS, HVALS list every field once', async () => {
      expect(await r('HGETALL', 'nokey')).toBe('*0\r\n');
      expect(await r('HSET', 'h', 'a', '1', 'b', '2', 'c', '3')).toBe(':3\r\n');
      expect(await r('HDEL', 'h', 'a')).toBe(':1\r\n');
      const all = (await r('HGETALL', 'h')).split('\r\n');
      expect(all[0]).toBe('*4');
      // field, value pairs in some order
      const pairs = [`${all[2]}=${all[4]}`, `${all[6]}=${all[8]}`].sort();
      expect(pairs).toEqual(['b=2', 'c=3']);
      expect((await r('HKEYS', 'h')).split('\r\n').sort()).toEqual(['', '$1', '$1', '*2', 'b', 'c']);
      expect((await r('HVALS', 'h')).split('\r\n').sort()).toEqual(['', '$1', '$1', '*2', '2', '3']);
    });

    it('HRANDFIELD: argument checks in Redis order, counts and shapes', async () => {
      expect(await r('HRANDFIELD', 'nokey')).toBe('$-1\r\n');
      expect(await r('HRANDFIELD', 'nokey', '3')).toBe('*0\r\n');
      expect(await r('HRANDFIELD', 'nokey', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('HRANDFIELD', 'nokey', '1', 'foo')).toBe('-ERR syntax error\r\n');
      expect(await r('HRANDFIELD', 'nokey', '1', 'withvalues', 'x')).toBe('-ERR syntax error\r\n');
      expect(await r('HRANDFIELD', 'nokey', '-9223372036854775808')).toBe(
        '-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n',
      );
      expect(await r('HRANDFIELD', 'nokey', '-9223372036854775807', 'WITHVALUES')).toBe('-ERR value is out of range\r\n');
      expect(await r('HSET', 'h', 'a', '1', 'b', '2', 'c', '3')).toBe(':3\r\n');
      expect(['$1\r\na\r\n', '$1\r\nb\r\n', '$1\r\nc\r\n']).toContain(await r('HRANDFIELD', 'h'));
      expect(await r('HRANDFIELD', 'h', '0')).toBe('*0\r\n');
      const two = (await r('HRANDFIELD', 'h', '2')).split('\r\n');
      expect(two[0]).toBe('*2');
      expect(new Set([two[2], two[4]]).size).toBe(2);
      expect((await r('HRANDFIELD', 'h', '10')).split('\r\n')[0]).toBe('*3');
      const rep = (await r('HRANDFIELD', 'h', '-5', 'WITHVALUES')).split('\r\n');
      expect(rep[0]).toBe('*10');
      for (let i = 0; i < 5; i++) expect(String(rep[2 + 4 * i].charCodeAt(0) - 96)).toBe(rep[4 + 4 * i]);
      expect(await r('HRANDFIELD', 'h', '-1000001')).toBe('-ERR value is out of range, a negative count may ask for at most 1000000 members\r\n');
      expect(await r('HRANDFIELD', 'nokey', '-1000001')).toBe('*0\r\n');
    });

    it('HSCAN: cursor and options read in Redis order, pages that cover the hash', async () => {
      expect(await r('HSCAN', 'nokey', 'x')).toBe('-ERR invalid cursor\r\n');
      expect(await r('HSCAN', 'nokey', '0', 'FOO')).toBe('*2\r\n$1\r\n0\r\n*0\r\n');
      expect(await r('HSET', 'h', 'a', '1', 'b', '2')).toBe(':2\r\n');
      expect(await r('HSCAN', 'h', '0', 'COUNT', '0')).toBe('-ERR syntax error\r\n');
      expect(await r('HSCAN', 'h', '0', 'COUNT', 'x')).toBe('-ERR value is not an integer or out of range\r\n');
      expect(await r('HSCAN', 'h', '0', 'TYPE', 'string')).toBe('-ERR syntax error\r\n');
      expect(await r('HSCAN', 'h', '0', 'MATCH')).toBe('-ERR syntax error\r\n');
      expect(await r('HSCAN', 'h', ' 1')).toBe('-ERR invalid cursor\r\n');
      expect(await r('HSCAN', 'h', '18446744073709551616')).toBe('-ERR invalid cursor\r\n');
      for (const c of ['', '-1', '+5', '0', '18446744073709551615']) {
        expect((await r('HSCAN', 'h', c)).startsWith('*2\r\n$1\r\n0\r\n*4\r\n'), c).toBe(true);
      }
      expect(await r('HSCAN', 'h', '0', 'MATCH', 'b*')).toBe('*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n');
      // a hash past the whole-page size is paged; every field comes back once
      const fields = Array.from({ length: 300 }, (_, i) => `f${i}`);
      expect(await r('HSET', 'big', ...fields.flatMap((f) => [f, 'v']))).toBe(':300\r\n');
      const got: string[] = [];
      let cursor = '0';
      let pages = 0;
      do {
        const parts = (await r('HSCAN', 'big', cursor, 'COUNT', '50')).split('\r\n');
        cursor = parts[2];
        for (let i = 5; i < parts.length - 1; i += 4) got.push(parts[i]);
        pages++;
      } while (cursor !== '0');
      expect(pages).toBe(6);
      expect(got.sort()).toEqual(fields.sort());
    });
  });
}
