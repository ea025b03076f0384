/**
 * Authentication on every TCP port when --password is set (native HELLO/AUTH, RESP AUTH, memcached's
 * ASCII auth as memcached -Y does it), TLS on the native port, the warning for wide binds without a
 * password, and keys that look like paths never touching the file system.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, tcpTransport } from '../../src/client/index.js';
import { HELLO, nativeFrame } from '../../bench/fuzz-gen.js';
import { pack } from 'msgpackr';
import { freePort, tempDir } from '../helpers/server.js';
import { cleanup, exchange, raw, redis, start, until } from './lib.js';

const dirs: string[] = [];
afterAll(async () => {
  await cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('--password on every port', () => {
  it('native, RESP and memcached refuse clients without the password and serve those with it', async () => {
    const srv = await start({ args: ['--password', 's3cret'] });

    // native: a HELLO without the password is refused, commands get CAIRN_ERR_AUTH
    await expect(createClient({ port: srv.port, reconnect: false })).rejects.toMatchObject({ code: 'CAIRN_ERR_AUTH' });
    const ok = await createClient({ port: srv.port, password: 's3cret' });
    await ok.set('k', 'v');
    expect(Buffer.from((await ok.get('k'))!).toString()).toBe('v');
    await ok.close();
    const getFrame = nativeFrame(0x10, 2, Buffer.from('k'), Buffer.from([0x90]));
    const nat = await exchange(srv.port, Buffer.concat([HELLO, getFrame]), /CAIRN_ERR_AUTH[\s\S]*CAIRN_ERR_AUTH/);
    expect(nat).not.toContain('v\u0000');

    // RESP
    expect(await exchange(srv.respPort, 'GET k\r\n', '\r\n')).toMatch(/^-NOAUTH/);
    expect(await exchange(srv.respPort, 'AUTH wrong\r\n', '\r\n')).toMatch(/^-WRONGPASS/);
    const r = redis(srv.respPort, { password: 's3cret' });
    expect(await r.get('k')).toBe('v');

    // memcached: any command before authentication is refused and the connection closed
    const mc = await raw(srv.memcachePort);
    mc.socket.write('get k\r\n');
    await until(() => mc.isClosed(), 5000, 'memcached to close the unauthenticated connection');
    expect(mc.received().toString()).toBe('CLIENT_ERROR unauthenticated\r\n');
    const bad = await raw(srv.memcachePort);
    bad.socket.write('set auth 0 0 10\r\ncairn oops\r\n');
    await until(() => bad.isClosed(), 5000, 'memcached to close after a wrong password');
    expect(bad.received().toString()).toBe('CLIENT_ERROR authentication failure\r\n');
    // memcached -Y style: the first command is a set whose data is "<user> <password>"
    const good = await exchange(srv.memcachePort, 'set auth 0 0 12\r\ncairn s3cret\r\nget k\r\n', 'END\r\n');
    expect(good).toBe('STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n');
  }, 60_000);

  it('without a password every port is open (and binding wide warns)', async () => {
    const srv = await start({ args: ['--bind', '0.0.0.0'] });
    expect(srv.output()).toMatch(/warning: listening on 0\.0\.0\.0 without a password/);
    expect(await exchange(srv.memcachePort, 'version\r\n', 'VERSION')).toMatch(/^VERSION/);
    const quiet = await start({ args: ['--bind', '0.0.0.0', '--password', 'x'] });
    expect(quiet.output()).not.toMatch(/warning/);
  }, 60_000);
});

describe('TLS on the native port', () => {
  it('serves the SDK over TLS with --tls-cert/--tls-key and nothing in plain text', async () => {
    const dir = tempDir('cairn-tls-');
    dirs.push(dir);
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], {
      encoding: 'utf8',
    });
    expect(gen.status).toBe(0);
    const srv = await start({ args: ['--tls-cert', cert, '--tls-key', key] });
    const c = await createClient({ port: srv.port, transport: tcpTransport({ tls: { rejectUnauthorized: false } }) });
    await c.set('secret', 'over tls');
    expect(Buffer.from((await c.get('secret'))!).toString()).toBe('over tls');
    await c.close();
    // a plain-text HELLO gets no protocol reply
    const plain = await raw(srv.port);
    plain.socket.write(HELLO);
    await until(() => plain.isClosed(), 10_000, 'the TLS port to drop a plain-text client');
    expect(plain.received().includes(Buffer.from('cairn'))).toBe(false);
    // a raw TLS client with the self-signed cert as its CA verifies the server
    const s = tlsConnect({ port: srv.port, host: '127.0.0.1', ca: [readFileSync(cert)], servername: 'localhost', checkServerIdentity: () => undefined });
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => s.once('secureConnect', r));
    s.write(Buffer.concat([HELLO, nativeFrame(0x02, 9, Buffer.alloc(0), pack(['hi']))]));
    await until(() => Buffer.concat(got).includes(Buffer.from('hi')), 5000, 'PING over TLS');
    s.destroy();
    await expect(start({ args: ['--tls-cert', cert] })).rejects.toThrow(/--tls-cert and --tls-key go together/);
  }, 60_000);
});

describe('TLS on the gateway', () => {
  it('serves HTTPS and wss:// with the same --tls-cert/--tls-key', async () => {
    const dir = tempDir('cairn-tls-gw-');
    dirs.push(dir);
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], {
      encoding: 'utf8',
    });
    expect(gen.status).toBe(0);
    const httpPort = await freePort();
    const srv = { ...(await start({ args: ['--tls-cert', cert, '--tls-key', key, '--http-port', String(httpPort)] })), httpPort };
    const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsGet(
        { host: '127.0.0.1', port: srv.httpPort, path: '/health', ca: [readFileSync(cert)], checkServerIdentity: () => undefined },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
    });
    expect(health.status).toBe(200);
    // the native handshake over wss://, verified against the self-signed certificate
    const ws = new WebSocket(`wss://127.0.0.1:${srv.httpPort}/ws`, { ca: [readFileSync(cert)], checkServerIdentity: () => undefined });
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(Buffer.from(d)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(HELLO);
    await until(() => Buffer.concat(got).includes(Buffer.from('cairn')), 5000, 'HELLO over wss://');
    ws.close();
    // plain http:// on the same port gets no answer
    await expect(
      new Promise((resolve, reject) => {
        const req = httpGet({ host: '127.0.0.1', port: srv.httpPort, path: '/health', timeout: 3000 }, resolve);
        req.on('timeout', () => req.destroy(new Error('no plain-text answer')));
        req.on('error', reject);
      }),
    ).rejects.toThrow();
  }, 60_000);
});

describe('keys never become file paths', () => {
  it('path-like keys stay inside LevelDB', async () => {
    const dir = tempDir('cairn-paths-');
    dirs.push(dir);
    const srv = await start({ dataDir: join(dir, 'data') });
    const r = redis(srv.respPort);
    const evil = ['../escape', '../../escape2', `${dir}/absolute`, 'shard-0/../../x', '..\\win', '\u0000nul', 'CURRENT', 'LOCK', 'cairn.json'];
    for (const k of evil) expect(await r.set(k, 'v')).toBe('OK');
    for (const k of evil) expect(await r.get(k)).toBe('v');
    expect(readdirSync(dir)).toEqual(['data']);
    expect(existsSync(join(dir, 'absolute'))).toBe(false);
    const top = readdirSync(join(dir, 'data')).sort();
    expect(top).toEqual(['cairn.json', 'cairn.pid', 'shard-0', 'shard-1']);
    await srv.stop();
  }, 60_000);
});
