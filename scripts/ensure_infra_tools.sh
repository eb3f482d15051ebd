#!/usr/bin/env bash
# Makes sure the tools the infrastructure tests run are on PATH: kubectl (its
# `kubectl kustomize` renders infra/k8s/) and promtool (checks and unit-tests the
# Prometheus rules in infra/prometheus/). Installs Debian's kubernetes-client and
# prometheus where they are missing and apt-get can be used, as ensure_etcd.sh does
# for etcd. Without them those tests skip, saying so; nothing else needs them.
set -euo pipefail
missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's ${missing[*]} with apt-get (kubectl, promtool)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || true
  # The prometheus package also brings a Prometheus server as a service: only promtool
  # is wanted here.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi
command -v kubectl >/dev/null 2>&1 || echo "kubectl not installed: the Kubernetes manifest tests will skip (Debian/Ubuntu: sudo apt-get install kubernetes-client)" >&2
command -v promtool >/dev/null 2>&1 || echo "promtool not installed: the Prometheus rule tests will skip (Debian/Ubuntu: sudo apt-get install prometheus)" >&2
exit 0
