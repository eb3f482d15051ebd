#!/usr/bin/env bash
# Runs a single-node etcd for the local mesh and tests: loopback only, its own
# data dir, structured (zap) logs. Replaces itself with etcd, so the caller's
# PID is etcd's PID.
#
# usage: run-etcd.sh DATA_DIR CLIENT_PORT PEER_PORT [NAME [INITIAL_CLUSTER]]
# INITIAL_CLUSTER (name=http://127.0.0.1:port,...) makes it one member of a
# loopback cluster; by default it is a cluster of one.
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
mkdir -p "$data_dir"
exec etcd \
  --name "$name" \
  --data-dir "$data_dir" \
  --listen-client-urls "http://127.0.0.1:${client_port}" \
  --advertise-client-urls "http://127.0.0.1:${client_port}" \
  --listen-peer-urls "http://127.0.0.1:${peer_port}" \
  --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" \
  --initial-cluster "${initial_cluster}" \
  --initial-cluster-token recmesh-local \
  --logger=zap \
  --log-outputs=stderr
