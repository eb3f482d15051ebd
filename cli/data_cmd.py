"""`recmesh data fetch ml-100k [--data-dir DIR]`, `recmesh data info PATH_OR_NAME` and
`recmesh data refresh` (the serving model with a snapshot of newer data)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cli.artifacts_args import add_artifacts_argument
from cli.controlplane_client import add_client_arguments, run_with_client
from cli.log_format_args import add_log_arguments, log_format_of
from recmesh.files.repo_paths import REPO_ROOT

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
        help="ml-100k (fetched if needed), a dataset directory or an interaction log "
        "(CSV, TSV or Parquet)",
    )
    info.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    add_log_arguments(info)
    info.set_defaults(handler=run_info)

    refresh = commands.add_parser(
        "refresh",
        help="serve the current model with a snapshot of the dataset plus the interaction log, "
        "under the refresh policy (operator)",
    )
    refresh.add_argument(
        "--dataset",
        default="ml-100k",
        metavar="PATH_OR_NAME",
        help="the dataset the serving version was built from (default ml-100k)",
    )
    refresh.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    refresh.add_argument(
        "--interaction-log",
        type=Path,
        default=Path(os.environ.get("RECMESH_STATE_DIR", REPO_ROOT / "var")) / "interactions",
        help="the interaction log directory the front appends to (default: interactions/ in "
        "$RECMESH_STATE_DIR or var/, where `recmesh up` keeps it)",
    )
    add_artifacts_argument(refresh)
    add_log_arguments(refresh)
    add_client_arguments(refresh, default_as="olga")
    refresh.set_defaults(handler=run_refresh)


def run_fetch(args: argparse.Namespace) -> int:
    from recmesh.console.progress import TerminalProgress
    from recmesh.data.errors import DataError
    from recmesh.data.fetch import default_data_dir, fetch_ml100k

    data_dir: Path = args.data_dir or default_data_dir()
    try:
        directory = fetch_ml100k(data_dir, TerminalProgress())
    except (DataError, OSError) as exc:
        return _report(exc)
    print(directory)
    return 0


def run_info(args: argparse.Namespace) -> int:
    from recmesh.console.progress import TerminalProgress
    from recmesh.data.errors import DataError
    from recmesh.data.fetch import default_data_dir, fetch_ml100k
    from recmesh.data.loaders import load_path

    try:
        log_format = log_format_of(args)
        if args.source == "ml-100k":
            path = fetch_ml100k(args.data_dir or default_data_dir(), TerminalProgress())
        else:
            path = Path(args.source)
        dataset = load_path(path, log_format)
    except (DataError, OSError, ValueError) as exc:
        return _report(exc)
    summary = {
        "name": dataset.name,
        "path": str(path),
        "rows": len(dataset.interactions),
        "users": dataset.interactions.n_users,
        "items": dataset.interactions.n_items,
        "catalogue_items": int(dataset.items.item_ids.shape[0]),
        "item_ids": "strings" if dataset.items.external_ids else "integers",
        "user_ids": "integers" if dataset.user_external_ids is None else "strings",
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


def run_refresh(args: argparse.Namespace) -> int:
    from cli.controlplane_client import ControlPlaneClient
    from cli.output import print_json
    from offline.experiment.spec import DatasetSpec
    from offline.refresh.errors import RefreshError
    from offline.refresh.run import RefreshSettings, run_refresh
    from recmesh.console.progress import TerminalProgress
    from recmesh.data.errors import DataError
    from recmesh.data.fetch import default_data_dir

    try:
        log_format = log_format_of(args)
    except ValueError as exc:
        return _report(exc)
    dataset = (
        DatasetSpec(name="ml-100k")
        if args.dataset == "ml-100k"
        else DatasetSpec(name=args.dataset, path=args.dataset, log=log_format)
    )
    settings = RefreshSettings(
        dataset=dataset,
        data_dir=args.data_dir or default_data_dir(),
        interaction_log=args.interaction_log,
        artifacts_dir=args.artifacts,
    )

    def body(client: ControlPlaneClient) -> int:
        try:
            response = run_refresh(
                client.stub, client.metadata, client.timeout, settings, TerminalProgress()
            )
        except (RefreshError, DataError, OSError) as exc:
            return _report(exc)
        refresh = response.refresh
        comparison = refresh.comparison
        if args.json:
            print_json(
                {
                    "serving_version": response.pointer.serving_version,
                    "previous_version": response.previous_version,
                    "pointer_revision": response.pointer.revision,
                    "interactions": comparison.refreshed_interactions,
                    "added_interactions": comparison.refreshed_interactions
                    - comparison.previous_interactions,
                    "probe": {
                        "metric": refresh.probe.metric,
                        "users": refresh.probe.users,
                        "reference": refresh.probe.reference_value,
                        "refreshed": refresh.probe.refreshed_value,
                    },
                }
            )
        else:
            print(
                f"refreshed: serving {response.previous_version} -> "
                f"{response.pointer.serving_version} (pointer revision "
                f"{response.pointer.revision}); {comparison.previous_interactions:,} -> "
                f"{comparison.refreshed_interactions:,} interactions; probe "
                f"{refresh.probe.metric} {refresh.probe.reference_value:.4f} -> "
                f"{refresh.probe.refreshed_value:.4f} on {refresh.probe.users} users"
            )
        return 0

    return run_with_client(args, body)


def _report(error: Exception) -> int:
    """Prints `error: <message>` on one line to stderr; returns the exit status 1.

    A DataFormatError is shown with the file's full path (its str has only the name).
    """
    from recmesh.data.errors import DataFormatError

    message = str(error)
    if isinstance(error, DataFormatError):
        message = error.located(str(error.path))
    print(f"error: {message}", file=sys.stderr)
    return 1
