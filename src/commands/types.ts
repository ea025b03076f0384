/**
 * What every shard-side command takes and how it fails. A command gets the shard's context and typed
 * arguments and returns a typed result or a `Failure`: a code from a small closed set plus what a
 * protocol needs to word it. Each protocol maps the codes to its own words (Redis' are byte-exact and
 * sometimes name the command, which the codec knows); nothing here is worded for one protocol.
 */
import { CairnError, ErrorCode, isCairnError } from '../errors.js';
import type { ShardStore } from '../store/types.js';

/** One shard's command context; a codec keeps one per store and sets `now` before each command. */
export interface CommandContext {
  readonly store: ShardStore;
  /** the clock for relative expiries, ms since the epoch */
  now: number;
  /** the largest value SETRANGE and APPEND may build (Redis proto-max-bulk-len) */
  readonly maxValueSize: number;
}

export function createContext(store: ShardStore, maxValueSize: number): CommandContext {
  return { store, now: Date.now(), maxValueSize };
}

export const Fault = {
  /** not an integer, or out of the signed 64-bit range */
  NOT_INTEGER: 'NOT_INTEGER',
  /** not a valid float */
  NOT_FLOAT: 'NOT_FLOAT',
  /** INCR/DECR past the i64 range */
  OVERFLOW: 'OVERFLOW',
  /** DECRBY of the smallest i64: its negation does not fit */
  DECREMENT_OVERFLOW: 'DECREMENT_OVERFLOW',
  /** INCRBYFLOAT would produce NaN or Infinity */
  NAN_OR_INFINITY: 'NAN_OR_INFINITY',
  /** an offset below 0 (SETRANGE) */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /** an expiry that overflows, or is not positive where it must be */
  INVALID_EXPIRE: 'INVALID_EXPIRE',
  /** a value past the size limit */
  VALUE_TOO_LARGE: 'VALUE_TOO_LARGE',
  /** a key past the size limit, or empty */
  KEY_TOO_LARGE: 'KEY_TOO_LARGE',
  /** the memory tier has no room and the value cannot go to disk */
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  /** a scan cursor this shard did not hand out */
  INVALID_CURSOR: 'INVALID_CURSOR',
  /** OBJECT FREQ under a policy that keeps no access counter */
  NOT_LFU: 'NOT_LFU',
  /** the key holds a value of another type (Redis WRONGTYPE) */
  WRONG_TYPE: 'WRONG_TYPE',
  /** an argument the store refuses (message says which) */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** the disk refused a read or write */
  DISK: 'DISK',
  /** anything else: a bug or an unexpected failure (message says what) */
  INTERNAL: 'INTERNAL',
} as const;

export type Fault = (typeof Fault)[keyof typeof Fault];

/** A command's coded failure. The constant ones are shared: never mutate one. */
export class Failure {
  constructor(
    readonly fault: Fault,
    /** detail for protocols that pass it on (native, memcached SERVER_ERROR); '' for the constant ones */
    readonly message = '',
    /** the CAIRN_ERR_* code a client sees for it */
    readonly code: ErrorCode = FAULT_CODE[fault],
  ) {}
}

const FAULT_CODE: Record<Fault, ErrorCode> = {
  NOT_INTEGER: ErrorCode.NOT_INTEGER,
  NOT_FLOAT: ErrorCode.BAD_ARGUMENT,
  OVERFLOW: ErrorCode.OVERFLOW,
  DECREMENT_OVERFLOW: ErrorCode.OVERFLOW,
  NAN_OR_INFINITY: ErrorCode.OVERFLOW,
  OUT_OF_RANGE: ErrorCode.BAD_ARGUMENT,
  INVALID_EXPIRE: ErrorCode.BAD_ARGUMENT,
  VALUE_TOO_LARGE: ErrorCode.VALUE_TOO_LARGE,
  KEY_TOO_LARGE: ErrorCode.KEY_TOO_LARGE,
  OUT_OF_MEMORY: ErrorCode.OUT_OF_MEMORY,
  INVALID_CURSOR: ErrorCode.BAD_ARGUMENT,
  NOT_LFU: ErrorCode.BAD_ARGUMENT,
  WRONG_TYPE: ErrorCode.WRONG_TYPE,
  BAD_ARGUMENT: ErrorCode.BAD_ARGUMENT,
  DISK: ErrorCode.DISK,
  INTERNAL: ErrorCode.INTERNAL,
};

const SHARED = new Map<Fault, Failure>(Object.values(Fault).map((f) => [f, new Failure(f)]));

/** the shared failure of a code, without detail */
export function fail(fault: Fault): Failure {
  return SHARED.get(fault)!;
}

export function isFailure(x: unknown): x is Failure {
  return x instanceof Failure;
}

const BY_ERROR_CODE: Partial<Record<ErrorCode, Fault>> = {
  [ErrorCode.VALUE_TOO_LARGE]: Fault.VALUE_TOO_LARGE,
  [ErrorCode.KEY_TOO_LARGE]: Fault.KEY_TOO_LARGE,
  [ErrorCode.OUT_OF_MEMORY]: Fault.OUT_OF_MEMORY,
  [ErrorCode.BAD_ARGUMENT]: Fault.BAD_ARGUMENT,
  [ErrorCode.NOT_INTEGER]: Fault.NOT_INTEGER,
  [ErrorCode.OVERFLOW]: Fault.OVERFLOW,
  [ErrorCode.DISK]: Fault.DISK,
};

/**
 * What a store error thrown inside a command means, as a failure: its own code when it is a
 * CairnError, DISK for a LevelDB error, INTERNAL otherwise. The message is kept for protocols that
 * pass it on.
 */
export function failureOf(e: unknown): Failure {
  if (e instanceof Failure) return e;
  if (isCairnError(e)) {
    const fault = BY_ERROR_CODE[e.code];
    return fault === undefined ? new Failure(Fault.INTERNAL, e.message, e.code) : new Failure(fault, e.message, e.code);
  }
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(e);
  if (typeof err?.code === 'string' && err.code.startsWith('LEVEL_')) return new Failure(Fault.DISK, message);
  return new Failure(Fault.INTERNAL, message);
}

/** a failure as the coded error the embedded API and the native protocol throw */
export function toCairnError(f: Failure, fallback: string): CairnError {
  return new CairnError(f.code, f.message === '' ? fallback : f.message);
}
