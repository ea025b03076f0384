import { describe, expect, it } from 'vitest';
import { Unpackr, pack } from 'msgpackr';

const copying = new Unpackr({ useRecords: false, copyBuffers: true });
const unpack = (b: Uint8Array): unknown => copying.unpack(b);
import { ErrorCode } from '../../src/errors.js';
import {
  encodeReply,
  encodeRequest,
  FrameError,
  FrameReader,
  parseRequestFrame,
  ReplyReader,
  REQUEST_HEADER_SIZE,
  RequestWriter,
  Status,
} from '../../src/native/frame.js';
import { nativeAcceleration } from '../../src/msgpack.js';
import { OPCODE_CLASS, OpClassCode, Opcode, OPCODES } from '../../src/native/opcodes.js';

const enc = new TextEncoder();

function frames(): Uint8Array[] {
  return [
    encodeRequest(Opcode.GET, 1, enc.encode('user:1')),
    encodeRequest(Opcode.SET, 2, enc.encode('k'), [enc.encode('value'), { ttl: 1000 }]),
    encodeRequest(Opcode.STATS, 3, new Uint8Array(0)),
    encodeRequest(Opcode.MGET, 0xffffffff, enc.encode('a'), [[enc.encode('a'), enc.encode('b')]]),
    encodeRequest(Opcode.SET, 5, new Uint8Array(300).fill(7), [new Uint8Array(5000).fill(1)]),
  ];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Seen {
  opcode: number;
  id: number;
  key: number[];
  body: unknown;
}

function drain(reader: FrameReader, out: Seen[]): void {
  for (let f = reader.next(); f; f = reader.next()) {
    out.push({
      opcode: f.opcode,
      id: f.requestId,
      key: [...f.routeKey],
      body: f.bodyOffset === f.bytes.length ? [] : unpack(f.bytes.subarray(f.bodyOffset)),
    });
  }
}

describe('request frames', () => {
  it('round-trip with the documented layout', () => {
    const frame = encodeRequest(Opcode.GET, 0x01020304, enc.encode('ab'), []);
    expect([...frame]).toEqual([0, 0, 0, 12, 0x10, 1, 2, 3, 4, 0, 0, 0, 2, 0x61, 0x62, 0x90]);
    const parsed = parseRequestFrame(frame);
    expect(parsed.opcode).toBe(Opcode.GET);
    expect(parsed.requestId).toBe(0x01020304);
    expect(new TextDecoder().decode(parsed.routeKey)).toBe('ab');
    expect(parsed.bodyOffset).toBe(15);
  });

  it('FrameReader yields the same frames whatever the chunking (split at every byte boundary)', () => {
    const all = concat(frames());
    const expected: Seen[] = [];
    const whole = new FrameReader();
    whole.feed(all);
    drain(whole, expected);
    expect(expected.map((s) => s.id)).toEqual([1, 2, 3, 0xffffffff, 5]);
    const signature = (reader: FrameReader, out: string[]) => {
      for (let f = reader.next(); f; f = reader.next()) {
        out.push(`${f.opcode}|${f.requestId}|${f.keyStart}-${f.keyEnd}|${f.bodyOffset}|${Buffer.from(f.bytes).toString('hex')}`);
      }
    };
    const want: string[] = [];
    const ref = new FrameReader();
    ref.feed(all);
    signature(ref, want);

    for (let cut = 1; cut < all.length; cut++) {
      const reader = new FrameReader();
      const seen: string[] = [];
      reader.feed(all.slice(0, cut));
      signature(reader, seen);
      reader.feed(all.slice(cut));
      signature(reader, seen);
      if (seen.join('\n') !== want.join('\n')) expect(seen, `split at ${cut}`).toEqual(want);
      expect(reader.buffered).toBe(0);
    }
  });

  it('FrameReader handles byte-by-byte feeding and reused chunk buffers', () => {
    const all = concat(frames());
    const expected: Seen[] = [];
    const whole = new FrameReader();
    whole.feed(all);
    drain(whole, expected);
    const reader = new FrameReader();
    const seen: Seen[] = [];
    const chunk = new Uint8Array(7); // the caller reuses one buffer, as a socket reader may
    for (let i = 0; i < all.length; i += 7) {
      const n = Math.min(7, all.length - i);
      chunk.set(all.subarray(i, i + n));
      reader.feed(chunk.subarray(0, n));
      drain(reader, seen);
      chunk.fill(0xee);
    }
    expect(seen).toEqual(expected);
  });

  it('random chunkings of many frames', () => {
    const many: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) many.push(encodeRequest(Opcode.SET, i + 1, enc.encode(`key:${i}`), [new Uint8Array(i * 37)]));
    const all = concat(many);
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 9000) + 1;
    const reader = new FrameReader();
    const seen: Seen[] = [];
    for (let i = 0; i < all.length; ) {
      const n = Math.min(rand(), all.length - i);
      reader.feed(all.slice(i, i + n));
      drain(reader, seen);
      i += n;
    }
    expect(seen.map((s) => s.id)).toEqual(many.map((_, i) => i + 1));
    expect(seen.every((s, i) => (s.body as Uint8Array[])[0].length === i * 37)).toBe(true);
  });

  it('oversized length is fatal FRAME_TOO_LARGE before the bytes arrive', () => {
    const reader = new FrameReader({ maxFrame: 1024 });
    reader.feed(new Uint8Array([0, 0, 4, 1]));
    let err: unknown;
    try {
      reader.next();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe(ErrorCode.FRAME_TOO_LARGE);
    expect((err as FrameError).fatal).toBe(true);
    // the reader stays broken: framing is lost
    expect(() => reader.next()).toThrow(FrameError);
  });

  it('a length shorter than the header is fatal BAD_FRAME', () => {
    const reader = new FrameReader();
    reader.feed(new Uint8Array([0, 0, 0, 3, 1, 2, 3]));
    try {
      reader.next();
      expect.unreachable();
    } catch (e) {
      expect((e as FrameError).code).toBe(ErrorCode.BAD_FRAME);
      expect((e as FrameError).fatal).toBe(true);
    }
  });

  it('a route key running past the frame is a non-fatal BAD_FRAME and the next frame still reads', () => {
    const bad = encodeRequest(Opcode.GET, 77, enc.encode('abc'));
    bad[12] = 200; // key length 200 in a 16-byte frame
    const good = encodeRequest(Opcode.GET, 78, enc.encode('x'));
    const reader = new FrameReader();
    reader.feed(concat([bad, good]));
    try {
      reader.next();
      expect.unreachable();
    } catch (e) {
      const err = e as FrameError;
      expect(err.fatal).toBe(false);
      expect(err.requestId).toBe(77);
      expect(err.code).toBe(ErrorCode.BAD_FRAME);
    }
    const next = reader.next();
    expect(next?.requestId).toBe(78);
    expect(reader.next()).toBeNull();
  });

  it('a key over maxKey is a non-fatal KEY_TOO_LARGE', () => {
    const reader = new FrameReader({ maxKey: 4 });
    reader.feed(concat([encodeRequest(Opcode.GET, 9, enc.encode('toolong')), encodeRequest(Opcode.GET, 10, enc.encode('ok'))]));
    expect(() => reader.next()).toThrow(expect.objectContaining({ code: ErrorCode.KEY_TOO_LARGE, fatal: false, requestId: 9 }));
    expect(reader.next()?.requestId).toBe(10);
  });

  it('an empty body is accepted as no arguments', () => {
    const frame = new Uint8Array([0, 0, 0, 9, Opcode.PING, 0, 0, 0, 1, 0, 0, 0, 0]);
    const reader = new FrameReader();
    reader.feed(frame);
    const f = reader.next()!;
    expect(f.bodyOffset).toBe(f.bytes.length);
  });

  it('RequestWriter batches frames that FrameReader reads back', () => {
    const writer = new RequestWriter(16);
    writer.write(Opcode.GET, 1, 'héllo', new Uint8Array([0x90]));
    writer.write(Opcode.SET, 2, enc.encode('k'), pack([enc.encode('v')]));
    const mark = writer.length;
    writer.write(Opcode.GET, 3, 'x'.repeat(1000), new Uint8Array([0x90]));
    writer.truncate(mark);
    const reader = new FrameReader();
    reader.feed(writer.take());
    const seen: Seen[] = [];
    drain(reader, seen);
    expect(seen.map((s) => s.id)).toEqual([1, 2]);
    expect(new TextDecoder().decode(new Uint8Array(seen[0].key))).toBe('héllo');
    expect(writer.length).toBe(0);
  });
});

describe('reply frames', () => {
  it('encodeReply writes the header in place and ReplyReader reads any chunking', () => {
    const replies = [
      encodeReply(Status.OK, 1, enc.encode('value')),
      encodeReply(Status.ERROR, 2, [ErrorCode.BAD_ARGUMENT, 'nope']),
      encodeReply(Status.OK, 3, null),
      encodeReply(Status.PUSH, 0, ['event', 'x']),
    ];
    expect([...replies[2]]).toEqual([0, 0, 0, 6, 0, 0, 0, 0, 3, 0xc0]);
    const all = concat(replies);
    for (let cut = 0; cut <= all.length; cut++) {
      const reader = new ReplyReader();
      const got: [number, number, unknown][] = [];
      for (const part of [all.slice(0, cut), all.slice(cut)]) {
        reader.feed(part);
        for (let f = reader.next(); f; f = reader.next()) got.push([f.status, f.requestId, unpack(f.bytes.subarray(f.bodyOffset))]);
      }
      expect(got.map((g) => g[1])).toEqual([1, 2, 3, 0]);
      expect(got[1]).toEqual([Status.ERROR, 2, [ErrorCode.BAD_ARGUMENT, 'nope']]);
    }
  });

  it('encoded replies are not overwritten by later ones', () => {
    const a = encodeReply(Status.OK, 1, 'first');
    const copy = a.slice();
    for (let i = 0; i < 1000; i++) encodeReply(Status.OK, i, 'x'.repeat(i));
    expect(a).toEqual(copy);
  });
});

describe('opcode table', () => {
  it('every opcode has a class, names are unique', () => {
    const names = new Set(OPCODES.map((o) => o.name));
    expect(names.size).toBe(OPCODES.length);
    for (const o of OPCODES) expect(OPCODE_CLASS[o.opcode]).not.toBe(OpClassCode.UNKNOWN);
    expect(OPCODE_CLASS[0]).toBe(OpClassCode.UNKNOWN);
    expect(OPCODE_CLASS[Opcode.GET]).toBe(OpClassCode.ROUTED);
    expect(OPCODE_CLASS[Opcode.MGET]).toBe(OpClassCode.MULTI);
    expect(OPCODE_CLASS[Opcode.STATS]).toBe(OpClassCode.BROADCAST);
    expect(OPCODE_CLASS[Opcode.SCAN]).toBe(OpClassCode.CURSOR);
    expect(OPCODE_CLASS[Opcode.HELLO]).toBe(OpClassCode.LOCAL);
  });

  it('msgpackr native acceleration is reported', () => {
    expect(typeof nativeAcceleration).toBe('boolean');
  });

  it('header size constant matches the layout', () => {
    expect(REQUEST_HEADER_SIZE).toBe(13);
  });
});
