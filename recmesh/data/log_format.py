"""How to read an interaction log: its format, which column is which, how weights count.

These are plain values: a spec's dataset section and `recmesh data` build them, and
`recmesh.data.generic.load_interactions_file` reads a file with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FileFormat = Literal["csv", "tsv", "parquet"]
FILE_FORMATS: tuple[FileFormat, ...] = ("csv", "tsv", "parquet")
WeightKind = Literal["none", "log1p", "binary", "threshold"]
WEIGHT_KINDS: tuple[WeightKind, ...] = ("none", "log1p", "binary", "threshold")
IdKind = Literal["integer", "string"]
ID_KINDS: tuple[IdKind, ...] = ("integer", "string")

_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def format_of_name(name: str) -> FileFormat | None:
    """The format a file name's extension says (.csv, .tsv/.tab, .parquet/.pq), else None."""
    dot = name.rfind(".")
    return None if dot < 0 else _EXTENSIONS.get(name[dot:].lower())


@dataclass(frozen=True)
class ColumnMapping:
    """Header names of the log's columns; None finds the column by its usual names
    (`user`, `userId`, `item`, `movieId`, `rating`, `weight`, `timestamp`, ...)."""

    user: str | None = None
    item: str | None = None
    rating: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True)
class Weighting:
    """How the rating (or weight, e.g. a play count) column becomes an interaction's weight.

    - `none`: as in the file;
    - `log1p`: log(1 + w), for counts (a play count of 0 weighs 0); w must be >= 0;
    - `binary`: every row weighs 1.0, whatever the column says;
    - `threshold`: only rows whose value is at least `threshold` are kept, each weighing
      1.0 (ratings of 4 and 5 as positives).

    Written `none`, `log1p`, `binary` or `threshold:4` (`parse`, `text`).
    """

    kind: WeightKind = "none"
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in WEIGHT_KINDS:
            raise ValueError(f"unknown weight {self.kind!r} (known: {', '.join(WEIGHT_KINDS)})")
        if (self.kind == "threshold") != (self.threshold is not None):
            raise ValueError("a threshold weight, and only it, takes a threshold value")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold}")

    @staticmethod
    def parse(text: str) -> Weighting:
        """`none`, `log1p`, `binary` or `threshold:T`; raises ValueError otherwise."""
        kind, colon, value = text.strip().partition(":")
        if kind == "threshold":
            try:
                threshold = float(value)
            except ValueError:
                raise ValueError(
                    f"threshold needs a number, as in threshold:4; got {text!r}"
                ) from None
            return Weighting("threshold", threshold)
        if colon or kind not in WEIGHT_KINDS:
            raise ValueError(f"unknown weight {text!r} (known: none, log1p, binary, threshold:T)")
        return Weighting(kind)

    @property
    def text(self) -> str:
        return self.kind if self.threshold is None else f"threshold:{self.threshold:g}"

    def apply(self, weights: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        """The transformed weights of every row, and which rows are kept.

        `log1p` needs weights >= 0 (the caller reports the first negative one).
        """
        keep = np.ones(weights.shape[0], dtype=np.bool_)
        if self.kind == "log1p":
            return np.log1p(weights.astype(np.float64)).astype(np.float32), keep
        if self.kind == "binary":
            return np.ones_like(weights), keep
        if self.kind == "threshold":
            keep = weights >= np.float32(self.threshold)
            return np.ones_like(weights), keep
        return weights, keep


@dataclass(frozen=True)
class IdKinds:
    """How the user and the item id columns are read, set by the dataset, never guessed
    from the values (a guess would change every code the day one odd id arrives):

    - `integer`: every id is a decimal integer fitting in int64 and is its own id; any
      other value is an error at its row;
    - `string`: every id is a string whose id is its code
      (`recmesh.data.external_ids.external_code`), digits included ("12" is a string).

    The item kind applies to the item metadata file's id column too. Written `integer`,
    `string` (both columns) or `user=string,item=integer` (`parse`, `text`).
    """

    user: IdKind = "integer"
    item: IdKind = "integer"

    def __post_init__(self) -> None:
        for role, kind in (("user", self.user), ("item", self.item)):
            if kind not in ID_KINDS:
                raise ValueError(f"unknown {role} ids {kind!r} (known: {', '.join(ID_KINDS)})")

    @staticmethod
    def parse(text: str) -> IdKinds:
        """`integer`, `string`, or `user=KIND,item=KIND` (a role left out is integer);
        raises ValueError otherwise."""
        text = text.strip()
        for both in ID_KINDS:
            if text == both:
                return IdKinds(both, both)
        kinds: dict[str, IdKind] = {}
        for part in text.split(","):
            role, equals, value = (field.strip() for field in part.partition("="))
            kind: IdKind | None = next((k for k in ID_KINDS if k == value), None)
            if not equals or role not in ("user", "item") or role in kinds or kind is None:
                raise ValueError(
                    f"unknown ids {text!r} (known: integer, string, user=KIND,item=KIND)"
                )
            kinds[role] = kind
        return IdKinds(**kinds)

    @property
    def text(self) -> str:
        return self.user if self.user == self.item else f"user={self.user},item={self.item}"


@dataclass(frozen=True)
class ItemFile:
    """A second file of item metadata: `id` names its item id column (the log's item
    ids, integers or strings); `title`, `genres` and `year` are optional columns. Genres
    are one field split on `genre_separator` (MovieLens: `Comedy|Drama`)."""

    path: str
    id: str
    title: str | None = None
    genres: str | None = None
    genre_separator: str = "|"
    year: str | None = None
    format: FileFormat | None = None


@dataclass(frozen=True)
class LogFormat:
    """Everything about reading one interaction log. `format` None goes by the extension
    (and sniffs the delimiter of other text files); `ids` says which id columns hold
    strings; `items` adds item metadata."""

    format: FileFormat | None = None
    columns: ColumnMapping = field(default_factory=ColumnMapping)
    weight: Weighting = field(default_factory=Weighting)
    ids: IdKinds = field(default_factory=IdKinds)
    items: ItemFile | None = None

    @property
    def is_default(self) -> bool:
        return self == LogFormat()
