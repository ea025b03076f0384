/**
 * Which commands CALL (opcode 0x40) carries, shared by the acceptor (a read-only replica refuses the
 * writes among them) and the shard (src/native/call.ts). A command qualifies when its row in the
 * command table routes by its keys: it then runs on the shard of its keys, all of which must be on
 * one shard. Blocking commands do not qualify: a native request cannot wait for a push with a
 * timeout and be cancelled by its connection's close, so a shard would pop for a client gone.
 */
import type { Route } from '../commands/def.js';
import { COMMANDS, isWrite, type CommandSpec } from '../commands/table.js';
import { CairnError, ErrorCode } from '../errors.js';
import { createUnpackr } from '../msgpack.js';

const KEYED: ReadonlySet<Route> = new Set<Route>(['key', 'same', 'keys', 'pairs', 'move']);

/** a command name or subcommand sent as str or bin, lower-cased; '' when it is neither */
export function callWord(value: unknown): string {
  if (typeof value === 'string') return value.length > 64 ? '' : value.toLowerCase();
  if (value instanceof Uint8Array)
    return value.length > 64 ? '' : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1').toLowerCase();
  return '';
}

/**
 * The table row CALL runs for `[name, arg1, ...]` (a container's subcommand found from arg1), or
 * the coded refusal: an unknown command, or one CALL does not carry.
 */
export function callSpec(args: readonly unknown[]): CommandSpec | CairnError {
  const name = callWord(args[0]);
  let spec = COMMANDS.get(name);
  if (spec !== undefined && spec.subcommands !== undefined && args.length >= 2) spec = spec.subcommands.get(callWord(args[1]));
  if (spec === undefined) {
    return new CairnError(ErrorCode.UNKNOWN_COMMAND, `unknown command '${name.slice(0, 64)}' for CALL`);
  }
  if (spec.flags.includes('blocking')) {
    return new CairnError(
      ErrorCode.UNKNOWN_COMMAND,
      `'${spec.name}' blocks: blocking commands are not carried by the native protocol (use its non-blocking form, or RESP)`,
    );
  }
  if (!KEYED.has(spec.route) || spec.name.startsWith('cairn.')) {
    return new CairnError(
      ErrorCode.UNKNOWN_COMMAND,
      `'${spec.name}' is not a data command of a key: CALL carries commands that run on the shard of their keys`,
    );
  }
  return spec;
}

const unpackr = createUnpackr(false);

/**
 * Whether a CALL frame's body names a write command (the acceptor's read-only check; only asked on
 * a read-only replica). A body that cannot be read is not a write: the shard refuses it anyway.
 */
export function callIsWrite(frame: Uint8Array, bodyOffset: number): boolean {
  if (bodyOffset >= frame.length) return false;
  let args: unknown;
  try {
    args = unpackr.unpack(frame, { start: bodyOffset, end: frame.length });
  } catch {
    return false;
  }
  if (!Array.isArray(args)) return false;
  const spec = callSpec(args);
  return !(spec instanceof CairnError) && isWrite(spec);
}
