"""etcd: the key schema, a client factory and a local single-node server."""
