#!/usr/bin/env bash
# clinic doctor against `cairn serve --inline` under redis-benchmark load; see profiles/README.md.
source "$(dirname "$0")/lib.sh"
build
dest="$OUT/doctor-$STAMP"
run_clinic doctor "$dest"
node profiles/doctor-summary.mjs "$dest"/*.clinic-doctor | tee "$dest/summary.txt"
echo "report: $(ls "$dest"/*.html)"
