"""recmesh: the code that the serving mesh, the control plane and the offline
experiment system share (config, telemetry, etcd key schema, data loading,
artifact bundles, the CLI) and the generated protobuf packages
(`recmesh/<service>/v1/`, written by `make gen`)."""
