"""A split named by a short string, so an evaluation record says exactly how it split.

Forms (canonical, as `str(spec)` writes them and `SplitSpec.parse` reads them):

    user_stratified:<train ratio>:seed=<n>    e.g. user_stratified:0.75:seed=42
    item_stratified:<train ratio>:seed=<n>    e.g. item_stratified:0.75:seed=42
    user_time:<held-out fraction>             e.g. user_time:0.2
    global_time:<held-out fraction>           e.g. global_time:0.2

The parser also accepts a stratified spec without its seed (seed 42, Microsoft
Recommenders' default) and surrounding whitespace.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from offline.errors import SplitSpecError
from offline.splits.stratified import stratified_split
from offline.splits.temporal import global_time_split, per_user_time_split
from recmesh.data.dataset import Interactions

DEFAULT_SEED = 42
_SEED_LIMIT = 2**32  # numpy's legacy RandomState accepts seeds in [0, 2**32)
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[0-9]+")


class SplitKind(Enum):
    """How rows are divided; the value is the spec's first field."""

    USER_STRATIFIED = "user_stratified"
    ITEM_STRATIFIED = "item_stratified"
    USER_TIME = "user_time"
    GLOBAL_TIME = "global_time"

    @property
    def is_stratified(self) -> bool:
        return self in (SplitKind.USER_STRATIFIED, SplitKind.ITEM_STRATIFIED)


@dataclass(frozen=True)
class SplitSpec:
    """A fully determined split: its kind, its fraction and, for random kinds, its seed.

    `fraction` is the train ratio for the stratified kinds and the held-out
    fraction for the time kinds, strictly between 0 and 1. `seed` is required
    (0 <= seed < 2**32) for the stratified kinds and must be None for the time
    kinds. The constructor raises ValueError otherwise. `str(spec)` is the
    canonical string and `SplitSpec.parse(str(spec)) == spec`.
    """

    kind: SplitKind
    fraction: float
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fraction) and 0.0 < self.fraction < 1.0):
            raise ValueError(f"fraction must be strictly between 0 and 1, got {self.fraction!r}")
        if self.kind.is_stratified:
            if self.seed is None or not 0 <= self.seed < _SEED_LIMIT:
                raise ValueError(f"{self.kind.value} needs a seed in [0, 2**32), got {self.seed}")
        elif self.seed is not None:
            raise ValueError(f"{self.kind.value} is deterministic and takes no seed")

    def __str__(self) -> str:
        text = f"{self.kind.value}:{self.fraction!r}"
        return text if self.seed is None else f"{text}:seed={self.seed}"

    @classmethod
    def parse(cls, text: str) -> SplitSpec:
        """The spec a string names; raises SplitSpecError (a ValueError) naming the problem."""
        fields = text.strip().split(":")
        kind = _parse_kind(text, fields[0])
        if len(fields) < 2 or fields[1] == "":
            raise SplitSpecError(text, f"missing the fraction after '{kind.value}:'")
        fraction = _parse_fraction(text, kind, fields[1])
        seed = _parse_options(text, kind, fields[2:])
        return cls(kind=kind, fraction=fraction, seed=seed)

    def apply(self, interactions: Interactions) -> tuple[Interactions, Interactions]:
        """(train, test) of `interactions` under this spec; both keep file order."""
        if self.kind is SplitKind.USER_STRATIFIED:
            return stratified_split(interactions, self.fraction, self._seed(), by="user")
        if self.kind is SplitKind.ITEM_STRATIFIED:
            return stratified_split(interactions, self.fraction, self._seed(), by="item")
        if self.kind is SplitKind.USER_TIME:
            return per_user_time_split(interactions, self.fraction)
        return global_time_split(interactions, self.fraction)

    def _seed(self) -> int:
        if self.seed is None:  # unreachable: __post_init__ requires it for random kinds
            raise ValueError(f"{self.kind.value} needs a seed")
        return self.seed


def _parse_kind(text: str, field: str) -> SplitKind:
    for kind in SplitKind:
        if kind.value == field:
            return kind
    expected = ", ".join(kind.value for kind in SplitKind)
    raise SplitSpecError(text, f"unknown split kind {field!r} (expected one of {expected})")


def _parse_fraction(text: str, kind: SplitKind, field: str) -> float:
    meaning = "train ratio" if kind.is_stratified else "held-out fraction"
    if _NUMBER.fullmatch(field) is None:
        raise SplitSpecError(text, f"{meaning} {field!r} is not a decimal number")
    value = float(field)
    if not 0.0 < value < 1.0:
        raise SplitSpecError(text, f"{meaning} {field} must be strictly between 0 and 1")
    return value


def _parse_options(text: str, kind: SplitKind, fields: list[str]) -> int | None:
    if not kind.is_stratified:
        if fields:
            raise SplitSpecError(text, f"{kind.value} takes no options, got {':'.join(fields)!r}")
        return None
    seed: int | None = None
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep:
            raise SplitSpecError(text, f"option {field!r} is not of the form seed=<n>")
        if key != "seed":
            raise SplitSpecError(text, f"unknown option {key!r} ({kind.value} takes only seed)")
        if seed is not None:
            raise SplitSpecError(text, "seed is given twice")
        if _INTEGER.fullmatch(value) is None:
            raise SplitSpecError(text, f"seed {value!r} is not a non-negative integer")
        seed = int(value)
        if seed >= _SEED_LIMIT:
            raise SplitSpecError(text, f"seed {seed} must be below 2**32")
    return DEFAULT_SEED if seed is None else seed
