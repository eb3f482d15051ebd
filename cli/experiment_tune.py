"""The handler of `recmesh experiment tune` (imported lazily by cli/experiment_cmd.py).

Reads the spec and its `tuning:` block, loads and splits the dataset exactly as a run
does, hands the search TRAIN only (`offline.tuning.holdout`), runs the trials, and
writes the tuned spec and the trial log (an HTML page, and JSON with exact values).
Talks to no control plane and records nothing. Exit codes: 0 when the tuned spec is
written, 1 when the data cannot be loaded or no trial completes, 2 for an invalid spec
(or one without a `tuning:` block).

The caller has applied the run's `Footprint` (priority, thread pools) before importing
this module; every trial's spec has its XGBoost threads capped by it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import optuna

from cli.output import print_json
from offline.errors import OfflineError
from offline.experiment.footprint import Footprint
from offline.experiment.pipeline import prepare_data
from offline.experiment.spec_loading import SpecError, parse_spec, read_spec_body
from offline.tuning.holdout import tuning_data
from offline.tuning.objective import Objective, describe
from offline.tuning.report import TuningPage, trial_log, write_page
from offline.tuning.study import TuningResult, run_study
from offline.tuning.tuned_spec import tuned_spec_text
from recmesh.console.progress import TerminalProgress
from recmesh.data.errors import DataError
from recmesh.data.fetch import default_data_dir
from recmesh.files.atomic import replace_file

_NAME = "recmesh experiment tune"


def tune_command(args: argparse.Namespace, footprint: Footprint, nice: int) -> int:
    """Tunes the spec at `args.spec`; `nice` is the nice value after `footprint.apply()`."""
    try:
        body = read_spec_body(args.spec)
        spec = parse_spec(body)
    except SpecError as exc:
        print(f"{_NAME}: invalid spec {args.spec}: {exc}", file=sys.stderr)
        return 2
    if spec.tuning is None:
        print(f"{_NAME}: {args.spec} has no tuning: block (docs/experiments.md)", file=sys.stderr)
        return 2
    trials = args.trials or spec.tuning.trials
    capped = footprint.capped(spec)
    print(f"{_NAME}: {footprint.describe(nice, spec, capped)}", file=sys.stderr)
    progress = TerminalProgress(sys.stderr)
    # Optuna would log every trial; the trials' own progress lines say it already.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        prepared = prepare_data(
            capped, args.data_dir or default_data_dir(), progress, args.interaction_log
        )
        # From here on only TRAIN: the test split stays in `prepared`, which tuning never sees.
        data = tuning_data(prepared.dataset, prepared.train, prepared.split, spec.seed)
        del prepared
        objective = Objective(body, spec.tuning, data, progress, cap=footprint.capped)
        result = run_study(objective, capped, trials, args.timeout)
    except (DataError, OfflineError, RuntimeError) as exc:
        progress.finish("failed")
        print(f"{_NAME}: {exc}", file=sys.stderr)
        return 1
    out = args.out or args.spec.with_name(f"{args.spec.stem}.tuned.yaml")
    holdout = (
        f"{len(data.validation):,} held-out rows of {data.validation_users.shape[0]:,} users "
        f"of TRAIN ({data.split} applied to TRAIN; trials train on the other "
        f"{len(data.fit):,} rows)"
    )
    header = [
        f"Tuned by `{_NAME} {args.spec} --trials {trials}`: the best of",
        f"{len(result.trials)} trials, {result.metric} {result.best.value:.4f} on a hold-out of "
        f"TRAIN ({data.split});",
        "the test split was never read.",
    ]
    replace_file(out, tuned_spec_text(body, result.best.values, header).encode("utf-8"))
    report = args.report or Path(args.reports) / f"tune-{spec.name}.html"
    page = TuningPage(spec.name, str(args.spec), holdout, capped.training.xgboost.eval_metric,
                      str(out), result)  # fmt: skip
    write_page(report, page)
    log = report.with_suffix(".json")
    replace_file(log, json.dumps(trial_log(result), indent=1).encode("utf-8"))
    _print_result(result, out, report, args.json)
    return 0


def _print_result(result: TuningResult, out: Path, report: Path, as_json: bool) -> None:
    baseline = result.baseline
    if as_json:
        body: dict[str, Any] = {
            "metric": result.metric,
            "best": {"trial": result.best.number + 1, "value": result.best.value,
                     "values": dict(result.best.values)},
            "spec_values": None if baseline is None else {
                "trial": baseline.number + 1, "value": baseline.value,
                "values": dict(baseline.values)},
            "trials": len(result.trials),
            "pruned": sum(t.value is None for t in result.trials),
            "seconds": result.seconds,
            "tuned_spec": str(out),
            "report_path": str(report),
            "trial_log": str(report.with_suffix(".json")),
        }  # fmt: skip
        print_json(body)
        return
    pruned = sum(t.value is None for t in result.trials)
    best = result.best
    print(f"best of {len(result.trials)} trials ({pruned} pruned): trial {best.number + 1}, "
          f"{result.metric} {best.value:.4f} on the hold-out")  # fmt: skip
    print(f"  {describe(result.best.values)}")
    if baseline is not None:
        own = "pruned" if baseline.value is None else f"{baseline.value:.4f}"
        print(f"  the spec's own values (trial {baseline.number + 1}): {own}")
    print(f"  tuned spec {out}")
    print(f"  report {report} (every trial's exact values: {report.with_suffix('.json')})")
