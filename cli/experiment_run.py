"""The handler of `recmesh experiment run` (imported lazily by cli/experiment_cmd.py).

Exit codes: 0 when the evaluation is recorded (whatever the verdict), 1 for a
failed RPC or a run that cannot complete, 2 for a spec or set-up error, in which
case nothing was recorded.

The caller has applied the run's `Footprint` (priority, thread pools) before
importing this module; here it caps the spec's XGBoost threads.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from cli.controlplane_client import ControlPlaneClient, run_with_client
from cli.output import print_json
from offline.errors import OfflineError
from offline.experiment.bundle import ChampionBundleError
from offline.experiment.controlplane import ExperimentControlPlane
from offline.experiment.footprint import Footprint
from offline.experiment.runner import RunnerSettings, RunResult, run_experiment
from offline.experiment.spec_loading import SpecError, load_spec
from recmesh.console.progress import TerminalProgress
from recmesh.data.errors import DataError
from recmesh.data.fetch import default_data_dir
from recmesh.files.repo_paths import REPO_ROOT


def run_command(args: argparse.Namespace, footprint: Footprint, nice: int) -> int:
    """Runs the spec at `args.spec`; `nice` is the process's nice value after
    `footprint.apply()`."""
    try:
        asked = load_spec(args.spec)
    except SpecError as exc:
        print(f"recmesh experiment run: invalid spec {args.spec}: {exc}", file=sys.stderr)
        return 2
    spec = footprint.capped(asked)
    print(f"recmesh experiment run: {footprint.describe(nice, asked, spec)}", file=sys.stderr)
    settings = RunnerSettings(
        data_dir=args.data_dir or default_data_dir(),
        artifacts_dir=args.artifacts,
        reports_dir=args.reports,
        code_revision=args.code_revision or code_revision(),
        interaction_log=args.interaction_log,
    )
    progress = TerminalProgress(sys.stderr)

    def body(client: ControlPlaneClient) -> int:
        control_plane = ExperimentControlPlane(client.stub, client.metadata, client.timeout)
        try:
            result = run_experiment(spec, settings, control_plane, progress)
        except (ChampionBundleError, DataError, OfflineError) as exc:
            progress.finish("failed")
            print(f"recmesh experiment run: {exc}", file=sys.stderr)
            return 1
        _print_result(result, args.json)
        return 0

    return run_with_client(args, body)


def _print_result(result: RunResult, as_json: bool) -> None:
    m = result.measurement
    if as_json:
        body: dict[str, Any] = {
            "experiment_id": result.experiment_id,
            "challenger_version": result.challenger_version,
            "champion_version": result.champion_version,
            "verdict": result.verdict,
            "reasons": list(result.reasons),
            "report_path": str(result.report_path),
            "users": m.users,
            "deltas": {
                metric: {
                    "champion": d.champion,
                    "challenger": d.challenger,
                    "delta": d.delta,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                }
                for metric, d in m.deltas.items()
            },
        }
        print_json(body)
        return
    print(f"experiment {result.experiment_id}: {result.verdict}")
    print(f"  challenger {result.challenger_version} vs champion {result.champion_version}")
    for reason in result.reasons:
        print(f"  - {reason}")
    print(f"  report {result.report_path}")


def code_revision() -> str:
    """The checkout's git commit, or "unknown" outside a git checkout."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
            check=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip()
