/** What a ring message carries; the shard picks the executor by it. */
export const MessageKind = {
  /** a whole native protocol request frame; the reply is a whole reply frame */
  NATIVE: 1,
  /** one RESP command, raw bytes; the reply is RESP bytes */
  RESP: 2,
  /** one memcached text command (line plus data block); the reply is memcached bytes */
  MEMCACHE: 3,
  /** a native frame sent to every shard; the replies are merged by the acceptor */
  NATIVE_BROADCAST: 4,
  /**
   * shard → front, unasked: a key event (seq = event code, payload = key; see src/events/codes.ts).
   * Sent only to fronts whose word in the shared events array says they have subscribers.
   */
  EVENT: 5,
  /** front → shard: report store statistics and command metrics; the reply is msgpack (ShardMetricsReport) */
  METRICS: 6,
  /** reserved: front → shard owning a channel, forwarded to every subscribed front as an EVENT */
  PUBLISH: 7,
  /** a reply that failed inside the shard before any protocol could answer */
  FAILURE: 9,
} as const;
