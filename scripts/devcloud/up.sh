#!/bin/sh
# Starts a real Keystone v3, Cinder v3, Manila v2 and Nova (fake virt driver) from Debian packages on
# 127.0.0.1 for fuxi's cloud tier. Idempotent: on a machine where it already runs, it only checks.
# Writes $DC/openrc (admin) and $DC/openrc-demo (non-admin). Stop with scripts/devcloud/down.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
mkdir -p "$DC" "$RUN" "$LOG"

# ---- packages (postinst must not start services: no systemd here)
pkgs="keystone cinder-api cinder-scheduler cinder-volume manila-api manila-scheduler manila-common nova-api nova-conductor nova-scheduler placement-api rabbitmq-server mariadb-server python3-openstackclient python3-cinderclient python3-manilaclient uwsgi-core uwsgi-plugin-python3"
missing=""
for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing:$missing"
  debconf-set-selections "$here/preseed.txt"
  created_policy=0
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created_policy=1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing > "$LOG/apt.log" 2>&1
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# ---- MariaDB: unix socket only
if ! pid_alive mysqld; then
  if [ ! -d "$DC/mysql/mysql" ]; then
    log "initialising MariaDB"
    mkdir -p "$DC/mysql"; chown mysql:mysql "$DC/mysql"
    mariadb-install-db --user=mysql --datadir="$DC/mysql" --auth-root-authentication-method=socket > "$LOG/mysql-init.log" 2>&1
  fi
  chown mysql:mysql "$RUN"
  start_bg mysqld /usr/sbin/mariadbd --user=mysql --datadir="$DC/mysql" --socket="$MYSQL_SOCK" --skip-networking --pid-file="$RUN/mysqld.real.pid" --character-set-server=utf8mb3 --collation-server=utf8mb3_general_ci --max-connections=1000
fi
wait_for MariaDB 60 mariadb --socket="$MYSQL_SOCK" -e 'select 1'
for db in keystone cinder manila; do
  mariadb --socket="$MYSQL_SOCK" -e "CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8 COLLATE utf8_general_ci; CREATE USER IF NOT EXISTS '$db'@'localhost' IDENTIFIED BY '$DB_PASSWORD'; GRANT ALL ON $db.* TO '$db'@'localhost';"
done

# ---- RabbitMQ on loopback
if ! pid_alive rabbitmq; then
  log "starting RabbitMQ"
  mkdir -p "$DC/rabbitmq/log"; chown -R rabbitmq:rabbitmq "$DC/rabbitmq"
  printf 'listeners.tcp.default = 127.0.0.1:5672\nloopback_users.guest = true\n' > "$DC/rabbitmq/rabbitmq.conf"
  chown rabbitmq:rabbitmq "$DC/rabbitmq/rabbitmq.conf"
  epmd -address 127.0.0.1 -daemon
  start_bg rabbitmq env HOME="$DC/rabbitmq" RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_CONFIG_FILE="$DC/rabbitmq/rabbitmq" RABBITMQ_MNESIA_BASE="$DC/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$DC/rabbitmq/log" \
    RABBITMQ_PID_FILE="$RUN/rabbitmq.real.pid" /usr/sbin/rabbitmq-server
fi
wait_for RabbitMQ 90 env HOME="$DC/rabbitmq" RABBITMQ_NODENAME=rabbit@localhost rabbitmqctl -n rabbit@localhost status

log "MariaDB and RabbitMQ are up"

# ---- Keystone (MariaDB, fernet tokens, dict cache) under uwsgi with an HTTP/1.1 socket
KS=$DC/keystone
mkdir -p "$KS"
cat > "$KS/keystone.conf" <<CONF
[DEFAULT]
log_dir = $LOG
[database]
connection = mysql+pymysql://keystone:$DB_PASSWORD@localhost/keystone?unix_socket=$MYSQL_SOCK
[cache]
enabled = true
backend = oslo_cache.dict
[identity]
password_hash_rounds = 4
[token]
expiration = ${FUXI_DEVCLOUD_TOKEN_TTL:-3600}
[fernet_tokens]
key_repository = $KS/fernet-keys
[credential]
key_repository = $KS/credential-keys
CONF
ksm() { keystone-manage --config-file "$KS/keystone.conf" "$@"; }
if [ ! -f "$KS/bootstrapped" ]; then
  log "bootstrapping Keystone"
  ksm db_sync > "$LOG/keystone-manage.log" 2>&1
  ksm fernet_setup --keystone-user root --keystone-group root >> "$LOG/keystone-manage.log" 2>&1
  ksm credential_setup --keystone-user root --keystone-group root >> "$LOG/keystone-manage.log" 2>&1
  ksm bootstrap --bootstrap-password "$OS_ADMIN_PASSWORD" --bootstrap-region-id RegionOne \
    --bootstrap-admin-url http://127.0.0.1:5000/v3 --bootstrap-public-url http://127.0.0.1:5000/v3 \
    --bootstrap-internal-url http://127.0.0.1:5000/v3 >> "$LOG/keystone-manage.log" 2>&1
  touch "$KS/bootstrapped"
fi
# --harakiri: a worker stuck on one request (seen once: eventlet's "cannot switch to a different
# thread" in a uwsgi thread left every later request hanging) is killed and respawned by the
# master after 30 s, instead of hanging the cloud tier.
if ! pid_alive keystone; then
  log "starting Keystone"
  start_bg keystone env OS_KEYSTONE_CONFIG_FILES="$KS/keystone.conf" uwsgi --plugin python3 \
    --http11-socket 127.0.0.1:5000 --wsgi-file /usr/bin/keystone-wsgi-public --processes 1 --threads 32 \
    --master --die-on-term --lazy-apps --buffer-size 65535 --need-app --harakiri 30
fi
# A second Keystone on the same database and keys that issues short-lived tokens (the cloud tier's
# token-expiry tests); tokens from either are valid everywhere until they expire.
sed "s/^expiration = .*/expiration = ${FUXI_DEVCLOUD_SHORT_TOKEN_TTL:-8}/" "$KS/keystone.conf" > "$KS/keystone-short.conf"
if ! pid_alive keystone-short; then
  start_bg keystone-short env OS_KEYSTONE_CONFIG_FILES="$KS/keystone-short.conf" uwsgi --plugin python3 \
    --http11-socket 127.0.0.1:5001 --wsgi-file /usr/bin/keystone-wsgi-public --processes 1 --threads 8 \
    --master --die-on-term --lazy-apps --buffer-size 65535 --need-app --harakiri 30
fi
wait_for Keystone 60 $PY -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/v3')"
wait_for "Keystone (short-lived tokens)" 60 $PY -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5001/v3')"
log "Keystone is up on http://127.0.0.1:5000/v3 (and on :5001 with ${FUXI_DEVCLOUD_SHORT_TOKEN_TTL:-8} s tokens)"

# ---- identity: service users, a non-admin user (+ application credential), catalog
cat > "$DC/openrc" <<RC
export OS_AUTH_URL=http://127.0.0.1:5000/v3
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin
export OS_PASSWORD=$OS_ADMIN_PASSWORD
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
RC
sed -e 's/OS_USERNAME=admin/OS_USERNAME=demo/' -e "s/OS_PASSWORD=.*/OS_PASSWORD=$SERVICE_PASSWORD/" \
    -e 's/OS_PROJECT_NAME=admin/OS_PROJECT_NAME=demo/' "$DC/openrc" > "$DC/openrc-demo"
if [ ! -f "$KS/identity-done" ]; then
  log "creating projects, users, roles and catalog entries"
  (
    . "$DC/openrc"
    os() { openstack "$@" > /dev/null; }
    os project create --or-show --domain default service
    os project create --or-show --domain default demo
    os role create --or-show service
    for u in cinder manila; do
      os user create --or-show --domain default --project service --password "$SERVICE_PASSWORD" "$u"
      os role add --project service --user "$u" admin
      os role add --project service --user "$u" service
    done
    os user create --or-show --domain default --project demo --password "$SERVICE_PASSWORD" demo
    os role add --project demo --user demo member
    add_service() { # type name url
      openstack service show "$1" > /dev/null 2>&1 || os service create --name "$2" "$1"
      for i in public internal admin; do
        openstack endpoint list --service "$1" --interface "$i" -f value -c ID | grep -q . ||
          os endpoint create --region RegionOne "$1" "$i" "$3"
      done
    }
    add_service volumev3 cinderv3 'http://127.0.0.1:8776/v3/%(project_id)s'
    add_service sharev2 manilav2 'http://127.0.0.1:8786/v2/%(project_id)s'
    add_service image glance 'http://127.0.0.1:9292' # placeholder: the volume CLI insists on one
  )
  (
    . "$DC/openrc-demo"
    openstack application credential show fuxi-demo > /dev/null 2>&1 || \
      openstack application credential create fuxi-demo -f shell -c id -c secret > "$KS/app-credential"
  )
  touch "$KS/identity-done"
fi
log "identity ready: $DC/openrc (admin), $DC/openrc-demo (non-admin), $KS/app-credential"

# The sections Cinder's and Manila's configuration share: database, Keystone middleware, locks.
common_sections() { # NAME DIR
  cat <<CONF
[database]
connection = mysql+pymysql://$1:$DB_PASSWORD@localhost/$1?unix_socket=$MYSQL_SOCK
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000
auth_url = http://127.0.0.1:5000
auth_type = password
username = $1
password = $SERVICE_PASSWORD
user_domain_name = Default
project_name = service
project_domain_name = Default
[oslo_concurrency]
lock_path = $2/lock
CONF
}
# Creates the database once, starts the services (test drivers on PYTHONPATH), waits for the API.
start_service() { # NAME DIR PORT SERVICE...   (sh has no locals: names unused by lib.sh)
  svc_name=$1 svc_dir=$2 svc_port=$3; shift 3
  if [ ! -f "$svc_dir/db-synced" ]; then
    log "creating the $svc_name database"
    env PYTHONPATH="$here" "$svc_name-manage" --config-file "$svc_dir/$svc_name.conf" db sync > "$LOG/$svc_name-manage.log" 2>&1
    touch "$svc_dir/db-synced"
  fi
  for svc in "$@"; do
    pid_alive "$svc" || { log "starting $svc"; start_bg "$svc" env PYTHONPATH="$here" "/usr/bin/$svc" --config-file "$svc_dir/$svc_name.conf"; }
  done
  wait_for "$svc_name-api" 60 $PY -c "import urllib.request, urllib.error
try: urllib.request.urlopen('http://127.0.0.1:$svc_port/')
except urllib.error.HTTPError as e: assert e.code == 300"
}

# ---- Cinder v3 with the loop-backed test driver (scripts/devcloud/fuxi_devcloud/cinder_loop.py)
CI=$DC/cinder
mkdir -p "$CI/volumes" "$CI/lock"
cat > "$CI/cinder.conf" <<CONF
[DEFAULT]
state_path = $CI
log_dir = $LOG
my_ip = 127.0.0.1
transport_url = rabbit://guest:guest@127.0.0.1:5672/
auth_strategy = keystone
api_paste_config = /etc/cinder/api-paste.ini
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
graceful_shutdown_timeout = 3
enabled_backends = loop
default_volume_type = default
$(common_sections cinder "$CI")
[loop]
volume_driver = fuxi_devcloud.cinder_loop.LoopVolumeDriver
volume_backend_name = loop
loop_volumes_dir = $CI/volumes
CONF
start_service cinder "$CI" 8776 cinder-api cinder-scheduler cinder-volume
if [ ! -f "$CI/types-and-quotas-done" ]; then
  (
    . "$DC/openrc"
    openstack volume type show default > /dev/null 2>&1 || openstack volume type create default > /dev/null
    openstack volume type show multiattach > /dev/null 2>&1 ||
      openstack volume type create --property multiattach="<is> True" multiattach > /dev/null
    # Tests run at once in one project: the default quota class (10 volumes) is far too small.
    cinder quota-class-update default --volumes 1000 --snapshots 1000 --gigabytes 10000 > /dev/null
  )
  touch "$CI/types-and-quotas-done"
fi
log "Cinder is up on http://127.0.0.1:8776/v3"

# ---- Manila v2 with the directory-backed test driver (scripts/devcloud/fuxi_devcloud/manila_dir.py)
MA=$DC/manila
mkdir -p "$MA/shares" "$MA/lock"
cat > "$MA/manila.conf" <<CONF
[DEFAULT]
state_path = $MA
log_dir = $LOG
my_ip = 127.0.0.1
host = devcloud
transport_url = rabbit://guest:guest@127.0.0.1:5672/
auth_strategy = keystone
api_paste_config = /etc/manila/api-paste.ini
osapi_share_listen = 127.0.0.1
osapi_share_listen_port = 8786
osapi_share_workers = 1
graceful_shutdown_timeout = 3
enabled_share_backends = dir
enabled_share_protocols = NFS,CEPHFS
default_share_type = default
periodic_interval = 10
periodic_fuzzy_delay = 0
$(common_sections manila "$MA")
[quota]
shares = 1000
gigabytes = 10000
snapshots = 1000
[dir]
share_driver = fuxi_devcloud.manila_dir.DirShareDriver
share_backend_name = dir
driver_handles_share_servers = False
dir_shares_root = $MA/shares
CONF
start_service manila "$MA" 8786 manila-api manila-scheduler manila-share
if [ ! -f "$MA/types-done" ]; then
  (
    . "$DC/openrc"
    manila type-show default > /dev/null 2>&1 || manila type-create default false > /dev/null
  )
  touch "$MA/types-done"
fi
# Ready when the scheduler can place a share (fuxi_devcloud/manila_ready.py says why not pool-list).
log "waiting until Manila can place a share"
(. "$DC/openrc" && env PYTHONPATH="$here" $PY -m fuxi_devcloud.manila_ready 150) ||
  { log "timed out waiting for Manila to place a share"; exit 1; }
log "Manila is up on http://127.0.0.1:8786/v2"

# ---- Nova and Placement (scripts/devcloud/nova.sh)
. "$here/nova.sh"
