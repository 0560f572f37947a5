#!/bin/sh
# npm run bench: builds the bundle, starts the dev cloud, runs the local, Cinder and Manila benches
# (root needed: loop devices, mount, dockerd) and ends with the goals table (bench/table.ts): one
# row per goal with the figure measured and PASS or MISS. 4 to 6 minutes with the cloud running.
# BENCH_CLOUD=0: the local bench only (the cloud rows say "not measured").
# BENCH_STRICT=1: exit 1 when a row misses its goal (or was not measured).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --test
node scripts/build.mjs
BENCH_TABLE=$(mktemp /tmp/fuxi-bench-table.XXXXXX)
export BENCH_TABLE
trap 'rm -f "$BENCH_TABLE"' EXIT
status=0
cloud=${BENCH_CLOUD:-1}
# The cloud first, so that every bench runs on a machine in the same state (its services idle).
if [ "$cloud" = 1 ] && ! sh scripts/devcloud/up.sh; then
  echo "bench: the dev cloud did not start; the cloud rows are not measured" >&2
  cloud=0
  status=1
fi
node --import tsx bench/run.ts || status=1
if [ "$cloud" = 1 ]; then
  echo
  node --import tsx bench/cinder.ts || status=1
  echo
  node --import tsx bench/manila.ts || status=1
fi
node --import tsx bench/table.ts "$BENCH_TABLE" || status=1
exit "$status"
