/**
 * Pub/sub for one RESP connection, exactly as Redis 7 answers it over RESP2: (P)SUBSCRIBE /
 * (P)UNSUBSCRIBE confirmations, PUBLISH, PUBSUB, RESET, CONFIG SET notify-keyspace-events, and the
 * `message` / `pmessage` pushes, which go straight to the socket (or behind replies still owed).
 */
import { array, bulk, bulkArray, bulkString, err, integer, NIL, OK } from '../resp/encode.js';
import type { ConnState, PubSubHandle } from '../front/plan.js';
import { type ChannelBus, notifyFlagsString, parseNotifyFlags, type ChannelSubscriber } from './bus.js';

const MESSAGE = bulkString('message');
const PMESSAGE = bulkString('pmessage');
const RESET = Buffer.from('+RESET\r\n');

function confirm(kind: string, name: Buffer | null, count: number): Buffer {
  return array([bulkString(kind), name === null ? NIL : bulk(name), integer(count)]);
}

export class RespPubSub implements PubSubHandle, ChannelSubscriber {
  constructor(
    private readonly bus: ChannelBus,
    /** write a push (message) for this connection */
    private readonly push: (bytes: Buffer) => void,
  ) {}

  get subscribed(): boolean {
    return this.bus.count(this) > 0;
  }

  get channels(): number {
    return this.bus.channelsOf(this).length;
  }

  get patterns(): number {
    return this.bus.patternsOf(this).length;
  }

  pushMessage(pattern: Buffer | null, channel: Buffer, message: Buffer): void {
    this.push(pattern === null ? array([MESSAGE, bulk(channel), bulk(message)]) : array([PMESSAGE, bulk(pattern), bulk(channel), bulk(message)]));
  }

  notifyConfig(): string {
    return notifyFlagsString(this.bus.notify);
  }

  /** The connection closed. */
  close(): void {
    this.bus.drop(this);
  }

  run(name: string, args: Buffer[], conn: ConnState): Buffer {
    const bus = this.bus;
    switch (name) {
      case 'subscribe':
      case 'psubscribe': {
        const pattern = name === 'psubscribe';
        const out: Buffer[] = [];
        for (const ch of args.slice(1)) out.push(confirm(name, ch, bus.subscribe(this, ch, pattern)));
        return Buffer.concat(out);
      }
      case 'unsubscribe':
      case 'punsubscribe': {
        const pattern = name === 'punsubscribe';
        const names = args.length > 1 ? args.slice(1) : pattern ? bus.patternsOf(this) : bus.channelsOf(this);
        if (names.length === 0) return confirm(name, null, bus.count(this));
        return Buffer.concat(names.map((ch) => confirm(name, ch, bus.unsubscribe(this, ch, pattern))));
      }
      case 'publish':
        return integer(bus.publish(args[1], args[2]));
      case 'pubsub|channels':
        if (args.length > 3) return err("wrong number of arguments for 'pubsub|channels' command");
        return bulkArray(bus.activeChannels(args.length === 3 ? args[2] : null));
      case 'pubsub|numsub': {
        const out: Buffer[] = [];
        for (const ch of args.slice(2)) out.push(bulk(ch), integer(bus.numsub(ch)));
        return array(out);
      }
      case 'pubsub|numpat':
        return integer(bus.numpat());
      case 'pubsub|help':
        return array(
          [
            'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
            'CHANNELS [<pattern>]',
            "    Return the currently active channels matching a <pattern> (default: '*').",
            'NUMPAT',
            '    Return number of subscriptions to patterns.',
            'NUMSUB [<channel> ...]',
            '    Return the number of subscribers for the specified channels, excluding',
            '    pattern subscriptions(default: no channels).',
            'HELP',
            '    Prints this help.',
          ].map((s) => Buffer.from(`+${s}\r\n`)),
        );
      case 'reset':
        bus.drop(this);
        conn.name = null;
        conn.authenticated = conn.password === null;
        return RESET;
      case 'config|set':
        return this.configSet(args.slice(2));
      default:
        return err(`command '${name}' is not answered here`);
    }
  }

  /** CONFIG SET: only notify-keyspace-events changes anything; the rest of CONFIG GET is fixed. */
  private configSet(pairs: Buffer[]): Buffer {
    if (pairs.length % 2 !== 0) return err("wrong number of arguments for 'config|set' command");
    let flags: number | null = null;
    for (let i = 0; i < pairs.length; i += 2) {
      const param = pairs[i].toString('latin1').toLowerCase();
      if (param !== 'notify-keyspace-events') {
        return err(`Unknown option or number of arguments for CONFIG SET - '${pairs[i].toString('latin1').replace(/[\r\n]/g, ' ')}'`);
      }
      flags = parseNotifyFlags(pairs[i + 1].toString('latin1'));
      if (flags === null) {
        return err("CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      }
    }
    if (flags !== null) this.bus.setNotify(flags);
    return OK;
  }
}
