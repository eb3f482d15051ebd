"""String ids (track URIs, UUIDs, user names) as the int64 ids the rest of recmesh uses.

Every array of recmesh holds int64 ids. A column whose values are all decimal integers
keeps them as its ids; any other id column is *external*: each distinct string gets the
int64 code `external_code(name)`, a hash of the string alone. So a string has the same
code in every file, format and version of a dataset (an interaction logged against a
serving version still names the same item after the next export adds items), and a
dataset's fingerprint, computed over codes, depends only on its rows. The dataset keeps
the mapping (`ExternalIds`) to answer with the strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Part of every code: changing it changes every code of every string-keyed dataset.
_PERSON = b"recmesh.ext-id.1"


def external_code(name: str) -> int:
    """The int64 code of the external id `name`: the first 63 bits of its BLAKE2b hash,
    so always in [0, 2**63)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "little") >> 1


@dataclass(frozen=True)
class ExternalIds:
    """The strings behind the codes of one id column: `names[i]` has code `codes[i]`.

    `codes` is strictly increasing; no two names share a code (`encode` refuses them).
    """

    codes: NDArray[np.int64]
    names: tuple[str, ...]

    def names_of(self, codes: NDArray[np.int64]) -> list[str]:
        """The name of each code, "" where the code is not one of these."""
        if self.codes.shape[0] == 0:
            return [""] * int(codes.shape[0])
        positions = np.minimum(np.searchsorted(self.codes, codes), self.codes.shape[0] - 1)
        known = self.codes[positions] == codes
        names = self.names
        return [
            names[p] if ok else "" for p, ok in zip(positions.tolist(), known.tolist(), strict=True)
        ]

    def merged(self, other: ExternalIds) -> ExternalIds:
        """Both mappings in one. Raises NameConflictError when a code has one name here
        and another in `other` (two files' ids whose hashes collide)."""
        if self.names and other.names:
            at = np.minimum(np.searchsorted(self.codes, other.codes), len(self.names) - 1)
            for j in np.flatnonzero(self.codes[at] == other.codes).tolist():
                mine, theirs = self.names[int(at[j])], other.names[j]
                if mine != theirs:
                    raise NameConflictError(int(other.codes[j]), mine, theirs)
        codes, first = np.unique(np.concatenate([self.codes, other.codes]), return_index=True)
        names = self.names + other.names
        return ExternalIds(codes=codes, names=tuple(names[i] for i in first.tolist()))


class CodeCollisionError(ValueError):
    """Two different names hash to one code; `row` is the first row of the second name."""

    def __init__(self, first: str, second: str, row: int) -> None:
        self.first = first
        self.second = second
        self.row = row
        super().__init__(f"ids {first!r} and {second!r} have the same code; rename one")


class NameConflictError(ValueError):
    """Two mappings name one `code` differently: `first` in one, `second` in the other."""

    def __init__(self, code: int, first: str, second: str) -> None:
        self.code = code
        self.first = first
        self.second = second
        super().__init__(f"ids {first!r} and {second!r} have the same code; rename one")


def encode(
    values: Sequence[str], code: Callable[[str], int] = external_code
) -> tuple[NDArray[np.int64], ExternalIds]:
    """The code of each value (in order) and the mapping of the distinct values.

    Hashes each distinct value once with `code`. Raises CodeCollisionError when two
    distinct values share a code (about one chance in 10**9 for 100,000 distinct ids).
    """
    # An object array: a NumPy str_ array drops trailing NULs ("a\x00" would be "a").
    strings = np.empty(len(values), dtype=object)
    strings[:] = list(values)
    unique, first_row, inverse = np.unique(strings, return_index=True, return_inverse=True)
    names = tuple(str(v) for v in unique.tolist())
    codes = np.fromiter(map(code, names), dtype=np.int64, count=len(names))
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    same = np.flatnonzero(sorted_codes[1:] == sorted_codes[:-1])
    if same.shape[0]:
        a, b = int(order[same[0]]), int(order[same[0] + 1])
        raise CodeCollisionError(names[a], names[b], int(max(first_row[a], first_row[b])))
    mapping = ExternalIds(codes=sorted_codes, names=tuple(names[i] for i in order.tolist()))
    return codes[inverse.reshape(-1)], mapping
