"""`recmesh shadow start|stop|report EXP`: the challenger ranked beside the champion, and the
quality diff of what it would have shown.

`report` computes the diff locally from impression logs when --impressions is given
(training-side code, `offline.shadow`), else asks the control plane (GetShadowReport,
computed from the logs it was started with); either way it writes the HTML page and the
JSON summary under --out and prints the headline figures. --attach records the summary
on the experiment (AttachShadowReport) as evidence reviewers see: without --impressions
the control plane computes and attaches it in one call, the only kind of report a
staged plan's shadow bounds accept; with --impressions the local summary is attached as
supplied by the caller (shown to reviewers, not usable for bounds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cli.controlplane_client import ControlPlaneClient, add_client_arguments, run_with_client
from cli.output import message_dict, print_json
from cli.pointer_cmd import pointer_dict
from cli.shadow_text import attached_source, shadow_lines
from recmesh.rollout.report_files import REPORT_FILE, SUMMARY_FILE


def add_parser(subparsers: Any) -> None:
    shadow = subparsers.add_parser("shadow", help="shadow a challenger on live traffic")
    commands = shadow.add_subparsers(dest="shadow_command", metavar="COMMAND", required=True)
    start = commands.add_parser(
        "start", help="rank a share of users' requests with the challenger too (operator)"
    )
    start.add_argument("experiment_id", metavar="EXP")
    start.add_argument("--share", type=float, required=True, help="share of users, in (0, 1]")
    add_client_arguments(start, default_as=None)
    start.set_defaults(handler=run_start)
    stop = commands.add_parser("stop", help="stop ranking with the challenger (operator)")
    stop.add_argument("experiment_id", metavar="EXP")
    stop.add_argument("--reason", default="", help="recorded in the audit log")
    add_client_arguments(stop, default_as=None)
    stop.set_defaults(handler=run_stop)
    report = commands.add_parser("report", help="the quality diff of the shadow, as HTML + JSON")
    report.add_argument("experiment_id", metavar="EXP")
    report.add_argument(
        "--impressions",
        type=Path,
        action="append",
        default=[],
        help="an impression log to compute from here (repeatable); without it, the control "
        "plane computes the report from its own logs",
    )
    report.add_argument(
        "--interactions",
        type=Path,
        default=None,
        help="what users consumed afterwards (CSV/TSV/Parquet), for hit rates and popularity",
    )
    report.add_argument("--k", type=int, default=10, help="list depth compared (default 10)")
    report.add_argument(
        "--out", type=Path, default=None, help="where to write (default reports/shadow/EXP)"
    )
    report.add_argument(
        "--attach",
        action="store_true",
        help="attach the summary to the experiment as evidence (computed by the control plane "
        "unless --impressions: only that kind meets a staged plan's shadow bounds)",
    )
    add_client_arguments(report, default_as=None)
    report.set_defaults(handler=run_report)


def run_start(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        pointer = client.stub.StartShadow(
            pb.StartShadowRequest(experiment_id=args.experiment_id, share=args.share),
            metadata=client.metadata,
            timeout=client.timeout,
        ).pointer
        if args.json:
            print_json({"pointer": pointer_dict(pointer)})
        else:
            rollout = pointer.rollout
            print(
                f"shadow of {args.experiment_id} started: {rollout.challenger_version} ranks "
                f"{rollout.share:g} of users beside {pointer.serving_version} (rollout "
                f"{rollout.rollout_id}, pointer revision {pointer.revision})"
            )
        return 0

    return run_with_client(args, body)


def run_stop(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        pointer = client.stub.StopShadow(
            pb.StopShadowRequest(experiment_id=args.experiment_id, reason=args.reason),
            metadata=client.metadata,
            timeout=client.timeout,
        ).pointer
        if args.json:
            print_json({"pointer": pointer_dict(pointer)})
        else:
            print(
                f"shadow of {args.experiment_id} stopped: {pointer.serving_version} serves alone "
                f"(pointer revision {pointer.revision})"
            )
        return 0

    return run_with_client(args, body)


def run_report(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    if args.k < 1:
        print(f"recmesh shadow report: --k must be at least 1, got {args.k}", file=sys.stderr)
        return 2
    out: Path = args.out or Path("reports") / "shadow" / args.experiment_id

    def body(client: ControlPlaneClient) -> int:
        attached = None
        if args.impressions:
            computed = _compute_here(client, args)
            if computed is None:
                return 1
            summary_json, html = computed
            if args.attach:
                attached = client.stub.AttachShadowReport(
                    pb.AttachShadowReportRequest(
                        experiment_id=args.experiment_id,
                        summary_json=summary_json,
                        report_sha256=hashlib.sha256(html).hexdigest(),
                    ),
                    metadata=client.metadata,
                    timeout=client.timeout,
                ).summary
        elif args.attach:
            # Computed and attached by the control plane in one call, so what is attached
            # is what its logs say (the kind a staged plan's shadow bounds accept).
            response = client.stub.AttachShadowReport(
                pb.AttachShadowReportRequest(experiment_id=args.experiment_id, k=args.k),
                metadata=client.metadata,
                timeout=max(client.timeout, 300.0),
            )
            attached = response.summary
            summary_json, html = attached.summary_json, response.report_html
        else:
            report = client.stub.GetShadowReport(
                pb.GetShadowReportRequest(experiment_id=args.experiment_id, k=args.k),
                metadata=client.metadata,
                timeout=max(client.timeout, 300.0),
            )
            summary_json, html = report.summary_json, report.report_html
        out.mkdir(parents=True, exist_ok=True)
        (out / SUMMARY_FILE).write_text(summary_json, encoding="utf-8")
        (out / REPORT_FILE).write_bytes(html)
        sha256 = hashlib.sha256(html).hexdigest()
        summary = json.loads(summary_json)
        if args.json:
            print_json(
                {
                    "summary": summary,
                    "report": str(out / REPORT_FILE),
                    "report_sha256": sha256,
                    "attached": None if attached is None else message_dict(attached),
                }
            )
            return 0
        print(f"shadow report of {args.experiment_id}: {out / REPORT_FILE}")
        print("\n".join(shadow_lines(summary)))
        if attached is not None:
            print(
                f"  attached    by {attached.attached_by} (report sha256 {sha256[:12]}, "
                f"{attached_source(attached)})"
            )
        return 0

    return run_with_client(args, body)


def _compute_here(client: ControlPlaneClient, args: argparse.Namespace) -> tuple[str, bytes] | None:
    """The summary JSON and page computed from --impressions; None (after saying why on
    stderr) when there is nothing to compare or a log cannot be read."""
    from offline.shadow.build import NoShadowRecordsError, build_from_paths
    from offline.shadow.log_reader import ShadowLogError
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.data.errors import DataFormatError

    experiment = client.stub.GetExperiment(
        pb.GetExperimentRequest(experiment_id=args.experiment_id),
        metadata=client.metadata,
        timeout=client.timeout,
    ).experiment
    try:
        built = build_from_paths(
            args.experiment_id,
            experiment.champion_version,
            experiment.spec.challenger_version,
            args.impressions,
            interactions=args.interactions,
            k=args.k,
        )
    except (NoShadowRecordsError, ShadowLogError, DataFormatError, OSError) as exc:
        print(f"recmesh shadow report: {exc}", file=sys.stderr)
        return None
    return json.dumps(built.summary, indent=2, sort_keys=True), built.html.encode()
