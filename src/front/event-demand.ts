/**
 * Which key events a front thread wants from the shards. Several consumers on one thread want them
 * (key subscriptions, keyspace notifications, the replication backlog); the shards send events while
 * any of them does, and nothing while none does (src/hop/link.ts's EventGate).
 */
export class EventDemand {
  private wanted = 0;
  private consumers = 0;

  constructor(private readonly listen: (on: boolean) => void) {}

  /** A new consumer's switch: call it with true while the consumer wants key events. */
  consumer(): (on: boolean) => void {
    if (this.consumers === 31) throw new RangeError('EventDemand holds at most 31 consumers');
    const bit = 1 << this.consumers++;
    return (on) => {
      this.wanted = on ? this.wanted | bit : this.wanted & ~bit;
      this.listen(this.wanted !== 0);
    };
  }
}
