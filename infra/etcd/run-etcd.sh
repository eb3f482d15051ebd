#!/usr/bin/env bash
# Runs a single-node etcd for the local mesh and tests: loopback only, its own
# data dir, structured (zap) logs. Replaces itself with etcd, so the caller's
# PID is etcd's PID.
#
# usage: run-etcd.sh DATA_DIR CLIENT_PORT PEER_PORT [NAME [INITIAL_CLUSTER]]
# INITIAL_CLUSTER (name=http://127.0.0.1:port,...) makes it one member of a
# loopback cluster; by default it is a cluster of one.
#
# Mutual TLS for clients: set RECMESH_ETCD_TLS_CA, RECMESH_ETCD_TLS_CERT and
# RECMESH_ETCD_TLS_KEY (PEM files). The client URL is then https and every client
# must present a certificate signed by that CA (--client-cert-auth). The
# certificate must be good for clientAuth too: etcd's gateway dials etcd with it.
# Peer traffic stays plaintext on loopback (a cluster of one has none).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DATA_DIR CLIENT_PORT PEER_PORT [NAME [INITIAL_CLUSTER]]" >&2
  exit 2
fi
data_dir=$1
client_port=$2
peer_port=$3
name=${4:-recmesh}
initial_cluster=${5:-${name}=http://127.0.0.1:${peer_port}}
tls_ca=${RECMESH_ETCD_TLS_CA:-}
tls_cert=${RECMESH_ETCD_TLS_CERT:-}
tls_key=${RECMESH_ETCD_TLS_KEY:-}
scheme=http
tls_flags=()
if [ -n "$tls_ca$tls_cert$tls_key" ]; then
  if [ -z "$tls_ca" ] || [ -z "$tls_cert" ] || [ -z "$tls_key" ]; then
    echo "$0: mutual TLS needs RECMESH_ETCD_TLS_CA, _CERT and _KEY together" >&2
    exit 2
  fi
  scheme=https
  tls_flags=(--cert-file "$tls_cert" --key-file "$tls_key"
             --trusted-ca-file "$tls_ca" --client-cert-auth)
fi
mkdir -p "$data_dir"
exec etcd \
  --name "$name" \
  --data-dir "$data_dir" \
  --listen-client-urls "${scheme}://127.0.0.1:${client_port}" \
  --advertise-client-urls "${scheme}://127.0.0.1:${client_port}" \
  --listen-peer-urls "http://127.0.0.1:${peer_port}" \
  --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" \
  --initial-cluster "${initial_cluster}" \
  --initial-cluster-token recmesh-local \
  "${tls_flags[@]}" \
  --logger=zap \
  --log-outputs=stderr
