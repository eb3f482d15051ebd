"""The ControlPlaneService RPCs, each delegated to the domain object that owns it.

Authentication and the role table are enforced by AuthInterceptor before a
method runs; here the caller's identity is only read (for `registered_by`,
`submitted_by`, audit actors and the review rules). Errors are raised as
RecmeshError and translated into their status by the instrumenting interceptor
(recmesh/server/instrumentation.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from control_plane.audit_log import AuditLog
from control_plane.auth.authenticators import Authenticator
from control_plane.evaluations import EvaluationBook
from control_plane.experiments import ExperimentBook
from control_plane.model_registry import ModelRegistry
from control_plane.pointer import PointerFeed
from control_plane.promotion import Promoter
from control_plane.refresh_gate import RefreshGate
from control_plane.refresh_policy import RefreshPolicyBook
from control_plane.reviews import ReviewBook
from control_plane.rollback import Rollback
from control_plane.rollout_control import RolloutControl
from control_plane.shadow import ShadowBook
from control_plane.shadow_reports import ShadowReports
from control_plane.staged_promotion import StagedPromoter
from control_plane.store.records import RecordReader
from control_plane.store.rollout_records import RolloutReader
from control_plane.uploads import receive_upload
from control_plane.validation import require
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc
from recmesh.artifacts.protocol import ArtifactStore

Context = grpc.aio.ServicerContext[Any, Any]


class ControlPlaneServicer(control_plane_pb2_grpc.ControlPlaneServiceServicer):
    def __init__(
        self,
        *,
        authenticator: Authenticator,
        artifacts: ArtifactStore,
        max_upload_bytes: int,
        records: RecordReader,
        models: ModelRegistry,
        experiments: ExperimentBook,
        evaluations: EvaluationBook,
        reviews: ReviewBook,
        promoter: Promoter,
        rollback: Rollback,
        refresh_policies: RefreshPolicyBook,
        refresh_gate: RefreshGate,
        pointer: PointerFeed,
        audit: AuditLog,
        shadow: ShadowBook,
        shadow_reports: ShadowReports,
        staged: StagedPromoter,
        rollouts: RolloutReader,
        rollout_control: RolloutControl,
    ) -> None:
        self._authenticator = authenticator
        self._artifacts = artifacts
        self._max_upload_bytes = max_upload_bytes
        self._records = records
        self._models = models
        self._experiments = experiments
        self._evaluations = evaluations
        self._reviews = reviews
        self._promoter = promoter
        self._rollback = rollback
        self._refresh_policies = refresh_policies
        self._refresh_gate = refresh_gate
        self._pointer = pointer
        self._audit = audit
        self._shadow = shadow
        self._shadow_reports = shadow_reports
        self._staged = staged
        self._rollouts = rollouts
        self._rollout_control = rollout_control

    def _caller(self, context: Context) -> str:
        return self._authenticator.authenticate(context).name

    async def WhoAmI(self, request: pb.WhoAmIRequest, context: Context) -> pb.WhoAmIResponse:
        principal = self._authenticator.authenticate(context)
        return pb.WhoAmIResponse(
            principal=principal.name, roles=sorted(role.value for role in principal.roles)
        )

    async def UploadArtifact(
        self, request_iterator: AsyncIterator[pb.UploadArtifactRequest], context: Context
    ) -> pb.UploadArtifactResponse:
        artifact = await receive_upload(self._artifacts, request_iterator, self._max_upload_bytes)
        return pb.UploadArtifactResponse(artifact=artifact)

    async def RegisterModelVersion(
        self, request: pb.RegisterModelVersionRequest, context: Context
    ) -> pb.RegisterModelVersionResponse:
        registration = await self._models.register(
            request.manifest_sha256, request.lineage, request.description, self._caller(context)
        )
        return pb.RegisterModelVersionResponse(
            model_version=registration.model_version, created=registration.created
        )

    async def GetModelVersion(
        self, request: pb.GetModelVersionRequest, context: Context
    ) -> pb.GetModelVersionResponse:
        require(request.version_id, "version_id")
        return pb.GetModelVersionResponse(
            model_version=await self._records.model(request.version_id)
        )

    async def ListModelVersions(
        self, request: pb.ListModelVersionsRequest, context: Context
    ) -> pb.ListModelVersionsResponse:
        models = await self._records.models()
        models.sort(key=lambda m: (m.registered_at.ToNanoseconds(), m.version_id))
        return pb.ListModelVersionsResponse(model_versions=models)

    async def CreateExperiment(
        self, request: pb.CreateExperimentRequest, context: Context
    ) -> pb.CreateExperimentResponse:
        experiment = await self._experiments.create(request.spec, self._caller(context))
        return pb.CreateExperimentResponse(experiment=experiment)

    async def GetExperiment(
        self, request: pb.GetExperimentRequest, context: Context
    ) -> pb.GetExperimentResponse:
        experiment, evaluation, reviews = await self._experiments.get(request.experiment_id)
        response = pb.GetExperimentResponse(
            experiment=experiment, evaluation=evaluation, reviews=reviews
        )
        report = await self._rollouts.shadow_report(request.experiment_id)
        if report is not None:
            response.shadow_report.CopyFrom(report.summary)
        rollout = await self._rollouts.rollout(request.experiment_id)
        if rollout is not None:
            response.rollout.CopyFrom(rollout.record)
        return response

    async def ListExperiments(
        self, request: pb.ListExperimentsRequest, context: Context
    ) -> pb.ListExperimentsResponse:
        return pb.ListExperimentsResponse(experiments=await self._experiments.list(request.state))

    async def RecordEvaluation(
        self, request: pb.RecordEvaluationRequest, context: Context
    ) -> pb.RecordEvaluationResponse:
        evaluation = await self._evaluations.record(request.evaluation, self._caller(context))
        return pb.RecordEvaluationResponse(evaluation=evaluation)

    async def GetEvaluation(
        self, request: pb.GetEvaluationRequest, context: Context
    ) -> pb.GetEvaluationResponse:
        return pb.GetEvaluationResponse(
            evaluation=await self._evaluations.get(request.experiment_id)
        )

    async def SubmitReview(
        self, request: pb.SubmitReviewRequest, context: Context
    ) -> pb.SubmitReviewResponse:
        review, state = await self._reviews.submit(
            request.experiment_id,
            request.verdict,
            request.comment,
            self._authenticator.authenticate(context),
        )
        return pb.SubmitReviewResponse(review=review, state=state)

    async def ListReviews(
        self, request: pb.ListReviewsRequest, context: Context
    ) -> pb.ListReviewsResponse:
        return pb.ListReviewsResponse(reviews=await self._reviews.list(request.experiment_id))

    async def Promote(self, request: pb.PromoteRequest, context: Context) -> pb.PromoteResponse:
        if request.HasField("plan"):
            return await self._staged.start(
                request.experiment_id, request.plan, self._caller(context)
            )
        return await self._promoter.promote(request.experiment_id, self._caller(context))

    async def Rollback(self, request: pb.RollbackRequest, context: Context) -> pb.RollbackResponse:
        return await self._rollback.rollback(
            request.reason, request.target_version, self._caller(context)
        )

    async def SetRefreshPolicy(
        self, request: pb.SetRefreshPolicyRequest, context: Context
    ) -> pb.SetRefreshPolicyResponse:
        policy = await self._refresh_policies.set(request.policy, self._caller(context))
        return pb.SetRefreshPolicyResponse(policy=policy)

    async def GetRefreshPolicy(
        self, request: pb.GetRefreshPolicyRequest, context: Context
    ) -> pb.GetRefreshPolicyResponse:
        return pb.GetRefreshPolicyResponse(policy=await self._refresh_policies.get())

    async def RefreshServing(
        self, request: pb.RefreshServingRequest, context: Context
    ) -> pb.RefreshServingResponse:
        return await self._refresh_gate.refresh(request, self._caller(context))

    async def GetPointer(
        self, request: pb.GetPointerRequest, context: Context
    ) -> pb.GetPointerResponse:
        return await self._pointer.current()

    async def WatchPointer(
        self, request: pb.WatchPointerRequest, context: Context
    ) -> AsyncIterator[pb.WatchPointerResponse]:
        async for pointer in self._pointer.follow():
            yield pb.WatchPointerResponse(pointer=pointer)

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: Context
    ) -> pb.ListAuditEntriesResponse:
        entries = await self._audit.entries(request.after_sequence, request.limit)
        return pb.ListAuditEntriesResponse(entries=entries)

    async def VerifyAuditLog(
        self, request: pb.VerifyAuditLogRequest, context: Context
    ) -> pb.VerifyAuditLogResponse:
        report = await self._audit.verify()
        problems = [report.problem] if report.problem else []
        # The pointer is the record whose damage matters most: name it here too.
        damaged = (await self._records.pointer_value()).damaged
        if damaged is not None:
            problems.append(f"damaged record {damaged.key}: {damaged.problem}")
        return pb.VerifyAuditLogResponse(
            ok=report.ok and damaged is None,
            entries=report.entries,
            broken_sequence=report.broken_sequence,
            problem="; ".join(problems),
        )

    async def StartShadow(
        self, request: pb.StartShadowRequest, context: Context
    ) -> pb.StartShadowResponse:
        pointer = await self._shadow.start(
            request.experiment_id, request.share, self._caller(context)
        )
        return pb.StartShadowResponse(pointer=pointer)

    async def StopShadow(
        self, request: pb.StopShadowRequest, context: Context
    ) -> pb.StopShadowResponse:
        pointer = await self._shadow.stop(
            request.experiment_id, request.reason, self._caller(context)
        )
        return pb.StopShadowResponse(pointer=pointer)

    async def GetShadowReport(
        self, request: pb.GetShadowReportRequest, context: Context
    ) -> pb.GetShadowReportResponse:
        return await self._shadow_reports.compute(request.experiment_id, request.k)

    async def AttachShadowReport(
        self, request: pb.AttachShadowReportRequest, context: Context
    ) -> pb.AttachShadowReportResponse:
        return await self._shadow_reports.attach(
            request.experiment_id,
            request.summary_json,
            request.report_sha256,
            self._caller(context),
            request.k,
        )

    async def GetRollout(
        self, request: pb.GetRolloutRequest, context: Context
    ) -> pb.GetRolloutResponse:
        return await self._rollout_control.get(request.experiment_id)

    async def PauseRollout(
        self, request: pb.PauseRolloutRequest, context: Context
    ) -> pb.PauseRolloutResponse:
        rollout = await self._rollout_control.pause(
            request.experiment_id, request.reason, self._caller(context)
        )
        return pb.PauseRolloutResponse(rollout=rollout)

    async def ResumeRollout(
        self, request: pb.ResumeRolloutRequest, context: Context
    ) -> pb.ResumeRolloutResponse:
        rollout = await self._rollout_control.resume(request.experiment_id, self._caller(context))
        return pb.ResumeRolloutResponse(rollout=rollout)
