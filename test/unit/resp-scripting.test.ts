/**
 * EVAL on one shard's executor: the time limit stops a runaway script without harming the shard,
 * and a script's writes are visible to the next command.
 */
import { describe, expect, it } from 'vitest';
import { command } from '../../src/resp/encode.js';
import { executeResp } from '../../src/resp/executor.js';
import { MapStoreDouble } from './resp-store-double.js';

describe('EVAL on a shard', () => {
  it('stops a script past the time limit; the shard answers the next command', async () => {
    const store = new MapStoreDouble();
    const options = { scriptTimeLimitMs: 50 };
    const reply = (await executeResp(store, command(['EVAL', 'while true do end', '0']), options)).toString();
    expect(reply).toMatch(/^-ERR Script timed out: it ran longer than lua-time-limit and was stopped script: [0-9a-f]{40}, on @user_script:1\.\r\n$/);
    const set = await executeResp(store, command(['EVAL', "return redis.call('SET', KEYS[1], ARGV[1])", '1', 'k', 'v']), options);
    expect(set.toString()).toBe('+OK\r\n');
    expect((await executeResp(store, command(['GET', 'k']), options)).toString()).toBe('$1\r\nv\r\n');
  });
});
