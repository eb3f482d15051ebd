"""The options of `recmesh data` that say how to read an interaction log file."""

from __future__ import annotations

import argparse
from typing import Any

from recmesh.data.log_format import (
    FILE_FORMATS,
    ColumnMapping,
    IdKinds,
    ItemFile,
    LogFormat,
    Weighting,
)


def add_log_arguments(parser: Any) -> None:
    """--format, the column mapping, --weight and the item metadata file's options."""
    group = parser.add_argument_group(
        "interaction log file", "how to read PATH when it is one file (CSV, TSV or Parquet)"
    )
    group.add_argument("--format", choices=FILE_FORMATS, help="default: the file's extension")
    for role, example in (
        ("user", "userID"),
        ("item", "artistID"),
        ("rating", "weight"),
        ("timestamp", "ts"),
    ):
        group.add_argument(
            f"--{role}",
            metavar="COLUMN",
            help=f"the {role} column's header name (e.g. {example}; default: the usual names)",
        )
    group.add_argument(
        "--weight",
        type=_weighting,
        default=Weighting(),
        metavar="none|log1p|binary|threshold:T",
        help="how the rating or weight column counts (default none: as in the file)",
    )
    group.add_argument(
        "--ids",
        type=_id_kinds,
        default=IdKinds(),
        metavar="integer|string|user=KIND,item=KIND",
        help="whether the user and item ids are integers or strings (default integer: a "
        "non-integer id is an error; string ids are hashed, digits too)",
    )
    group.add_argument("--items", metavar="PATH", help="a second file of item metadata")
    group.add_argument("--items-format", choices=FILE_FORMATS, help="default: its extension")
    group.add_argument("--item-id", metavar="COLUMN", help="its item id column (with --items)")
    group.add_argument("--item-title", metavar="COLUMN", help="its title column")
    group.add_argument("--item-genres", metavar="COLUMN", help="its genres column")
    group.add_argument("--item-year", metavar="COLUMN", help="its year column")
    group.add_argument(
        "--genre-separator", default="|", metavar="TEXT", help="between genres (default |)"
    )


def log_format_of(args: argparse.Namespace) -> LogFormat:
    """The LogFormat the options give; raises ValueError for --items without --item-id
    (or item options without --items)."""
    items = None
    if args.items is not None:
        if args.item_id is None:
            raise ValueError("--items needs --item-id, the item id column of that file")
        items = ItemFile(
            path=args.items,
            id=args.item_id,
            title=args.item_title,
            genres=args.item_genres,
            genre_separator=args.genre_separator,
            year=args.item_year,
            format=args.items_format,
        )
    elif any(
        value is not None
        for value in (args.item_id, args.item_title, args.item_genres, args.item_year)
    ):
        raise ValueError("--item-id, --item-title, --item-genres and --item-year need --items")
    return LogFormat(
        format=args.format,
        columns=ColumnMapping(
            user=args.user, item=args.item, rating=args.rating, timestamp=args.timestamp
        ),
        weight=args.weight,
        ids=args.ids,
        items=items,
    )


def _weighting(text: str) -> Weighting:
    try:
        return Weighting.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _id_kinds(text: str) -> IdKinds:
    try:
        return IdKinds.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
