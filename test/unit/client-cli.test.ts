import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { formatBytes, formatReply, runClientCli, splitLine } from '../../src/cli/client-cli.js';
import { startLoopbackAcceptor, type LoopbackAcceptor } from '../helpers/native-loopback.js';

let acceptor: LoopbackAcceptor | null = null;
afterEach(async () => {
  await acceptor?.stop();
  acceptor = null;
});

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d.toString()));
  return { stream, text: () => text };
}

async function cli(argv: string[], input = '') {
  const out = collect();
  const err = collect();
  const code = await runClientCli(argv, { stdin: Readable.from([input]), stdout: out.stream, stderr: err.stream });
  return { code, out: out.text(), err: err.text() };
}

describe('cairn cli', () => {
  it('formats replies', () => {
    expect(formatReply(null)).toBe('(nil)');
    expect(formatReply(42)).toBe('(integer) 42');
    expect(formatReply(2n ** 63n - 1n)).toBe('(integer) 9223372036854775807');
    expect(formatReply(true)).toBe('(true)');
    expect(formatBytes(Buffer.from('hello "x"\n'))).toBe('"hello \\"x\\"\\n"');
    expect(formatBytes(new Uint8Array([0, 255, 16]))).toBe('<hex 00ff10>');
    expect(formatReply([Buffer.from('a'), null])).toBe('1) "a"\n2) (nil)');
    expect(formatReply([])).toBe('(empty list)');
    expect(formatReply({ hot: 1, cold: 2 })).toBe('hot: (integer) 1\ncold: (integer) 2');
  });

  it('splits prompt lines with quotes and escapes', () => {
    expect(splitLine('  set  k "a b\\n\\x41" \'c d\'  ')).toEqual(['set', 'k', 'a b\nA', 'c d']);
    expect(splitLine('')).toEqual([]);
    expect(() => splitLine('set "k')).toThrow();
  });

  it('one-shot commands', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2 });
    const port = String(acceptor.port);
    expect(await cli(['--port', port, 'set', 'user:1', 'ada', 'ttl', '60000'])).toMatchObject({ code: 0, out: expect.stringMatching(/^OK/) });
    expect(await cli(['--port', port, 'get', 'user:1'])).toMatchObject({ code: 0, out: '"ada"\n' });
    expect(await cli(['--port', port, 'get', 'user:2'])).toMatchObject({ code: 0, out: '(nil)\n' });
    expect(await cli(['--port', port, 'incr', 'n', '5'])).toMatchObject({ code: 0, out: '(integer) 5\n' });
    expect(await cli(['--port', port, 'incr', 'user:1'])).toMatchObject({ code: 1, out: expect.stringContaining('CAIRN_ERR_NOT_INTEGER') });
    expect(await cli(['--port', port, 'set', 'user:1', 'x', 'nx'])).toMatchObject({ code: 0, out: '(not stored)\n' });
    expect(await cli(['--port', port, 'mget', 'user:1', 'nope', 'n'])).toMatchObject({ out: '1) "ada"\n2) (nil)\n3) "5"\n' });
    expect(await cli(['--port', port, 'count'])).toMatchObject({ out: expect.stringContaining('total: (integer) 2') });
    expect(await cli(['--port', port, 'bogus'])).toMatchObject({ code: 2 });
    expect(await cli(['--port', port, 'get'])).toMatchObject({ code: 2, err: expect.stringContaining('usage: get KEY') });
    expect(await cli(['--nope', 'x'])).toMatchObject({ code: 2 });
    expect((await cli(['--help'])).out).toContain('Usage: cairn cli');
  });

  it('reads commands from stdin when there is no command', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 2 });
    const r = await cli(['--port', String(acceptor.port)], 'set a "x y"\nget a\n\nhelp get\nttl a\nquit\nget a\n');
    expect(r.out).toBe('OK (cas 1)\n"x y"\nget KEY\n  the value, or (nil)\n(integer) -1\n');
    expect(r.code).toBe(0);
  });

  it('connection failure is exit status 1', async () => {
    acceptor = await startLoopbackAcceptor({ shards: 1 });
    const port = String(acceptor.port);
    await acceptor.stop();
    acceptor = null;
    const r = await cli(['--port', port, 'ping']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('CAIRN_ERR_CLOSED');
  });
});
