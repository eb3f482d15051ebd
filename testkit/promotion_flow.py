"""The promotion workflow against a running control plane, over grpc.aio, in one place.

register the version -> create an experiment against the current champion ->
record a PASS evaluation -> a reviewer approves -> an operator promotes. Each
step is its own method so a caller can do something between them (and time
only the Promote); `promote_version` runs them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from control_plane.auth.client_tokens import load_client_tokens
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import control_plane_pb2_grpc, records_pb2
from testkit.records import evaluation_for, spec_for

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PromotionFlow:
    """Drives the control plane as its users: the experimenter registers, creates the
    experiment and records its evaluation, the reviewer approves, the operator promotes."""

    stub: control_plane_pb2_grpc.ControlPlaneServiceAsyncStub
    tokens: Mapping[str, str]
    experimenter: str = "alice"
    reviewer: str = "bob"
    operator: str = "olga"

    @classmethod
    def over(cls, channel: grpc.aio.Channel, client_tokens: Path) -> PromotionFlow:
        """A flow on channel, authenticating with the token files of a tokens directory."""
        return cls(
            control_plane_pb2_grpc.ControlPlaneServiceStub(channel),
            load_client_tokens(client_tokens),
        )

    def auth(self, name: str) -> Metadata:
        return (("authorization", f"Bearer {self.tokens[name]}"),)

    async def register(self, manifest_sha256: str) -> str:
        """Registers the bundle with this manifest; returns its serving version id."""
        response = await self.stub.RegisterModelVersion(
            pb.RegisterModelVersionRequest(manifest_sha256=manifest_sha256),
            metadata=self.auth(self.experimenter),
        )
        return str(response.model_version.version_id)

    async def create_experiment(self, challenger_version: str) -> records_pb2.Experiment:
        """An experiment of a registered version against the champion serving now, on the
        dataset its snapshot was built from (the control plane serves only a challenger
        whose snapshot holds all of the experiment's data)."""
        challenger = await self.stub.GetModelVersion(
            pb.GetModelVersionRequest(version_id=challenger_version),
            metadata=self.auth(self.experimenter),
        )
        lineage = challenger.model_version.lineage
        spec = spec_for(
            challenger_version,
            dataset_name=lineage.dataset_name,
            dataset_fingerprint=lineage.dataset_fingerprint,
        )
        response = await self.stub.CreateExperiment(
            pb.CreateExperimentRequest(spec=spec),
            metadata=self.auth(self.experimenter),
        )
        return response.experiment

    async def pass_and_approve(self, experiment: records_pb2.Experiment) -> None:
        """Records a PASS evaluation of the experiment and the reviewer's approval."""
        challenger = await self.stub.GetModelVersion(
            pb.GetModelVersionRequest(version_id=experiment.spec.challenger_version),
            metadata=self.auth(self.experimenter),
        )
        evaluation = evaluation_for(
            experiment, model_sha256=challenger.model_version.model_sha256
        )
        await self.stub.RecordEvaluation(
            pb.RecordEvaluationRequest(evaluation=evaluation),
            metadata=self.auth(self.experimenter),
        )
        await self.stub.SubmitReview(
            pb.SubmitReviewRequest(
                experiment_id=experiment.experiment_id,
                verdict=records_pb2.REVIEW_VERDICT_APPROVE,
                comment="looks good",
            ),
            metadata=self.auth(self.reviewer),
        )

    async def prepare(self, challenger_version: str) -> records_pb2.Experiment:
        """An experiment of the version, evaluated PASS and approved: ready to promote."""
        experiment = await self.create_experiment(challenger_version)
        await self.pass_and_approve(experiment)
        return experiment

    async def promote(self, experiment_id: str) -> records_pb2.ServingPointer:
        """The operator's Promote; returns the pointer it wrote."""
        response = await self.stub.Promote(
            pb.PromoteRequest(experiment_id=experiment_id), metadata=self.auth(self.operator)
        )
        return response.pointer

    async def promote_version(self, challenger_version: str) -> records_pb2.ServingPointer:
        """Prepares and promotes a registered version; returns the new pointer."""
        experiment = await self.prepare(challenger_version)
        return await self.promote(experiment.experiment_id)
