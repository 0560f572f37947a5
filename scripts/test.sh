#!/bin/sh
# Runs one test tier (unit | host | docker | image | cloud | multihost, or a path) with node:test through tsx.
# Node 20's --test neither finds .ts files nor expands globs, so list them here, and fail when
# there are none: zero tests must never pass as green.
set -eu
cd "$(dirname "$0")/.."
tier=${1:-unit}
case "$tier" in
  unit|host|docker|image|cloud|multihost) dir="test/$tier" ;;
  *) dir="$tier" ;;
esac
files=$(find "$dir" -name '*.test.ts' | sort)
if [ -z "$files" ]; then
  echo "no tests found under $dir" >&2
  exit 1
fi
concurrency=${FUXI_TEST_CONCURRENCY:-2}
# A hung test fails after 3 minutes instead of stalling CI (a multihost file runs many scenarios
# on two dockerds: 8 minutes).
timeout=180000
[ "$tier" = multihost ] && timeout=480000
# The image tier builds the Dockerfile (debootstrap on a machine's first run, apt inside the build).
[ "$tier" = image ] && timeout=1200000
# shellcheck disable=SC2086
exec node --import tsx --test --test-concurrency="$concurrency" --test-timeout=$timeout --test-reporter=spec $files
