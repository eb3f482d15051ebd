"""Loopback networking helpers."""
