#!/usr/bin/env bash
# Makes sure an etcd server binary and etcd's tools (etcdctl, for `recmesh admin
# restore`) are on PATH; installs Debian's etcd-server and etcd-client (3.4.x) where
# they are missing and apt-get can be used.
set -euo pipefail
missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || command -v etcdutl >/dev/null 2>&1 || missing+=(etcd-client)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  if command -v etcd >/dev/null 2>&1 && { command -v etcdctl >/dev/null 2>&1 || command -v etcdutl >/dev/null 2>&1; }; then
    exit 0
  fi
fi
cat >&2 <<'MSG'
etcd or its tools are not installed and could not be installed automatically.
Install an etcd 3.4+ server binary and etcdctl (or etcdutl) and put them on PATH, for example:
  Debian/Ubuntu:  sudo apt-get install etcd-server etcd-client
  macOS:          brew install etcd
MSG
exit 1
