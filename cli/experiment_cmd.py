"""`recmesh experiment create|show|list|evaluation|record-evaluation`.

`create` takes flags, or a YAML/JSON spec file with the ExperimentSpec field
names (flags override the file):

    name: xgb-depth-6
    challenger_version: sv-0123456789abcdef
    dataset_name: ml-100k
    dataset_fingerprint: 5f1c...
    split: "user_stratified:0.75:seed=42"
    metrics: [ndcg@10, recall@10, coverage]
    success_metrics: [ndcg@10]
    guardrails:
      - {metric: coverage, margin: 0.02, direction: higher}
    approvals_required: 1

`run SPEC.yaml` runs a whole offline experiment (`offline.experiment.runner`);
`tune SPEC.yaml --trials N` searches its `tuning:` space inside TRAIN (`offline.tuning`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cli.artifacts_args import add_artifacts_argument
from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import enum_word, message_dict, print_json, print_table, when
from cli.yaml_mapping import MappingFileError, load_mapping
from recmesh.files.repo_paths import REPO_ROOT

STATES = ("created", "passed", "failed", "approved", "rejected", "promoted")
_DIRECTIONS = {
    "higher": "METRIC_DIRECTION_HIGHER_IS_BETTER",
    "lower": "METRIC_DIRECTION_LOWER_IS_BETTER",
}


class SpecError(ValueError):
    """A spec file or flag that does not make an ExperimentSpec."""


def add_parser(subparsers: Any) -> None:
    experiment = subparsers.add_parser("experiment", help="challengers measured against champions")
    commands = experiment.add_subparsers(
        dest="experiment_command", metavar="COMMAND", required=True
    )

    create = commands.add_parser("create", help="create an experiment (experimenter)")
    create.add_argument("--spec", type=Path, help="YAML or JSON ExperimentSpec")
    create.add_argument("--name")
    create.add_argument("--description")
    create.add_argument("--challenger", metavar="VERSION")
    create.add_argument("--dataset-name")
    create.add_argument("--dataset-fingerprint")
    create.add_argument("--split")
    create.add_argument("--metric", action="append", default=[], dest="metrics")
    create.add_argument("--success-metric", action="append", default=[], dest="success_metrics")
    create.add_argument(
        "--guardrail",
        action="append",
        default=[],
        dest="guardrails",
        metavar="METRIC:MARGIN[:higher|lower]",
    )
    create.add_argument("--approvals", type=int, help="approvals required (default 1)")
    add_client_arguments(create, default_as=None)
    create.set_defaults(handler=run_create)

    show = commands.add_parser("show", help="an experiment, its evaluation and reviews")
    show.add_argument("experiment_id", metavar="EXP")
    add_client_arguments(show, default_as="alice")
    show.set_defaults(handler=run_show)

    listing = commands.add_parser("list", help="experiments, optionally in one state")
    listing.add_argument("--state", choices=STATES)
    add_client_arguments(listing, default_as="alice")
    listing.set_defaults(handler=run_list)

    evaluation = commands.add_parser("evaluation", help="an experiment's recorded evaluation")
    evaluation.add_argument("experiment_id", metavar="EXP")
    add_client_arguments(evaluation, default_as="alice")
    evaluation.set_defaults(handler=run_evaluation)

    record = commands.add_parser(
        "record-evaluation", help="record an evaluation from a YAML/JSON file (experimenter)"
    )
    record.add_argument("path", type=Path, metavar="FILE")
    add_client_arguments(record, default_as=None)
    record.set_defaults(handler=run_record_evaluation)

    run = commands.add_parser(
        "run",
        help="train a challenger, evaluate it against the champion, record it (experimenter)",
    )
    run.add_argument("spec", type=Path, metavar="SPEC.yaml", help="experiment spec (YAML)")
    run.add_argument("--data-dir", type=Path, default=None, help="dataset cache directory")
    add_artifacts_argument(run)
    run.add_argument(
        "--reports", type=Path, default=REPO_ROOT / "var" / "reports", help="report directory"
    )
    run.add_argument("--code-revision", default="", help="default: the checkout's git commit")
    run.add_argument(
        "--interaction-log",
        type=Path,
        default=Path(os.environ.get("RECMESH_STATE_DIR", REPO_ROOT / "var")) / "interactions",
        help="the interaction log whose rows join the dataset (default: interactions/ in "
        "$RECMESH_STATE_DIR or var/, where `recmesh up` keeps it; a missing directory is "
        "an empty log)",
    )
    run.add_argument(
        "--nice",
        type=int,
        default=None,
        metavar="N",
        help="lower the run's CPU priority by N, 0 to 19 (default 19: serving comes first)",
    )
    run.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="cap XGBoost, OpenMP and BLAS threads at N (default: all cores but one)",
    )
    add_client_arguments(run, default_as="alice")
    run.set_defaults(handler=run_run)

    tune = commands.add_parser(
        "tune",
        help="search the spec's tuning: space on a hold-out of TRAIN, write the tuned spec",
    )
    tune.add_argument("spec", type=Path, metavar="SPEC.yaml", help="experiment spec (YAML)")
    tune.add_argument(
        "--trials", type=int, default=None, metavar="N", help="default: the spec's tuning.trials"
    )
    tune.add_argument(
        "--timeout", type=float, default=None, metavar="S",
        help="start no trial after S seconds of search",
    )  # fmt: skip
    tune.add_argument(
        "--out", type=Path, default=None, help="tuned spec (default: SPEC.tuned.yaml beside it)"
    )
    tune.add_argument("--report", type=Path, default=None, help="trial log (HTML)")
    tune.add_argument(
        "--reports", type=Path, default=REPO_ROOT / "var" / "reports",
        help="directory of the trial log when --report is not given",
    )  # fmt: skip
    tune.add_argument("--data-dir", type=Path, default=None, help="dataset cache directory")
    tune.add_argument(
        "--interaction-log",
        type=Path,
        default=Path(os.environ.get("RECMESH_STATE_DIR", REPO_ROOT / "var")) / "interactions",
        help="the interaction log whose rows join the dataset, as for run",
    )
    tune.add_argument("--nice", type=int, default=None, metavar="N", help="as for run")
    tune.add_argument("--threads", type=int, default=None, metavar="N", help="as for run")
    tune.add_argument("--json", action="store_true", help="the result as one JSON object")
    tune.set_defaults(handler=run_tune)


def _load_mapping(path: Path) -> dict[str, Any]:
    try:
        return load_mapping(path)
    except MappingFileError as exc:
        raise SpecError(str(exc)) from exc


def build_spec(args: argparse.Namespace) -> Any:
    """The ExperimentSpec from --spec and the flags (flags win)."""
    from google.protobuf import json_format

    from recmesh.api.controlplane.v1 import records_pb2

    body = _load_mapping(args.spec) if args.spec else {}
    if "challenger" in body:
        body.setdefault("challenger_version", body.pop("challenger"))
    for guardrail in body.get("guardrails") or []:
        if isinstance(guardrail, dict) and "direction" in guardrail:
            direction = str(guardrail["direction"])
            guardrail["direction"] = _DIRECTIONS.get(direction, direction)
    spec = records_pb2.ExperimentSpec()
    try:
        json_format.ParseDict(body, spec)
    except json_format.ParseError as exc:
        raise SpecError(f"{args.spec}: {exc}") from exc
    for flag, field in (
        ("name", "name"),
        ("description", "description"),
        ("challenger", "challenger_version"),
        ("dataset_name", "dataset_name"),
        ("dataset_fingerprint", "dataset_fingerprint"),
        ("split", "split"),
    ):
        value = getattr(args, flag)
        if value is not None:
            setattr(spec, field, value)
    if args.metrics:
        spec.ClearField("metrics")
        spec.metrics.extend(args.metrics)
    if args.success_metrics:
        spec.ClearField("success_metrics")
        spec.success_metrics.extend(args.success_metrics)
    if args.guardrails:
        spec.ClearField("guardrails")
        spec.guardrails.extend(_guardrail(text) for text in args.guardrails)
    if args.approvals is not None:
        if args.approvals < 0:
            raise SpecError("--approvals must be >= 0")
        spec.approvals_required = args.approvals
    return spec


def _guardrail(text: str) -> Any:
    """A Guardrail from METRIC:MARGIN[:higher|lower]; without a direction, the metric's own
    (recmesh.decision.metrics), as in a spec file loaded by `run`."""
    from recmesh.api.controlplane.v1 import records_pb2
    from recmesh.decision import metric_direction

    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in _DIRECTIONS):
        raise SpecError(f"--guardrail {text!r}: expected METRIC:MARGIN[:higher|lower]")
    try:
        margin = float(parts[1])
    except ValueError:
        raise SpecError(f"--guardrail {text!r}: margin {parts[1]!r} is not a number") from None
    direction = _DIRECTIONS[parts[2] if len(parts) == 3 else metric_direction(parts[0]).value]
    return records_pb2.Guardrail(
        metric=parts[0], margin=margin, direction=records_pb2.MetricDirection.Value(direction)
    )


def _state(experiment: Any) -> str:
    from recmesh.api.controlplane.v1 import records_pb2

    return enum_word(records_pb2.ExperimentState.Name(experiment.state), "EXPERIMENT_STATE_")


def run_create(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    try:
        spec = build_spec(args)
    except SpecError as exc:
        print(f"recmesh experiment create: {exc}", file=sys.stderr)
        return 2

    def body(client: ControlPlaneClient) -> int:
        experiment = client.stub.CreateExperiment(
            pb.CreateExperimentRequest(spec=spec), metadata=client.metadata, timeout=client.timeout
        ).experiment
        if args.json:
            print_json(message_dict(experiment))
        else:
            print(
                f"created {experiment.experiment_id}: {experiment.spec.challenger_version} vs "
                f"champion {experiment.champion_version} (pointer revision "
                f"{experiment.champion_pointer_revision})"
            )
        return 0

    return run_with_client(args, body)


def run_show(args: argparse.Namespace) -> int:
    from cli.evaluation_text import evaluation_lines
    from cli.rollout_text import rollout_headline
    from cli.shadow_text import attached_report_lines
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.GetExperiment(
            pb.GetExperimentRequest(experiment_id=args.experiment_id),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        if args.json:
            print_json(message_dict(response))
            return 0
        experiment = response.experiment
        spec = experiment.spec
        print(f"{experiment.experiment_id}  {spec.name}  [{_state(experiment)}]")
        print(f"  challenger  {spec.challenger_version}")
        print(
            f"  champion    {experiment.champion_version} (pointer revision "
            f"{experiment.champion_pointer_revision})"
        )
        print(f"  dataset     {spec.dataset_name} ({spec.dataset_fingerprint}), split {spec.split}")
        print(
            f"  metrics     {', '.join(spec.metrics)}; success: {', '.join(spec.success_metrics)}"
        )
        for guardrail in spec.guardrails:
            print(f"  guardrail   {guardrail.metric} margin {guardrail.margin:g}")
        rule = experiment.rule
        for budget in rule.budgets:
            print(f"  budget      {budget.metric} <= {budget.max:g}")
        if experiment.HasField("rule"):
            print(
                f"  decision    intervals at {rule.confidence * 100:g}% from at least "
                f"{rule.min_resamples} resamples"
            )
        print(f"  approvals   {spec.approvals_required} required")
        print(f"  submitted   by {experiment.submitted_by} at {when(experiment.created_at)}")
        if response.HasField("evaluation"):
            print("\n".join(evaluation_lines(response.evaluation, rule)))
        else:
            print("  evaluation  none yet")
        for review in response.reviews:
            word = enum_word(records_pb2.ReviewVerdict.Name(review.verdict), "REVIEW_VERDICT_")
            print(f"  {word:<8} {review.author}: {review.comment}")
        if response.HasField("shadow_report"):
            print("\n".join(attached_report_lines(response.shadow_report)))
        if response.HasField("rollout"):
            print(f"  {rollout_headline(response.rollout)}")
        return 0

    return run_with_client(args, body)


def run_list(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    state = (
        records_pb2.ExperimentState.Value(f"EXPERIMENT_STATE_{args.state.upper()}")
        if args.state
        else records_pb2.EXPERIMENT_STATE_UNSPECIFIED
    )

    def body(client: ControlPlaneClient) -> int:
        experiments = client.stub.ListExperiments(
            pb.ListExperimentsRequest(state=state),
            metadata=client.metadata,
            timeout=client.timeout,
        ).experiments
        if args.json:
            print_json({"experiments": [message_dict(e) for e in experiments]})
            return 0
        print_table(
            ("ID", "NAME", "STATE", "CHALLENGER", "CHAMPION", "SUBMITTED BY", "CREATED"),
            [
                (
                    e.experiment_id,
                    e.spec.name,
                    _state(e),
                    e.spec.challenger_version,
                    e.champion_version,
                    e.submitted_by,
                    when(e.created_at),
                )
                for e in experiments
            ],
        )
        return 0

    return run_with_client(args, body)


def run_evaluation(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        evaluation = client.stub.GetEvaluation(
            pb.GetEvaluationRequest(experiment_id=args.experiment_id),
            metadata=client.metadata,
            timeout=client.timeout,
        ).evaluation
        if args.json:
            print_json(message_dict(evaluation))
        else:
            print(evaluation, end="")
        return 0

    return run_with_client(args, body)


def run_record_evaluation(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    evaluation = records_pb2.Evaluation()
    try:
        json_format.ParseDict(_load_mapping(args.path), evaluation)
    except (SpecError, json_format.ParseError) as exc:
        print(f"recmesh experiment record-evaluation: {exc}", file=sys.stderr)
        return 2

    def body(client: ControlPlaneClient) -> int:
        recorded = client.stub.RecordEvaluation(
            pb.RecordEvaluationRequest(evaluation=evaluation),
            metadata=client.metadata,
            timeout=client.timeout,
        ).evaluation
        if args.json:
            print_json(message_dict(recorded))
        else:
            verdict = records_pb2.Verdict.Name(recorded.verdict).removeprefix("VERDICT_")
            print(f"recorded evaluation of {recorded.experiment_id}: {verdict}")
        return 0

    return run_with_client(args, body)


def _apply_footprint(args: argparse.Namespace, command: str) -> tuple[Any, int] | None:
    """The footprint of --nice and --threads, applied (None, said on stderr, when invalid).
    It goes before anything else: thread pools are sized when numpy and XGBoost load, and
    the handlers' modules load them."""
    from offline.experiment.footprint import Footprint

    try:
        footprint = Footprint.of(args.nice, args.threads)
    except ValueError as exc:
        print(f"recmesh experiment {command}: {exc}", file=sys.stderr)
        return None
    return footprint, footprint.apply()


def run_run(args: argparse.Namespace) -> int:
    applied = _apply_footprint(args, "run")
    if applied is None:
        return 2

    from cli.experiment_run import run_command

    return run_command(args, *applied)


def run_tune(args: argparse.Namespace) -> int:
    if args.trials is not None and args.trials < 1:
        print("recmesh experiment tune: --trials must be at least 1", file=sys.stderr)
        return 2
    applied = _apply_footprint(args, "tune")
    if applied is None:
        return 2

    from cli.experiment_tune import tune_command

    return tune_command(args, *applied)
