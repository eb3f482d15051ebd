"""The interaction log's on-disk format, shared by the writers and the refresher.

A log is a directory of UTF-8 text files named `*.tsv`. Every writer appends to a
file of its own (a front writes `<component>-<pid>.tsv`; anything else may add a
file of its own name), one interaction per line, never rewriting a byte:

    user_id <TAB> item_id <TAB> rating <TAB> timestamp <LF>

`user_id` and `item_id` are decimal integers, `rating` a finite decimal (an
implicit interaction is written as 1), `timestamp` Unix seconds. A last line
without its LF is a write still in progress and is not read. A file that
shrinks, or whose lines change, breaks the log's promise: the refresher notices,
because the data a served snapshot was built from no longer reproduces its
fingerprint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SUFFIX = ".tsv"
FIELDS = 4


@dataclass(frozen=True)
class LoggedInteraction:
    user_id: int
    item_id: int
    rating: float
    timestamp: int


class LogLineError(ValueError):
    """A line that is not `user<TAB>item<TAB>rating<TAB>timestamp`; says what is wrong."""


def format_line(interaction: LoggedInteraction) -> str:
    """The line for one interaction, LF included."""
    return (
        f"{interaction.user_id}\t{interaction.item_id}\t{interaction.rating:.6g}\t"
        f"{interaction.timestamp}\n"
    )


def parse_line(line: str) -> LoggedInteraction:
    """One line (without its LF); LogLineError when it is malformed."""
    fields = line.split("\t")
    if len(fields) != FIELDS:
        raise LogLineError(f"expected {FIELDS} tab-separated fields, got {len(fields)}")
    user, item, rating, timestamp = fields
    try:
        parsed = LoggedInteraction(int(user), int(item), float(rating), int(timestamp))
    except ValueError as exc:
        raise LogLineError(f"not user<TAB>item<TAB>rating<TAB>timestamp: {exc}") from None
    if not math.isfinite(parsed.rating):
        raise LogLineError(f"rating {rating!r} is not finite")
    if parsed.timestamp < 0:
        raise LogLineError(f"timestamp {parsed.timestamp} is negative")
    return parsed
