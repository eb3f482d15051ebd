"""`recmesh data fetch ml-100k [--data-dir DIR]` and `recmesh data info PATH_OR_NAME`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DATA_DIR_HELP = "where datasets are cached (default: $RECMESH_DATA_DIR or <repo>/var/data)"


def add_parser(subparsers: Any) -> None:
    data = subparsers.add_parser("data", help="fetch and inspect datasets")
    commands = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    fetch = commands.add_parser("fetch", help="download a dataset into the cache and verify it")
    fetch.add_argument("dataset", choices=["ml-100k"])
    fetch.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    fetch.set_defaults(handler=run_fetch)

    info = commands.add_parser("info", help="load a dataset and print its size and fingerprint")
    info.add_argument(
        "source",
        metavar="PATH_OR_NAME",
        help="ml-100k (fetched if needed), a dataset directory or an interactions CSV/TSV",
    )
    info.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(handler=run_info)


def run_fetch(args: argparse.Namespace) -> int:
    from recmesh.data.errors import DataError
    from recmesh.data.fetch import default_data_dir, fetch_ml100k
    from recmesh.progress import TerminalProgress

    data_dir: Path = args.data_dir or default_data_dir()
    try:
        directory = fetch_ml100k(data_dir, TerminalProgress())
    except (DataError, OSError) as exc:
        return _report(exc)
    print(directory)
    return 0


def run_info(args: argparse.Namespace) -> int:
    from recmesh.data.errors import DataError
    from recmesh.data.fetch import default_data_dir, fetch_ml100k
    from recmesh.data.loaders import load_path
    from recmesh.progress import TerminalProgress

    try:
        if args.source == "ml-100k":
            path = fetch_ml100k(args.data_dir or default_data_dir(), TerminalProgress())
        else:
            path = Path(args.source)
        dataset = load_path(path)
    except (DataError, OSError) as exc:
        return _report(exc)
    summary = {
        "name": dataset.name,
        "path": str(path),
        "rows": len(dataset.interactions),
        "users": dataset.interactions.n_users,
        "items": dataset.interactions.n_items,
        "catalogue_items": int(dataset.items.item_ids.shape[0]),
        "has_demographics": dataset.users is not None,
        "fingerprint": dataset.fingerprint,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        width = max(len(key) for key in summary)
        for key, value in summary.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _report(error: Exception) -> int:
    """Prints `error: <message>` on one line to stderr; returns the exit status 1.

    A DataFormatError is shown with the file's full path (its str has only the name).
    """
    from recmesh.data.errors import DataFormatError

    message = str(error)
    if isinstance(error, DataFormatError):
        where = str(error.path) if error.line is None else f"{error.path}:{error.line}"
        message = f"{where}: {error.reason}"
    print(f"error: {message}", file=sys.stderr)
    return 1
