"""What serves after a promotion knows each user's whole history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from recmesh.data.dataset import Dataset
from tests.refresh.served import Served, serving_challenger
from tests.services.mesh_calls import recommend, wait_for_version


@pytest.fixture(
    scope="module", params=["user_stratified:0.75:seed=42", "user_time:0.75"], ids=str
)
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    ml100k: Dataset,
    ml100k_dir: Path,
) -> Iterator[Served]:
    """A challenger trained and evaluated on each split, promoted and served."""
    with serving_challenger(
        tmp_path_factory.mktemp("served"), ml100k, ml100k_dir, request.param
    ) as served:
        yield served


def test_no_user_is_recommended_an_item_they_rated(served: Served, ml100k: Dataset) -> None:
    """After promoting a challenger trained and evaluated on 75% of the data, every one of
    ml-100k's 943 users gets whole answers from it, none holding an item the user rated
    (the held-out quarter included)."""
    mesh = served.mesh
    served.loop.run(wait_for_version(mesh.front, served.challenger_version, within_s=60), 90)
    rated: dict[int, set[int]] = {}
    for user, item in zip(
        ml100k.interactions.users.tolist(), ml100k.interactions.items.tolist(), strict=True
    ):
        rated.setdefault(user, set()).add(item)

    async def ask_everyone() -> list[tuple[int, list[int], str, bool]]:
        answers = []
        for user in np.unique(ml100k.interactions.users).tolist():
            response = await recommend(mesh.front, str(user), k=10)
            answers.append(
                (
                    user,
                    [item.item_id for item in response.items],
                    response.serving_version,
                    response.degraded,
                )
            )
        return answers

    answers = served.loop.run(ask_everyone(), timeout=300)
    assert len(answers) == 943
    assert {version for _, _, version, _ in answers} == {served.challenger_version}
    assert not [user for user, _, _, degraded in answers if degraded]
    seen = {user: sorted(set(items) & rated[user]) for user, items, _, _ in answers}
    offenders = {user: items for user, items in seen.items() if items}
    assert offenders == {}, f"{len(offenders)} users were shown items they rated"
    assert all(len(items) == 10 for _, items, _, _ in answers)
