#!/bin/sh
# Builds the bundle and prints the benchmark figures (root needed: loop devices, mount, dockerd).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --test
node scripts/build.mjs
exec node --import tsx bench/run.ts
