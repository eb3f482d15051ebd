"""The shadow record's shape, checked as it is read."""

from __future__ import annotations

import pytest

from offline.shadow.records import (
    CHALLENGER,
    ArmImpression,
    ShadowRecordError,
    ShownItem,
)
from tests.offline.shadow.factories import record


def test_a_record_is_read_with_its_arm_latency_and_error() -> None:
    """The fields the diff uses are kept; the impression's others are ignored."""
    impression = ArmImpression.from_record(
        record("r1", CHALLENGER, [5, 9], user_id="42", at=7.5, latency_ms=12.5)
    )
    assert impression.request_id == "r1"
    assert impression.arm == CHALLENGER
    assert impression.user_id == "42"
    assert impression.at == 7.5
    assert impression.items == (ShownItem(5, 1.0), ShownItem(9, 0.9))
    assert impression.serving_version == "v-challenger"
    assert impression.latency_ms == 12.5
    assert impression.error is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("arm", "canary", "arm must be one of"),
        ("error", 0, "field 'error' has the wrong type"),
        ("latency_ms", -1.0, "latency_ms must be finite"),
        ("items", [{"item_id": True, "score": 1.0}], "field 'item_id' has the wrong type"),
    ],
)
def test_a_malformed_record_is_refused(field: str, value: object, message: str) -> None:
    """A wrong arm, a non-bool error, a negative latency, a bool item id: each refused."""
    line = record("r1", CHALLENGER, [5])
    line[field] = value
    with pytest.raises(ShadowRecordError, match=message):
        ArmImpression.from_record(line)
