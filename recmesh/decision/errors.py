"""Evidence that cannot be judged: an error, never a FAIL. Each names its metric."""

from __future__ import annotations

from collections.abc import Sequence


class EvidenceError(ValueError):
    """Evidence a rule cannot be applied to; `metric` is the first metric at fault."""

    def __init__(self, metric: str, message: str) -> None:
        self.metric = metric
        super().__init__(message)


class MissingEvidenceError(EvidenceError):
    """The rule names a metric the evidence lacks."""

    def __init__(self, metric: str, available: Sequence[str]) -> None:
        self.available = tuple(available)
        super().__init__(
            metric,
            f"no evidence for metric {metric!r} of the decision rule "
            f"(have: {', '.join(self.available) or 'none'})",
        )


class TooFewResamplesError(EvidenceError):
    """A metric's interval rests on fewer bootstrap resamples than the rule requires."""

    def __init__(self, metric: str, resamples: int, required: int) -> None:
        self.resamples = resamples
        self.required = required
        super().__init__(
            metric,
            f"metric {metric!r}: its interval comes from {resamples} bootstrap resamples, "
            f"the decision rule requires at least {required}",
        )


class ConfidenceMismatchError(EvidenceError):
    """A metric's interval is at another confidence level than the rule's."""

    def __init__(self, metric: str, confidence: float, required: float) -> None:
        self.confidence = confidence
        self.required = required
        super().__init__(
            metric,
            f"metric {metric!r}: its interval is at confidence {confidence:g}, the decision "
            f"rule's is {required:g}",
        )


class MissingPValueError(EvidenceError):
    """A rule adjusting several success metrics (Holm) lacks one's p-value of an improvement."""

    def __init__(self, metric: str, field: str) -> None:
        self.field = field
        super().__init__(
            metric,
            f"metric {metric!r}: no {field} (its paired-bootstrap p-value of an improvement), "
            "which the Holm adjustment over the success metrics needs",
        )
