"""Agreement of two ranked lists, and whether a list holds what the user then consumed.

Lists are item ids, best first, distinct within a list. Every measure looks at
depth d = min(k, longer list's length), so a list shorter than k is compared as
it is rather than padded with misses.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

#: Rank-biased overlap's default persistence p: depth i weighs p^(i-1), so at 0.9 the
#: top 10 ranks carry 1 - 0.9^10 = 65% of the weight of an endless comparison (rank 1
#: weighs 0.1 of it, rank 10 0.039); a smaller p looks mostly at the top ranks.
DEFAULT_PERSISTENCE = 0.9


def overlap_at_k(a: Sequence[int], b: Sequence[int], k: int) -> float:
    """|a[:k] & b[:k]| / d, d = min(k, max(len a, len b)): the share of the top d items the
    lists share, 1 for the same items in any order, 0 for disjoint lists, 1 for two
    empty lists (they agree)."""
    _check_k(k)
    depth = min(k, max(len(a), len(b)))
    if depth == 0:
        return 1.0
    return len(set(a[:k]) & set(b[:k])) / depth


def rank_biased_overlap(
    a: Sequence[int], b: Sequence[int], k: int, p: float = DEFAULT_PERSISTENCE
) -> float:
    """Rank-biased overlap (Webber, Moffat and Zobel, 2010) of the top k, truncated at depth
    d = min(k, max(len a, len b)) and normalised over those d depths:

        RBO = (1 - p) / (1 - p^d) * sum_{i=1..d} p^(i-1) * |a[:i] & b[:i]| / i

    a weighted mean of the agreement at each depth, the weight of depth i falling as
    p^(i-1). `p` in (0, 1) is the persistence: a user who looks at rank i goes on to
    rank i + 1 with probability p (0.9: the expected depth looked at is 1 / (1 - p) =
    10 ranks). The normalisation by 1 - p^d (the truncated sum of weights) makes
    identical lists score 1 at any depth; disjoint lists score 0; two empty lists 1.
    """
    _check_k(k)
    if not 0.0 < p < 1.0:
        raise ValueError(f"persistence p must be strictly between 0 and 1, got {p!r}")
    depth = min(k, max(len(a), len(b)))
    if depth == 0:
        return 1.0
    seen_a: set[int] = set()
    seen_b: set[int] = set()
    shared = 0
    total = 0.0
    for i in range(depth):
        # Count each item once, at the depth where it is first in both prefixes.
        if i < len(a):
            seen_a.add(a[i])
            shared += a[i] in seen_b
        if i < len(b):
            seen_b.add(b[i])
            shared += b[i] in seen_a
        total += p**i * shared / (i + 1)
    return (1.0 - p) / (1.0 - p**depth) * total


def hit(items: Sequence[int], consumed: Collection[int], k: int) -> float:
    """1.0 when one of the first k `items` is in `consumed`, else 0.0."""
    _check_k(k)
    return 1.0 if any(item in consumed for item in items[:k]) else 0.0


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
