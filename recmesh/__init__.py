"""recmesh: the shared library of the serving mesh, the control plane, the offline
experiment system and the applications above them (telemetry, the server kit, etcd,
data loading, artifact bundles, wire codecs and limits), the generated protobuf
packages (`recmesh/api/<package>/v1/`, written by `make gen`) and, in
`recmesh/core/`, the recommendation core. docs/architecture.md draws the layers."""
