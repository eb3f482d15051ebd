"""The append-only interaction log: what users did after a snapshot was built."""
