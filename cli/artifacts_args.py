"""`--artifacts` of the commands that read the artifact store themselves (`experiment run`,
`data refresh`): a directory or `s3://bucket/prefix`."""

from __future__ import annotations

import argparse
import os

from recmesh.artifacts.location import parse_artifacts_location
from recmesh.files.repo_paths import REPO_ROOT


def add_artifacts_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--artifacts",
        type=parse_artifacts_location,
        # A string default goes through `type` too.
        default=os.environ.get("RECMESH_ARTIFACTS", str(REPO_ROOT / "var" / "artifacts")),
        help="the control plane's artifact store, a directory or s3://bucket/prefix "
        "(default $RECMESH_ARTIFACTS or var/artifacts; S3 credentials and endpoint from the "
        "standard AWS variables)",
    )
