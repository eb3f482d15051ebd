"""How a snapshot is built: decay half-lives, similarity kind, neighbour pruning, factors."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, cast

from recmesh.snapshot.errors import SnapshotFormatError

SimilarityKind = Literal["jaccard", "lift"]
SIMILARITY_KINDS: tuple[SimilarityKind, ...] = ("jaccard", "lift")
LatentModel = Literal["svd", "als", "bpr", "cornac_bpr"]
LATENT_MODELS: tuple[LatentModel, ...] = ("svd", "als", "bpr", "cornac_bpr")
_EASE_FIELDS = ("ease_neighbors_per_item", "ease_l2", "ease_share")
_EASE_OFF = (0, 500.0, 0.2)


@dataclass(frozen=True)
class SnapshotConfig:
    """Build parameters; stored as JSON inside every snapshot.

    - `affinity_half_life_days`: a user's interaction weighs `rating * 2**(-age / half_life)`,
      its age measured from that user's own latest interaction (see `build`).
    - `popularity_half_life_days`: an interaction adds `2**(-age / half_life)` to its item's
      popularity, its age measured from the snapshot's `now`. A year by default: on
      MovieLens, shorter half-lives made the popularity source's candidates recall fewer
      held-out items (ml-latest-small spans 22 years; 30 days all but zeroes its past).
    - `similarity`: "jaccard" (c_ij / (c_i + c_j - c_ij)) or "lift" (c_ij / (c_i * c_j)), over
      the number of users c who interacted with both items / each item.
    - `neighbors_per_item`: each item keeps only its most similar items (ties: lower index).
    - `min_cooccurrence`: pairs seen together by fewer users are not neighbours.
    - `recent_window_days`: the window of the items' "recent" counts and their trend.
    - `latent_factors`, `latent_shrinkage`: the rank k of the truncated SVD of the user x
      item matrix whose factors the snapshot keeps, and the ridge shrinkage lambda of its
      components (`latent.latent_factors`); k = 0 keeps none, lambda = 0 is plain PureSVD.
      32 and 1000 by default: on random hold-outs of ml-100k's TRAIN splits (both kinds)
      they ranked the held-out items best of k in {32, 64} x lambda in {500, 750, 1000,
      1500}, about 0.008 NDCG@10 above plain truncation at k = 16 (docs/experiments.md).
    - `latent_model`: "svd" (the above) or "als": the factors of implicit's ALS instead
      (`als.als_factors`), k = `latent_factors`, its L2 regularization = `latent_shrinkage`,
      alpha, iterations and seed those of the offline ALS baseline; "bpr" or "cornac_bpr":
      the factors of implicit's BPR (`bpr.bpr_factors`) or cornac's (`cornac_bpr.
      cornac_bpr_factors`), k - 1 of them plus the item bias column (so k >= 2, or 0 for
      none), L2 regularization = `latent_shrinkage`, learning rate, epochs and seed those
      of that library's offline BPR baseline.
    - `ease_neighbors_per_item`: 0 (no EASE) or N: the snapshot keeps, per item h, the N
      largest positive weights B[h, j] of EASE (cornac's, `ease.ease_neighbours`, the fit
      behind the offline EASE baseline, negative weights dropped) over the binary history
      with L2 `ease_l2` (500, the baseline's), and the candidate pipeline gains the "ease"
      source, which takes `ease_share` of N (the other shares scaled by 1 - ease_share).
    - The JSON leaves out `latent_model` when "svd" and the three `ease_*` fields when
      EASE is off and they are at their defaults, so configs from before them read and
      write unchanged (and their snapshots keep their fingerprints).
    """

    affinity_half_life_days: float = 30.0
    popularity_half_life_days: float = 365.0
    similarity: SimilarityKind = "jaccard"
    neighbors_per_item: int = 50
    min_cooccurrence: int = 2
    recent_window_days: float = 30.0
    latent_factors: int = 32
    latent_shrinkage: float = 1000.0
    latent_model: LatentModel = "svd"
    ease_neighbors_per_item: int = 0
    ease_l2: float = 500.0
    ease_share: float = 0.2

    def __post_init__(self) -> None:
        if not self.affinity_half_life_days > 0 or not self.popularity_half_life_days > 0:
            raise ValueError("half-lives must be positive")
        if self.similarity not in SIMILARITY_KINDS:
            raise ValueError(
                f"similarity must be one of {SIMILARITY_KINDS}, not {self.similarity!r}"
            )
        if self.neighbors_per_item < 1:
            raise ValueError("neighbors_per_item must be at least 1")
        if self.min_cooccurrence < 1:
            raise ValueError("min_cooccurrence must be at least 1")
        if not self.recent_window_days > 0:
            raise ValueError("recent_window_days must be positive")
        if self.latent_factors < 0:
            raise ValueError("latent_factors must not be negative")
        if not (math.isfinite(self.latent_shrinkage) and self.latent_shrinkage >= 0):
            raise ValueError("latent_shrinkage must be a finite number >= 0")
        if self.latent_model not in LATENT_MODELS:
            raise ValueError(
                f"latent_model must be one of {LATENT_MODELS}, not {self.latent_model!r}"
            )
        if self.latent_model in ("bpr", "cornac_bpr") and self.latent_factors == 1:
            raise ValueError(
                f"latent_model {self.latent_model} needs latent_factors 0 or at least 2 "
                "(its factors plus the item bias column)"
            )
        if self.ease_neighbors_per_item < 0:
            raise ValueError("ease_neighbors_per_item must not be negative")
        if not (math.isfinite(self.ease_l2) and self.ease_l2 > 0):
            raise ValueError("ease_l2 must be a finite number > 0")
        if not 0 < self.ease_share < 1:
            raise ValueError("ease_share must lie strictly between 0 and 1")

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace; without the fields `_left_out` names."""
        body = asdict(self)
        for name in self._left_out():
            del body[name]
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def _left_out(self) -> tuple[str, ...]:
        """The fields added after the first snapshots, when they are at their defaults
        (each group all or none: EASE's three fields go together)."""
        out: tuple[str, ...] = ()
        if self.latent_model == "svd":
            out += ("latent_model",)
        if (self.ease_neighbors_per_item, self.ease_l2, self.ease_share) == _EASE_OFF:
            out += _EASE_FIELDS
        return out

    @classmethod
    def from_json(cls, text: str) -> SnapshotConfig:
        """Raises SnapshotFormatError on anything but exactly this class's fields."""
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SnapshotFormatError(f"snapshot config is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise SnapshotFormatError("snapshot config is not a JSON object")
        expected = {f.name for f in fields(cls)}
        if not expected - {"latent_model", *_EASE_FIELDS} <= set(body) <= expected or (
            0 < len(set(_EASE_FIELDS) & set(body)) < len(_EASE_FIELDS)
        ):
            raise SnapshotFormatError(
                f"snapshot config has fields {sorted(body)}, expected {sorted(expected)}"
            )
        values = cast(dict[str, Any], body)
        for name in (
            "affinity_half_life_days",
            "popularity_half_life_days",
            "recent_window_days",
            "latent_shrinkage",
            "ease_l2",
            "ease_share",
        ):
            if name not in values:
                continue
            if not isinstance(values[name], int | float) or isinstance(values[name], bool):
                raise SnapshotFormatError(f"snapshot config {name} is not a number")
            values[name] = float(values[name])
        for name in (
            "neighbors_per_item",
            "min_cooccurrence",
            "latent_factors",
            "ease_neighbors_per_item",
        ):
            if name not in values:
                continue
            if not isinstance(values[name], int) or isinstance(values[name], bool):
                raise SnapshotFormatError(f"snapshot config {name} is not an integer")
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise SnapshotFormatError(f"snapshot config is invalid: {exc}") from exc
