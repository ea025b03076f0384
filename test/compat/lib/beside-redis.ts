/**
 * A real cairn and a real redis-server started side by side for a test file that runs the same
 * library code against both, with ioredis clients that the file's end disconnects.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { startRedisServer, type ServiceHandle } from '../../../bench/lib/procs.js';
import { startServer, type TestServer } from '../../helpers/server.js';

export interface BesideRedis {
  /** cairn's RESP port and redis-server's, once beforeAll has run */
  ports(): { cairn: number; redis: number };
  /** an ioredis client to a port, disconnected after the file */
  client(port: number): Redis;
}

export function besideRedis(cairnArgs: string[]): BesideRedis {
  let cairn: TestServer | undefined;
  let reference: ServiceHandle | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    [cairn, reference] = await Promise.all([startServer({ args: cairnArgs }), startRedisServer(undefined, ['--databases', '1'])]);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all([cairn?.stop(), reference?.stop()]);
  });
  return {
    ports: () => ({ cairn: cairn!.respPort, redis: reference!.port }),
    client(port) {
      const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, commandTimeout: 15_000 });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
  };
}
