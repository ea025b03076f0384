/**
 * Coded errors shared by the server, the embedded library and the SDK. Users branch on `err.code`,
 * which is stable across releases; the message is for people.
 */
export const ErrorCode = {
  BAD_ARGUMENT: 'CAIRN_ERR_BAD_ARGUMENT',
  KEY_TOO_LARGE: 'CAIRN_ERR_KEY_TOO_LARGE',
  VALUE_TOO_LARGE: 'CAIRN_ERR_VALUE_TOO_LARGE',
  NOT_INTEGER: 'CAIRN_ERR_NOT_INTEGER',
  OVERFLOW: 'CAIRN_ERR_OVERFLOW',
  OUT_OF_MEMORY: 'CAIRN_ERR_OUT_OF_MEMORY',
  UNKNOWN_COMMAND: 'CAIRN_ERR_UNKNOWN_COMMAND',
  BAD_FRAME: 'CAIRN_ERR_BAD_FRAME',
  FRAME_TOO_LARGE: 'CAIRN_ERR_FRAME_TOO_LARGE',
  PROTOCOL_VERSION: 'CAIRN_ERR_PROTOCOL_VERSION',
  AUTH: 'CAIRN_ERR_AUTH',
  READONLY: 'CAIRN_ERR_READONLY',
  CLOSED: 'CAIRN_ERR_CLOSED',
  TIMEOUT: 'CAIRN_ERR_TIMEOUT',
  ABORTED: 'CAIRN_ERR_ABORTED',
  SHARD_DOWN: 'CAIRN_ERR_SHARD_DOWN',
  DISK: 'CAIRN_ERR_DISK',
  DATA_DIR: 'CAIRN_ERR_DATA_DIR',
  BUSY: 'CAIRN_ERR_BUSY',
  WRONG_SHARD: 'CAIRN_ERR_WRONG_SHARD',
  WRONG_TYPE: 'CAIRN_ERR_WRONG_TYPE',
  INTERNAL: 'CAIRN_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CairnError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CairnError';
    this.code = code;
  }
}

export function isCairnError(err: unknown): err is CairnError {
  return err instanceof CairnError;
}
