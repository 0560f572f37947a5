#!/bin/sh
# Stops the dev cloud started by up.sh: only the processes it started, by their pid files. The
# OpenStack services are stopped together, then Keystone, RabbitMQ and MariaDB.
# Data stays in $DC (up.sh starts again in seconds); add --purge to delete it too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# stop NAME...: SIGTERM to each that runs, wait up to 20 s for all, then SIGKILL what is left.
stop() {
  pids=""
  for name in "$@"; do
    if pid_alive "$name"; then
      pid=$(cat "$RUN/$name.pid")
      log "stopping $name ($pid)"
      kill "$pid" 2>/dev/null || true
      pids="$pids $pid"
    fi
    rm -f "$RUN/$name.pid"
  done
  i=0
  for pid in $pids; do
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  done
}
stop nova-compute nova-scheduler nova-conductor nova-api placement neutron-stub \
  manila-share manila-scheduler manila-api cinder-volume cinder-scheduler cinder-api
stop keystone-short keystone
if [ -d "$DC/rabbitmq" ]; then
  # rabbitmq-server runs the Erlang VM under su, which does not pass SIGTERM on: ask the node.
  env HOME="$DC/rabbitmq" rabbitmqctl -n rabbit@localhost stop > /dev/null 2>&1 && log "stopped rabbitmq" || true
fi
stop rabbitmq
stop mysqld
# epmd: the one up.sh started, and the one rabbitmq-server starts for itself.
pkill -f "epmd -address 127.0.0.1" 2>/dev/null || true
pkill -u rabbitmq -x epmd 2>/dev/null || true
if [ "${1:-}" = "--purge" ]; then rm -rf "$DC"; log "removed $DC"; fi
