"""Stable, nested cohorts: which users a stage's share (or a shadow share) selects.

A user's bucket is a number in [0, 1) drawn from a keyed BLAKE2b hash of the user
id; a share s selects the user iff bucket < s. Hence:

- nested: a 5 % stage's users are all in the 25 % stage, since b < 0.05 implies
  b < 0.25;
- stable: the bucket depends only on the salt and the user id (no `hash()`, which
  Python salts per process, and no randomness), so every process, restart, pause
  and resume of a stage puts a user on the same arm;
- separated: the key is derived from the experiment *and* a `Purpose`, so the
  rollout cohorts and the shadow selection of one experiment, or the cohorts of
  two experiments, are independent draws and never the same bucket by accident.

`Cohorts.bucket` is the hot-path form (one hash a request, the key derived once);
`Cohorts.buckets` the vectorized one; both give the same float for a user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

#: Bits of the digest a bucket keeps: a float64 holds 53 exactly, so the scalar and
#: the vectorized forms compute the same number, and shares resolve to 2**-53.
BUCKET_BITS = 53
_SCALE = 2.0**-BUCKET_BITS
_DIGEST_BYTES = 8
_KEY_BYTES = 32


class Purpose(Enum):
    """What a selection is for; part of the salt, so two purposes never share buckets."""

    ROLLOUT = "rollout"
    SHADOW = "shadow"


class Arm(Enum):
    """Which version answers a user in a staged rollout."""

    CHAMPION = "champion"
    CHALLENGER = "challenger"


@dataclass(frozen=True)
class CohortSalt:
    """The salt of one experiment's selection for one purpose.

    Record it with the stage's plan: the same salt gives every user the same
    bucket, on any machine, for as long as the experiment lives.
    """

    experiment: str
    purpose: Purpose

    def __post_init__(self) -> None:
        if not self.experiment:
            raise ValueError("a cohort salt needs an experiment id")

    def key(self) -> bytes:
        """The BLAKE2b key of this salt: the purpose as personalisation, the
        experiment as data, so no (experiment, purpose) pair collides with another."""
        person = f"recmesh/{self.purpose.value}".encode()
        return hashlib.blake2b(
            self.experiment.encode(), digest_size=_KEY_BYTES, person=person
        ).digest()


def check_share(share: float) -> float:
    """share when it is a fraction of users in [0, 1]; a ValueError otherwise."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a share is a fraction in [0, 1], not {share!r}")
    return share


class Cohorts:
    """The buckets of one salt. Cheap to call: the key is derived once, here."""

    def __init__(self, salt: CohortSalt) -> None:
        self.salt = salt
        self._key = salt.key()

    def _digest(self, user_id: str) -> bytes:
        return hashlib.blake2b(user_id.encode(), digest_size=_DIGEST_BYTES, key=self._key).digest()

    def bucket(self, user_id: str) -> float:
        """The user's bucket, uniform in [0, 1): one hash."""
        word = int.from_bytes(self._digest(user_id), "big")
        return (word >> (64 - BUCKET_BITS)) * _SCALE

    def buckets(self, user_ids: Iterable[str]) -> NDArray[np.float64]:
        """Every user's bucket, in order; equal, element by element, to `bucket`."""
        digests = b"".join(self._digest(user_id) for user_id in user_ids)
        words = np.frombuffer(digests, dtype=">u8")
        return (words >> np.uint64(64 - BUCKET_BITS)).astype(np.float64) * _SCALE

    def selects(self, user_id: str, share: float) -> bool:
        """Whether a selection of this share contains the user (bucket < share)."""
        return self.bucket(user_id) < check_share(share)

    def selected(self, user_ids: Iterable[str], share: float) -> NDArray[np.bool_]:
        """`selects` for many users at once: a boolean mask in the ids' order."""
        return self.buckets(user_ids) < check_share(share)

    def arm(self, user_id: str, share: float) -> Arm:
        """The arm that answers the user in a stage sending `share` to the challenger."""
        return Arm.CHALLENGER if self.selects(user_id, share) else Arm.CHAMPION
