"""Latent factors of the user x item matrix: a shrunk truncated SVD, users folded in.

With X the binary user x item matrix of the distinct (user, item) pairs, s_j and v_j its
k largest singular values and their right singular vectors, an item's factors are its
row of V = [v_1 .. v_k] and a user's are x_u V W, W = diag(s_j^2 / (s_j^2 + lambda)). Their
dot product x_u V W V^T[:, i] is the rank-k ridge regression of the user's row on itself
(the closed form of EASE without its zero-diagonal constraint, restricted to k
components): lambda = 0 is PureSVD's projection, a larger lambda damps the weaker
components instead of cutting them off. Sparse throughout: memory is that of X plus
(n_users + n_items) x k factors, never an item x item matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.linalg import svds

# Singular values this far below the largest span X's numerical null space: dropped, so
# that their arbitrary vectors never reach a snapshot.
_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LatentFactors:
    """`users` (n_users x k) and `items` (n_items x k), float32; the score of item i for
    user u is `users[u] @ items[i]`. Columns past X's rank are 0, so k is always the
    configured rank (a user without history has a zero row)."""

    users: NDArray[np.float32]
    items: NDArray[np.float32]


def latent_factors(
    indptr: NDArray[np.int64],
    items: NDArray[np.int64],
    shape: tuple[int, int],
    k: int,
    shrinkage: float,
) -> LatentFactors:
    """The rank-k factors, shrunk by `shrinkage` (lambda >= 0), of the binary
    (n_users, n_items) = `shape` matrix whose CSR rows over users are (`indptr`, `items`).

    Deterministic: ARPACK starts from a fixed vector, and each singular vector's sign is
    fixed by its largest-magnitude entry (positive), ties to the lower item index.
    """
    n_users, n_items = shape
    ones = np.ones(items.shape[0], dtype=np.float64)
    x = sparse.csr_matrix((ones, items, indptr), shape=shape)
    v = np.zeros((n_items, k), dtype=np.float64)
    weights = np.zeros(k, dtype=np.float64)
    smaller = min(shape)
    if k > 0 and x.nnz > 0:
        if k < smaller - 1:
            start = np.full(smaller, 1.0 / np.sqrt(smaller))
            _, values, rows = svds(x, k=k, v0=start)
        else:
            # ARPACK needs k < min(shape) - 1; a matrix that small is cheap to do densely.
            _, values, rows = np.linalg.svd(x.toarray(), full_matrices=False)
        order = np.argsort(-values, kind="stable")[:k]
        values, vectors = values[order], rows[order].T
        kept = values > _RELATIVE_TOLERANCE * values[0]
        values, vectors = values[kept], vectors[:, kept]
        largest = np.argmax(np.abs(vectors), axis=0)
        vectors *= np.sign(vectors[largest, np.arange(vectors.shape[1])])
        v[:, : vectors.shape[1]] = vectors
        squares = values * values
        weights[: values.shape[0]] = squares / (squares + shrinkage)
    users = np.asarray(x @ v, dtype=np.float64).reshape(n_users, k) * weights
    return LatentFactors(users=users.astype(np.float32), items=v.astype(np.float32))
