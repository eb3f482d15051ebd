"""GetShadowReport and AttachShadowReport: the quality diff of a shadow, and its summary as
evidence on the experiment.

GetShadowReport computes the diff from the impression logs the control plane was started
with (`--impressions`), comparing the experiment's challenger with its champion. The diff
is training-side code (`offline.shadow`), which the control plane process never loads:
it runs `python -m offline.shadow` as a child process, under a time limit, and returns
what it wrote.

AttachShadowReport stores a report's JSON summary (and the HTML page's sha256) under
`shadow_reports/{experiment}`, where GetExperiment shows it to reviewers; audited
(`shadow_report_attached`, refusals `shadow_report_attach_refused`). Attaching again
replaces it, audited again. With an empty summary the control plane computes the report
itself, as GetShadowReport does, and records it as SHADOW_REPORT_SOURCE_CONTROL_PLANE
with the challenger compared and the rollout id of the experiment's shadow: only such a
report can satisfy a staged plan's shadow bounds (`shadow_bounds`), since a summary the
caller supplies says whatever the caller wrote. A caller's summary is recorded as
SHADOW_REPORT_SOURCE_CALLER: evidence reviewers see, never a bound's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import structlog

from control_plane.audit_log import AuditDraft, AuditLog
from control_plane.clock import Clock, timestamp
from control_plane.refusals import audited
from control_plane.store.codec import encode
from control_plane.store.errors import ConflictError
from control_plane.store.records import RecordReader
from control_plane.store.rollout_records import RolloutReader
from control_plane.store.txn import KeyAt, Put
from control_plane.validation import MAX_TEXT, require
from recmesh.api.controlplane.v1 import control_plane_pb2, records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rollout.report_files import EXIT_NO_RECORDS, REPORT_FILE, SUMMARY_FILE
from recmesh.rpc.errors import (
    DeadlineExceededError,
    FailedPreconditionError,
    InvalidArgumentError,
    RecmeshError,
)

log = structlog.get_logger("recmesh.control_plane.shadow_reports")

DEFAULT_REPORT_TIMEOUT_S = 300.0
#: A summary is a page of numbers; anything larger is not one.
MAX_SUMMARY_BYTES = 64 * MAX_TEXT
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ShadowReports:
    def __init__(
        self,
        keys: KeySchema,
        records: RecordReader,
        rollouts: RolloutReader,
        audit: AuditLog,
        clock: Clock,
        impressions: tuple[Path, ...],
        *,
        timeout_s: float = DEFAULT_REPORT_TIMEOUT_S,
    ) -> None:
        self._keys = keys
        self._records = records
        self._rollouts = rollouts
        self._audit = audit
        self._clock = clock
        self._impressions = impressions
        self._timeout_s = timeout_s

    async def compute(
        self, experiment_id: str, k: int
    ) -> control_plane_pb2.GetShadowReportResponse:
        """The report's summary JSON and HTML page; FAILED_PRECONDITION when no impression
        log is configured or it holds no shadowed request of the experiment."""
        require(experiment_id, "experiment_id")
        if not self._impressions:
            raise FailedPreconditionError(
                "this control plane was started without an impression log (--impressions); "
                "compute the report locally: recmesh shadow report EXP --impressions LOG"
            )
        experiment = (await self._records.experiment(experiment_id)).experiment
        with tempfile.TemporaryDirectory(prefix="recmesh-shadow-") as out:
            command = [
                sys.executable, "-m", "offline.shadow",
                "--experiment-id", experiment_id,
                "--champion", experiment.champion_version,
                "--challenger", experiment.spec.challenger_version,
                "--k", str(k or 10),
                "--out", out,
            ]  # fmt: skip
            for path in self._impressions:
                command += ["--impressions", str(path)]
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
            try:
                _, stderr = await asyncio.wait_for(process.communicate(), self._timeout_s)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise DeadlineExceededError(
                    f"the shadow report of {experiment_id} took longer than "
                    f"{self._timeout_s:g} s; compute it locally with `recmesh shadow report`"
                ) from None
            problem = stderr.decode(errors="replace").strip()
            if process.returncode == EXIT_NO_RECORDS:
                raise FailedPreconditionError(problem)
            if process.returncode != 0:
                raise FailedPreconditionError(
                    f"the shadow report of {experiment_id} could not be computed: {problem}"
                )
            summary = (Path(out) / SUMMARY_FILE).read_text(encoding="utf-8")
            html = (Path(out) / REPORT_FILE).read_bytes()
        return control_plane_pb2.GetShadowReportResponse(summary_json=summary, report_html=html)

    async def attach(
        self, experiment_id: str, summary_json: str, report_sha256: str, actor: str, k: int = 0
    ) -> control_plane_pb2.AttachShadowReportResponse:
        """Attaches the caller's summary, or with an empty one the report computed here
        (returned with its page); refusals audited."""
        try:
            if not summary_json:
                return await self._attach_computed(experiment_id, k, actor)
            summary = await self._attach(
                experiment_id,
                records_pb2.ShadowReportSummary(
                    experiment_id=experiment_id,
                    summary_json=summary_json,
                    report_sha256=report_sha256,
                    source=records_pb2.SHADOW_REPORT_SOURCE_CALLER,
                ),
                actor,
            )
            return control_plane_pb2.AttachShadowReportResponse(summary=summary)
        except RecmeshError as exc:
            raise await audited(
                self._audit,
                exc,
                actor=actor,
                action="shadow_report_attach_refused",
                subject=experiment_id or "experiment",
                details={"report_sha256": report_sha256[:64]},
            ) from None

    async def _attach_computed(
        self, experiment_id: str, k: int, actor: str
    ) -> control_plane_pb2.AttachShadowReportResponse:
        computed = await self.compute(experiment_id, k)
        records = await self._records.experiment(experiment_id)
        summary = await self._attach(
            experiment_id,
            records_pb2.ShadowReportSummary(
                experiment_id=experiment_id,
                summary_json=computed.summary_json,
                report_sha256=hashlib.sha256(computed.report_html).hexdigest(),
                source=records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE,
                challenger_version=records.experiment.spec.challenger_version,
                rollout_id=await self._shadow_rollout_id(experiment_id),
            ),
            actor,
        )
        return control_plane_pb2.AttachShadowReportResponse(
            summary=summary, report_html=computed.report_html
        )

    async def _shadow_rollout_id(self, experiment_id: str) -> str:
        """The rollout id of the experiment's newest shadow among the pointer records, ""
        when none named one."""
        history = await self._records.pointer_history()
        newest_first = [history.current, *reversed(history.replaced)]
        for pointer in newest_first:
            if (
                pointer is not None
                and pointer.HasField("rollout")
                and pointer.rollout.mode == records_pb2.ROLLOUT_MODE_SHADOW
                and pointer.rollout.experiment_id == experiment_id
            ):
                return pointer.rollout.rollout_id
        return ""

    async def _attach(
        self, experiment_id: str, summary: records_pb2.ShadowReportSummary, actor: str
    ) -> records_pb2.ShadowReportSummary:
        require(experiment_id, "experiment_id")
        summary_json, report_sha256 = summary.summary_json, summary.report_sha256
        if len(summary_json.encode()) > MAX_SUMMARY_BYTES:
            raise InvalidArgumentError(
                f"summary_json is larger than {MAX_SUMMARY_BYTES} bytes; attach the summary "
                "the report wrote, not the page"
            )
        try:
            body = json.loads(summary_json)
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"summary_json is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidArgumentError("summary_json must be a JSON object (the report summary)")
        if not _SHA256.match(report_sha256):
            raise InvalidArgumentError(
                "report_sha256 must be the HTML report's sha256 as 64 lowercase hex digits"
            )
        await self._records.experiment(experiment_id)  # NotFound for an unknown experiment
        existing = await self._rollouts.shadow_report(experiment_id)
        summary.attached_by = actor
        summary.attached_at.CopyFrom(timestamp(self._clock))
        key = self._keys.shadow_report(experiment_id)
        details = {
            "report_sha256": report_sha256,
            "requests": str(body.get("requests", "")),
            "replaced": "" if existing is None else existing.summary.report_sha256,
            "source": source_name(summary.source),
        }
        if summary.source == records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE:
            details["challenger_version"] = summary.challenger_version
            details["rollout_id"] = summary.rollout_id
        try:
            await self._audit.commit(
                AuditDraft(
                    actor=actor,
                    action="shadow_report_attached",
                    subject=experiment_id,
                    details=details,
                ),
                [KeyAt(key, 0 if existing is None else existing.mod_revision)],
                [Put(key, encode(summary))],
            )
        except ConflictError as exc:
            raise FailedPreconditionError(
                f"another shadow report was attached to {experiment_id} meanwhile; check "
                "`recmesh experiment show` and attach again if yours is the newer one"
            ) from exc
        return summary


def source_name(source: records_pb2.ShadowReportSource.ValueType) -> str:
    """ "control_plane" or "caller" (an unrecorded source counts as the caller's)."""
    if source == records_pb2.SHADOW_REPORT_SOURCE_CONTROL_PLANE:
        return "control_plane"
    return "caller"
