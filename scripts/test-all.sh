#!/bin/sh
# The whole suite, as CI runs it: installs what is missing (Debian packages, npm modules), starts
# the dev cloud (Keystone, Cinder, Manila from Debian packages) in the background, then lint,
# type-check, config-sample check, build, and the unit, host, docker and cloud tiers. Each tier
# that needs dockerd starts its own private one and stops it afterwards; the dev cloud is stopped
# at the end unless it was already running.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "the full suite needs root (loop devices, mount, dockerd); run: sudo npm test" >&2
  exit 1
fi
start=$(date +%s)
devcloud_log=${TMPDIR:-/tmp}/fuxi-devcloud-up.log
step() { printf '\n=== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }
step "install dependencies"
sh scripts/install-deps.sh --test
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
step "lint"
npx biome ci --colors=off .
step "type-check"
npx tsc -p tsconfig.json
step "build"
node scripts/build.mjs
step "unit tier"
sh scripts/test.sh unit
step "host tier"
FUXI_USE_DIST=1 sh scripts/test.sh host
step "docker tier"
FUXI_USE_DIST=1 sh scripts/test.sh docker
step "cloud tier: waiting for the dev cloud"
if ! wait "$devcloud_pid"; then
  cat "$devcloud_log"
  echo "the dev cloud did not start (log above); scripts/devcloud/up.sh alone reproduces it" >&2
  exit 1
fi
tail -n 3 "$devcloud_log"
sh scripts/test.sh cloud
step "done"
