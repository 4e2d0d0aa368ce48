#!/usr/bin/env bash
# The scale-out tests start real Redis and PostgreSQL servers (Debian's redis-server and
# postgresql) on loopback ports in a temporary folder. Install them when missing and we are
# allowed to; without them those tests are skipped with the reason printed.
set -euo pipefail
have_postgres() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if command -v redis-server >/dev/null 2>&1 && have_postgres; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  apt_get="apt-get"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt_get="sudo apt-get"
else
  echo "redis-server or postgresql is missing and cannot be installed without root: run" \
    "'sudo apt-get install redis-server postgresql'. The scale-out tests are skipped until then." >&2
  exit 0
fi
echo "Installing Debian's redis-server and postgresql for the scale-out tests..."
$apt_get update -qq >/dev/null
if ! DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq redis-server postgresql >/dev/null; then
  echo "Installing redis-server and postgresql failed; the scale-out tests will be skipped." >&2
fi
# The packages start system-wide services; the tests run their own servers instead.
if command -v service >/dev/null 2>&1; then
  service redis-server stop >/dev/null 2>&1 || true
  service postgresql stop >/dev/null 2>&1 || true
fi
exit 0
