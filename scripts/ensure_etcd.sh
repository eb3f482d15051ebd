#!/usr/bin/env bash
# Makes sure an etcd server binary is on PATH; installs Debian's etcd-server
# (3.4.x) where it is missing and apt-get can be used.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "etcd not found: installing Debian's etcd-server with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq etcd-server >/dev/null
  command -v etcd >/dev/null 2>&1 && exit 0
fi
cat >&2 <<'MSG'
etcd is not installed and could not be installed automatically.
Install an etcd 3.4+ server binary and put it on PATH, for example:
  Debian/Ubuntu:  sudo apt-get install etcd-server
  macOS:          brew install etcd
MSG
exit 1
