# Sourced by up.sh after Cinder: Placement, and a Nova whose one compute service runs the fake
# virt driver (nova.virt.fake.FakeDriver: no hypervisor; "instances" are records). It is real Nova
# API, conductor and scheduler: attaching a volume to a server goes through Nova to Cinder, which
# makes the attachment with the compute's connector, and the loop driver attaches the volume's file
# to a loop device here. What a guest's udev would do (a /dev/disk/by-id link named by the volume's
# serial) is left to the test that needs it. Neutron is a stand-in (fuxi_devcloud/neutron_stub.py):
# servers here have no network, and Nova only asks Neutron for their (empty) ports.
NO=$DC/nova
PL=$DC/placement
mkdir -p "$NO/lock" "$NO/instances" "$PL"

mariadb --socket="$MYSQL_SOCK" -e "
  CREATE DATABASE IF NOT EXISTS placement CHARACTER SET utf8 COLLATE utf8_general_ci;
  CREATE USER IF NOT EXISTS 'placement'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
  GRANT ALL ON placement.* TO 'placement'@'localhost';
  CREATE USER IF NOT EXISTS 'nova'@'localhost' IDENTIFIED BY '$DB_PASSWORD';"
for db in nova_api nova nova_cell0; do
  mariadb --socket="$MYSQL_SOCK" -e "CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8 COLLATE utf8_general_ci; GRANT ALL ON $db.* TO 'nova'@'localhost';"
done

if [ ! -f "$NO/identity-done" ]; then
  log "creating the Nova and Placement users and catalog entries"
  (
    . "$DC/openrc"
    os() { openstack "$@" > /dev/null; }
    for u in nova placement; do
      os user create --or-show --domain default --project service --password "$SERVICE_PASSWORD" "$u"
      os role add --project service --user "$u" admin
      os role add --project service --user "$u" service
    done
    for s in 'compute nova http://127.0.0.1:8774/v2.1' 'placement placement http://127.0.0.1:8778' \
      'network neutron http://127.0.0.1:9696'; do
      set -- $s
      openstack service show "$1" > /dev/null 2>&1 || os service create --name "$2" "$1"
      for i in public internal admin; do
        openstack endpoint list --service "$1" --interface "$i" -f value -c ID | grep -q . ||
          os endpoint create --region RegionOne "$1" "$i" "$3"
      done
    done
  )
  touch "$NO/identity-done"
fi

# Keystone credentials of a service user, as keystoneauth options.
service_auth() { # USER
  cat <<CONF
auth_type = password
auth_url = http://127.0.0.1:5000/v3
username = $1
password = $SERVICE_PASSWORD
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = RegionOne
CONF
}

# ---- Neutron stand-in: empty answers for what Nova asks of network-less servers
pid_alive neutron-stub || { log "starting the Neutron stand-in"; start_bg neutron-stub env PYTHONPATH="$here" $PY -m fuxi_devcloud.neutron_stub; }

# ---- Placement under uwsgi
cat > "$PL/placement.conf" <<CONF
[DEFAULT]
log_dir = $LOG
[placement_database]
connection = mysql+pymysql://placement:$DB_PASSWORD@localhost/placement?unix_socket=$MYSQL_SOCK
[api]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000
$(service_auth placement)
CONF
if [ ! -f "$PL/db-synced" ]; then
  log "creating the placement database"
  placement-manage --config-file "$PL/placement.conf" db sync > "$LOG/placement-manage.log" 2>&1
  touch "$PL/db-synced"
fi
if ! pid_alive placement; then
  log "starting placement"
  start_bg placement env OS_PLACEMENT_CONFIG_DIR="$PL" uwsgi --plugin python3 \
    --http11-socket 127.0.0.1:8778 --wsgi-file /usr/bin/placement-api --processes 1 --threads 8 \
    --master --die-on-term --lazy-apps --buffer-size 65535 --need-app
fi

# ---- Nova
cat > "$NO/nova.conf" <<CONF
[DEFAULT]
state_path = $NO
log_dir = $LOG
my_ip = 127.0.0.1
host = devcloud
transport_url = rabbit://guest:guest@127.0.0.1:5672/
compute_driver = fake.FakeDriver
instances_path = $NO/instances
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
graceful_shutdown_timeout = 3
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[api_database]
connection = mysql+pymysql://nova:$DB_PASSWORD@localhost/nova_api?unix_socket=$MYSQL_SOCK
[database]
connection = mysql+pymysql://nova:$DB_PASSWORD@localhost/nova?unix_socket=$MYSQL_SOCK
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000
$(service_auth nova)
[placement]
$(service_auth nova)
[cinder]
os_region_name = RegionOne
$(service_auth nova)
[neutron]
$(service_auth nova)
[service_user]
send_service_user_token = true
$(service_auth nova)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = -1
[oslo_concurrency]
lock_path = $NO/lock
CONF
nm() { nova-manage --config-file "$NO/nova.conf" "$@"; }
if [ ! -f "$NO/db-synced" ]; then
  log "creating the Nova databases and cells"
  {
    nm api_db sync
    nm cell_v2 map_cell0 --database_connection "mysql+pymysql://nova:$DB_PASSWORD@localhost/nova_cell0?unix_socket=$MYSQL_SOCK"
    nm cell_v2 list_cells | grep -q ' cell1 ' || nm cell_v2 create_cell --name cell1
    nm db sync
  } > "$LOG/nova-manage.log" 2>&1
  touch "$NO/db-synced"
fi
for svc in nova-api nova-conductor nova-scheduler; do
  pid_alive "$svc" || { log "starting $svc"; start_bg "$svc" "/usr/bin/$svc" --config-file "$NO/nova.conf"; }
done
# nova-compute's package would pull in a hypervisor; its entry point is in python3-nova.
pid_alive nova-compute || {
  log "starting nova-compute (fake virt driver)"
  start_bg nova-compute $PY -c 'import sys; from nova.cmd.compute import main; sys.argv[0] = "nova-compute"; sys.exit(main())' \
    --config-file "$NO/nova.conf" --log-file "$LOG/nova-compute.log"
}
wait_for placement 60 $PY -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8778/')"
wait_for nova-api 60 $PY -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8774/')"
wait_for "the Nova compute service" 90 sh -c ". '$DC/openrc' && openstack compute service list --service nova-compute -f value -c State | grep -q up"
[ -f "$NO/hosts-discovered" ] || { nm cell_v2 discover_hosts >> "$LOG/nova-manage.log" 2>&1 && touch "$NO/hosts-discovered"; }
if [ ! -f "$NO/flavor-done" ]; then
  (
    . "$DC/openrc"
    openstack flavor show fuxi.fake > /dev/null 2>&1 ||
      openstack flavor create --ram 64 --disk 0 --vcpus 1 fuxi.fake > /dev/null
  )
  touch "$NO/flavor-done"
fi
log "Nova is up on http://127.0.0.1:8774/v2.1 (fake virt driver; flavor fuxi.fake)"
