"""GenreAffinitySource: genre cosine with the user's profile times log popularity."""

from __future__ import annotations

import numpy as np
import pytest

from recmesh.core.candidates.sources.genre_affinity import GenreAffinitySource
from recmesh.snapshot.snapshot import Snapshot
from tests.core.candidates.sources_helpers import request_for
from tests.snapshot.datasets import example_snapshot


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return example_snapshot()


def test_scores_are_cosine_times_log_count(snapshot: Snapshot) -> None:
    """User 4 (Action profile (1, 0)) saw item 10: item 20 (Action+Comedy, 3 users) scores
    cos 1/sqrt(2) * log(4); Comedy-only items score 0; unused item 50 has weight 0."""
    result = GenreAffinitySource(snapshot).generate(request_for(snapshot, 4))
    assert result.item_indices.tolist() == [1]
    assert result.scores.tolist() == pytest.approx([np.log(4) / np.sqrt(2)], rel=1e-6)


def test_order_follows_score_and_excludes_seen(snapshot: Snapshot) -> None:
    """User 2 saw items 10, 20; the rest rank by cosine * log(1 + count)."""
    profile = snapshot.user_genre_profiles[1].astype(np.float64)
    expected = {
        2: profile[1] * np.log(3),
        3: profile[1] * np.log(2),
    }
    result = GenreAffinitySource(snapshot).generate(request_for(snapshot, 2))
    assert result.item_indices.tolist() == [2, 3]
    assert result.scores.tolist() == pytest.approx([expected[2], expected[3]], rel=1e-6)


def test_unknown_and_history_less_users_get_nothing(snapshot: Snapshot) -> None:
    """No history, no profile: the source stays empty."""
    source = GenreAffinitySource(snapshot)
    assert len(source.generate(request_for(snapshot, 99))) == 0
    assert len(source.generate(request_for(snapshot, 5))) == 0


def test_name_is_stable(snapshot: Snapshot) -> None:
    """The name is the metric label and candidate-set source name."""
    assert GenreAffinitySource(snapshot).name == "genre_affinity"
