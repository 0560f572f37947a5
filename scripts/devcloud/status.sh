#!/bin/sh
# Exits 0 when every dev cloud service started by up.sh is running; lists the ones that are not.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
down=""
for name in $SERVICES; do pid_alive "$name" || down="$down $name"; done
if [ -n "$down" ]; then echo "not running:$down"; exit 1; fi
echo "dev cloud is running (openrc: $DC/openrc)"
