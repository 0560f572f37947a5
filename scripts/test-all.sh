#!/bin/sh
# The whole suite, as CI runs it: installs what is missing (Debian packages, npm modules), starts
# the dev cloud (Keystone, Cinder, Manila, Nova from Debian packages) in the background, then lint,
# type-check, build, and the unit, host, docker, cloud and multihost tiers. Every step runs even
# when an earlier one failed (a tier that cannot run is skipped and says why); the end prints one
# line per step and the tests passed and failed over all tiers, and the exit status is non-zero
# when anything failed. Each tier that needs dockerd starts its own; the dev cloud is stopped at
# the end unless it was already running.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "the full suite needs root (loop devices, mount, dockerd); run: sudo npm test" >&2
  exit 1
fi
start=$(date +%s)
logs=$(mktemp -d "${TMPDIR:-/tmp}/fuxi-test-all.XXXXXX")
devcloud_log=$logs/devcloud-up.log
summary=$logs/summary
: > "$summary"
step() { printf '\n=== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }
note() { printf '%-12s %s\n' "$1" "$2" >> "$summary"; }

# Runs one step with its output shown and kept; records passed/failed (and test counts for tiers).
run() {
  name=$1
  shift
  step "$name"
  rc_file=$logs/$name.rc
  { "$@"; echo $? > "$rc_file"; } 2>&1 | tee "$logs/$name.log"
  rc=$(cat "$rc_file")
  pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$logs/$name.log" | tail -n 1)
  fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$logs/$name.log" | tail -n 1)
  skip=$(sed -n 's/^ℹ skipped \([0-9]*\)$/\1/p' "$logs/$name.log" | tail -n 1)
  cancelled=$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$logs/$name.log" | tail -n 1)
  # A test cancelled (e.g. by the timeout) counts as failed.
  fail=$(( ${fail:-0} + ${cancelled:-0} ))
  counts=""
  if [ -n "$pass" ]; then
    counts=" ($pass passed, $fail failed, ${skip:-0} skipped)"
    echo "$pass $fail" >> "$logs/counts"
  fi
  if [ "$rc" = 0 ]; then note "$name" "passed$counts"; else note "$name" "FAILED (exit $rc)$counts"; fi
  return "$rc"
}
# A step that cannot run: says why, and counts as a failure (CI never skips silently).
skip() {
  step "$1"
  echo "skipped: $2"
  note "$1" "SKIPPED: $2"
}

run deps sh scripts/install-deps.sh --test || { cat "$summary"; exit 1; }

step "dev cloud: starting in the background (log: $devcloud_log)"
was_up=0
sh scripts/devcloud/status.sh > /dev/null 2>&1 && was_up=1
sh scripts/devcloud/up.sh > "$devcloud_log" 2>&1 &
devcloud_pid=$!
finish() {
  wait "$devcloud_pid" 2> /dev/null || true
  [ "$was_up" = 1 ] || sh scripts/devcloud/down.sh > /dev/null 2>&1 || true
}
trap finish EXIT

run lint npx biome ci --colors=off .
run structure node scripts/check-structure.mjs
run types npx tsc -p tsconfig.json
built=0
run build node scripts/build.mjs && built=1
run unit sh scripts/test.sh unit
# No test may pass or fail by today's date: the unit tier again, with the clock five years ahead.
run unit+5y faketime -f +5y sh scripts/test.sh unit
if [ "$built" = 1 ]; then
  run host env FUXI_USE_DIST=1 sh scripts/test.sh host
  run docker env FUXI_USE_DIST=1 sh scripts/test.sh docker
else
  skip host "the build failed (see build above)"
  skip docker "the build failed (see build above)"
fi
step "waiting for the dev cloud"
cloud_up=0
if wait "$devcloud_pid"; then
  cloud_up=1
  tail -n 3 "$devcloud_log"
else
  cat "$devcloud_log"
  note devcloud "FAILED: scripts/devcloud/up.sh did not start the dev cloud (log above)"
fi
if [ "$cloud_up" = 1 ]; then
  if [ "$built" = 1 ]; then
    # The daemons run the production bundle, as users do (a bundling fault shows here).
    run cloud env FUXI_USE_DIST=1 sh scripts/test.sh cloud
    run multihost env FUXI_USE_DIST=1 sh scripts/test.sh multihost
  else
    skip cloud "the build failed (see build above)"
    skip multihost "the build failed (see build above)"
  fi
  # The image and the managed plugin, with the local provider, then Cinder and Manila; and
  # PostgreSQL on a fuxi volume.
  if [ "$built" = 1 ]; then
    run image env FUXI_USE_DIST=1 sh scripts/test.sh image
  else
    skip image "the build failed (see build above)"
  fi
else
  skip image "the dev cloud did not start"
  skip cloud "the dev cloud did not start"
  skip multihost "the dev cloud did not start"
fi

step "summary"
cat "$summary"
passed=0
failed=0
if [ -f "$logs/counts" ]; then
  while read -r p f; do
    passed=$((passed + p))
    failed=$((failed + f))
  done < "$logs/counts"
fi
elapsed=$(( $(date +%s) - start ))
echo "$passed passed, $failed failed (tests over all tiers; ${elapsed}s; logs in $logs)"
if grep -q -e FAILED -e SKIPPED "$summary"; then exit 1; fi
exit 0
