#!/usr/bin/env bash
# Makes sure the tools the infrastructure tests run are on PATH: kubectl (its
# `kubectl kustomize` renders infra/k8s/) and promtool (checks and unit-tests the
# Prometheus rules in infra/prometheus/). Installs Debian's kubernetes-client and
# prometheus where they are missing and apt-get can be used, as root or through
# `sudo -n` (never prompting). Exits 1, saying how to install them, when one is still
# missing: under CI ($CI set) their tests fail rather than skip (tests/tools.py).
set -euo pipefail
missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  else
    sudo -n "$@"
  fi
}

can_be_root() {
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}

# The prometheus package also brings a Prometheus server as a service, started by its
# postinst (through systemd, or through /etc/init.d where systemd is not running, unless
# a policy-rc.d forbids it): only promtool is wanted here, so the server is stopped and
# kept from starting at boot.
stop_prometheus_server() {
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus.service
  elif [ -x /etc/init.d/prometheus ]; then
    as_root /etc/init.d/prometheus stop
    as_root update-rc.d prometheus disable
  fi
}

if command -v apt-get >/dev/null 2>&1 && can_be_root; then
  echo "installing Debian's ${missing[*]} with apt-get (kubectl, promtool)" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    stop_prometheus_server
  fi
fi
status=0
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is not installed and could not be installed (Debian/Ubuntu: sudo apt-get install kubernetes-client)" >&2
  status=1
fi
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is not installed and could not be installed (Debian/Ubuntu: sudo apt-get install prometheus)" >&2
  status=1
fi
exit $status
