#!/bin/sh
# Quick start, command 1 (as root on Debian 12): installs fuxi and what it needs, registers it with
# Docker and starts it on the embedded default (provider "local": size-capped volumes on loop
# devices). Idempotent: running it again rebuilds and restarts fuxi.
#   FUXI_NO_DOCKER=1   do not install/start docker.io
#   DOCKERD_FLAGS      flags for a dockerd this script has to start itself (no systemd);
#                      default "--iptables=false --bridge=none" (hosts without iptables)
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
[ "$(id -u)" = 0 ] || { echo "run as root: fuxi mounts filesystems and attaches devices" >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js >= 20.19 is needed (apt-get install nodejs npm)" >&2; exit 1; }

if [ "${FUXI_NO_DOCKER:-0}" = 1 ]; then sh scripts/install-deps.sh; else sh scripts/install-deps.sh --docker; fi
echo "building"
node scripts/build.mjs
ln -sf "$repo/bin/fuxi-server" /usr/local/sbin/fuxi-server
ln -sf "$repo/bin/fuxi" /usr/local/sbin/fuxi
mkdir -p /etc/fuxi
[ -e /etc/fuxi/fuxi.conf.sample ] || cp etc/fuxi.conf.sample /etc/fuxi/fuxi.conf.sample

if [ -d /run/systemd/system ]; then
  sed "s#@FUXI_SERVER@#/usr/local/sbin/fuxi-server#" etc/fuxi.service > /etc/systemd/system/fuxi.service
  systemctl daemon-reload
  systemctl enable fuxi.service >/dev/null
  systemctl restart fuxi.service
else
  # No systemd: run it in the background ourselves, pid in /run/fuxi.pid, log in /var/log/fuxi.log.
  if [ -f /run/fuxi.pid ] && kill -0 "$(cat /run/fuxi.pid)" 2>/dev/null; then
    kill "$(cat /run/fuxi.pid)"
    while kill -0 "$(cat /run/fuxi.pid)" 2>/dev/null; do sleep 0.1; done
  fi
  nohup /usr/local/sbin/fuxi-server >> /var/log/fuxi.log 2>&1 &
  echo $! > /run/fuxi.pid
fi
i=0
until /usr/local/sbin/fuxi stats >/dev/null 2>&1; do
  i=$((i + 1))
  [ $i -lt 100 ] || { echo "fuxi did not start; see /var/log/fuxi.log (or journalctl -u fuxi)" >&2; tail -5 /var/log/fuxi.log 2>/dev/null; exit 1; }
  sleep 0.1
done
echo "fuxi is running: socket /run/docker/plugins/fuxi.sock, log /var/log/fuxi.log"

if [ "${FUXI_NO_DOCKER:-0}" != 1 ]; then
  docker=/usr/bin/docker
  if ! $docker info >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      systemctl start docker
    else
      echo "starting dockerd (log /var/log/dockerd.log)"
      # shellcheck disable=SC2086
      nohup dockerd ${DOCKERD_FLAGS:---iptables=false --bridge=none} >> /var/log/dockerd.log 2>&1 &
    fi
    i=0
    until $docker info >/dev/null 2>&1; do
      i=$((i + 1)); [ $i -lt 300 ] || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
      sleep 0.2
    done
  fi
  # Smoke check through Docker itself.
  check=fuxi-install-check-$$
  $docker volume create -d fuxi -o size=1 "$check" >/dev/null
  $docker volume inspect --format '{{.Driver}} {{.Status.provider}} {{.Status.size}}G' "$check" | grep -q '^fuxi local 1G$'
  $docker volume rm "$check" >/dev/null
  echo "docker sees fuxi. Try:"
  echo "  docker volume create -d fuxi -o size=10 pgdata"
  echo "  docker run --rm -v pgdata:/data <image> ..."
  echo "  fuxi ls"
fi
