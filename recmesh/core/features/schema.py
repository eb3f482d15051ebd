"""The feature schema: the ordered feature names and their fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class FeatureSchema:
    """Ordered, distinct, non-empty feature names without line breaks.

    `fingerprint` is the hex sha256 of the names joined by "\\n", UTF-8 encoded (no
    trailing newline): renaming, adding, removing or reordering a feature changes it.
    It is the `feature_schema_fingerprint` of a bundle manifest.
    """

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("a feature schema needs at least one feature")
        if len(set(self.names)) != len(self.names):
            raise ValueError("feature names must be distinct")
        if any(not name or "\n" in name or "\r" in name for name in self.names):
            raise ValueError("feature names must be non-empty and free of line breaks")

    def __len__(self) -> int:
        return len(self.names)

    @cached_property
    def fingerprint(self) -> str:
        """Computed once per schema: every GetFeatures answer carries it."""
        return schema_fingerprint(self.names)


def schema_fingerprint(feature_names: tuple[str, ...]) -> str:
    """The one definition of a feature schema's fingerprint: hex sha256 over the ordered
    names joined by "\\n", UTF-8 encoded, no trailing newline. Features computes it for
    the schema it fills; ranking compares a model's names against the manifest's with it."""
    return hashlib.sha256("\n".join(feature_names).encode("utf-8")).hexdigest()
