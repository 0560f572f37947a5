#!/bin/sh
# Installs what fuxi needs on a Debian 12 host (as root): host tools for the local provider, and,
# with --test, what the test suite needs too (docker.io, busybox-static). Idempotent and quiet
# when everything is already there.
set -eu
pkgs="util-linux mount e2fsprogs xfsprogs"
[ "${1:-}" = "--test" ] && pkgs="$pkgs docker.io busybox-static tar faketime debootstrap"
[ "${1:-}" = "--docker" ] && pkgs="$pkgs docker.io"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # No systemd here: keep package scripts from trying to start services.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1; fi
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci: exactly the locked versions)"
  npm ci --no-audit --no-fund --loglevel=error
fi
