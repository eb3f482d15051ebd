"""Values as the store returns them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StoredValue:
    """One key as etcd had it at the read's revision."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True)
class Reading:
    """Several keys and prefixes read at one etcd revision.

    `values` holds the single keys that exist; `ranges` holds, for every prefix
    asked for, the keys under it in key order (possibly none); `lasts`, for every prefix
    asked for its last keys, those keys, the last one first.
    """

    revision: int
    values: Mapping[str, StoredValue] = field(default_factory=dict)
    ranges: Mapping[str, tuple[StoredValue, ...]] = field(default_factory=dict)
    lasts: Mapping[str, tuple[StoredValue, ...]] = field(default_factory=dict)

    def find(self, key: str) -> StoredValue | None:
        """The key's value, or None when it does not exist."""
        return self.values.get(key)

    def under(self, prefix: str) -> tuple[StoredValue, ...]:
        return self.ranges[prefix]

    def last_under(self, prefix: str) -> tuple[StoredValue, ...]:
        return self.lasts[prefix]
