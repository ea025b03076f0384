/**
 * LMOVE and RPOPLPUSH whose two lists are on different shards (job queues move a job id from their
 * `wait` list to their `active` list, and their keys have no common hash tag). On one shard the
 * shard runs the command at once. Across two, the acceptor runs it in steps through both shards while
 * it holds them, so no other client sees the element in neither list or in both: (1) the type of
 * each key, (2) the pop from the source, (3) the push to the destination. The replies and the order
 * of checks are Redis' (a missing source answers nil whatever the destination; then WRONGTYPE for
 * either key). Inside a held script or transaction the shards are held already and the steps run
 * as they are; otherwise the two shards are held for the move, in ascending order as every holder
 * takes them (docs/architecture.md, "Transactions").
 */
import type { ChainPlan, ConnState, HeldPlan, Plan } from '../front/plan.js';
import { EMPTY_ARRAY, NIL, command, err } from './encode.js';
import { SYNTAX } from './errors.js';
import { WRONGTYPE } from './handler.js';
import { EXEC_COMMAND } from './multi-exec.js';
import { isErrorReply, readBulk } from './replies.js';

/** a hold that checks nothing, and the RELEASE that runs nothing */
const HOLD_ONLY = command([EXEC_COMMAND, '0']);
const HOLD_EXPIRED = err('list move timed out holding its shards; nothing ran');
const LIST = Buffer.from('+list\r\n');
const NONE = Buffer.from('+none\r\n');

function local(reply: Buffer): Plan {
  return { kind: 'local', reply };
}

/** LEFT or RIGHT: true for LEFT, null for anything else */
function side(arg: Buffer): boolean | null {
  const s = arg.length === 4 || arg.length === 5 ? arg.toString('latin1').toLowerCase() : '';
  return s === 'left' ? true : s === 'right' ? false : null;
}

/**
 * `name` is lmove or rpoplpush (lower case), args[1] lives on shard `from` and args[2] on `to`.
 * `held`: the connection holds every shard already (a held script or transaction).
 */
export function planListMoveAcross(name: string, args: Buffer[], from: number, to: number, held: boolean): Plan {
  const fromLeft = name === 'lmove' ? side(args[3]) : false;
  const toLeft = name === 'lmove' ? side(args[4]) : true;
  if (fromLeft === null || toLeft === null) return local(SYNTAX);
  const [, source, destination] = args;
  const steps: ChainPlan = {
    kind: 'chain',
    parts: [
      { key: source, shard: from, raw: command(['TYPE', source]) },
      { key: destination, shard: to, raw: command(['TYPE', destination]) },
    ],
    next: ([sourceType, destinationType]) => {
      if (isErrorReply(sourceType)) return local(sourceType);
      if (sourceType.equals(NONE)) return local(NIL);
      if (!sourceType.equals(LIST)) return local(WRONGTYPE);
      if (isErrorReply(destinationType)) return local(destinationType);
      if (!destinationType.equals(NONE) && !destinationType.equals(LIST)) return local(WRONGTYPE);
      return {
        kind: 'chain',
        parts: [{ key: source, shard: from, raw: command([fromLeft ? 'LPOP' : 'RPOP', source]) }],
        next: ([popped]) => {
          const element = readBulk(popped);
          if (element === null) return local(isErrorReply(popped) ? popped : NIL);
          return {
            kind: 'one',
            shard: to,
            raw: command([toLeft ? 'LPUSH' : 'RPUSH', destination, element]),
            join: (pushed) => (isErrorReply(pushed) ? pushed : popped),
          };
        },
      };
    },
  };
  if (held) return steps;
  const shards = from < to ? [from, to] : [to, from];
  const plan: HeldPlan = {
    kind: 'held',
    shards,
    holds: [HOLD_ONLY, HOLD_ONLY],
    parts: [],
    release: HOLD_ONLY,
    refusal: (reply) => (reply.equals(EMPTY_ARRAY) ? null : isErrorReply(reply) ? reply : err('shard reply could not be joined')),
    expired: HOLD_EXPIRED,
    join: (replies) => replies[0],
    drive: (send) => send(steps),
  };
  return plan;
}

/**
 * BRPOPLPUSH and BLMOVE with their lists on two shards. Inside a transaction or a held script they
 * do not block, as in Redis: the move in steps. Otherwise the connection first waits on the source's
 * shard as BLMOVE does, with `BLMOVE source source F F timeout` (F the side it pops from: the element
 * goes back where it was, the list unchanged); once the source has an element, the move runs in steps
 * under holds. Another client may take that element between the wait and the move: then the reply is
 * nil before the timeout (docs/commands.md).
 */
export function planBlockingMoveAcross(name: string, args: Buffer[], from: number, to: number, conn: ConnState): Plan {
  const isBlmove = name === 'blmove';
  const moveName = isBlmove ? 'lmove' : 'rpoplpush';
  const moveArgs = isBlmove ? args.slice(0, 5) : args.slice(0, 3);
  if (conn.held === true || conn.inExec === true) return planListMoveAcross(moveName, moveArgs, from, to, conn.held === true);
  const fromSide = isBlmove ? args[3] : Buffer.from('RIGHT');
  if (side(fromSide) === null || (isBlmove && side(args[4]) === null)) return local(SYNTAX);
  const timeout = args[isBlmove ? 5 : 3];
  return {
    kind: 'chain',
    parts: [{ key: args[1], shard: from, raw: command(['BLMOVE', args[1], args[1], fromSide, fromSide, timeout]), blocking: true }],
    next: ([waited]) => {
      // timed out, an error (a bad timeout, WRONGTYPE), or the connection closed (empty)
      if (waited.length === 0 || readBulk(waited) === null) return local(waited);
      return planListMoveAcross(moveName, moveArgs, from, to, false);
    },
  };
}
