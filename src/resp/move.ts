/**
 * RENAME, RENAMENX and COPY on the acceptor. Both keys on one shard: the shard runs the command at
 * once (atomic). On two shards: three steps through the shards, each an internal command clients
 * cannot send (the table does not name them): read the source's entry with its expiry, flags and
 * CAS on its shard; write it on the destination's shard; for a rename, delete the source only if it
 * still holds that entry. Not atomic across shards: docs/commands.md says what another client can
 * see between the steps. Every reply is the one Redis gives.
 */
import { parseI64 } from '../commands/numbers.js';
import type { Plan } from '../front/plan.js';
import { NIL, OK, ONE, ZERO, command, err } from './encode.js';
import { NOT_INTEGER, SYNTAX } from './errors.js';
import { bulkElements, isErrorReply, readBulk } from './replies.js';

/** `CAIRN.ENTRY key`: `[value, flags, expiresAt, cas]` as bulk strings (and `type` for a collection, whose value is its encoded bytes), nil for a missing key */
export const ENTRY_COMMAND = 'CAIRN.ENTRY';
/** `CAIRN.PUT key value flags expiresAt NX|ALWAYS [type]`: 1 when written, 0 when NX found the key */
export const PUT_COMMAND = 'CAIRN.PUT';
/** `CAIRN.DELIFSAME key cas expiresAt`: 1 when the key held that entry and was deleted, else 0 */
export const DEL_IF_SAME_COMMAND = 'CAIRN.DELIFSAME';

export const NO_SUCH_KEY = err('no such key');
export const SAME_OBJECT = err('source and destination objects are the same');
export const DB_OUT_OF_RANGE = err('DB index is out of range');
const DB_NOT_INT = err('value is out of range, value must between -2147483648 and 2147483647');

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;

/**
 * COPY's options after its two keys, in Redis' order of checks: REPLACE, and DB, of which cairn has
 * one (0), as a redis-server with `databases 1`. true for REPLACE, or the error reply.
 */
export function copyReplace(args: readonly Buffer[]): boolean | Buffer {
  let replace = false;
  for (let j = 3; j < args.length; j++) {
    const opt = args[j].length > 8 ? '' : args[j].toString('latin1').toLowerCase();
    if (opt === 'replace') replace = true;
    else if (opt === 'db' && j + 1 < args.length) {
      const db = parseI64(args[++j]);
      if (db === null) return NOT_INTEGER;
      if (db < INT_MIN || db > INT_MAX) return DB_NOT_INT;
      if (db !== 0n) return DB_OUT_OF_RANGE;
    } else return SYNTAX;
  }
  return replace;
}

function local(reply: Buffer): Plan {
  return { kind: 'local', reply };
}

/**
 * RENAME / RENAMENX / COPY (`name`, lower case) whose source lives on shard `from` and destination
 * on shard `to`, another one. The keys differ (one key is on one shard).
 */
export function planMoveAcross(name: string, args: Buffer[], from: number, to: number): Plan {
  const source = args[1];
  const target = args[2];
  const isCopy = name === 'copy';
  let nx = name === 'renamenx';
  if (isCopy) {
    const replace = copyReplace(args);
    if (typeof replace !== 'boolean') return local(replace);
    nx = !replace;
  }
  return {
    kind: 'chain',
    parts: [{ key: source, shard: from, raw: command([ENTRY_COMMAND, source]) }],
    next: ([read]) => {
      if (isErrorReply(read)) return local(read);
      if (read.equals(NIL)) return local(isCopy ? ZERO : NO_SUCH_KEY);
      const entry = bulkElements(read);
      const n = entry?.items.length;
      const fields = n === 4 || n === 5 ? entry!.items.map(readBulk) : null;
      if (fields === null || fields.some((f) => f === null)) return local(err('shard reply could not be joined'));
      const [value, flags, expiresAt, cas, type] = fields as Buffer[];
      const put = [PUT_COMMAND, target, value, flags, expiresAt, nx ? 'NX' : 'ALWAYS'];
      if (type !== undefined) put.push(type);
      return {
        kind: 'chain',
        parts: [{ key: target, shard: to, raw: command(put) }],
        next: ([written]) => {
          if (isErrorReply(written)) return local(written);
          if (!written.equals(ONE)) return local(ZERO); // NX: the destination exists
          if (isCopy) return local(ONE);
          const done = nx ? ONE : OK;
          return {
            kind: 'one',
            shard: from,
            raw: command([DEL_IF_SAME_COMMAND, source, cas, expiresAt]),
            join: (deleted) => (isErrorReply(deleted) ? deleted : done),
          };
        },
      };
    },
  };
}
