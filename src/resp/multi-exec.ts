/**
 * Transactions, shard side: the internal commands the acceptor sends for WATCH and EXEC
 * (src/resp/multi.ts plans them). A client cannot send them: they are not in the command table.
 *
 * A watched key's version is its CAS and its expiry, or absent: every write makes a new CAS, an
 * EXPIRE or PERSIST changes the expiry, a key that expires becomes absent (Redis 7.0 aborts EXEC
 * then too), and a spill to disk and the restore that follows keep both (the value is still there).
 */
import type { ShardStore } from '../store/types.js';
import { NIL_ARRAY, bulkArray, err } from './encode.js';
import { parseRespCommand } from './framer.js';

/** `CAIRN.WATCH key...`: the version of each key (bulk), nil when absent */
export const WATCH_COMMAND = 'CAIRN.WATCH';
/**
 * `CAIRN.EXEC n key1 version1 ... keyn versionn command1 ... commandm`: each watched key's version
 * as CAIRN.WATCH gave it (empty: absent), then each command's RESP bytes. The reply is the null
 * array when a version moved, else an array with each command's reply bytes as one bulk string.
 */
export const EXEC_COMMAND = 'CAIRN.EXEC';
/**
 * `CAIRN.EXECHELD n ...`: as CAIRN.EXEC, on a shard held for a transaction across shards
 * (src/shards/hold.ts): a command whose reply waits (a whole-shard walk such as DBSIZE or KEYS, whose
 * work is asynchronous) ends before the next starts, so a later command of the transaction is not
 * seen by it; nothing of any other connection runs meanwhile, the hold defers it.
 */
export const EXEC_HELD_COMMAND = 'CAIRN.EXECHELD';

function versionOf(store: ShardStore, key: Buffer): Buffer | null {
  const entry = store.get(key);
  return entry === null ? null : Buffer.from(`${entry.cas}:${entry.expiresAt}`);
}

export function runWatch(store: ShardStore, args: Buffer[]): Buffer {
  const versions = new Array<Buffer | null>(args.length - 1);
  for (let i = 1; i < args.length; i++) versions[i - 1] = versionOf(store, args[i]);
  return bulkArray(versions);
}

/**
 * Runs a transaction as one message: the checks, then every command, each started before the next
 * (a command's effect on the store happens when it starts), so no other message sees part of it.
 * A reply that waits (durability) is awaited only after every command has started.
 */
export function runExec(store: ShardStore, args: Buffer[], run: (args: Buffer[]) => Buffer | Promise<Buffer>, held = false): Buffer | Promise<Buffer> {
  const watches = Number(args[1]?.toString('latin1'));
  if (!Number.isInteger(watches) || watches < 0 || 2 + watches * 2 > args.length) return err('Protocol error: bad transaction');
  for (let i = 0; i < watches; i++) {
    const key = args[2 + i * 2];
    const wanted = args[3 + i * 2];
    const now = versionOf(store, key);
    if (now === null ? wanted.length !== 0 : !now.equals(wanted)) return NIL_ARRAY;
  }
  const first = 2 + watches * 2;
  if (held) return runInTurn(args, first, run);
  const replies = new Array<Buffer | Promise<Buffer>>(args.length - first);
  let waits = false;
  for (let i = first; i < args.length; i++) {
    const command = parseRespCommand(args[i]);
    const reply = command === null ? err('Protocol error: bad forwarded command') : run(command);
    if (reply instanceof Promise) waits = true;
    replies[i - first] = reply;
  }
  if (!waits) return bulkArray(replies as Buffer[]);
  return Promise.all(replies).then(bulkArray);
}

/** Each command started after the one before it ended (CAIRN.EXECHELD). */
function runInTurn(args: Buffer[], first: number, run: (args: Buffer[]) => Buffer | Promise<Buffer>): Buffer | Promise<Buffer> {
  const replies = new Array<Buffer>(args.length - first);
  const from = (i: number): Buffer | Promise<Buffer> => {
    for (; i < args.length; i++) {
      const command = parseRespCommand(args[i]);
      const reply = command === null ? err('Protocol error: bad forwarded command') : run(command);
      if (reply instanceof Promise) {
        const at = i;
        return reply.then((r) => {
          replies[at - first] = r;
          return from(at + 1);
        });
      }
      replies[i - first] = reply;
    }
    return bulkArray(replies);
  };
  return from(first);
}
