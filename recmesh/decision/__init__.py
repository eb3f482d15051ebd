"""The decision rule, shared by the offline runner and the control plane.

The runner judges its measurements with it; the control plane judges the
evidence an evaluation carries with the same code, so a recorded verdict is
derived, never declared. Pure Python: no numpy, nothing from `offline/`, so the
control plane can import it without pulling training code.

Layout: `rule` (what an experiment decides by), `evidence` (what a judgement
reads per metric), `decide` (the verdict), `reasons` (the recorded sentences),
`metrics` (which way each metric gets better), `errors` (evidence that cannot
be judged).
"""

from recmesh.decision.decide import Decision, Verdict, decide
from recmesh.decision.errors import (
    ConfidenceMismatchError,
    EvidenceError,
    MissingEvidenceError,
    TooFewResamplesError,
)
from recmesh.decision.evidence import Evidence, MetricEvidence
from recmesh.decision.metrics import metric_direction
from recmesh.decision.reasons import verdict_reasons
from recmesh.decision.rule import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_RESAMPLES,
    Budget,
    DecisionRule,
    Direction,
    Guardrail,
    SuccessMetric,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MIN_RESAMPLES",
    "Budget",
    "ConfidenceMismatchError",
    "Decision",
    "DecisionRule",
    "Direction",
    "Evidence",
    "EvidenceError",
    "Guardrail",
    "MetricEvidence",
    "MissingEvidenceError",
    "SuccessMetric",
    "TooFewResamplesError",
    "Verdict",
    "decide",
    "metric_direction",
    "verdict_reasons",
]
