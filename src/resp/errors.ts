/** RESP error replies, worded exactly as Redis 7 words them. */
import { err, errCode } from './encode.js';

export const SYNTAX = err('syntax error');
export const NOT_INTEGER = err('value is not an integer or out of range');
export const NOT_FLOAT = err('value is not a valid float');
export const OVERFLOW = err('increment or decrement would overflow');
export const NOAUTH = errCode('NOAUTH Authentication required.');
export const WRONGPASS = errCode('WRONGPASS invalid username-password pair or user is disabled.');
export const TOO_BIG = err('string exceeds maximum allowed size (proto-max-bulk-len)');
export const OOM = errCode("OOM command not allowed when used memory > 'maxmemory'.");

/** Redis replaces CR and LF with spaces in error texts, since they would break the reply. */
export function sanitize(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

export function arityError(fullName: string): Buffer {
  return err(`wrong number of arguments for '${fullName}' command`);
}

export function invalidExpire(fullName: string): Buffer {
  return err(`invalid expire time in '${fullName}' command`);
}

/** `%.Ns` of a byte string: at most n bytes, cut at a NUL as C does. */
function cString(arg: Buffer, n: number): string {
  const nul = arg.indexOf(0);
  const end = Math.min(nul < 0 ? arg.length : nul, n);
  return arg.toString('latin1', 0, end);
}

export function unknownCommand(args: readonly Buffer[]): Buffer {
  let list = '';
  for (let i = 1; i < args.length && list.length < 128; i++) {
    list += `'${cString(args[i], 128 - list.length)}' `;
  }
  const text = `unknown command '${cString(args[0], 128)}', with args beginning with: ${list}`;
  return Buffer.concat([Buffer.from('-ERR '), Buffer.from(sanitize(text), 'latin1'), Buffer.from('\r\n')]);
}

export function unknownSubcommand(container: string, sub: Buffer): Buffer {
  const text = `unknown subcommand '${cString(sub, 128)}'. Try ${container.toUpperCase()} HELP.`;
  return Buffer.concat([Buffer.from('-ERR '), Buffer.from(sanitize(text), 'latin1'), Buffer.from('\r\n')]);
}

/** EXPIRE-family flags: `Unsupported option %s`, the argument's bytes up to a NUL, as Redis prints it. */
export function unsupportedOption(arg: Buffer): Buffer {
  const text = `Unsupported option ${cString(arg, arg.length)}`;
  return Buffer.concat([Buffer.from('-ERR '), Buffer.from(sanitize(text), 'latin1'), Buffer.from('\r\n')]);
}
