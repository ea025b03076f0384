# Shared by the profile scripts (sourced, not run). Settings, all optional, from the environment:
#   SHARDS      shard count (default: the core count)
#   REQUESTS    redis-benchmark requests per test (default 500000)
#   LOAD        the load command; $PORT is the server's RESP port
#               (default: redis-benchmark SET then GET, 50 clients, pipeline 16, 100-byte values, 100k keys)
#   TIMEOUT     seconds before a run is stopped, whatever it is doing (default 300)
#   SERVER_ARGS more `cairn serve` flags for cpu-prof.sh, e.g. "--durability spill"
#   SKIP_BUILD=1         profile what dist/ already holds
#   ALLOW_TSC_ERRORS=1   go on when tsc reports errors (it still writes dist/)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT="$ROOT/profiles/out"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
SHARDS=${SHARDS:-$(nproc)}
REQUESTS=${REQUESTS:-500000}
TIMEOUT=${TIMEOUT:-300}
DEFAULT_LOAD="redis-benchmark -p \$PORT -t set,get -n $REQUESTS -c 50 -P 16 -r 100000 -d 100 -q"
LOAD=${LOAD:-$DEFAULT_LOAD}
# clinic asks for telemetry consent on stdin the first time (and exits silently, status 0, when it
# cannot ask) and checks npm for updates: neither belongs in a scripted run
export NO_INSIGHT=1 NO_UPDATE_NOTIFIER=1
mkdir -p "$OUT"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "$1 not found: run test/tools.sh (Debian: redis-tools)" >&2; exit 1; }
}

build() {
  if [ "${SKIP_BUILD:-0}" = 1 ]; then return; fi
  echo "building (tsc)…" >&2
  if ! npx tsc -p tsconfig.json >&2; then
    if [ "${ALLOW_TSC_ERRORS:-0}" = 1 ]; then
      echo "tsc reported errors; profiling what it emitted (ALLOW_TSC_ERRORS=1)" >&2
    else
      echo "tsc failed; fix the build or set ALLOW_TSC_ERRORS=1" >&2
      exit 1
    fi
  fi
  [ -f dist/src/cli.js ] || { echo "dist/src/cli.js missing after the build" >&2; exit 1; }
}

# wait_ready PID LOG: waits until the server that PID runs (or runs under) logs "ready" in LOG;
# exits the script with the log when PID exits first or 30 s pass
wait_ready() {
  local p=$1 log=$2
  for _ in $(seq 1 300); do
    grep -q ready "$log" && return 0
    kill -0 "$p" 2>/dev/null || { cat "$log" >&2; echo "the server exited while starting" >&2; exit 1; }
    sleep 0.1
  done
  cat "$log" >&2
  echo "the server did not start" >&2
  exit 1
}

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# clinic TOOL DEST: `cairn serve --inline` (every shard on the main thread, the only one clinic can
# see) with only the RESP port open, so clinic's $PORT is that port; clinic runs LOAD once the server
# listens, then stops the server (SIGINT) and writes its HTML report next to the data.
run_clinic() {
  local tool=$1 dest=$2
  local data
  data=$(mktemp -d "${TMPDIR:-/tmp}/cairn-profile-XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$data'" EXIT
  need redis-benchmark
  echo "clinic $tool: $SHARDS shards inline, load: $LOAD" >&2
  # timeout signals the whole process group (clinic, the server, the load) and SIGKILLs 15 s later
  set +e
  timeout -k 15 "$TIMEOUT" node_modules/.bin/clinic "$tool" --open=false --dest "$dest" \
    --on-port "$LOAD" \
    -- node dist/src/cli.js serve --inline --shards "$SHARDS" \
      --port off --memcache-port off --http-port off --resp-port 0 \
      --data "$data" --max-memory "${MAX_MEMORY:-1gb}" \
    2>&1 | tr '\r' '\n' | grep -v 'rps=' | grep -v '^ *$'
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then echo "clinic $tool exited $status (124: stopped after ${TIMEOUT}s)" >&2; fi
  ls "$dest"/*.html >/dev/null 2>&1 || { echo "clinic $tool wrote no report under $dest" >&2; exit 1; }
}
