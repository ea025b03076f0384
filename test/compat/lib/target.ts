/**
 * The server a compatibility test talks to: a real cairn (test/helpers/server.ts), or, with
 * CAIRN_COMPAT_REFERENCE=1, redis-server and memcached themselves, to check that the tests expect
 * exactly what the reference servers do. Tests of cairn-only features skip in reference mode.
 */
import { startServer, type TestServer } from '../../helpers/server.js';
import { startMemcached, startRedisServer, type ServiceHandle } from '../../../bench/lib/procs.js';

export const REFERENCE = process.env.CAIRN_COMPAT_REFERENCE === '1';

export interface Target {
  kind: 'cairn' | 'reference';
  respPort: number;
  memcachePort: number;
  /** the cairn server (null in reference mode) */
  server: TestServer | null;
  output(): string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  args?: string[];
  password?: string;
  /** skip starting memcached in reference mode (RESP-only tests) */
  resp?: boolean;
  memcache?: boolean;
}

export async function startTarget(options: TargetOptions = {}): Promise<Target> {
  if (REFERENCE) {
    const wantResp = options.resp !== false;
    const wantMc = options.memcache !== false;
    const redis: ServiceHandle | null = wantResp
      ? await startRedisServer(undefined, ['--databases', '1', ...(options.password ? ['--requirepass', options.password] : [])])
      : null;
    const mc: ServiceHandle | null = wantMc ? await startMemcached() : null;
    return {
      kind: 'reference',
      respPort: redis?.port ?? 0,
      memcachePort: mc?.port ?? 0,
      server: null,
      output: () => `${redis?.daemon.output() ?? ''}${mc?.daemon.output() ?? ''}`,
      async stop() {
        await Promise.all([redis?.stop(), mc?.stop()]);
      },
    };
  }
  const args = [...(options.args ?? [])];
  if (options.password) args.push('--password', options.password);
  const server = await startServer({ args });
  return {
    kind: 'cairn',
    respPort: server.respPort,
    memcachePort: server.memcachePort,
    server,
    output: () => server.output(),
    async stop() {
      await server.stop();
    },
  };
}

/** keys that land on different shards: enough distinct keys that every shard of a few gets some */
export function spreadKeys(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}:${i}:${(i * 2654435761) % 1000}`);
}
