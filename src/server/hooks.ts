/**
 * Test hooks: a hidden RESP command that exists only when the server runs with CAIRN_TEST_HOOKS=1
 * (never set it in production). The reliability tests use it to kill shards and to make disks fail.
 *
 *   CAIRN.DEBUG SHARD-TERMINATE <shard>     worker.terminate() on the shard's thread (a hard kill)
 *   CAIRN.DEBUG SHARD-CRASH <shard>         the shard throws an uncaught error
 *   CAIRN.DEBUG DISK-FAULT <shard> on|off   the shard's disk batches fail (as on a full disk) or not
 *   CAIRN.DEBUG SHARD-UP <shard>            :1 when the shard serves, :0 while it is down and from
 *                                           a SHARD-TERMINATE/-CRASH until the restarted worker serves
 *   CAIRN.DEBUG REPL-CUT                    a primary drops its replicas' connections (:count)
 *
 * Actions run in the background; the reply (+OK) only says the hook was started. A killed shard's
 * worker exits some time after the +OK (tens of milliseconds under load; a crash flushes first), so
 * SHARD-UP counts a kill as down from the moment it is asked for: a test that waits for SHARD-UP :1
 * after a kill waits for the restart, never for the old worker. A second kill of a worker that is
 * still going down is refused (logged), so every kill makes exactly one restart.
 */
import type { ShardBackend } from '../front/backend.js';
import type { DebugHook } from './protocols.js';

export const TEST_HOOKS_ENABLED = (): boolean => process.env.CAIRN_TEST_HOOKS === '1';

const err = (message: string): Buffer => Buffer.from(`-ERR ${message}\r\n`);

export function debugHook(
  backend: ShardBackend & { isUp?(shard: number): boolean; killPending?(shard: number): boolean },
  log: (line: string) => void,
  /** REPL-CUT: drop every replica's connection to this primary; how many */
  replCut?: () => number,
): DebugHook {
  return (args) => {
    if (args.length < 2 || args[0].length !== 11 || args[0].toString('latin1').toUpperCase() !== 'CAIRN.DEBUG') return null;
    const action = args[1].toString('latin1').toUpperCase();
    if (action === 'REPL-CUT') return replCut ? Buffer.from(`:${replCut()}\r\n`) : err('CAIRN.DEBUG REPL-CUT: no replication here');
    const shard = Number(args[2]?.toString('latin1'));
    if (!Number.isInteger(shard) || shard < 0 || shard >= backend.shards) return err('CAIRN.DEBUG: bad shard number');
    const run = (name: string, arg?: string): Buffer => {
      if (!backend.debug) return err('CAIRN.DEBUG: shard hooks need shard threads');
      backend.debug(shard, name, arg).catch((e: unknown) => log(`cairn: test hook ${name} on shard ${shard}: ${(e as Error).message}`));
      return Buffer.from('+OK\r\n');
    };
    switch (action) {
      case 'SHARD-TERMINATE':
        return run('terminate');
      case 'SHARD-CRASH':
        return run('crash');
      case 'DISK-FAULT': {
        const on = args[3]?.toString('latin1').toLowerCase();
        if (on !== 'on' && on !== 'off') return err('CAIRN.DEBUG DISK-FAULT <shard> on|off');
        return run('disk-fault', on);
      }
      case 'SHARD-UP': {
        const up = (backend.isUp?.(shard) ?? true) && !(backend.killPending?.(shard) ?? false);
        return Buffer.from(`:${up ? 1 : 0}\r\n`);
      }
      default:
        return err(`CAIRN.DEBUG: unknown action ${action}`);
    }
  };
}
