"""Records are deterministic proto JSON; a value that is not a record is DATA_LOSS, named."""

from __future__ import annotations

import grpc

from control_plane.store.codec import decode, encode
from control_plane.store.kv_types import StoredValue
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from tests.control_plane.harness import ControlPlaneHarness, code_of, details_of, rpc_error


def test_encoding_is_deterministic_and_round_trips() -> None:
    """Equal messages encode to equal bytes (sorted keys) and decode back."""
    approve = records_pb2.REVIEW_VERDICT_APPROVE
    review = records_pb2.Review(review_id="rv-1", author="bob", comment="ok", verdict=approve)
    data = encode(review)
    same = records_pb2.Review(comment="ok", verdict=approve, author="bob", review_id="rv-1")
    assert data == encode(same)
    assert decode(StoredValue("/k", data, 1, 1), records_pb2.Review) == review


def test_corrupt_record_is_data_loss_naming_the_key(control_plane: ControlPlaneHarness) -> None:
    """An experiment value overwritten with junk in etcd makes GetExperiment DATA_LOSS with
    the key in the message."""
    experiment = control_plane.create_experiment(control_plane.register(control_plane.challenger_a))
    key = control_plane.keys.experiment(experiment.experiment_id)
    control_plane.etcd_put(key, b"{not json")
    error = rpc_error(
        control_plane.stub.GetExperiment,
        pb.GetExperimentRequest(experiment_id=experiment.experiment_id),
        metadata=control_plane.auth("bob"),
    )
    assert code_of(error) == grpc.StatusCode.DATA_LOSS
    assert f"{key} does not hold a Experiment" in details_of(error)
