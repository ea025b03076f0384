#!/usr/bin/env bash
# clinic bubbleprof against `cairn serve --inline` under a light redis-benchmark load: bubbleprof
# records every async operation with its stack (2,000 requests already make ~0.5 GB of trace and
# slow the server a hundredfold), so keep BUBBLE_REQUESTS small.
#
# Not driven with --on-port like doctor.sh and flame.sh: when its load command ends, clinic asks the
# process to stop by emitting 'beforeExit' in it, and under bubbleprof's async-hooks logger the cairn
# server never exits that way (the run then hangs until TIMEOUT). Instead this script starts clinic
# on a fixed port, runs the load itself, and stops the server with SIGINT, its normal graceful stop.
source "$(dirname "$0")/lib.sh"
need redis-benchmark
if [ "$LOAD" = "$DEFAULT_LOAD" ]; then
  LOAD="redis-benchmark -p \$PORT -t set,get -n ${BUBBLE_REQUESTS:-2000} -c 10 -r 100000 -d 100 -q"
fi
build
dest="$OUT/bubbleprof-$STAMP"
mkdir -p "$dest"
data=$(mktemp -d "${TMPDIR:-/tmp}/cairn-profile-XXXXXX")
PORT=$(free_port)
export PORT
log="$dest/clinic.log"
clinic_pid=
cleanup() {
  if [ -n "$clinic_pid" ] && kill -0 "$clinic_pid" 2>/dev/null; then
    pkill -KILL -P "$clinic_pid" 2>/dev/null || true
    kill -KILL "$clinic_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

node_modules/.bin/clinic bubbleprof --open=false --dest "$dest" \
  -- node dist/src/cli.js serve --inline --shards "$SHARDS" \
    --port off --memcache-port off --http-port off --resp-port "$PORT" \
    --data "$data" --max-memory "${MAX_MEMORY:-1gb}" >"$log" 2>&1 &
clinic_pid=$!
wait_ready "$clinic_pid" "$log"
server_pid=$(pgrep -P "$clinic_pid" -f 'dist/src/cli.js serve' | head -1)
[ -n "$server_pid" ] || { echo "cannot find the server process under clinic ($clinic_pid)" >&2; exit 1; }
echo "clinic bubbleprof: $SHARDS shards inline, RESP port $PORT, load: $LOAD" >&2
timeout -k 5 "$TIMEOUT" bash -c "$LOAD" 2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$' || true
kill -INT "$server_pid"
# clinic then joins the trace and writes the HTML report (a minute or more for a big trace)
for _ in $(seq 1 "$((TIMEOUT * 10))"); do kill -0 "$clinic_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$clinic_pid" 2>/dev/null; then echo "clinic still busy after ${TIMEOUT}s; stopping it" >&2; exit 1; fi
clinic_pid=
cat "$log"
ls "$dest"/*.html >/dev/null 2>&1 || { echo "clinic bubbleprof wrote no report under $dest" >&2; exit 1; }
echo "report: $(ls "$dest"/*.html)"
