"""Which version answers a request, and whether the challenger shadows it.

The pointer record may name a challenger beside the champion (`registry.rollout`,
services/common/versions.py). `ArmChooser.choose` reads it once per request:

- STAGED: the users of the stage's share (`Cohorts(experiment, ROLLOUT).selects`)
  are answered by the challenger, every other user by the champion; both are an
  arm of the rollout (`ArmChoice.arm`). While the challenger is not loaded yet the
  champion answers everyone, marked "champion" (logged once per rollout).
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


@dataclass(frozen=True)
class ArmChoice:
    """How one request is served.

    `version` answers it; `rollout` is the record's rollout (None: the champion
    alone); `arm` is "champion" or "challenger" in a STAGED rollout, "" otherwise;
    `shadow` is the challenger to rank the request with after answering (SHADOW
    mode, the user in the share, the challenger loaded), else None. `waiting`: a
    user of the stage share answered by the champion because the challenger is not
    loaded yet; such answers are not counted for either arm (the counts compare the
    arms the cohorts assigned, so the control plane's sample-ratio check holds)."""

    version: LoadedVersion[FrontBundle]
    rollout: records_pb2.Rollout | None = None
    arm: str = ""
    shadow: LoadedVersion[FrontBundle] | None = None
    waiting: bool = False

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

    def __init__(self, versions: RolloutVersions) -> None:
        self._versions = versions
        self._cohorts: _RolloutCohorts | None = None
        self._waiting_logged: set[str] = set()

    def choose(self, user_id: str) -> ArmChoice:
        """The arm of this user now; UnavailableError when no version is loaded."""
        champion = self._versions.current_or_raise()
        rollout = self._versions.rollout
        if rollout is None or rollout.mode == records_pb2.ROLLOUT_MODE_UNSPECIFIED:
            return ArmChoice(champion)
        cohorts = self._cohorts_of(rollout)
        selected = cohorts is not None and cohorts.selects(user_id, rollout.share)
        staged = rollout.mode == records_pb2.ROLLOUT_MODE_STAGED
        if not selected:
            return ArmChoice(champion, rollout, CHAMPION if staged else "")
        challenger = self._versions.challenger_version()
        if challenger is None:
            self._log_waiting(rollout)
            return ArmChoice(champion, rollout, CHAMPION if staged else "", waiting=staged)
        if staged:
            return ArmChoice(challenger, rollout, CHALLENGER)
        return ArmChoice(champion, rollout, "", shadow=challenger)

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
