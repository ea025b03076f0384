/**
 * Strings a script receives (KEYS, ARGV, redis.call's replies, status texts) are the script's own
 * copies of every byte: src/resp/lua.ts pushes them without fengari's lua_pushlstring, and a caller
 * that reuses or changes its buffers afterwards must not change what the script holds.
 */
import { describe, expect, it } from 'vitest';
import { LuaScripts } from '../../src/resp/lua.js';

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('strings pushed into a script', () => {
  it('hold every byte, as copies the caller can change afterwards', () => {
    const lua = new LuaScripts();
    const script = Buffer.from(`
      local r = redis.call('GET', KEYS[1])
      local s = redis.call('PING')
      redis.call('TOUCH', KEYS[1])
      return {KEYS[1], ARGV[1], ARGV[2], r, s.ok, #ARGV[2]}`);
    const loaded = lua.load(script);
    if (!('sha' in loaded)) throw new Error('did not compile');
    const key = Buffer.from(ALL_BYTES);
    const arg = Buffer.from('\r\n\0v');
    const bulk = Buffer.concat([Buffer.from('$256\r\n'), ALL_BYTES, Buffer.from('\r\n')]);
    const status = Buffer.from('+PONG\r\n');
    const reply = lua.run(loaded.sha, [key], [arg, Buffer.alloc(0)], false, {
      timeLimitMs: 5000,
      dispatch: (args) => {
        const name = args[0].toString();
        if (name === 'GET') return bulk;
        if (name === 'PING') return status;
        // the last call: every buffer handed in so far changes under the script
        key.fill(0x78);
        arg.fill(0x78);
        bulk.fill(0x78);
        status.fill(0x78);
        return Buffer.from(':1\r\n');
      },
    });
    const want = Buffer.concat([
      Buffer.from('*6\r\n$256\r\n'),
      ALL_BYTES,
      Buffer.from('\r\n$4\r\n\r\n\0v\r\n$0\r\n\r\n$256\r\n'),
      ALL_BYTES,
      Buffer.from('\r\n$4\r\nPONG\r\n:0\r\n'),
    ]);
    expect(reply?.equals(want)).toBe(true);
  });
});
