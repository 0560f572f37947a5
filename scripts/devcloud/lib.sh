# Shared by up.sh and down.sh. Everything binds to 127.0.0.1 or a unix socket.
DC=${FUXI_DEVCLOUD_DIR:-/var/lib/fuxi-devcloud}
RUN=/run/fuxi-devcloud
LOG=$DC/log
PY=/usr/bin/python3
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
OS_ADMIN_PASSWORD=${OS_ADMIN_PASSWORD:-devcloud-admin}
SERVICE_PASSWORD=${SERVICE_PASSWORD:-devcloud-service}
DB_PASSWORD=${DB_PASSWORD:-devcloud-db}
MYSQL_SOCK=$RUN/mysqld.sock
# Every process up.sh starts, in start order (down.sh stops them in reverse).
SERVICES="mysqld rabbitmq keystone keystone-short cinder-api cinder-scheduler cinder-volume manila-api manila-scheduler manila-share neutron-stub placement nova-api nova-conductor nova-scheduler nova-compute"

log() { printf '[devcloud %s] %s\n' "$(date +%T)" "$*"; }
pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
# start NAME COMMAND...: run in the background as root with a pid file, unless already running
start_bg() {
  name=$1; shift
  if pid_alive "$name"; then return 0; fi
  nohup "$@" >> "$LOG/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
}
# wait_for DESCRIPTION SECONDS COMMAND...: retry COMMAND until it succeeds or SECONDS have passed.
wait_for() {
  what=$1; deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "timed out waiting for $what"; return 1; fi
    sleep 0.2
  done
}
