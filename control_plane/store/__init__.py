"""etcd behind a narrow interface: reads at one revision, guarded commits, typed errors."""
