/**
 * RESP2 bytes for the differential tests: a command encoded as a multibulk request, and the length
 * of one complete reply at the front of a buffer, so a reply is compared as the exact bytes the
 * server wrote (nothing decoded, nothing re-encoded).
 */

/** `*N $len arg ...` for argv; arguments are byte strings (each char one byte, latin1). */
export function encodeCommand(argv: readonly string[]): Buffer {
  let head = `*${argv.length}\r\n`;
  const parts: Buffer[] = [];
  for (const a of argv) {
    head += `$${a.length}\r\n`;
    parts.push(Buffer.from(head, 'latin1'), Buffer.from(a, 'latin1'), Buffer.from('\r\n', 'latin1'));
    head = '';
  }
  return Buffer.concat(parts);
}

/**
 * The byte length of the one RESP2 reply starting at `pos`, or -1 while it is incomplete. Throws on
 * bytes that are not a RESP2 reply (the server broke the protocol: a finding in itself).
 */
export function replyLength(buf: Buffer, pos = 0): number {
  const end = replyEnd(buf, pos);
  return end < 0 ? -1 : end - pos;
}

function replyEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const eol = buf.indexOf('\r\n', pos, 'latin1');
  if (eol < 0) return -1;
  const type = buf[pos];
  const line = eol + 2;
  switch (type) {
    case 0x2b: // +
    case 0x2d: // -
    case 0x3a: // :
      return line;
    case 0x24: {
      // $
      const n = lengthOf(buf, pos + 1, eol);
      if (n < 0) return line;
      return buf.length >= line + n + 2 ? line + n + 2 : -1;
    }
    case 0x2a: {
      // *
      const n = lengthOf(buf, pos + 1, eol);
      let at = line;
      for (let i = 0; i < n; i++) {
        at = replyEnd(buf, at);
        if (at < 0) return -1;
      }
      return at;
    }
    default:
      throw new Error(`not a RESP2 reply: ${JSON.stringify(buf.subarray(pos, Math.min(buf.length, pos + 40)).toString('latin1'))}`);
  }
}

function lengthOf(buf: Buffer, from: number, to: number): number {
  const text = buf.toString('latin1', from, to);
  if (!/^(-1|\d+)$/.test(text)) throw new Error(`bad RESP2 length ${JSON.stringify(text)}`);
  return Number(text);
}
