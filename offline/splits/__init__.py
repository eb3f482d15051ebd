"""Train/test splits of interactions, and the spec strings that name them."""

from offline.splits.spec import DEFAULT_SEED, SplitKind, SplitSpec
from offline.splits.stratified import StratifyBy, stratified_split
from offline.splits.temporal import global_time_split, per_user_time_split

__all__ = [
    "DEFAULT_SEED",
    "SplitKind",
    "SplitSpec",
    "StratifyBy",
    "global_time_split",
    "per_user_time_split",
    "stratified_split",
]
