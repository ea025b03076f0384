#!/usr/bin/env bash
# clinic flame against `cairn serve --inline` under redis-benchmark load; see profiles/README.md.
source "$(dirname "$0")/lib.sh"
build
dest="$OUT/flame-$STAMP"
run_clinic flame "$dest"
node profiles/top.mjs --top "${TOP:-20}" "$dest" | tee "$dest/summary.txt"
echo "report: $(ls "$dest"/*.html)"
