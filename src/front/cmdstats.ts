/**
 * Redis 7's INFO commandstats and errorstats. Two places count, each what only it can see:
 *
 * - the acceptor counts calls, rejected calls (refused before running: arity, NOAUTH, READONLY,
 *   subscribed mode), failed calls (ran and answered an error) and error replies by their first
 *   word, once per client command, however many shards it was split over;
 * - each shard adds up the time its RESP executor spent per command (`ShardUsec`), reported with
 *   the shard's statistics, so usec is time on the shard, not the round trip through the hop; for a
 *   command that waits for the disk (a cold read, a sync write) it runs until its reply is ready,
 *   waits included. Commands the acceptor answers itself are timed there.
 */

/** one command's counters, as one `cmdstat_<name>` line */
export class CommandCounter {
  calls = 0;
  usec = 0;
  rejected = 0;
  failed = 0;
  constructor(
    readonly name: string,
    private readonly owner: CommandStats,
  ) {}

  /** the command's reply left for the client; `rejected`: refused before it ran */
  replied(reply: Buffer, rejected: boolean): void {
    const error = reply.length > 0 && reply[0] === 0x2d; // '-'
    if (rejected) this.rejected++;
    else {
      this.calls++;
      if (error) this.failed++;
    }
    if (error) this.owner.error(reply);
  }
}

/** Redis counts at most 128 distinct error prefixes; past that, new ones go to this line. */
const MAX_ERROR_KINDS = 128;

export class CommandStats {
  private readonly byName = new Map<string, CommandCounter>();
  private readonly errors = new Map<string, number>();
  /** error replies of every kind (INFO stats total_error_replies) */
  totalErrors = 0;
  /** counts the errors of commands that have no counter (an unknown command) */
  readonly unknown = new CommandCounter('', this);

  counter(name: string): CommandCounter {
    let c = this.byName.get(name);
    if (c === undefined) {
      c = new CommandCounter(name, this);
      this.byName.set(name, c);
    }
    return c;
  }

  error(reply: Buffer): void {
    this.totalErrors++;
    // the error's code is its first word, as Redis: "-ERR ...", "-WRONGTYPE ...", "-NOAUTH ..."
    let end = 1;
    while (end < reply.length && end < 64 && reply[end] !== 0x20 && reply[end] !== 0x0d) end++;
    const code = reply.toString('latin1', 1, end);
    const n = this.errors.get(code);
    if (n !== undefined) this.errors.set(code, n + 1);
    else if (this.errors.size < MAX_ERROR_KINDS) this.errors.set(code, 1);
    else this.errors.set('ERRORSTATS_OVERFLOW', (this.errors.get('ERRORSTATS_OVERFLOW') ?? 0) + 1);
  }

  /**
   * `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..` lines,
   * by name; `shardUsec` adds the shards' execution time per command.
   */
  commandLines(shardUsec: ReadonlyMap<string, number>): string[] {
    const out: string[] = [];
    for (const name of [...this.byName.keys()].sort()) {
      const c = this.byName.get(name)!;
      if (c.calls === 0 && c.rejected === 0) continue;
      const usec = Math.round(c.usec + (shardUsec.get(name) ?? 0));
      const perCall = c.calls === 0 ? 0 : usec / c.calls;
      out.push(`cmdstat_${name}:calls=${c.calls},usec=${usec},usec_per_call=${perCall.toFixed(2)},rejected_calls=${c.rejected},failed_calls=${c.failed}`);
    }
    return out;
  }

  /** `errorstat_<CODE>:count=..` lines, by code */
  errorLines(): string[] {
    return [...this.errors.keys()].sort().map((code) => `errorstat_${code}:count=${this.errors.get(code)}`);
  }
}

/** Time a shard's RESP executor spent per command, microseconds. */
export class ShardUsec {
  private readonly byName = new Map<string, number>();
  add(name: string, startMs: number): void {
    this.byName.set(name, (this.byName.get(name) ?? 0) + (performance.now() - startMs) * 1000);
  }
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, us] of this.byName) out[name] = Math.round(us);
    return out;
  }
}
