"""Content-addressed artifact storage (models, snapshots, manifests)."""
