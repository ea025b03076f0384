/**
 * RESP2 reply encoders. Every encoder writes its reply into one buffer, so a reply costs one
 * allocation; the constant replies are shared and must never be written to.
 */

export const CRLF = Buffer.from('\r\n');
export const OK = Buffer.from('+OK\r\n');
export const PONG = Buffer.from('+PONG\r\n');
export const NIL = Buffer.from('$-1\r\n');
export const NIL_ARRAY = Buffer.from('*-1\r\n');
export const EMPTY_BULK = Buffer.from('$0\r\n\r\n');
export const EMPTY_ARRAY = Buffer.from('*0\r\n');
export const ZERO = Buffer.from(':0\r\n');
export const ONE = Buffer.from(':1\r\n');
export const EMPTY = Buffer.alloc(0);

const SMALL_INTEGERS: Buffer[] = [];
for (let i = -2; i < 1024; i++) SMALL_INTEGERS.push(Buffer.from(`:${i}\r\n`));

export function integer(n: number | bigint): Buffer {
  if (typeof n === 'number' && Number.isInteger(n) && n >= -2 && n < 1024) return SMALL_INTEGERS[n + 2];
  return Buffer.from(`:${n}\r\n`, 'latin1');
}

export function simple(s: string): Buffer {
  return Buffer.from(`+${s}\r\n`);
}

/** `-ERR message`: Redis adds the ERR code unless the message carries its own. */
export function err(message: string): Buffer {
  return Buffer.from(`-ERR ${message}\r\n`);
}

/** an error with its own code word, e.g. `NOAUTH Authentication required.` */
export function errCode(message: string): Buffer {
  return Buffer.from(`-${message}\r\n`);
}

export function bulk(value: Uint8Array | null): Buffer {
  if (value === null) return NIL;
  const len = value.length;
  const head = `$${len}\r\n`;
  const out = Buffer.allocUnsafe(head.length + len + 2);
  out.write(head, 0, 'latin1');
  out.set(value, head.length);
  out[head.length + len] = 13;
  out[head.length + len + 1] = 10;
  return out;
}

export function bulkString(s: string | null): Buffer {
  return s === null ? NIL : bulk(Buffer.from(s));
}

/** `*n` followed by already-encoded replies. */
export function array(items: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items]);
}

/** an array of bulk strings (null → nil bulk) in one allocation. */
export function bulkArray(items: readonly (Uint8Array | null)[]): Buffer {
  let size = 0;
  for (const item of items) size += item === null ? 5 : decimalLength(item.length) + item.length + 5;
  const head = `*${items.length}\r\n`;
  const out = Buffer.allocUnsafe(head.length + size);
  let at = out.write(head, 0, 'latin1');
  for (const item of items) {
    if (item === null) {
      at += out.write('$-1\r\n', at, 'latin1');
    } else {
      at += out.write(`$${item.length}\r\n`, at, 'latin1');
      out.set(item, at);
      at += item.length;
      out[at++] = 13;
      out[at++] = 10;
    }
  }
  return out;
}

/** encodes a command as a multibulk request, the form the acceptor forwards to a shard. */
export function command(parts: readonly (Uint8Array | string)[]): Buffer {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
  return bulkArray(bufs);
}

function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}
