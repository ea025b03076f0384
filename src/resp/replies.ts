/** Reading the shards' RESP replies, just enough for the acceptor's joins. */

export function isErrorReply(reply: Buffer): boolean {
  return reply.length > 0 && reply[0] === 45; /* '-' */
}

/** the value of an integer reply (`:n\r\n`), null for anything else. */
export function readInteger(reply: Buffer): number | null {
  if (reply.length < 4 || reply[0] !== 58) return null;
  const cr = reply.indexOf(13, 1);
  if (cr < 0) return null;
  const n = Number(reply.toString('latin1', 1, cr));
  return Number.isFinite(n) ? n : null;
}

/** the body of a bulk reply, null for nil or anything else. */
export function readBulk(reply: Buffer): Buffer | null {
  if (reply.length < 4 || reply[0] !== 36) return null;
  const cr = reply.indexOf(13, 1);
  if (cr < 0) return null;
  const len = Number(reply.toString('latin1', 1, cr));
  if (!(len >= 0) || cr + 2 + len > reply.length) return null;
  return reply.subarray(cr + 2, cr + 2 + len);
}

export interface ArrayReply {
  count: number;
  /** index where the elements start. */
  bodyStart: number;
}

/** the header of an array reply (`*n\r\n`), null for anything else. */
export function readArrayHeader(reply: Buffer, at = 0): (ArrayReply & { end: number }) | null {
  if (reply.length < at + 4 || reply[at] !== 42) return null;
  const cr = reply.indexOf(13, at + 1);
  if (cr < 0) return null;
  const count = Number(reply.toString('latin1', at + 1, cr));
  if (!Number.isInteger(count)) return null;
  return { count, bodyStart: cr + 2, end: cr + 2 };
}

/** the encoded elements of an array of bulk strings, each `$len\r\n...\r\n` or `$-1\r\n`; null when malformed. */
export function bulkElements(reply: Buffer, at = 0): { items: Buffer[]; end: number } | null {
  const head = readArrayHeader(reply, at);
  if (head === null || head.count < 0) return null;
  const items: Buffer[] = [];
  let p = head.bodyStart;
  for (let i = 0; i < head.count; i++) {
    if (reply[p] !== 36) return null;
    const cr = reply.indexOf(13, p + 1);
    if (cr < 0) return null;
    const len = Number(reply.toString('latin1', p + 1, cr));
    const end = len < 0 ? cr + 2 : cr + 2 + len + 2;
    if (end > reply.length) return null;
    items.push(reply.subarray(p, end));
    p = end;
  }
  return { items, end: p };
}
