#!/usr/bin/env bash
# clinic bubbleprof against `cairn serve --inline` under a light redis-benchmark load (bubbleprof
# records every async operation: a heavy load makes gigabytes of trace and a very slow server).
source "$(dirname "$0")/lib.sh"
if [ -z "${LOAD_SET:-}" ] && [ "$LOAD" = "$DEFAULT_LOAD" ]; then
  LOAD="redis-benchmark -p \$PORT -t set,get -n ${BUBBLE_REQUESTS:-5000} -c 10 -r 100000 -d 100 -q"
fi
build
dest="$OUT/bubbleprof-$STAMP"
run_clinic bubbleprof "$dest"
echo "report: $(ls "$dest"/*.html)"
