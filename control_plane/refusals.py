"""Refusals are audited: a refused state change leaves an audit entry saying who asked,
for what, and why it was refused (its gRPC code and message).

An unavailable store is no refusal: nothing was decided, and the entry could not be
written either, so the caller gets the store's error as it was (not a second one from
the audit write)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from recmesh.rpc.errors import RecmeshError, UnavailableError

log = structlog.get_logger("recmesh.control_plane.refusals")

E = TypeVar("E", bound=RecmeshError)


async def audited(
    audit: AuditLog,
    error: E,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, str] | None = None,
) -> E:
    """Appends the refusal's audit entry (`action`, details plus `code` and `reason`);
    returns the error for the caller to raise. An UnavailableError is returned unaudited."""
    if isinstance(error, UnavailableError):
        log.warning("not_audited", action=action, subject=subject, actor=actor, reason=str(error))
        return error
    body = {**(details or {}), "code": error.code.name, "reason": str(error)}
    await audit.commit(AuditDraft(actor=actor, action=action, subject=subject, details=body))
    log.info("refused", action=action, subject=subject, actor=actor, reason=str(error))
    return error
