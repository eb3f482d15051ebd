"""Baseline recommenders for offline comparison: popularity and SAR, exported here.

The library baselines (`implicit_als`, `implicit_bpr`, `cornac_bpr`, `cornac_ease`) are
imported from their own modules, so that importing this package never loads implicit or
cornac.
"""

from offline.baselines.id_index import IdIndex
from offline.baselines.popularity import PopularityRecommender, fit_popularity
from offline.baselines.protocol import Recommender, Trainer
from offline.baselines.sar import SARConfig, SARRecommender, fit_sar
from offline.baselines.sar_matrices import (
    Similarity,
    affinity_matrix,
    cooccurrence_matrix,
    decay_factors,
    interaction_matrix,
    similarity_matrix,
)

__all__ = [
    "IdIndex",
    "PopularityRecommender",
    "Recommender",
    "SARConfig",
    "SARRecommender",
    "Similarity",
    "Trainer",
    "affinity_matrix",
    "cooccurrence_matrix",
    "decay_factors",
    "fit_popularity",
    "fit_sar",
    "interaction_matrix",
    "similarity_matrix",
]
