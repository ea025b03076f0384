#!/usr/bin/env bash
# The threaded server (acceptor on the main thread, one worker thread per shard) under
# `node --cpu-prof`, which writes one .cpuprofile per thread when the server exits; then the top
# self-time functions of each thread (profiles/top.mjs). See profiles/README.md.
source "$(dirname "$0")/lib.sh"
need redis-benchmark
build
dir="$OUT/cpu-prof-$STAMP"
mkdir -p "$dir"
data=$(mktemp -d "${TMPDIR:-/tmp}/cairn-profile-XXXXXX")
PORT=$(free_port)
export PORT
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

node --cpu-prof --cpu-prof-dir="$dir" ${NODE_PROF_FLAGS:-} dist/src/cli.js serve --shards "$SHARDS" \
  --port off --memcache-port off --http-port off --resp-port "$PORT" \
  --data "$data" --max-memory "${MAX_MEMORY:-1gb}" ${SERVER_ARGS:-} >"$dir/server.log" 2>&1 &
pid=$!
wait_ready "$pid" "$dir/server.log"
echo "cpu-prof: $SHARDS shard threads, RESP port $PORT, load: $LOAD" >&2
timeout -k 5 "$TIMEOUT" bash -c "$LOAD" 2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$' | tee "$dir/load.txt" || true
# a graceful stop: every thread exits normally, which is when V8 writes its profile
kill -INT "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "the server did not stop in 30 s; killing it (its profiles are lost)" >&2; fi
wait "$pid" 2>/dev/null || true
pid=
ls "$dir"/*.cpuprofile >/dev/null 2>&1 || { echo "no .cpuprofile written under $dir" >&2; exit 1; }
node profiles/top.mjs --top "${TOP:-10}" --idle waitBlocking "$dir" | tee "$dir/summary.txt"
echo "profiles: $dir (open a .cpuprofile in Chrome DevTools › Performance, or speedscope)"
