#!/usr/bin/env bash
# Installs and starts what the test suite talks to for real, when missing:
# Debian's prometheus/promtool (compatibility oracle), chromium (UI tests),
# and the local PostgreSQL and MariaDB servers (cluster tests). Idempotent.
set -uo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-test-deps: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "ensure-test-deps: apt-get install ${need[*]} failed" >&2; exit 1; }
fi
# Debian's package may start a prometheus of its own on :9090 where an init system exists; tests use free ports anyway.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "ensure-test-deps: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! port_open 3306 && [ -x /usr/sbin/mariadbd ]; then
  echo "ensure-test-deps: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 30); do port_open 3306 && break; sleep 1; done
fi
exit 0
