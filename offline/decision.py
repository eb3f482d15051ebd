"""The decision rule of offline experiments: `recmesh.decision`, which the control plane
also applies to every evaluation it records (one implementation for both).

`offline.stats.bootstrap.DeltaEstimate` is a `MetricEvidence`, so the runner's
estimates are judged as they are.
"""

from __future__ import annotations

from recmesh.decision import (
    Budget,
    Decision,
    DecisionRule,
    Direction,
    Guardrail,
    MissingEvidenceError,
    Multiplicity,
    SuccessMetric,
    Verdict,
    decide,
    verdict_reasons,
)

__all__ = [
    "Budget",
    "Decision",
    "DecisionRule",
    "Direction",
    "Guardrail",
    "MissingEvidenceError",
    "Multiplicity",
    "SuccessMetric",
    "Verdict",
    "decide",
    "verdict_reasons",
]
