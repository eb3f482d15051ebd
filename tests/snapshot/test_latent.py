"""latent_factors: the shrunk truncated SVD of the binary history matrix, users folded in."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import sparse

from recmesh.snapshot.latent import LatentFactors, latent_factors


def binary_matrix(seed: int, n_users: int, n_items: int, density: float) -> NDArray[np.float64]:
    return (np.random.default_rng(seed).random((n_users, n_items)) < density).astype(np.float64)


def factors_of(x: NDArray[np.float64], k: int, shrinkage: float = 0.0) -> LatentFactors:
    csr = sparse.csr_matrix(x)
    return latent_factors(
        csr.indptr.astype(np.int64), csr.indices.astype(np.int64), x.shape, k, shrinkage
    )


def test_scores_are_the_rank_k_projection_of_the_history() -> None:
    """Without shrinkage, users @ items.T = X V_k V_k^T, V_k the top k right singular
    vectors (ARPACK path)."""
    x = binary_matrix(seed=1, n_users=40, n_items=30, density=0.3)
    factors = factors_of(x, 4)
    vectors = np.linalg.svd(x)[2][:4].T
    expected = x @ vectors @ vectors.T
    assert factors.users @ factors.items.T == pytest.approx(expected, abs=1e-4)


def test_shrinkage_damps_each_component_by_its_ridge_weight() -> None:
    """users @ items.T = X V_k W V_k^T with W = diag(s^2 / (s^2 + lambda))."""
    x = binary_matrix(seed=6, n_users=40, n_items=30, density=0.3)
    factors = factors_of(x, 4, shrinkage=5.0)
    _, values, rows = np.linalg.svd(x)
    weights = values[:4] ** 2 / (values[:4] ** 2 + 5.0)
    expected = x @ (rows[:4].T * weights) @ rows[:4]
    assert factors.users @ factors.items.T == pytest.approx(expected, abs=1e-4)


def test_a_rank_at_least_the_matrix_rank_reproduces_it() -> None:
    """A small matrix (dense path): k beyond its rank gives X back, extra columns all 0."""
    x = binary_matrix(seed=2, n_users=5, n_items=6, density=0.5)
    rank = np.linalg.matrix_rank(x)
    factors = factors_of(x, 8)
    assert factors.users.shape == (5, 8)
    assert factors.items.shape == (6, 8)
    assert factors.users @ factors.items.T == pytest.approx(x, abs=1e-5)
    assert not factors.items[:, rank:].any()


def test_a_user_without_history_has_zero_factors() -> None:
    """Folding in an empty row gives 0, so every item scores 0 for that user."""
    x = binary_matrix(seed=3, n_users=20, n_items=25, density=0.3)
    x[7] = 0.0
    factors = factors_of(x, 3)
    assert not factors.users[7].any()


def test_factors_are_deterministic_with_a_fixed_sign() -> None:
    """Same input, same bytes; each item column's largest-magnitude entry is positive."""
    x = binary_matrix(seed=4, n_users=50, n_items=40, density=0.2)
    first, second = factors_of(x, 5), factors_of(x, 5)
    assert first.items.tobytes() == second.items.tobytes()
    assert first.users.tobytes() == second.users.tobytes()
    largest = np.argmax(np.abs(first.items), axis=0)
    assert np.all(first.items[largest, np.arange(5)] > 0)


def test_zero_factors_or_no_history_give_zero_width_or_zero_arrays() -> None:
    """k = 0 keeps no factors; an empty matrix keeps k zero columns."""
    x = binary_matrix(seed=5, n_users=6, n_items=7, density=0.5)
    none = factors_of(x, 0)
    assert none.users.shape == (6, 0)
    assert none.items.shape == (7, 0)
    empty = factors_of(np.zeros((6, 7)), 3)
    assert empty.users.shape == (6, 3)
    assert not empty.users.any()
    assert not empty.items.any()
