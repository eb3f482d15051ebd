"""`recmesh experiment run SPEC.yaml`: the whole experiment, step by step.

1. check the control plane answers and who we are (WhoAmI) - nothing recorded yet;
2. load and split the dataset; train the challenger on the TRAIN split only (in this
   process, or on the Dask cluster of the spec's `compute:` block, kept until step 7);
3. upload its serving bundle (the model with a snapshot of the whole dataset, and
   the manifest) with UploadArtifact, register it;
4. create the experiment, which captures the champion and the pointer revision;
5. read the champion's bundle from the artifact store, rebuild both arms on TRAIN,
   evaluate both on the same held-out users, time the challenger, bootstrap;
6. write the HTML report (temporary file, then rename);
7. record the evaluation with one RecordEvaluation call.

Killed at any point before 7, the run leaves no evaluation: at most a registered
model version and an experiment in state CREATED, which a new run does not reuse
(evaluations are immutable and recorded whole, once).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offline.experiment.bundle import read_champion
from offline.experiment.controlplane import ExperimentControlPlane
from offline.experiment.engine import Engine, open_engine
from offline.experiment.measure import Measurement
from offline.experiment.pipeline import (
    PreparedData,
    champion_arm,
    evaluate_arms,
    prepare_data,
    train_challenger,
)
from offline.experiment.record import evaluation_message, experiment_spec, lineage, recorded_rule
from offline.experiment.report_input import report_input
from offline.experiment.spec import ExperimentRunSpec
from offline.report.html import write_report
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.factory import open_artifact_store
from recmesh.artifacts.location import ArtifactsLocation
from recmesh.artifacts.store import sha256_hex
from recmesh.console.progress import Progress


@dataclass(frozen=True)
class RunnerSettings:
    """Where data, the control plane's artifact store and reports are."""

    data_dir: Path
    artifacts_dir: ArtifactsLocation
    reports_dir: Path
    code_revision: str = ""
    #: The interaction log whose rows join the dataset (None: the dataset alone).
    interaction_log: Path | None = None


@dataclass(frozen=True)
class RunResult:
    experiment_id: str
    challenger_version: str
    champion_version: str
    verdict: str
    reasons: tuple[str, ...]
    report_path: Path
    measurement: Measurement


def run_experiment(
    spec: ExperimentRunSpec,
    settings: RunnerSettings,
    control_plane: ExperimentControlPlane,
    progress: Progress,
) -> RunResult:
    """Runs a validated spec end to end; RPC errors propagate as grpc.RpcError."""
    progress.start(None, "checking the control plane")
    who = control_plane.whoami()
    progress.finish(f"acting as {who.principal} ({', '.join(who.roles)})")

    data = prepare_data(spec, settings.data_dir, progress, settings.interaction_log)
    with open_engine(spec.compute, progress) as engine:
        return _run_on(engine, spec, settings, control_plane, progress, data)


def _run_on(
    engine: Engine,
    spec: ExperimentRunSpec,
    settings: RunnerSettings,
    control_plane: ExperimentControlPlane,
    progress: Progress,
    data: PreparedData,
) -> RunResult:
    """Steps 2 (training) to 7, training and evaluating with `engine`."""
    challenger = train_challenger(spec, data, progress, engine=engine)
    bundle = challenger.bundle

    files = bundle.files()
    progress.start(sum(len(data) for _, data in files), "uploading the challenger bundle", "B")
    for name, content in files:
        control_plane.upload(name, content)
        progress.advance(len(content))
    progress.finish()
    progress.start(None, "registering the challenger")
    version = control_plane.register(
        bundle.manifest_sha256,
        lineage(spec, settings.code_revision, data.log_rows, challenger.trained.engine),
        f"{spec.name}: XGBoost ranker ({challenger.trained.trees} trees)",
    )
    progress.finish(version.version_id)

    progress.start(None, "creating the experiment")
    experiment = control_plane.create_experiment(
        experiment_spec(spec, version.version_id, data.dataset.name, data.dataset.fingerprint)
    )
    progress.finish(
        f"{experiment.experiment_id} against champion {experiment.champion_version} "
        f"(pointer revision {experiment.champion_pointer_revision})"
    )

    rule = recorded_rule(spec, experiment)  # before the evaluation: it may be refused
    champion_version = control_plane.model_version(experiment.champion_version)
    champion = read_champion(
        open_artifact_store(settings.artifacts_dir), champion_version.manifest_sha256
    )
    arms = evaluate_arms(
        spec,
        rule,
        data,
        challenger=challenger.arm,
        champion=champion_arm(
            champion, experiment.champion_version, data, challenger.arm.snapshot
        ),
        progress=progress,
        engine=engine,
    )

    progress.start(None, "writing the report")
    report_path = (settings.reports_dir / f"{experiment.experiment_id}.html").resolve()
    write_report(report_path, report_input(spec, experiment, data, challenger, arms))
    progress.finish(str(report_path))

    progress.start(None, "recording the evaluation")
    recorded = control_plane.record_evaluation(
        evaluation_message(
            experiment,
            arms.measurement,
            report_path.as_uri(),
            spec,
            challenger_model_sha256=sha256_hex(challenger.trained.model_bytes),
        )
    )
    verdict = records_pb2.Verdict.Name(recorded.verdict).removeprefix("VERDICT_")
    progress.finish(verdict)
    return RunResult(
        experiment_id=experiment.experiment_id,
        challenger_version=version.version_id,
        champion_version=experiment.champion_version,
        verdict=verdict,
        reasons=tuple(recorded.reasons),
        report_path=report_path,
        measurement=arms.measurement,
    )
