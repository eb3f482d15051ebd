"""Typed errors of building and decoding snapshots."""

from __future__ import annotations


class SnapshotFormatError(ValueError):
    """Snapshot bytes or arrays that are malformed or break a snapshot invariant."""


class SnapshotBuildError(ValueError):
    """Inputs no snapshot can be built from: no interactions, items missing from the catalogue."""
