"""Signed serving pointer records: canonical bytes, Ed25519 keys, verification."""
