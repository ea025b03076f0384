/**
 * `cairn cli`: talk to a server over the native protocol, one command from the arguments or an
 * interactive prompt (history, help, readable replies).
 *
 *   cairn cli [--host H] [--port P] [--password PW] [command args...]
 */
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { CairnError, ErrorCode, isCairnError } from '../errors.js';
import { createClient, type CairnClient, type SetOptions } from '../client/index.js';
import { utf8DecodeStrict } from '../msgpack.js';

export interface CliIO {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

interface CliCommand {
  usage: string;
  help: string;
  min: number;
  max?: number;
  run(client: CairnClient, args: string[]): Promise<unknown>;
}

/** A reply shaped for printing: a status word rather than a bare value. */
class Note {
  constructor(readonly text: string) {}
}

function int(text: string, what: string): number {
  if (!/^-?[0-9]+$/.test(text)) throw new CairnError(ErrorCode.BAD_ARGUMENT, `${what} must be an integer, got '${text}'`);
  return Number(text);
}

function parseSetFlags(args: string[]): SetOptions & { returnOld?: boolean } {
  const opts: SetOptions & { returnOld?: boolean } = {};
  for (let i = 0; i < args.length; i++) {
    const word = args[i].toLowerCase();
    const next = (): string => {
      if (i + 1 >= args.length) throw new CairnError(ErrorCode.BAD_ARGUMENT, `${word} needs a value`);
      return args[++i];
    };
    switch (word) {
      case 'nx':
        opts.nx = true;
        break;
      case 'xx':
        opts.xx = true;
        break;
      case 'keepttl':
        opts.keepTtl = true;
        break;
      case 'get':
        opts.returnOld = true;
        break;
      case 'ttl':
      case 'px':
        opts.ttl = int(next(), 'ttl');
        break;
      case 'ex':
        opts.ttl = int(next(), 'ttl') * 1000;
        break;
      case 'at':
      case 'pxat':
        opts.expiresAt = int(next(), 'expiresAt');
        break;
      case 'flags':
        opts.flags = int(next(), 'flags');
        break;
      case 'cas':
        opts.cas = int(next(), 'cas');
        break;
      default:
        throw new CairnError(ErrorCode.BAD_ARGUMENT, `unknown set option '${args[i]}' (nx xx ttl MS ex S at MS keepttl flags N cas N get)`);
    }
  }
  return opts;
}

const COMMANDS: Record<string, CliCommand> = {
  get: { usage: 'get KEY', help: 'the value, or (nil)', min: 1, max: 1, run: (c, [k]) => c.get(k) },
  getmeta: { usage: 'getmeta KEY', help: 'value, flags, expiry and CAS', min: 1, max: 1, run: (c, [k]) => c.getMeta(k) },
  set: {
    usage: 'set KEY VALUE [nx|xx] [ttl MS | ex S | at MS | keepttl] [flags N] [cas N] [get]',
    help: 'store a value; get returns the old one',
    min: 2,
    run: async (c, [k, v, ...rest]) => {
      const opts = parseSetFlags(rest);
      const r = await c.setResult(k, v, opts);
      if (opts.returnOld) return r.old ? r.old.value : null;
      return new Note(r.status === 'stored' ? `OK (cas ${r.cas})` : `(${r.status.replace('_', ' ')})`);
    },
  },
  del: {
    usage: 'del KEY [cas N]',
    help: 'delete a key (only if its CAS matches, with cas)',
    min: 1,
    max: 3,
    run: (c, [k, word, n]) => {
      if (word !== undefined && (word.toLowerCase() !== 'cas' || n === undefined)) throw new CairnError(ErrorCode.BAD_ARGUMENT, 'usage: del KEY [cas N]');
      return c.del(k, n !== undefined ? { cas: int(n, 'cas') } : undefined);
    },
  },
  exists: { usage: 'exists KEY', help: 'true when the key is present', min: 1, max: 1, run: (c, [k]) => c.exists(k) },
  expire: { usage: 'expire KEY MS', help: 'expire in MS milliseconds (≤ 0 deletes)', min: 2, max: 2, run: (c, [k, ms]) => c.expire(k, int(ms, 'ms')) },
  expireat: { usage: 'expireat KEY MS', help: 'expire at an absolute time in ms', min: 2, max: 2, run: (c, [k, at]) => c.expireAt(k, int(at, 'time')) },
  persist: { usage: 'persist KEY', help: 'remove the expiry', min: 1, max: 1, run: (c, [k]) => c.persist(k) },
  ttl: { usage: 'ttl KEY', help: 'ms left; -1 no expiry; -2 missing', min: 1, max: 1, run: (c, [k]) => c.ttl(k) },
  expiretime: { usage: 'expiretime KEY', help: 'absolute expiry in ms; -1 none; -2 missing', min: 1, max: 1, run: (c, [k]) => c.expireTime(k) },
  touch: {
    usage: 'touch KEY [MS]',
    help: 'new expiry in MS (none without MS)',
    min: 1,
    max: 2,
    run: (c, [k, ms]) => c.touch(k, ms === undefined ? {} : { ttl: int(ms, 'ms') }),
  },
  incr: {
    usage: 'incr KEY [BY]',
    help: 'add to a decimal integer',
    min: 1,
    max: 2,
    run: (c, [k, by]) => c.incrBig(k, by === undefined ? 1n : BigInt(int(by, 'by'))),
  },
  decr: {
    usage: 'decr KEY [BY]',
    help: 'subtract from a decimal integer',
    min: 1,
    max: 2,
    run: (c, [k, by]) => c.incrBig(k, -(by === undefined ? 1n : BigInt(int(by, 'by')))),
  },
  append: { usage: 'append KEY VALUE', help: 'append bytes; the new length', min: 2, max: 2, run: (c, [k, v]) => c.append(k, v) },
  prepend: { usage: 'prepend KEY VALUE', help: 'prepend bytes; the new length', min: 2, max: 2, run: (c, [k, v]) => c.prepend(k, v) },
  getdel: { usage: 'getdel KEY', help: 'get and delete', min: 1, max: 1, run: (c, [k]) => c.getdel(k) },
  restore: { usage: 'restore KEY', help: 'load a key from disk into memory now', min: 1, max: 1, run: (c, [k]) => c.restore(k) },
  mget: { usage: 'mget KEY...', help: 'many values, in order', min: 1, run: (c, keys) => c.mget(keys) },
  mset: {
    usage: 'mset KEY VALUE [KEY VALUE ...]',
    help: 'store many values; the number stored',
    min: 2,
    run: (c, args) => {
      if (args.length % 2 !== 0) throw new CairnError(ErrorCode.BAD_ARGUMENT, 'mset takes key value pairs');
      const pairs: [string, string][] = [];
      for (let i = 0; i < args.length; i += 2) pairs.push([args[i], args[i + 1]]);
      return c.mset(pairs);
    },
  },
  mdel: { usage: 'mdel KEY...', help: 'delete many keys; the number deleted', min: 1, run: (c, keys) => c.mdel(keys) },
  scan: {
    usage: 'scan [CURSOR] [COUNT]',
    help: 'one page of keys and the next cursor ("0" when done)',
    min: 0,
    max: 2,
    run: async (c, [cursor, count]) => {
      const page = await c.scan(cursor ?? '0', count === undefined ? 100 : int(count, 'count'));
      return [page.cursor, page.keys];
    },
  },
  keys: {
    usage: 'keys [LIMIT]',
    help: 'scan every key (up to LIMIT, default 1000)',
    min: 0,
    max: 1,
    run: async (c, [limit]) => {
      const max = limit === undefined ? 1000 : int(limit, 'limit');
      const out: Uint8Array[] = [];
      for await (const key of c.scanKeys({ count: 500 })) {
        if (out.length >= max) break;
        out.push(key);
      }
      return out;
    },
  },
  count: { usage: 'count', help: 'keys per tier (hot, cold, total)', min: 0, max: 0, run: (c) => c.count() },
  flush: { usage: 'flush', help: 'remove every key from both tiers', min: 0, max: 0, run: (c) => c.flush().then(() => new Note('OK')) },
  stats: { usage: 'stats', help: 'server statistics, totals and per shard', min: 0, max: 0, run: (c) => c.stats() },
  ping: { usage: 'ping [MESSAGE]', help: 'PONG, or the message', min: 0, max: 1, run: async (c, [m]) => new Note(String(await c.ping(m))) },
  info: { usage: 'info', help: 'what the server said in the handshake', min: 0, max: 0, run: async (c) => c.serverInfo },
};

// ---- formatting ----------------------------------------------------------------------------------

function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

function isPrintable(text: string): boolean {
  // printable: no control characters other than whitespace
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  return !/[\x00-\x08\x0e-\x1f\x7f]/.test(text);
}

/** Bytes as a quoted string when they are printable UTF-8, otherwise as hex. */
export function formatBytes(bytes: Uint8Array): string {
  const text = utf8DecodeStrict(bytes);
  if (text !== null && isPrintable(text)) return quote(text);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return `<hex ${hex}>`;
}

/** A reply as the prompt shows it. */
export function formatReply(value: unknown, indent = ''): string {
  if (value instanceof Note) return value.text;
  if (value === null || value === undefined) return '(nil)';
  if (value instanceof Uint8Array) return formatBytes(value);
  if (typeof value === 'number' || typeof value === 'bigint') return `(integer) ${value}`;
  if (typeof value === 'boolean') return value ? '(true)' : '(false)';
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '(empty list)';
    const width = String(value.length).length;
    return value
      .map((item, i) => {
        const head = `${String(i + 1).padStart(width)}) `;
        const inner = formatReply(item, indent + ' '.repeat(head.length));
        return (i === 0 ? '' : indent) + head + inner;
      })
      .join('\n');
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    return entries
      .map(([name, v], i) => {
        const nested = v !== null && typeof v === 'object' && !(v instanceof Uint8Array);
        const prefix = (i === 0 ? '' : indent) + `${name}:`;
        if (nested && Object.keys(v as object).length > 0) return `${prefix}\n${indent}  ${formatReply(v, indent + '  ')}`;
        return `${prefix} ${formatReply(v, indent + '  ')}`;
      })
      .join('\n');
  }
  return String(value);
}

function formatError(err: unknown): string {
  if (isCairnError(err)) return `(error) ${err.code}: ${err.message}`;
  return `(error) ${err instanceof Error ? err.message : String(err)}`;
}

// ---- input ---------------------------------------------------------------------------------------

/** Split a prompt line into words: whitespace separates; "double quotes" take \n \t \\ \" \xHH escapes; 'single quotes' are literal. */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && !/\s/.test(line[i])) {
      const ch = line[i];
      if (ch === '"') {
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < line.length) {
            const e = line[i + 1];
            if (e === 'n') word += '\n';
            else if (e === 't') word += '\t';
            else if (e === 'r') word += '\r';
            else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
              word += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
              i += 2;
            } else word += e;
            i += 2;
          } else word += line[i++];
        }
        if (i >= line.length) throw new CairnError(ErrorCode.BAD_ARGUMENT, 'unbalanced "quotes"');
        i++;
      } else if (ch === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new CairnError(ErrorCode.BAD_ARGUMENT, "unbalanced 'quotes'");
        word += line.slice(i + 1, end);
        i = end + 1;
      } else {
        word += ch;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

function helpText(name?: string): string {
  if (name) {
    const cmd = COMMANDS[name.toLowerCase()];
    return cmd ? `${cmd.usage}\n  ${cmd.help}` : `unknown command '${name}'`;
  }
  const short = (usage: string) => (usage.length > 40 ? `${usage.slice(0, usage.indexOf(' ['))} ...` : usage);
  const width = Math.max(...Object.values(COMMANDS).map((c) => short(c.usage).length));
  const lines = Object.values(COMMANDS).map((c) => `  ${short(c.usage).padEnd(width)}  ${c.help}`);
  return ['Commands (help COMMAND for details):', ...lines, '  help [COMMAND]', '  quit'].join('\n');
}

const USAGE = `Usage: cairn cli [--host HOST] [--port PORT] [--password PW] [--timeout MS] [command args...]

Without a command, opens an interactive prompt (type "help"). Environment: CAIRN_HOST, CAIRN_PORT,
CAIRN_PASSWORD. Exit status of a one-shot command: 0 ok, 1 error reply or connection failure, 2 usage.`;

interface CliOptions {
  host: string;
  port: number;
  password?: string;
  timeoutMs: number;
  rest: string[];
}

function parseArgs(argv: string[]): CliOptions | string {
  const opts: CliOptions = {
    host: process.env.CAIRN_HOST ?? '127.0.0.1',
    port: Number(process.env.CAIRN_PORT ?? 7379),
    password: process.env.CAIRN_PASSWORD || undefined,
    timeoutMs: 10_000,
    rest: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) break;
    if (arg === '--') {
      i++;
      break;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (name === 'help') return 'help';
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return `--${name} needs a value`;
    switch (name) {
      case 'host':
        opts.host = value;
        break;
      case 'port':
        opts.port = Number(value);
        if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) return `bad port '${value}'`;
        break;
      case 'password':
        opts.password = value;
        break;
      case 'timeout':
        opts.timeoutMs = Number(value);
        if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs < 0) return `bad timeout '${value}'`;
        break;
      default:
        return `unknown option --${name}`;
    }
  }
  opts.rest = argv.slice(i);
  return opts;
}

/** Run one command line; returns true when the reply was not an error. */
async function runOne(client: CairnClient, words: string[], out: Writable): Promise<boolean> {
  const [name, ...args] = words;
  const cmd = COMMANDS[name.toLowerCase()];
  if (!cmd) {
    out.write(`(error) unknown command '${name}' (type help)\n`);
    return false;
  }
  if (args.length < cmd.min || (cmd.max !== undefined && args.length > cmd.max)) {
    out.write(`(error) usage: ${cmd.usage}\n`);
    return false;
  }
  try {
    const reply = await cmd.run(client, args);
    out.write(formatReply(reply) + '\n');
    return true;
  } catch (err) {
    out.write(formatError(err) + '\n');
    return false;
  }
}

const HISTORY_FILE = join(homedir(), '.cairn_history');
const HISTORY_SIZE = 1000;

function loadHistory(): string[] {
  try {
    if (!existsSync(HISTORY_FILE)) return [];
    const lines = readFileSync(HISTORY_FILE, 'utf8').split('\n').filter(Boolean);
    return lines.slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(line: string): void {
  try {
    appendFileSync(HISTORY_FILE, line.replace(/\n/g, ' ') + '\n', { mode: 0o600 });
  } catch {
    // history is a convenience; a read-only home must not break the prompt
  }
}

async function interactive(client: CairnClient, opts: CliOptions, io: CliIO): Promise<number> {
  const tty = io.stdin.isTTY === true;
  const rl = createInterface({
    input: io.stdin,
    output: tty ? io.stdout : undefined,
    terminal: tty,
    history: tty ? loadHistory() : [],
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt: `cairn ${opts.host}:${opts.port}> `,
  });
  let failures = 0;
  if (tty) {
    const info = client.serverInfo;
    io.stdout.write(`connected to cairn ${info?.serverVersion ?? '?'} (${info?.shards ?? '?'} shards); type help\n`);
    rl.prompt();
  }
  for await (const line of rl) {
    let words: string[];
    try {
      words = splitLine(line);
    } catch (err) {
      io.stdout.write(formatError(err) + '\n');
      if (tty) rl.prompt();
      continue;
    }
    if (words.length > 0) {
      if (tty) saveHistory(line);
      const name = words[0].toLowerCase();
      if (name === 'quit' || name === 'exit') break;
      if (name === 'help' || name === '?') io.stdout.write(helpText(words[1]) + '\n');
      else if (!(await runOne(client, words, io.stdout))) failures++;
    }
    if (tty) rl.prompt();
  }
  rl.close();
  return tty || failures === 0 ? 0 : 1;
}

/** `cairn cli ...`: the exit status. */
export async function runClientCli(argv: string[], io: CliIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const opts = parseArgs(argv);
  if (opts === 'help') {
    io.stdout.write(`${USAGE}\n\n${helpText()}\n`);
    return 0;
  }
  if (typeof opts === 'string') {
    io.stderr.write(`cairn cli: ${opts}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.rest.length > 0) {
    const name = opts.rest[0].toLowerCase();
    if (name === 'help') {
      io.stdout.write(helpText(opts.rest[1]) + '\n');
      return 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd) {
      io.stderr.write(`cairn cli: unknown command '${opts.rest[0]}'\n\n${helpText()}\n`);
      return 2;
    }
    const args = opts.rest.length - 1;
    if (args < cmd.min || (cmd.max !== undefined && args > cmd.max)) {
      io.stderr.write(`cairn cli: usage: ${cmd.usage}\n`);
      return 2;
    }
  }
  let client: CairnClient;
  try {
    client = await createClient({
      host: opts.host,
      port: opts.port,
      password: opts.password,
      name: 'cairn-cli',
      timeoutMs: opts.timeoutMs,
      reconnect: opts.rest.length === 0,
    });
  } catch (err) {
    io.stderr.write(`cairn cli: ${formatError(err).replace('(error) ', '')}\n`);
    return 1;
  }
  try {
    if (opts.rest.length > 0) return (await runOne(client, opts.rest, io.stdout)) ? 0 : 1;
    return await interactive(client, opts, io);
  } finally {
    await client.close();
  }
}
