/**
 * Commands the acceptor answers itself, without a shard: connection state (AUTH, HELLO, CLIENT,
 * SELECT, QUIT), PING/ECHO, TIME, WAIT, and introspection (COMMAND, CONFIG GET).
 */
import { passwordMatches } from '../front/auth.js';
import { COMMANDS, keyIndexes, arityOk, commandName, type CommandSpec } from '../commands/table.js';
import { EMPTY_ARRAY, NIL, OK, PONG, array, bulk, bulkArray, bulkString, err, errCode, integer, simple } from './encode.js';
import { NOAUTH, NOT_INTEGER, SYNTAX, WRONGPASS, arityError, sanitize } from './errors.js';
import { SCRIPT_TIME_LIMIT_MS } from './scripting.js';
import { globMatch } from '../commands/glob.js';
import { REDIS_COMPAT_VERSION, maxmemoryPolicy } from './info.js';
import type { ConnState, LaterPlan, LocalPlan } from '../front/plan.js';
import { clientInfo, clientKill, clientList, clientNoEvict, time, wait } from './clients.js';

const NO_PASSWORD = err('AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
const BAD_NAME = err('Client names cannot contain spaces, newlines or special characters.');

function reply(buf: Buffer, close?: boolean): LocalPlan {
  return close ? { kind: 'local', reply: buf, close: true } : { kind: 'local', reply: buf };
}

/** checks a username/password pair against the single `default` user. */
function authenticate(conn: ConnState, user: Buffer, pass: Buffer): boolean {
  if (user.toString('latin1') !== 'default') return false;
  if (conn.password === null) return true; // the default user is `nopass`
  return passwordMatches(pass, conn.password);
}

function validName(name: Buffer): boolean {
  for (const c of name) if (c < 33 || c > 126) return false;
  return true;
}

/** `spec` is the resolved (sub)command; args as received. */
export function planLocal(spec: CommandSpec, args: Buffer[], conn: ConnState): LocalPlan | LaterPlan {
  switch (spec.name) {
    case 'ping':
      if (args.length > 2) return reply(arityError('ping'));
      return reply(args.length === 1 ? PONG : bulk(args[1]));
    case 'echo':
      return reply(bulk(args[1]));
    case 'quit':
      return reply(OK, true);
    case 'select': {
      const text = args[1].toString('latin1');
      if (!/^(0|-?[1-9]\d{0,9})$/.test(text) || Math.abs(Number(text)) > 2147483647) {
        return reply(NOT_INTEGER);
      }
      return reply(Number(text) === 0 ? OK : err('DB index is out of range'));
    }
    case 'auth':
      return reply(auth(args, conn));
    case 'hello':
      return reply(hello(args, conn));
    case 'client|id':
      return reply(integer(conn.id));
    case 'client|getname':
      return reply(conn.name === null ? NIL : bulkString(conn.name));
    case 'client|setname':
      if (!validName(args[2])) return reply(BAD_NAME);
      conn.name = args[2].length === 0 ? null : args[2].toString('latin1');
      return reply(OK);
    case 'client|setinfo': {
      const attr = args[2].toString('latin1').toLowerCase();
      if (attr !== 'lib-name' && attr !== 'lib-ver') {
        return reply(err(sanitize(`Unrecognized option '${args[2].toString('latin1')}'`)));
      }
      if (!validName(args[3]) && args[3].length > 0) {
        return reply(err(`${attr} cannot contain spaces, newlines or special characters.`));
      }
      if (attr === 'lib-name') conn.libName = args[3].toString('latin1');
      else conn.libVer = args[3].toString('latin1');
      return reply(OK);
    }
    case 'client|list':
      return reply(clientList(args, conn));
    case 'client|info':
      return reply(clientInfo(conn));
    case 'client|kill':
      return clientKill(args, conn);
    case 'client|no-evict':
      return reply(clientNoEvict(args, conn));
    case 'time':
      return reply(time());
    case 'wait':
      return wait(args, conn);
    case 'client|help':
      return reply(
        help('CLIENT', [
          'GETNAME',
          '    Return the name of the current connection.',
          'ID',
          '    Return the ID of the current connection.',
          'INFO',
          '    Return information about the current client connection.',
          'KILL <ip:port>',
          '    Kill connection made from <ip:port>.',
          'KILL <option> <value> [<option> <value> [...]]',
          '    Kill connections. Options are:',
          '    * ADDR (<ip:port>|<unixsocket>:0)',
          '      Kill connections made from the specified address',
          '    * LADDR (<ip:port>|<unixsocket>:0)',
          '      Kill connections made to specified local address',
          '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
          '      Kill connections by type.',
          '    * USER <username>',
          '      Kill connections authenticated by <username>.',
          '    * SKIPME (YES|NO)',
          '      Skip killing current connection (default: yes).',
          'LIST [options ...]',
          '    Return information about client connections. Options:',
          '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
          '      Return clients of specified type.',
          'SETNAME <name>',
          '    Assign the name <name> to the current connection.',
          'SETINFO <option> <value>',
          '    Set client meta attr. Options are:',
          '    * LIB-NAME: the client lib name.',
          '    * LIB-VER: the client lib version.',
          'NO-EVICT (ON|OFF)',
          '    Protect current client connection from eviction.',
        ]),
      );
    case 'command':
      return reply(array([...COMMANDS.values()].map(commandInfo)));
    case 'command|count':
      return reply(integer(COMMANDS.size));
    case 'command|info': {
      if (args.length === 2) return reply(array([...COMMANDS.values()].map(commandInfo)));
      return reply(
        array(
          args.slice(2).map((a) => {
            const spec = lookup(a);
            return spec === undefined ? NIL : commandInfo(spec);
          }),
        ),
      );
    }
    case 'command|docs': {
      const specs =
        args.length === 2
          ? [...COMMANDS.values()]
          : args
              .slice(2)
              .map(lookup)
              .filter((s): s is CommandSpec => s !== undefined);
      const items: Buffer[] = [];
      for (const s of specs) items.push(bulkString(s.name), commandDocs(s));
      return reply(array(items));
    }
    case 'command|list':
      return reply(commandList(args));
    case 'command|getkeys':
      return reply(getKeys(args.slice(2)));
    case 'command|help':
      return reply(
        help('COMMAND', [
          '(no subcommand)',
          '    Return details about all Redis commands.',
          'COUNT',
          '    Return the total number of commands in this Redis server.',
          'LIST',
          '    Return a list of all commands in this Redis server.',
          'INFO [<command-name> ...]',
          '    Return details about multiple Redis commands.',
          '    If no command names are given, documentation details for all',
          '    commands are returned.',
          'DOCS [<command-name> ...]',
          '    Return documentation details about multiple Redis commands.',
          '    If no command names are given, documentation details for all',
          '    commands are returned.',
          'GETKEYS <full-command>',
          '    Return the keys from a full Redis command.',
        ]),
      );
    case 'config|get':
      return reply(configGet(args.slice(2), conn));
    case 'object|help':
      return reply(
        help('OBJECT', [
          'ENCODING <key>',
          '    Return the kind of internal representation used in order to store the value',
          '    associated with a <key>.',
          'FREQ <key>',
          '    Return the access frequency index of the <key>. The returned integer is',
          '    proportional to the logarithm of the recent access frequency of the key.',
        ]),
      );
    case 'config|help':
      return reply(help('CONFIG', ['GET <pattern>', '    Return parameters matching the glob-like <pattern> and their values.']));
    default:
      return reply(err(`command '${spec.name}' is not answered here`));
  }
}

function auth(args: Buffer[], conn: ConnState): Buffer {
  if (args.length > 3) return SYNTAX;
  if (args.length === 2) {
    if (conn.password === null) return NO_PASSWORD;
    if (!passwordMatches(args[1], conn.password)) return WRONGPASS;
  } else if (!authenticate(conn, args[1], args[2])) {
    return WRONGPASS;
  }
  conn.authenticated = true;
  return OK;
}

function hello(args: Buffer[], conn: ConnState): Buffer {
  let next = 1;
  if (args.length >= 2) {
    const text = args[1].toString('latin1');
    if (!/^(0|-?[1-9]\d{0,18})$/.test(text)) return err('Protocol version is not an integer or out of range');
    // cairn speaks RESP2 only, so HELLO 3 is refused like an unknown version.
    if (BigInt(text) !== 2n) return errCode('NOPROTO unsupported protocol version');
    next = 2;
  }
  for (let j = next; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = args[j].toString('latin1').toLowerCase();
    if (opt === 'auth' && more >= 2) {
      if (!authenticate(conn, args[j + 1], args[j + 2])) return WRONGPASS;
      conn.authenticated = true;
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      if (!validName(args[j + 1])) return BAD_NAME;
      conn.name = args[j + 1].length === 0 ? null : args[j + 1].toString('latin1');
      j++;
    } else {
      return err(sanitize(`Syntax error in HELLO option '${args[j].toString('latin1')}'`));
    }
  }
  if (conn.password !== null && !conn.authenticated) {
    return errCode(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  return array([
    bulkString('server'),
    bulkString('redis'),
    bulkString('version'),
    bulkString(REDIS_COMPAT_VERSION),
    bulkString('proto'),
    integer(2),
    bulkString('id'),
    integer(conn.id),
    bulkString('mode'),
    bulkString('standalone'),
    bulkString('role'),
    bulkString('master'),
    bulkString('modules'),
    EMPTY_ARRAY,
  ]);
}

function help(container: string, lines: string[]): Buffer {
  const all = [`${container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`, ...lines, 'HELP', '    Prints this help.'];
  return array(all.map(simple));
}

/** a command by name, `container|sub` included. */
function lookup(nameArg: Buffer): CommandSpec | undefined {
  const name = commandName(nameArg);
  const bar = name.indexOf('|');
  if (bar < 0) return COMMANDS.get(name);
  return COMMANDS.get(name.slice(0, bar))?.subcommands?.get(name.slice(bar + 1));
}

function commandInfo(spec: CommandSpec): Buffer {
  return array([
    bulkString(spec.name),
    integer(spec.arity),
    array(spec.flags.map(simple)),
    integer(spec.firstKey),
    integer(spec.lastKey),
    integer(spec.step),
    array(spec.acl.map((a) => simple(`@${a}`))),
    EMPTY_ARRAY, // tips
    EMPTY_ARRAY, // key specs
    array([...(spec.subcommands?.values() ?? [])].map(commandInfo)),
  ]);
}

function commandDocs(spec: CommandSpec): Buffer {
  const items = [bulkString('summary'), bulkString(spec.summary), bulkString('since'), bulkString(spec.since), bulkString('group'), bulkString(spec.group)];
  if (spec.subcommands !== undefined) {
    const subs: Buffer[] = [];
    for (const sub of spec.subcommands.values()) subs.push(bulkString(sub.name), commandDocs(sub));
    items.push(bulkString('subcommands'), array(subs));
  }
  return array(items);
}

function allSpecs(): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const spec of COMMANDS.values()) {
    out.push(spec);
    if (spec.subcommands) out.push(...spec.subcommands.values());
  }
  return out;
}

function commandList(args: Buffer[]): Buffer {
  let specs = allSpecs();
  if (args.length > 2) {
    if (args.length !== 5 || args[2].toString('latin1').toLowerCase() !== 'filterby') return SYNTAX;
    const kind = args[3].toString('latin1').toLowerCase();
    const value = args[4];
    if (kind === 'module') specs = [];
    else if (kind === 'aclcat') {
      const cat = value.toString('latin1').toLowerCase();
      specs = specs.filter((s) => s.acl.includes(cat));
    } else if (kind === 'pattern') specs = specs.filter((s) => globMatch(value, Buffer.from(s.name)));
    else return SYNTAX;
  }
  return bulkArray(specs.map((s) => Buffer.from(s.name)));
}

function getKeys(cmd: Buffer[]): Buffer {
  let spec = COMMANDS.get(commandName(cmd[0]));
  if (spec === undefined) return err('Invalid command specified');
  if (spec.subcommands !== undefined && cmd.length >= 2) {
    const sub = spec.subcommands.get(commandName(cmd[1]));
    if (sub === undefined) return err('Invalid command specified');
    spec = sub;
  }
  if (!arityOk(spec, cmd.length)) return err('Invalid number of arguments specified for command');
  const idx = keyIndexes(spec, cmd.length, cmd);
  if (idx.length === 0) return err('The command has no key arguments');
  return bulkArray(idx.map((i) => cmd[i]));
}

function configGet(patterns: Buffer[], conn: ConnState): Buffer {
  const params: [string, string][] = [
    ['appendonly', 'no'],
    ['busy-reply-threshold', String(conn.server?.scriptTimeLimitMs ?? SCRIPT_TIME_LIMIT_MS)],
    ['lua-time-limit', String(conn.server?.scriptTimeLimitMs ?? SCRIPT_TIME_LIMIT_MS)],
    ['databases', '1'],
    ['maxmemory-policy', maxmemoryPolicy(conn.server?.eviction)],
    ['notify-keyspace-events', conn.pubsub?.notifyConfig() ?? ''],
    ['port', String(conn.server?.port ?? 0)],
    ['save', ''],
    ['timeout', '0'],
  ];
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    const lower = Buffer.from(pattern.toString('latin1').toLowerCase(), 'latin1');
    for (const [name, value] of params) {
      if (seen.has(name) || !globMatch(lower, Buffer.from(name))) continue;
      seen.add(name);
      out.push(Buffer.from(name), Buffer.from(value));
    }
  }
  return bulkArray(out);
}

export { NOAUTH };
