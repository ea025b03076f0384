#!/usr/bin/env bash
# The threaded server's CPU time per thread over one fixed load, from /proc/<pid>/task/*/stat: which
# thread pays for a request (the acceptor is the thread whose id is the process id; the busiest others
# are the shards, then LevelDB's compaction thread and the libuv pool and V8 helper threads). The
# load runs after WARMUP, and the second reading waits until the writeback writer has nothing left
# to write, so a writer's deferred work is counted. See profiles/README.md.
#   LOAD      the measured load ($PORT: the RESP port); REQUESTS the requests it sends (for µs/request)
#   WARMUP    a load run first and not counted (default: SETs filling the keyspace)
source "$(dirname "$0")/lib.sh"
need redis-benchmark
need redis-cli
build
data=$(mktemp -d "${TMPDIR:-/tmp}/cairn-profile-XXXXXX")
PORT=$(free_port)
export PORT
WARMUP=${WARMUP:-"redis-benchmark -p \$PORT -t set -n 200000 -r 100000 -d 100 -P 16 -c 50 -q >/dev/null"}
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

node dist/src/cli.js serve --shards "$SHARDS" --port off --memcache-port off --http-port off \
  --resp-port "$PORT" --data "$data" --max-memory "${MAX_MEMORY:-1gb}" ${SERVER_ARGS:-} >"$data/server.log" 2>&1 &
pid=$!
wait_ready "$pid" "$data/server.log"

# utime + stime of every thread, in clock ticks: "tid ticks"
snapshot() {
  for t in /proc/"$pid"/task/*; do
    echo "$(basename "$t") $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0)"
  done | sort
}
# waits until every shard's writeback queue is empty (INFO's writeback lines), at most 30 s
settle() {
  for _ in $(seq 1 300); do
    redis-cli -p "$PORT" info 2>/dev/null | grep -q '^cairn_writeback_unwritten_keys:[1-9]' || return 0
    sleep 0.1
  done
}

bash -c "$WARMUP"
settle
before=$(snapshot)
echo "threads: $SHARDS shards, load: $LOAD" >&2
bash -c "$LOAD" 2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$' || true
settle
after=$(snapshot)
hz=$(getconf CLK_TCK)
# the default load sends REQUESTS SETs and as many GETs
sent=$REQUESTS
[ "$LOAD" = "$DEFAULT_LOAD" ] && sent=$((2 * REQUESTS))
join <(echo "$before") <(echo "$after") | awk -v pid="$pid" -v hz="$hz" -v n="$sent" '
  { ms = ($3 - $2) * 1000 / hz; if (ms <= 0) next; total += ms
    printf "%-10s %-9s %8d ms %8.2f µs/request\n", $1, ($1 == pid ? "acceptor" : "-"), ms, ms * 1000 / n }
  END { printf "%-20s %8d ms %8.2f µs/request\n", "all threads", total, total * 1000 / n }' | sort -k3,3 -n -r
