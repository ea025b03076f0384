/**
 * The HELP subcommands of the containers cairn answers itself (CLIENT, COMMAND, CONFIG, OBJECT,
 * PUBSUB) against a real redis-server: cairn lists fewer subcommands where it supports fewer, but
 * the lines it shares with Redis, and the closing HELP entry, are Redis' own words.
 */
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../bench/lib/procs.js';
import { startServer, type TestServer } from '../helpers/server.js';

let redis: ServiceHandle;
let cairn: TestServer;
let toRedis: Redis;
let toCairn: Redis;

beforeAll(async () => {
  [redis, cairn] = await Promise.all([startRedisServer(undefined, ['--databases', '1']), startServer()]);
  toRedis = new Redis({ port: redis.port, lazyConnect: true });
  toCairn = new Redis({ port: cairn.respPort, lazyConnect: true });
  await Promise.all([toRedis.connect(), toCairn.connect()]);
}, 60_000);

afterAll(async () => {
  toRedis?.disconnect();
  toCairn?.disconnect();
  await Promise.all([redis?.stop(), cairn?.stop()]);
});

/**
 * CLIENT SETINFO is Redis 7.2's (clients send it on connect); cairn accepts it (docs/commands.md,
 * CLIENT) where the reference redis-server 7.0 does not know it.
 */
const CAIRN_ONLY = [
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
];

describe('container HELP replies', () => {
  for (const container of ['CLIENT', 'COMMAND', 'CONFIG', 'OBJECT', 'PUBSUB']) {
    it(`${container} HELP`, async () => {
      const [theirs, ours] = (await Promise.all([toRedis.call(container, 'HELP'), toCairn.call(container, 'HELP')])) as string[][];
      expect(ours[0]).toBe(theirs[0]);
      expect(ours.slice(-2)).toEqual(theirs.slice(-2));
      expect(theirs).toEqual(expect.arrayContaining(ours.filter((line) => !CAIRN_ONLY.includes(line))));
    });
  }
});
