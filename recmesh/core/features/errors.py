"""Errors of feature computation: bad candidates (the caller's) and broken contracts (ours)."""

from __future__ import annotations

from recmesh.rpc.errors import InvalidArgumentError


class InvalidCandidatesError(InvalidArgumentError):
    """Candidate arrays of different lengths, unknown items or sources, non-finite scores."""


class FeatureContractError(RuntimeError):
    """A hydrator returned the wrong shape or a non-finite value: a programmer error."""
