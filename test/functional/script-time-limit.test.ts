/**
 * --busy-reply-threshold (Redis' busy-reply-threshold, formerly lua-time-limit): the setting from a
 * flag or CAIRN_BUSY_REPLY_THRESHOLD, CONFIG GET of both Redis names, and a runaway script stopped by
 * the shard at that limit while the shard goes on answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { RawClient } from '../compat/lib/raw.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('busy-reply-threshold setting', () => {
  it('comes from the flag, the environment or the 5 s default', () => {
    expect(loadConfig([]).busyReplyThreshold).toBe(5000);
    expect(loadConfig(['--busy-reply-threshold', '250ms']).busyReplyThreshold).toBe(250);
    expect(loadConfig([], { CAIRN_BUSY_REPLY_THRESHOLD: '2s' }).busyReplyThreshold).toBe(2000);
    expect(() => loadConfig(['--busy-reply-threshold', 'soon'])).toThrow(/busy-reply-threshold/);
  });
});

describe('a server with --busy-reply-threshold 300', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ['--shards', '2', '--busy-reply-threshold', '300'] });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('answers CONFIG GET and stops a runaway script at the limit', async () => {
    const c = await RawClient.connect(server.respPort);
    try {
      c.send('*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\n*\r\n');
      const all = await c.readUntil('\r\n', 10_000).then(async (head) => head + (await c.readLines(Number(head.slice(1)) * 2, 10_000)));
      expect(all).toContain('$20\r\nbusy-reply-threshold\r\n$3\r\n300\r\n');
      expect(all).toContain('$14\r\nlua-time-limit\r\n$3\r\n300\r\n');
      const started = performance.now();
      c.send('*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n');
      expect(await c.readLines(1, 30_000)).toMatch(
        /^-ERR Script timed out: it ran longer than lua-time-limit and was stopped script: [0-9a-f]{40}, on @user_script:1\.\r\n$/,
      );
      // stopped by the setting, not by the 5 s default
      expect(performance.now() - started).toBeLessThan(4_500);
      c.send('*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 7\r\n$1\r\n0\r\n');
      expect(await c.readLines(1, 10_000)).toBe(':7\r\n');
    } finally {
      c.socket.destroy();
    }
  }, 60_000);
});
