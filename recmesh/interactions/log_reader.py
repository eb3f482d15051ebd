"""Reads an interaction log directory into Interactions, remembering how far it read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recmesh.data.dataset import Interactions
from recmesh.data.errors import DataFormatError
from recmesh.interactions.log_format import SUFFIX, LogLineError, parse_line


@dataclass(frozen=True)
class LogRead:
    """The rows read and, per file name, how many complete lines were read from it."""

    interactions: Interactions
    rows_per_file: Mapping[str, int]


def read_log(directory: Path, rows_per_file: Mapping[str, int] | None = None) -> LogRead:
    """Every complete line of every `*.tsv` file of `directory` (files by name, lines in
    order), or, with `rows_per_file`, exactly the first that many lines of each named file.

    A missing directory reads as empty when nothing is asked of it. Raises
    DataFormatError naming file and line for a malformed line, or when a file named in
    `rows_per_file` is gone or has fewer complete lines than asked (the log was changed).
    """
    if rows_per_file is None:
        files = sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []
        limits: dict[str, int | None] = {path.name: None for path in files}
    else:
        limits = {name: int(rows) for name, rows in sorted(rows_per_file.items())}
    users: list[int] = []
    items: list[int] = []
    ratings: list[float] = []
    timestamps: list[int] = []
    read: dict[str, int] = {}
    for name, limit in limits.items():
        path = directory / name
        if limit == 0:
            read[name] = 0
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise DataFormatError(
                path,
                None,
                f"the interaction log file is gone from {directory}: is this the log the "
                "serving version was built from (--interaction-log)? the log is append-only",
            ) from None
        except UnicodeDecodeError as exc:
            raise DataFormatError(path, None, f"not UTF-8: {exc}") from None
        lines = text.split("\n")[:-1]  # the part after the last LF is still being written
        if limit is not None:
            if len(lines) < limit:
                raise DataFormatError(
                    path,
                    None,
                    f"has {len(lines)} complete lines, {limit} were read before: the log is "
                    "append-only, yet this file lost lines",
                )
            lines = lines[:limit]
        for number, line in enumerate(lines, start=1):
            try:
                row = parse_line(line)
            except LogLineError as exc:
                raise DataFormatError(path, number, str(exc)) from None
            users.append(row.user_id)
            items.append(row.item_id)
            ratings.append(row.rating)
            timestamps.append(row.timestamp)
        read[name] = len(lines)
    return LogRead(
        Interactions(
            users=np.asarray(users, dtype=np.int64),
            items=np.asarray(items, dtype=np.int64),
            ratings=np.asarray(ratings, dtype=np.float32),
            timestamps=np.asarray(timestamps, dtype=np.int64),
        ),
        read,
    )
