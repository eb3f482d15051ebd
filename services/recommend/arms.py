"""Which version answers a request, and whether the challenger shadows it.

The pointer record may name a challenger beside the champion (`registry.rollout`,
services/common/versions.py). `ArmChooser.choose` reads it once per request:

- STAGED: the users of the stage's share (`Cohorts(experiment, ROLLOUT).selects`)
  are answered by the challenger, every other user by the champion; both are an
  arm of the rollout (`ArmChoice.arm`). The servicer answers the challenger arm
  through a flow and downstream clients of its own (services/recommend/servicer.py).
  While the challenger is not loaded yet the champion answers everyone, marked
  "champion" (logged once per rollout).
- Counting (`ArmChoice.counted`): a front counts nothing for a rollout, in either
  arm, until it has held the challenger for `warmup_s` (--rollout-warmup-seconds,
  default 3 s). Before that, a stage-share user may be answered by the champion
  (`waiting`: the challenger is not loaded here) and the challenger's first
  requests may wait for ranking and candidates to load it, so counting only one
  arm would skew the sample-ratio check and counting the challenger would charge
  it with a load. A user's arm hangs on the hash alone, never on time, so leaving
  out whole periods keeps the two arms comparable. The clock starts when this
  front first finds the challenger loaded for the rollout (a restarted front
  warms up again; a new stage of the same rollout does not).
- SHADOW: the champion answers; the users of the shadow share
  (`Cohorts(experiment, SHADOW)`) are ranked by the challenger as well, after the
  answer (`ArmChoice.shadow`). No shadow while the challenger is not loaded.

A user's bucket hangs only on the experiment id, the purpose and the user id
(recmesh/rollout/cohorts.py), so every request, front and restart in a stage puts
the user on the same arm, and a larger share keeps the users of a smaller one. The
cohorts are built once per rollout; a record whose share or experiment is invalid
serves the champion alone (logged once), never failing a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from recmesh.api.controlplane.v1 import records_pb2
from recmesh.rollout.arm_counts import CHALLENGER, CHAMPION
from recmesh.rollout.cohorts import Cohorts, CohortSalt, Purpose, check_share
from services.common.versions import LoadedVersion
from services.recommend.front_bundle import FrontBundle

log = structlog.get_logger("recmesh.recommend.arms")

#: The impression's `rollout` field of each mode.
STAGED = "staged"
SHADOW = "shadow"

#: Seconds a front holds a rollout's challenger before it counts the rollout's arms.
DEFAULT_WARMUP_S = 3.0


@dataclass(frozen=True)
class ArmChoice:
    """How one request is served.

    `version` answers it; `rollout` is the record's rollout (None: the champion
    alone); `arm` is "champion" or "challenger" in a STAGED rollout, "" otherwise;
    `shadow` is the challenger to rank the request with after answering (SHADOW
    mode, the user in the share, the challenger loaded), else None. `waiting`: a
    user of the stage share answered by the champion because the challenger is not
    loaded yet; such answers are not counted for either arm (the counts compare the
    arms the cohorts assigned, so the control plane's sample-ratio check holds).
    `counted`: a STAGED answer the front counts for its arm (the challenger held
    here for the warm-up; see the module docstring)."""

    version: LoadedVersion[FrontBundle]
    rollout: records_pb2.Rollout | None = None
    arm: str = ""
    shadow: LoadedVersion[FrontBundle] | None = None
    waiting: bool = False
    counted: bool = False

    @property
    def staged(self) -> bool:
        return bool(self.arm)


@dataclass(frozen=True)
class _RolloutCohorts:
    """The selection of one rollout record: its cohorts for its mode, or None when the
    record cannot select anyone (invalid share or experiment)."""

    key: tuple[str, int, str, float]
    cohorts: Cohorts | None


class RolloutVersions(Protocol):
    """What the chooser reads of the front's VersionRegistry."""

    @property
    def rollout(self) -> records_pb2.Rollout | None: ...

    def current_or_raise(self) -> LoadedVersion[FrontBundle]: ...

    def challenger_version(self) -> LoadedVersion[FrontBundle] | None: ...


class ArmChooser:
    """Chooses each request's arm from the registry's champion and rollout."""

    def __init__(
        self,
        versions: RolloutVersions,
        *,
        warmup_s: float = DEFAULT_WARMUP_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if warmup_s < 0:
            raise ValueError(f"the rollout warm-up is >= 0 s, not {warmup_s!r}")
        self._versions = versions
        self._warmup_s = warmup_s
        self._clock = clock
        self._cohorts: _RolloutCohorts | None = None
        self._waiting_logged: set[str] = set()
        # (rollout id, challenger version) -> when this front first held it loaded.
        self._held_since: dict[tuple[str, str], float] = {}

    def choose(self, user_id: str) -> ArmChoice:
        """The arm of this user now; UnavailableError when no version is loaded."""
        champion = self._versions.current_or_raise()
        rollout = self._versions.rollout
        if rollout is None or rollout.mode == records_pb2.ROLLOUT_MODE_UNSPECIFIED:
            return ArmChoice(champion)
        cohorts = self._cohorts_of(rollout)
        selected = cohorts is not None and cohorts.selects(user_id, rollout.share)
        staged = rollout.mode == records_pb2.ROLLOUT_MODE_STAGED
        challenger = self._versions.challenger_version()
        counted = staged and self._warm(rollout, challenger)
        if not selected:
            return ArmChoice(champion, rollout, CHAMPION if staged else "", counted=counted)
        if challenger is None:
            self._log_waiting(rollout)
            return ArmChoice(champion, rollout, CHAMPION if staged else "", waiting=staged)
        if staged:
            return ArmChoice(challenger, rollout, CHALLENGER, counted=counted)
        return ArmChoice(champion, rollout, "", shadow=challenger)

    def _warm(
        self, rollout: records_pb2.Rollout, challenger: LoadedVersion[FrontBundle] | None
    ) -> bool:
        """Whether this front has held the rollout's challenger for the warm-up."""
        if challenger is None:
            return False
        key = (rollout.rollout_id, challenger.version_id)
        now = self._clock()
        since = self._held_since.get(key)
        if since is None:
            # One rollout at a time: forget the others' clocks.
            self._held_since = {key: now}
            since = now
        return now - since >= self._warmup_s

    def _cohorts_of(self, rollout: records_pb2.Rollout) -> Cohorts | None:
        # A new stage keeps the rollout id and changes the share: check it again.
        key = (rollout.rollout_id, int(rollout.mode), rollout.experiment_id, rollout.share)
        cached = self._cohorts
        if cached is not None and cached.key == key:
            return cached.cohorts
        purpose = (
            Purpose.ROLLOUT if rollout.mode == records_pb2.ROLLOUT_MODE_STAGED else Purpose.SHADOW
        )
        cohorts: Cohorts | None
        try:
            check_share(rollout.share)
            cohorts = Cohorts(CohortSalt(rollout.experiment_id, purpose))
        except ValueError as exc:
            log.error(
                "rollout_unusable",
                rollout_id=rollout.rollout_id,
                error=str(exc),
                serves="the champion alone",
            )
            cohorts = None
        self._cohorts = _RolloutCohorts(key, cohorts)
        return cohorts

    def _log_waiting(self, rollout: records_pb2.Rollout) -> None:
        if rollout.rollout_id in self._waiting_logged:
            return
        self._waiting_logged.add(rollout.rollout_id)
        log.warning(
            "rollout_challenger_not_loaded",
            rollout_id=rollout.rollout_id,
            challenger_version=rollout.challenger_version,
            serves="the champion until the challenger is loaded",
        )
