"""Features: one float32 feature row per (user, candidate), computed from the snapshot."""
