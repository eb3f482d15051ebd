"""Roles, principals and the one table of which role may call which RPC.

A principal may hold several roles; a call is allowed when the principal
holds any role listed for the RPC. Verdict-level rules (only reviewers
approve or reject, nobody approves their own experiment) are domain rules,
enforced by the review handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    EXPERIMENTER = "experimenter"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[Role]

    def holds(self, role: Role) -> bool:
        return role in self.roles


_EVERYONE = frozenset(Role)
_PEOPLE = frozenset({Role.EXPERIMENTER, Role.REVIEWER, Role.OPERATOR})

#: RPC name (as in the proto) -> roles allowed to call it. An RPC missing here is denied.
RPC_ROLES: Mapping[str, frozenset[Role]] = {
    "WhoAmI": _EVERYONE,
    # Operators upload too: a data refresh brings a new snapshot of the serving model.
    "UploadArtifact": frozenset({Role.EXPERIMENTER, Role.OPERATOR}),
    "RegisterModelVersion": frozenset({Role.EXPERIMENTER}),
    "GetModelVersion": _PEOPLE,
    "ListModelVersions": _PEOPLE,
    "CreateExperiment": frozenset({Role.EXPERIMENTER}),
    "GetExperiment": _PEOPLE,
    "ListExperiments": _PEOPLE,
    "RecordEvaluation": frozenset({Role.EXPERIMENTER}),
    "GetEvaluation": _PEOPLE,
    "SubmitReview": frozenset({Role.EXPERIMENTER, Role.REVIEWER}),
    "ListReviews": _PEOPLE,
    "Promote": frozenset({Role.OPERATOR}),
    "Rollback": frozenset({Role.OPERATOR}),
    "SetRefreshPolicy": frozenset({Role.OPERATOR}),
    "GetRefreshPolicy": _PEOPLE,
    "RefreshServing": frozenset({Role.OPERATOR}),
    "GetPointer": _EVERYONE,
    "WatchPointer": _EVERYONE,
    "ListAuditEntries": _PEOPLE,
    "VerifyAuditLog": _PEOPLE,
    # A shadow ranks real users' requests with the challenger: an operator's decision.
    "StartShadow": frozenset({Role.OPERATOR}),
    "StopShadow": frozenset({Role.OPERATOR}),
    "GetShadowReport": _PEOPLE,
    # The experimenter brings the evidence; an operator may attach what they computed.
    "AttachShadowReport": frozenset({Role.EXPERIMENTER, Role.OPERATOR}),
    "GetRollout": _PEOPLE,
    "PauseRollout": frozenset({Role.OPERATOR}),
    "ResumeRollout": frozenset({Role.OPERATOR}),
}


def parse_roles(names: list[str], whose: str) -> frozenset[Role]:
    """Roles from their names; ValueError names the unknown one."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise ValueError(f"{whose}: unknown role {name!r} (known: {known})") from None
    return frozenset(roles)
