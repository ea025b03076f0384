/**
 * The `cmsgpack` and `struct` Lua libraries beside redis-server 7.0: each script goes to both
 * servers and the raw replies (the packed bytes themselves, or what unpacking gave) must match,
 * error texts included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ReplyConn } from './lib/differential.js';

let cairn: TestServer;
let reference: ServiceHandle;

beforeAll(async () => {
  [cairn, reference] = await Promise.all([startServer({ args: ['--shards', '1'] }), startRedisServer(undefined, ['--databases', '1'])]);
}, 60_000);

afterAll(async () => {
  await Promise.all([cairn?.stop(), reference?.stop()]);
});

/** the packed bytes themselves */
const pack = (args: string): string => `return cmsgpack.pack(${args})`;
/** a round trip: how many values, the type, equal to what was packed, and (when short) its text */
const roundTrip = (expr: string): string =>
  `local v = ${expr} local t = {cmsgpack.unpack(cmsgpack.pack(v))} ` +
  `return {#t, type(t[1]), tostring(t[1] == v or (v ~= v and t[1] ~= t[1])), type(v) == 'number' and math.abs(v) < 1e15 and tostring(t[1]) or 'big'}`;
/** unpacked values, numbers as text when their text is short enough to be the same in both Luas */
const unpacked = (call: string): string =>
  `local t = {${call}} for i = 1, #t do local x = t[i] if type(x) == 'number' and math.abs(x) < 1e15 then t[i] = tostring(x) end end return t`;

const NUMBERS = [
  ...['0', '1', '127', '128', '255', '256', '65535', '65536', '2^31-1', '2^31', '2^32-1', '2^32', '2^53', '2^53+1', '2^63-1024', '2^63', '2^64'],
  ...['-1', '-32', '-33', '-128', '-129', '-32768', '-32769', '-2^31', '-2^31-1', '-2^53', '-2^63', '-2^63-2048', '-2^64'],
  ...['0.5', '-0.5', '1.5', '0.1', '1e300', '1/0', '-1/0', '0/0', '-0.0', '3.4028234663852886e38', '1e-45', '2147483647'],
];

const CMSGPACK: string[] = [
  ...NUMBERS.flatMap((n) => [pack(n), roundTrip(n)]),
  ...[0, 1, 31, 32, 255, 256, 65535, 65536].flatMap((len) => [
    pack(`string.rep('x', ${len})`),
    `return #cmsgpack.unpack(cmsgpack.pack(string.rep('\\0', ${len})))`,
  ]),
  pack(`'a\\0b\\255'`),
  roundTrip(`'a\\0b\\255'`),
  ...['true', 'false', 'nil', '1, 2, "x", nil, true', '{}', '{1,2,3}', '{a=1}', '{[0]=1}', '{[1.5]=1}', '{[-1]=1}', '{x={y={z={1}}}}'].map(pack),
  // deeper than 16 tables: the 17th packs as nil; a table holding itself stops the same way
  pack('{1,{2,{3,{4,{5,{6,{7,{8,{9,{10,{11,{12,{13,{14,{15,{16,{17,{18}}}}}}}}}}}}}}}}}}'),
  pack('(function() local t = {} t.self = t return t end)()'),
  pack('(function() local t = {} for i = 1, 16 do t[i] = i end return t end)()'),
  pack('(function() local t = {} for i = 1, 65536 do t[i] = i % 7 end return t end)()'),
  pack('print'),
  pack(''),
  `local t = cmsgpack.unpack(cmsgpack.pack({1,2,{a='b'},{}})) return {t[1], t[2], t[3].a, #t[4]}`,
  ...['', ', 1', ', 2', ', 3'].map((off) => unpacked(`cmsgpack.unpack_one(cmsgpack.pack(1,2,3)${off})`)),
  ...['2', '2, 1', '0', '-1'].map((lim) => unpacked(`cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), ${lim})`)),
  unpacked(`cmsgpack.unpack_limit('a')`),
  ...["'a', -1", "'a', 5", "'a', 1.7", "''"].map((a) => unpacked(`cmsgpack.unpack_one(${a})`)),
  unpacked(`cmsgpack.unpack('')`),
  // short input, formats lua-cmsgpack does not know (bin, ext), nil map key, wrong argument
  ...["'\\205'", "'\\193'", "'\\196\\1a'", "'\\129\\192\\1'", "'\\146\\1'", '', '{}'].map((s) => `return cmsgpack.unpack(${s})`),
  unpacked(`cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')`),
  unpacked(`cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\0')`),
  `return tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0'))`,
  `return tostring(cmsgpack.unpack('\\203\\63\\248\\0\\0\\0\\0\\0\\0'))`,
  // Lua 5.1's 8000-slot C stack: deep nesting and too many results fail where Redis' do
  `local t={} for i=1,5000 do t[i]='\\145' end return #{cmsgpack.unpack(table.concat(t)..'\\1')}`,
  `local t={} for i=1,9000 do t[i]='\\1' end return #{cmsgpack.unpack(table.concat(t))}`,
  `local t={} for i=1,7990 do t[i]='\\1' end return #{cmsgpack.unpack(table.concat(t))}`,
  `local t={} for i=1,5000 do t[i]='\\129\\1' end return #{cmsgpack.unpack(table.concat(t)..'\\1\\1')}`,
  `return {cmsgpack._NAME, cmsgpack._VERSION}`,
  `local p = cmsgpack.pack return p()`,
];

const STRUCT_PACK = [
  ...["'b', -1", "'B', 255", "'B', 256", "'h', -2", "'>h', 513", "'<H', 513", "'l', -3", "'>L', 2^40", "'T', 7", "'i', -4", "'>I', 3"],
  ...["'>i3', 2^40+5", "'<i3', -2", "'>i16', -1", "'<i10', -2", "'>I1', 300", "'i0', 5"],
  ...["'f', 1.5", "'>f', 0.1", "'d', 0.1", "'>d', -2.5", "'x'", "'c', 'xyz'", "'c0', 'xyz'", "'c3', 'xyz'", "'c5', 'ab'", "'s', 'a\\0b'", "'s', 12"],
  ...["'!4 b i', 1, 2", "'!d b d', 1, 2, 3", "'!b h', 1, 2", "'! b i3', 1, 2", "'!2 b d', 1, 2", "''", "'>!<'"],
  // the C casts of out-of-range numbers, as x86-64 does them
  ...["'>L', 2^64", "'>L', 2^65", "'>l', -2^64", "'>L', 0/0", "'>L', 1/0", "'>L', -1.5", "'>L', 2.7", "'>L', 2^63", "'>L', 2^63+2^62"],
  ...["'i'", "'ii', 1", "'iii', 1", "'q', 1", "'i40', 1", "'i99999999999', 1", "'!3', 1", "'b', 'x'", "'b', '12'", "'c', {}"],
].map((a) => `return struct.pack(${a})`);

const STRUCT_UNPACK = [
  ...["'b', '\\255'", "'B', '\\255'", "'>h', '\\1\\2'", "'<H', '\\255\\255'", "'<l', string.rep('\\255', 8)", "'<L', string.rep('\\255', 8)"],
  ...["'>i16', string.rep('\\255', 16)", "'>I16', string.rep('\\255', 16)", "'>i9', string.rep('\\255', 9)", "'<i9', string.rep('\\128', 9)"],
  ...["'>i3', '\\128\\0\\1'", "'<f', struct.pack('<f', 0.1)", "'>d', struct.pack('>d', 0.1)", "'b c0', '\\3abc'", "'c0', 'abc'", "'s', 'abc'"],
  ...["'s s', 'ab\\0c\\0'", "'i', 'abcd', 0", "'i', 'abcd', 1.9", "'i', 'abcd', -1", "'b', 'abcd', 4", "'b', 'abcd', 5", "'i', 'ab'"],
  ...["'!4 b i', struct.pack('!4 b i', 1, 2)", "'x b', 'ab'", "'c2 c0', '12abc'", "'c1 c0', '3abc'", "'q', 'a'", "'b'", "'b', 'a', 'x'"],
  "'>I', '\\0\\0\\0\\5', 1, 9",
].map((a) => unpacked(`struct.unpack(${a})`));

const STRUCT_SIZE = ["'b'", "'bhilT'", "'!bi q'", "'!bd'", "'s'", "'c0'", "'c7'", "'i33'", "'!5'", "'x'", "'<>!2 i3 b'", "'~'"].map(
  (f) => `return struct.size(${f})`,
);

async function compare(scripts: string[]): Promise<void> {
  const a = await ReplyConn.open(cairn.respPort);
  const b = await ReplyConn.open(reference.port);
  try {
    for (const script of scripts) {
      const args = ['EVAL', Buffer.from(script, 'utf8').toString('latin1'), '0'];
      a.send(args);
      b.send(args);
      const [got, want] = await Promise.all([a.reply(), b.reply()]);
      expect(got.toString('latin1'), script).toBe(want.toString('latin1'));
    }
  } finally {
    a.close();
    b.close();
  }
}

describe('Lua libraries beside redis-server', () => {
  it('cmsgpack packs the same bytes and unpacks the same values', () => compare(CMSGPACK), 120_000);
  it('struct.pack, struct.unpack and struct.size match, errors included', () => compare([...STRUCT_PACK, ...STRUCT_UNPACK, ...STRUCT_SIZE]), 60_000);
});
