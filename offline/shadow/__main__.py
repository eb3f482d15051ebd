"""python -m offline.shadow: one experiment's shadow report, written as JSON and HTML.

    python -m offline.shadow --experiment-id E --champion V1 --challenger V2
        --impressions LOG [--impressions LOG ...] [--interactions FILE] [--k 10] --out DIR

Writes DIR/shadow-summary.json and DIR/shadow-report.html (recmesh.rollout.report_files).
The control plane runs it as a child process for GetShadowReport, so the control plane
itself never loads training code. Exit status: 0 written; 3 no shadowed request of those
versions in the logs; 2 a log or an argument that cannot be used (the message says which).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from offline.shadow.build import DEFAULT_K, NoShadowRecordsError, build_from_paths
from offline.shadow.log_reader import ShadowLogError
from recmesh.data.errors import DataFormatError
from recmesh.rollout.report_files import EXIT_NO_RECORDS, REPORT_FILE, SUMMARY_FILE

EXIT_UNUSABLE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.shadow", description=__doc__)
    parser.add_argument("--experiment-id", required=True)
    parser.add_argument("--champion", required=True, help="the champion's serving version")
    parser.add_argument("--challenger", required=True, help="the challenger's serving version")
    parser.add_argument("--impressions", type=Path, action="append", required=True)
    parser.add_argument("--interactions", type=Path, default=None)
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f"--k must be at least 1, got {args.k}")
    try:
        built = build_from_paths(
            args.experiment_id,
            args.champion,
            args.challenger,
            args.impressions,
            interactions=args.interactions,
            k=args.k,
        )
    except NoShadowRecordsError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_NO_RECORDS
    except (ShadowLogError, DataFormatError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_UNUSABLE
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / SUMMARY_FILE).write_text(json.dumps(built.summary, indent=2, sort_keys=True))
    (args.out / REPORT_FILE).write_text(built.html, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
