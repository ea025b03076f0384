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
  /**
   * front → shard: hold the shard for this message's (front, connection): until the RELEASE, the shard
   * runs only that connection's messages and defers every other one (src/shards/hold.ts). The payload
   * is a RESP command run once held (a transaction's watch checks); the reply is its RESP reply.
   */
  HOLD: 10,
  /**
   * front → shard: run the payload (a RESP command) as the holder, then release the hold once its
   * reply is complete. Refused with a FAILURE, running nothing, when the shard is not held by the sender.
   */
  RELEASE: 11,
  /**
   * front → shard: run the payload (a RESP command) as the holder, keeping the hold (a script running
   * across shards sends each of its commands so, src/resp/scripting.ts). Refused with a FAILURE,
   * running nothing, when the shard is not held by the sender: a command of a held script never runs
   * outside its hold.
   */
  HELD: 12,
  /**
   * front → shard: one RESP command that may block (BLPOP, BLMOVE, ...): answered when a push serves
   * it, when it times out, or at once. The front sends nothing else of that connection meanwhile, and
   * logs it aside from the FIFO of its in-flight requests, since it may be answered long after later
   * ones (src/front/inflight.ts).
   */
  BLOCKING: 13,
  /**
   * front → shard: the connection closed while its BLOCKING message was unanswered. The shard ends
   * that command's wait without taking anything (or, when it has not run yet, never runs it) and
   * answers it with an empty payload nobody reads; the CANCEL itself is answered with an empty payload.
   */
  CANCEL: 14,
} as const;
