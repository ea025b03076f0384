/**
 * CALL (opcode 0x40) on the shard: a data command by name with Redis' arguments, run by the same
 * handler a RESP client's command runs (src/resp/executor.ts's executeRespArgs, handed in by the
 * shard's composition root, workers/executors.ts, as codecs import no other codec: the command's one
 * argument parser, Redis' order of checks, then its command-core function), its reply given back as
 * msgpack values.
 *
 * Why through the RESP handler: the hash, list, set and sorted-set commands have Redis' option
 * grammars (ZADD NX|XX GT|LT CH INCR, ZRANGE BYSCORE|BYLEX REV LIMIT, LPOS RANK COUNT MAXLEN,
 * ZUNIONSTORE WEIGHTS AGGREGATE, ...); a second parser here would be a second copy of each to keep
 * in step. The arguments go in as they came (no RESP framing is built or parsed); the reply comes
 * back as the handler's RESP2 bytes and is read once into msgpack values here, as Lua's redis.call
 * reads it (src/resp/lua.ts). Its shapes are Redis' (RESP2), so any client maps them the way Redis
 * clients do: integer → int, bulk → bin, nil → nil, status → str, array → array.
 */
import { arityOk, keyIndexes } from '../commands/table.js';
import { CairnError, ErrorCode } from '../errors.js';
import { shardOf } from '../hash.js';
import { callSpec } from './call-spec.js';

/** runs one command (name first, arity checked) on this shard's store: its RESP2 reply */
export type CommandRunner = (args: Buffer[]) => Buffer | Promise<Buffer>;

/** what CALL needs of the native executor's per-store context (src/native/execute.ts's Ctx) */
export interface CallHost {
  readonly shard: number;
  readonly shards: number;
  readonly maxKey: number;
  readonly maxValue: number;
  readonly runCommand: CommandRunner | null;
}

function bad(message: string): CairnError {
  return new CairnError(ErrorCode.BAD_ARGUMENT, message);
}

/** one argument as the bytes a RESP client would have sent: bin and str as they are, numbers as decimal text */
function argBytes(value: unknown, i: number, maxValue: number): Buffer {
  let out: Buffer;
  if (value instanceof Uint8Array) out = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  else if (typeof value === 'string') out = Buffer.from(value, 'utf8');
  else if (typeof value === 'bigint') out = Buffer.from(value.toString(), 'latin1');
  else if (typeof value === 'number') {
    if (Number.isNaN(value)) throw bad(`argument ${i} is NaN`);
    out = Buffer.from(value === Infinity ? 'inf' : value === -Infinity ? '-inf' : String(value), 'latin1');
  } else throw bad(`argument ${i} must be bin, str or a number, got ${value === null ? 'nil' : typeof value}`);
  if (out.length > maxValue) throw new CairnError(ErrorCode.VALUE_TOO_LARGE, `argument ${i} of ${out.length} bytes exceeds the limit of ${maxValue}`);
  return out;
}

/**
 * Run `[name, arg, ...]` on this shard: the command must be one CALL carries (call-spec.ts), its
 * arity right, and every key of it this shard's (the route key's shard); else a coded refusal.
 */
export function runCall(host: CallHost, args: readonly unknown[]): unknown {
  if (host.runCommand === null) throw new CairnError(ErrorCode.UNKNOWN_COMMAND, 'CALL is not available on this server');
  if (args.length === 0) throw bad('CALL takes [command, arg, ...]');
  const spec = callSpec(args);
  if (spec instanceof CairnError) throw spec;
  const argv = new Array<Buffer>(args.length);
  argv[0] = argBytes(args[0], 0, host.maxValue);
  for (let i = 1; i < args.length; i++) argv[i] = argBytes(args[i], i, host.maxValue);
  if (!arityOk(spec, argv.length)) throw bad(`wrong number of arguments for '${spec.name}'`);
  for (const i of keyIndexes(spec, argv.length, argv)) {
    const key = argv[i];
    if (key.length > host.maxKey) throw new CairnError(ErrorCode.KEY_TOO_LARGE, `key of ${key.length} bytes exceeds the limit of ${host.maxKey}`);
    if (host.shards > 1) {
      const owner = shardOf(key, host.shards);
      if (owner !== host.shard) {
        throw new CairnError(
          ErrorCode.WRONG_SHARD,
          `the keys of '${spec.name}' must be on one shard: key '${key.toString('latin1', 0, 64)}' belongs to shard ${owner}, the route key to shard ${host.shard} (give related keys a common {tag})`,
        );
      }
    }
  }
  const reply = host.runCommand(argv);
  return reply instanceof Promise ? reply.then(replyValue) : replyValue(reply);
}

// ---- a RESP2 reply as msgpack values ------------------------------------------------------------

let at = 0;

/** the command's reply as msgpack values; an error reply thrown as its coded error */
export function replyValue(reply: Buffer): unknown {
  at = 0;
  const value = readValue(reply);
  if (at !== reply.length) throw new CairnError(ErrorCode.INTERNAL, 'a command answered more than one reply');
  return value;
}

function lineEnd(reply: Buffer): number {
  const cr = reply.indexOf(13, at);
  if (cr < 0 || reply[cr + 1] !== 10) throw new CairnError(ErrorCode.INTERNAL, 'a command answered a malformed reply');
  return cr;
}

/** the integer of a header or integer reply: a number within ±2^53, else a bigint */
function readInt(reply: Buffer, start: number, end: number): number | bigint {
  const n = Number(reply.toString('latin1', start, end));
  if (Number.isSafeInteger(n)) return n;
  return BigInt(reply.toString('latin1', start, end));
}

function readValue(reply: Buffer): unknown {
  const type = reply[at];
  const start = at + 1;
  const cr = lineEnd(reply);
  at = cr + 2;
  switch (type) {
    case 0x2b: // '+' status
      return reply.toString('latin1', start, cr);
    case 0x3a: // ':' integer
      return readInt(reply, start, cr);
    case 0x24: {
      // '$' bulk
      const len = Number(reply.toString('latin1', start, cr));
      if (len < 0) return null;
      const body = reply.subarray(at, at + len);
      at += len + 2;
      return body;
    }
    case 0x2a: {
      // '*' array
      const count = Number(reply.toString('latin1', start, cr));
      if (count < 0) return null;
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = readValue(reply);
      return out;
    }
    case 0x2d: // '-' error
      throw replyError(reply.toString('latin1', start, cr));
    default:
      throw new CairnError(ErrorCode.INTERNAL, 'a command answered a malformed reply');
  }
}

/**
 * Redis' error texts (src/resp/errors.ts, handler.ts) and their CAIRN_ERR_* codes; the message is
 * Redis' text. An argument of the wrong form is BAD_ARGUMENT, as the native protocol's own opcodes say.
 */
const ERROR_CODES: readonly (readonly [prefix: string, code: ErrorCode])[] = [
  ['WRONGTYPE ', ErrorCode.WRONG_TYPE],
  ['OOM ', ErrorCode.OUT_OF_MEMORY],
  ['READONLY ', ErrorCode.READONLY],
  ['ERR value is not an integer', ErrorCode.NOT_INTEGER],
  ['ERR hash value is not an integer', ErrorCode.NOT_INTEGER],
  ['ERR increment or decrement would overflow', ErrorCode.OVERFLOW],
  ['ERR decrement would overflow', ErrorCode.OVERFLOW],
  ['ERR increment would produce NaN or Infinity', ErrorCode.OVERFLOW],
  ['ERR string exceeds maximum allowed size', ErrorCode.VALUE_TOO_LARGE],
  ['ERR unknown command', ErrorCode.UNKNOWN_COMMAND],
  ['ERR internal error', ErrorCode.INTERNAL],
];

/** a store's disk failure as the RESP handler words it (storeError: the CairnError's message) */
const DISK_TEXT = /^ERR shard \d+: .*disk/;

function replyError(text: string): CairnError {
  for (const [prefix, code] of ERROR_CODES) if (text.startsWith(prefix)) return new CairnError(code, text);
  return new CairnError(DISK_TEXT.test(text) ? ErrorCode.DISK : ErrorCode.BAD_ARGUMENT, text);
}
