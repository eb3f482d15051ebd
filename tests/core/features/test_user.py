"""UserFeatures: the requesting user's row on every candidate, defaults for unknown users."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.features.hydrators.user import FEATURES, UserFeatures
from recmesh.snapshot.snapshot import Snapshot
from tests.core.features.batches import batch_for
from tests.snapshot.datasets import DAY, example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def row(snapshot: Snapshot, user_id: int) -> dict[str, float]:
    block = UserFeatures(snapshot).hydrate(batch_for(snapshot, user_id, [0, 1]))
    assert block.shape == (2, len(FEATURES))
    assert np.array_equal(block[0], block[1])
    return dict(zip(UserFeatures.feature_names, block[0].tolist(), strict=True))


def test_known_user_row(snapshot: Snapshot) -> None:
    """User 3: three ratings (5, 4, 1), last a day before now, span 59 days, male, 40."""
    features = row(snapshot, 3)
    assert features["user_n_interactions"] == 3
    assert features["user_log_n_interactions"] == pytest.approx(np.log(4))
    assert features["user_mean_rating"] == pytest.approx(10 / 3)
    assert features["user_rating_std"] == pytest.approx(float(np.std([5, 4, 1])), rel=1e-6)
    assert features["user_days_since_last"] == pytest.approx(1.0)
    assert features["user_history_span_days"] == pytest.approx(59.0)
    assert features["user_recent_items"] == 2
    assert features["user_mean_item_year"] == pytest.approx(1997.5)
    assert features["user_age"] == 40
    assert (features["user_is_female"], features["user_is_male"]) == (0, 1)
    assert features["user_has_history"] == 1


def test_unknown_user_gets_the_documented_defaults(snapshot: Snapshot) -> None:
    """Global mean rating, -1 days since last, zeros elsewhere."""
    features = row(snapshot, 99)
    assert features["user_mean_rating"] == pytest.approx(snapshot.global_mean_rating)
    assert features["user_days_since_last"] == -1
    others = {k: v for k, v in features.items() if k not in {"user_mean_rating",
                                                             "user_days_since_last"}}
    assert set(others.values()) == {0.0}


def test_history_less_user_keeps_demographics(snapshot: Snapshot) -> None:
    """User 5 has no interaction but is a 50-year-old woman."""
    features = row(snapshot, 5)
    assert features["user_has_history"] == 0
    assert features["user_age"] == 50
    assert features["user_is_female"] == 1
    assert features["user_days_since_last"] == -1


def test_days_are_measured_from_the_snapshots_now(snapshot: Snapshot) -> None:
    """User 2's latest interaction is 31 days old."""
    assert row(snapshot, 2)["user_days_since_last"] == pytest.approx(31 * DAY / DAY)


def test_every_feature_is_documented() -> None:
    """Names, defaults and meanings come from one table."""
    assert UserFeatures.feature_names == tuple(name for name, _, _ in FEATURES)
