"""Beyond accuracy: catalogue coverage, novelty, intra-list diversity, popularity bias.

Per list (aligned to `TopK.users`) where the notion is per list, plus the
aggregates. Only the first k slots of each list count, and empty slots never
count; an empty list scores 0 on every per-list metric.

- coverage: distinct recommended items / catalogue size (aggregate only).
- novelty: mean self-information -log2(c_i / N) of the recommended items, with
  c_i the item's number of training rows and N the number of training rows;
  an item absent from training counts as if it had one row. The aggregate is
  the mean over all recommended slots, as Microsoft Recommenders' `novelty`.
- diversity: mean over the list's item pairs of 1 - cosine of the items'
  genre vectors (an item without genres has cosine 0 with everything).
- popularity (ARP): mean number of training rows of the recommended items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from offline.errors import UnknownIdsError
from offline.topk import TopK
from recmesh.data.dataset import Interactions, ItemCatalog


@dataclass(frozen=True)
class ItemPopularity:
    """Training rows per item: `item_ids` sorted and distinct, `counts` aligned, `total` rows."""

    item_ids: NDArray[np.int64]
    counts: NDArray[np.int64]
    total: int

    @classmethod
    def of(cls, train: Interactions) -> ItemPopularity:
        item_ids, counts = np.unique(train.items, return_counts=True)
        return cls(item_ids=item_ids, counts=counts.astype(np.int64), total=len(train))

    def lookup(self, items: NDArray[np.int64]) -> NDArray[np.int64]:
        """The count of each of `items` (any shape), 0 for an item never seen."""
        if self.item_ids.shape[0] == 0:
            return np.zeros(items.shape, dtype=np.int64)
        code = np.minimum(np.searchsorted(self.item_ids, items), self.item_ids.shape[0] - 1)
        found: NDArray[np.int64] = np.where(self.item_ids[code] == items, self.counts[code], 0)
        return found


def catalogue_coverage(topk: TopK, catalogue_size: int, k: int) -> float:
    """Distinct items in the first k slots of all lists, over `catalogue_size` (> 0)."""
    if catalogue_size <= 0:
        raise ValueError(f"catalogue_size must be positive, got {catalogue_size}")
    items = topk.items[:, :k][topk.valid(k)]
    return float(np.unique(items).shape[0]) / catalogue_size


def novelty_per_list(topk: TopK, popularity: ItemPopularity, k: int) -> NDArray[np.float64]:
    """Mean self-information of each list's items (see the module docstring)."""
    if popularity.total == 0:
        raise ValueError("novelty needs a non-empty training set")
    counts = np.maximum(popularity.lookup(topk.items[:, :k]), 1)
    information = -np.log2(counts / float(popularity.total))
    return _list_mean(information, topk.valid(k))


def novelty(topk: TopK, popularity: ItemPopularity, k: int) -> float:
    """Mean self-information over all recommended slots (Microsoft's aggregate)."""
    valid = topk.valid(k)
    if not valid.any():
        return 0.0
    per_list = novelty_per_list(topk, popularity, k)
    lengths = valid.sum(axis=1)
    return float((per_list * lengths).sum() / lengths.sum())


def popularity_per_list(topk: TopK, popularity: ItemPopularity, k: int) -> NDArray[np.float64]:
    """Average recommendation popularity (ARP): mean training rows of each list's items."""
    counts = popularity.lookup(topk.items[:, :k]).astype(np.float64)
    return _list_mean(counts, topk.valid(k))


def diversity_per_list(topk: TopK, catalog: ItemCatalog, k: int) -> NDArray[np.float64]:
    """Mean pairwise genre distance 1 - cosine within each list; 0 for fewer than 2 items.

    Raises UnknownIdsError for a recommended item missing from the catalogue.
    """
    items = topk.items[:, :k]
    valid = topk.valid(k)
    rows = _catalog_rows(catalog, items, valid)
    genres = catalog.genres.astype(np.float64)
    norms = np.linalg.norm(genres, axis=1)
    unit = np.divide(genres, norms[:, None], out=np.zeros_like(genres), where=norms[:, None] > 0)
    # The sum over pairs i < j of u_i . u_j is (|sum u|^2 - sum |u|^2) / 2, and the
    # sums over each list are one sparse (lists x catalogue) product: no k x k or
    # lists x k x genres array is built.
    list_of, slot = np.nonzero(valid)
    membership = sparse.csr_matrix(
        (np.ones(list_of.shape[0]), (list_of, rows[list_of, slot])),
        shape=(items.shape[0], catalog.item_ids.shape[0]),
    )
    summed = np.asarray(membership @ unit)
    self_terms = np.asarray(membership @ (norms > 0).astype(np.float64))
    pair_cosines = ((summed**2).sum(axis=1) - self_terms) / 2.0
    m = valid.sum(axis=1)
    pairs = m * (m - 1) / 2.0
    result: NDArray[np.float64] = np.where(
        pairs > 0, 1.0 - pair_cosines / np.maximum(pairs, 1.0), 0.0
    )
    return result


def _list_mean(values: NDArray[np.float64], valid: NDArray[np.bool_]) -> NDArray[np.float64]:
    lengths = valid.sum(axis=1)
    totals = np.where(valid, values, 0.0).sum(axis=1)
    result: NDArray[np.float64] = np.where(lengths > 0, totals / np.maximum(lengths, 1), 0.0)
    return result


def _catalog_rows(
    catalog: ItemCatalog, items: NDArray[np.int64], valid: NDArray[np.bool_]
) -> NDArray[np.intp]:
    ids = catalog.item_ids
    if ids.shape[0] == 0:
        if valid.any():
            raise UnknownIdsError("item", items[valid], "in the recommendations (empty catalogue)")
        return np.zeros(items.shape, dtype=np.intp)
    rows = np.minimum(np.searchsorted(ids, items), ids.shape[0] - 1)
    unknown = valid & (ids[rows] != items)
    if unknown.any():
        raise UnknownIdsError("item", items[unknown], "recommended but not in the catalogue")
    result: NDArray[np.intp] = rows
    return result
