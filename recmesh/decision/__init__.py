"""The decision rule, shared by the offline runner and the control plane.

The runner judges its measurements with it; the control plane judges the
evidence an evaluation carries with the same code, so a recorded verdict is
derived, never declared. Pure Python: no numpy, nothing from `offline/`, so the
control plane can import it without pulling training code.

Layout: `rule` (what an experiment decides by), `evidence` (what a judgement
reads per metric), `decide` (the verdict), `reasons` (the recorded sentences),
`multiplicity` (Holm over several success metrics), `metrics` (which way each
metric gets better, one table), `errors` (evidence that cannot be judged).
"""

from recmesh.decision.decide import Decision, Verdict, decide
from recmesh.decision.errors import (
    ConfidenceMismatchError,
    EvidenceError,
    MissingEvidenceError,
    MissingPValueError,
    TooFewResamplesError,
)
from recmesh.decision.evidence import Evidence, MetricEvidence, improvement_p
from recmesh.decision.metrics import (
    KNOWN_DIRECTIONS,
    contradicted_direction,
    known_direction,
    metric_direction,
)
from recmesh.decision.multiplicity import HolmStep, holm
from recmesh.decision.reasons import verdict_reasons
from recmesh.decision.rule import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_RESAMPLES,
    Budget,
    DecisionRule,
    Direction,
    Guardrail,
    Multiplicity,
    SuccessMetric,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MIN_RESAMPLES",
    "KNOWN_DIRECTIONS",
    "Budget",
    "ConfidenceMismatchError",
    "Decision",
    "DecisionRule",
    "Direction",
    "Evidence",
    "EvidenceError",
    "Guardrail",
    "HolmStep",
    "MetricEvidence",
    "MissingEvidenceError",
    "MissingPValueError",
    "Multiplicity",
    "SuccessMetric",
    "TooFewResamplesError",
    "Verdict",
    "contradicted_direction",
    "decide",
    "holm",
    "improvement_p",
    "known_direction",
    "metric_direction",
    "verdict_reasons",
]
