"""The control plane RPCs an experiment run makes, and nothing else.

The runner never writes etcd: artifacts go up by streaming UploadArtifact, the
challenger is registered with RegisterModelVersion, the experiment is created
with CreateExperiment (which captures the champion and the pointer revision),
and the evaluation is recorded with one RecordEvaluation call at the very end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import sha256_hex

CHUNK_BYTES = 1024 * 1024


class ExperimentControlPlane:
    """A connected control plane client (a sync stub, call metadata and a deadline)."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...], timeout: float) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    def whoami(self) -> pb.WhoAmIResponse:
        """Who the control plane takes us for: checks address and identity early."""
        response: pb.WhoAmIResponse = self._stub.WhoAmI(
            pb.WhoAmIRequest(), metadata=self._metadata, timeout=self._timeout
        )
        return response

    def upload(self, name: str, data: bytes) -> records_pb2.ArtifactRef:
        """Streams one artifact into the control plane's artifact store."""
        response = self._stub.UploadArtifact(
            _chunks(name, data), metadata=self._metadata, timeout=self._timeout
        )
        artifact: records_pb2.ArtifactRef = response.artifact
        return artifact

    def register(
        self, manifest_sha256: str, lineage: records_pb2.Lineage, description: str
    ) -> records_pb2.ModelVersion:
        response = self._stub.RegisterModelVersion(
            pb.RegisterModelVersionRequest(
                manifest_sha256=manifest_sha256, lineage=lineage, description=description
            ),
            metadata=self._metadata,
            timeout=self._timeout,
        )
        version: records_pb2.ModelVersion = response.model_version
        return version

    def model_version(self, version_id: str) -> records_pb2.ModelVersion:
        response = self._stub.GetModelVersion(
            pb.GetModelVersionRequest(version_id=version_id),
            metadata=self._metadata,
            timeout=self._timeout,
        )
        version: records_pb2.ModelVersion = response.model_version
        return version

    def create_experiment(self, spec: records_pb2.ExperimentSpec) -> records_pb2.Experiment:
        response = self._stub.CreateExperiment(
            pb.CreateExperimentRequest(spec=spec), metadata=self._metadata, timeout=self._timeout
        )
        experiment: records_pb2.Experiment = response.experiment
        return experiment

    def record_evaluation(self, evaluation: records_pb2.Evaluation) -> records_pb2.Evaluation:
        response = self._stub.RecordEvaluation(
            pb.RecordEvaluationRequest(evaluation=evaluation),
            metadata=self._metadata,
            timeout=self._timeout,
        )
        recorded: records_pb2.Evaluation = response.evaluation
        return recorded


def _chunks(name: str, data: bytes) -> Iterator[pb.UploadArtifactRequest]:
    header = pb.ArtifactHeader(name=name, expected_sha256=sha256_hex(data), size_bytes=len(data))
    yield pb.UploadArtifactRequest(header=header)
    for start in range(0, len(data), CHUNK_BYTES):
        yield pb.UploadArtifactRequest(chunk=data[start : start + CHUNK_BYTES])
