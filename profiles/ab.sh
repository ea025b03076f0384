#!/usr/bin/env bash
# A/B of two commits on one machine in one sitting: each is built in a temporary git worktree
# (sharing this checkout's node_modules), then the benchmarks run for each in turn, alternating
# base/new so that a drift of the machine hits both, and ab-summary.mjs puts the figures of the
# JSON lines side by side.
#
#   bash profiles/ab.sh <base-ref> [new-ref]      (new-ref defaults to HEAD)
#
# Settings (environment): AB_BENCHES (default "compare native": npm run bench:compare and
# bench:native), AB_ROUNDS (default 1: base then new once per bench), and the benchmarks' own
# settings (COMPARE_SECONDS, COMPARE_MEMORY, ...). Output: profiles/out/ab-<stamp>/, one log per run
# and summary.txt. About 11 minutes with the defaults on a 2-core machine.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${1:?usage: profiles/ab.sh <base-ref> [new-ref]}
NEW=${2:-HEAD}
BENCHES=${AB_BENCHES:-compare native}
ROUNDS=${AB_ROUNDS:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$ROOT/profiles/out/ab-$STAMP"
mkdir -p "$OUT"
TREES=()
cleanup() { for t in "${TREES[@]}"; do git -C "$ROOT" worktree remove --force "$t" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT INT TERM

checkout() { # <dir> <ref>
  git -C "$ROOT" worktree add --detach --force "$1" "$2" >/dev/null
  ln -s "$ROOT/node_modules" "$1/node_modules"
  echo "building $(git -C "$1" log -1 --format='%h %s' | cut -c1-80)…" >&2
  (cd "$1" && npx tsc -p tsconfig.json >&2)
}
BASE_DIR=$(mktemp -d /tmp/cairn-ab-base-XXXXXX)
NEW_DIR=$(mktemp -d /tmp/cairn-ab-new-XXXXXX)
TREES=("$BASE_DIR" "$NEW_DIR")
checkout "$BASE_DIR" "$BASE"
checkout "$NEW_DIR" "$NEW"
{ echo "base: $(git -C "$BASE_DIR" log -1 --format='%h %s')"; echo "new:  $(git -C "$NEW_DIR" log -1 --format='%h %s')"; } > "$OUT/refs.txt"

for round in $(seq 1 "$ROUNDS"); do
  for bench in $BENCHES; do
    for side in base new; do
      dir=$BASE_DIR; [ "$side" = new ] && dir=$NEW_DIR
      log="$OUT/$side-$bench-$round.log"
      echo "round $round: $bench on $side → $log" >&2
      (cd "$dir" && node "dist/bench/$bench.js") > "$log" 2>&1 || { echo "$bench on $side failed; see $log" >&2; exit 1; }
    done
  done
done
node "$ROOT/profiles/ab-summary.mjs" "$OUT" | tee "$OUT/summary.txt"
