#!/bin/sh
# The whole suite, as CI runs it: installs what is missing (Debian packages, npm modules), then
# lint, type-check, config-sample check, build, and the unit, host and docker tiers. Each tier
# that needs dockerd starts its own private one and stops it afterwards.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "the full suite needs root (loop devices, mount, dockerd); run: sudo npm test" >&2
  exit 1
fi
start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }
step "install dependencies"
sh scripts/install-deps.sh --test
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
step "done"
