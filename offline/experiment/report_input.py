"""What an experiment's report shows, gathered from the run: facts, metrics, samples."""

from __future__ import annotations

import numpy as np

from offline.experiment.arms import ArmLists
from offline.experiment.pipeline import ArmsEvaluation, Challenger, PreparedData
from offline.experiment.record import verdict_reasons
from offline.experiment.spec import ExperimentRunSpec
from offline.metrics.segments import SEGMENTS, segment_users, training_sizes
from offline.report.html import ListedItem, ReportInput, SampleUser
from offline.topk import PAD
from recmesh.api.controlplane.v1 import records_pb2


def report_input(
    spec: ExperimentRunSpec,
    experiment: records_pb2.Experiment,
    data: PreparedData,
    challenger: Challenger,
    arms: ArmsEvaluation,
) -> ReportInput:
    trained = challenger.trained
    m = arms.measurement
    facts = (
        ("experiment", experiment.experiment_id),
        ("challenger", f"{experiment.spec.challenger_version} (XGBoost, {trained.trees} trees)"),
        ("champion", f"{experiment.champion_version} (pointer revision "
                     f"{experiment.champion_pointer_revision})"),
        ("dataset", f"{data.dataset.name} ({data.dataset.fingerprint[:16]})"),
        ("split", f"{spec.split}: {len(data.train):,} train rows, {len(data.test):,} test rows, "
                  f"{m.users} users evaluated"),
        ("top k", str(spec.k)),
        ("bootstrap", f"{spec.bootstrap.resamples} paired resamples over users, seed {spec.seed}, "
                      f"{spec.bootstrap.confidence * 100:g}% intervals"),
        ("training", f"labels {spec.training.labels.kind} {spec.training.labels.fraction:g} of "
                     f"TRAIN x{spec.training.labels.folds}; validation "
                     f"{trained.validation_metric} {trained.validation_score:.4f} on "
                     f"{trained.validation_groups} groups"),
        ("submitted by", experiment.submitted_by),
    )  # fmt: skip
    return ReportInput(
        title=f"Experiment {spec.name}",
        facts=facts,
        reasons=verdict_reasons(m),
        measurement=m,
        guardrail_margins={g.metric: g.margin for g in spec.guardrails},
        latency_budget_ms=None if spec.latency is None else spec.latency.max_ms,
        importance=trained.importance,
        samples=sample_users(spec, data, arms.champion, arms.challenger),
    )


def sample_users(
    spec: ExperimentRunSpec, data: PreparedData, champion: ArmLists, challenger: ArmLists
) -> tuple[SampleUser, ...]:
    """Up to `spec.sample_users` users, one per segment in turn, drawn with the seed."""
    users = champion.topk.users
    if spec.sample_users == 0 or users.shape[0] == 0:
        return ()
    rng = np.random.default_rng(spec.seed)
    labels = segment_users(data.train, users)
    pools = {s: list(rng.permutation(np.flatnonzero(labels == s))) for s in SEGMENTS}
    rows: list[int] = []
    while len(rows) < min(spec.sample_users, users.shape[0]):
        for segment in SEGMENTS:
            if pools[segment] and len(rows) < spec.sample_users:
                rows.append(int(pools[segment].pop()))
    sizes = training_sizes(data.train, users)
    titles = dict(zip(data.dataset.items.item_ids.tolist(), data.dataset.items.titles,
                      strict=True))  # fmt: skip
    samples = []
    for row in rows:
        user = int(users[row])
        held_out = set(data.test.items[data.test.users == user].tolist())

        def listed(lists: ArmLists, row: int = row, held_out: set[int] = held_out) -> tuple[
            ListedItem, ...
        ]:
            items = [int(i) for i in lists.topk.items[row, : spec.k] if i != PAD]
            return tuple(
                ListedItem(titles.get(i, "") or f"item {i}", i in held_out) for i in items
            )

        samples.append(
            SampleUser(
                user_id=user,
                segment=str(labels[row]),
                history=int(sizes[row]),
                champion=listed(champion),
                challenger=listed(challenger),
            )
        )
    return tuple(samples)
