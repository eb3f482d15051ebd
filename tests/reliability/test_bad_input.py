"""Random and malformed requests to every RPC of every server: each answer is a proper
status (never UNKNOWN or INTERNAL), and every server stays up and SERVING."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control_plane.auth.roles import RPC_ROLES, Role
from local_mesh.health_wait import is_serving
from recmesh.api.candidates.v1 import candidates_pb2, candidates_pb2_grpc
from recmesh.api.common.v1 import arrays_pb2
from recmesh.api.controlplane.v1 import control_plane_pb2 as cp_pb
from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.api.ranking.v1 import ranking_pb2, ranking_pb2_grpc
from recmesh.api.recommend.v1 import recommend_pb2, recommend_pb2_grpc
from tests.control_plane.harness import ControlPlaneHarness, running_control_plane
from tests.reliability.messages import TEXT, messages
from tests.reliability.process_mesh import ProcessMesh

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SERVING = ("recommend", "candidates", "features", "ranking")


def _candidate_sets() -> st.SearchStrategy[arrays_pb2.CandidateSet]:
    """Well-formed arrays with bad content: unknown or negative item ids, source indices
    out of range, NaN and infinite scores, up to 12,000 candidates; or arbitrary bytes."""

    @st.composite
    def consistent(draw: st.DrawFn) -> arrays_pb2.CandidateSet:
        n = draw(st.sampled_from([0, 1, 7, 500, 12_000]))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        ids = draw(
            st.sampled_from(
                [
                    rng.integers(1, 1683, n),
                    rng.integers(-(2**63), 2**63 - 1, n),
                    np.full(n, 10**9),
                ]
            )
        )
        scores = draw(
            st.sampled_from([rng.random(n), np.full(n, np.nan), np.full(n, np.inf)])
        ).astype("<f4")
        sources = draw(st.lists(TEXT, max_size=3))
        indices = rng.integers(0, draw(st.integers(1, 256)), n).astype(np.uint8)
        return arrays_pb2.CandidateSet(
            item_ids=arrays_pb2.Int64Array(data=ids.astype("<i8").tobytes(), length=n),
            source_indices=indices.tobytes(),
            sources=sources,
            source_scores=arrays_pb2.Float32Array(data=scores.tobytes(), length=n),
        )

    return st.one_of(consistent(), messages(arrays_pb2.CandidateSet.DESCRIPTOR))


def _code(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    try:
        call()
    except grpc.RpcError as exc:
        if not isinstance(exc, grpc.Call):
            raise
        return exc.code(), str(exc.details())
    return grpc.StatusCode.OK, ""


def _assert_proper(code: grpc.StatusCode, details: str, what: str) -> None:
    assert code in ALLOWED, f"{what}: {code.name}: {details}"


@pytest.fixture(scope="module")
def stubs(process_mesh: ProcessMesh) -> Iterator[dict[str, Any]]:
    channels = {name: grpc.insecure_channel(process_mesh.address_of(name)) for name in SERVING}
    try:
        yield {
            "recommend": recommend_pb2_grpc.RecommendServiceStub(channels["recommend"]),
            "candidates": candidates_pb2_grpc.CandidatesServiceStub(channels["candidates"]),
            "features": features_pb2_grpc.FeaturesServiceStub(channels["features"]),
            "ranking": ranking_pb2_grpc.RankingServiceStub(channels["ranking"]),
        }
    finally:
        for channel in channels.values():
            channel.close()


def _versions(mesh: ProcessMesh) -> st.SearchStrategy[str]:
    return st.one_of(st.just(mesh.xgboost.version_id), TEXT)


# Mostly valid users and k, so the malformed part of a request is what gets tested.
USERS = st.one_of(st.sampled_from(["196", "22", "no-such-user"]), TEXT)
RANK_KS = st.one_of(st.integers(0, 20), st.integers(0, 2**32 - 1))


def _all_serving(mesh: ProcessMesh) -> None:
    for name in (*SERVING, "control_plane"):
        assert is_serving(mesh.address_of(name), timeout=5.0), f"{name} is not SERVING"


@pytest.mark.slow
def test_random_recommend_requests_get_proper_statuses(
    process_mesh: ProcessMesh, stubs: dict[str, Any]
) -> None:
    """Recommend with arbitrary user ids, k and context: OK or INVALID_ARGUMENT-like only."""

    @SETTINGS
    @given(messages(recommend_pb2.RecommendRequest.DESCRIPTOR, overrides={"user_id": USERS}))
    def check(request: Message) -> None:
        code, details = _code(lambda: stubs["recommend"].Recommend(request, timeout=5))
        _assert_proper(code, details, f"Recommend({request!r:.200})")

    check()
    _all_serving(process_mesh)


@pytest.mark.slow
def test_random_get_candidates_requests_get_proper_statuses(
    process_mesh: ProcessMesh, stubs: dict[str, Any]
) -> None:
    """GetCandidates with arbitrary users, versions and max_candidates up to 2**32."""

    @SETTINGS
    @given(
        messages(
            candidates_pb2.GetCandidatesRequest.DESCRIPTOR,
            overrides={"user_id": USERS, "serving_version": _versions(process_mesh)},
        )
    )
    def check(request: Message) -> None:
        code, details = _code(lambda: stubs["candidates"].GetCandidates(request, timeout=5))
        _assert_proper(code, details, f"GetCandidates({request!r:.200})")

    check()
    _all_serving(process_mesh)


@pytest.mark.slow
def test_random_get_features_requests_get_proper_statuses(
    process_mesh: ProcessMesh, stubs: dict[str, Any]
) -> None:
    """GetFeatures with wrong-length arrays, unknown items and sources, NaN scores."""

    @SETTINGS
    @given(
        messages(
            features_pb2.GetFeaturesRequest.DESCRIPTOR,
            overrides={
                "user_id": USERS,
                "serving_version": _versions(process_mesh),
                "candidates": _candidate_sets(),
            },
        )
    )
    def check(request: Message) -> None:
        code, details = _code(lambda: stubs["features"].GetFeatures(request, timeout=5))
        _assert_proper(code, details, f"GetFeatures({request!r:.200})")

    check()
    _all_serving(process_mesh)


@pytest.mark.slow
def test_random_rank_requests_get_proper_statuses(
    process_mesh: ProcessMesh, stubs: dict[str, Any]
) -> None:
    """Rank with huge or negative k and malformed candidate sets (ranking passes them on
    to features)."""

    @SETTINGS
    @given(
        messages(
            ranking_pb2.RankRequest.DESCRIPTOR,
            overrides={
                "user_id": USERS,
                "k": RANK_KS,
                "serving_version": _versions(process_mesh),
                "candidates": _candidate_sets(),
            },
        )
    )
    def check(request: Message) -> None:
        code, details = _code(lambda: stubs["ranking"].Rank(request, timeout=5))
        _assert_proper(code, details, f"Rank({request!r:.200})")

    check()
    _all_serving(process_mesh)


@pytest.mark.slow
def test_rank_with_well_formed_but_bad_candidates_is_invalid_argument(
    process_mesh: ProcessMesh, stubs: dict[str, Any]
) -> None:
    """Rank for a real user and version with well-formed candidate arrays holding unknown
    items, out-of-range source indices or NaN scores: INVALID_ARGUMENT (the caller's
    fault), never UNAVAILABLE, which would blame features and invite retries."""

    @settings(SETTINGS, max_examples=30)
    @given(_candidate_sets(), st.integers(1, 20))
    def check(candidates: arrays_pb2.CandidateSet, k: int) -> None:
        request = ranking_pb2.RankRequest(
            user_id="196",
            serving_version=process_mesh.xgboost.version_id,
            k=k,
            candidates=candidates,
        )
        code, details = _code(lambda: stubs["ranking"].Rank(request, timeout=5))
        _assert_proper(code, details, f"Rank({request!r:.200})")

    check()


@pytest.fixture(scope="module")
def control_plane(
    process_mesh: ProcessMesh, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlaneHarness]:
    """A control plane of its own (own etcd prefix) on the mesh's etcd."""
    assert process_mesh.mesh.etcd is not None
    directory = Path(tmp_path_factory.mktemp("fuzzed-control-plane"))
    with running_control_plane(process_mesh.mesh.etcd, directory) as harness:
        yield harness


_CALLER = {Role.EXPERIMENTER: "alice", Role.REVIEWER: "bob", Role.OPERATOR: "olga"}
UNARY_RPCS = sorted(set(RPC_ROLES) - {"UploadArtifact", "WatchPointer"})


def _caller(rpc: str) -> str:
    roles = RPC_ROLES[rpc]
    return next((name for role, name in _CALLER.items() if role in roles), "serving")


@pytest.mark.slow
@pytest.mark.parametrize("rpc", UNARY_RPCS)
def test_random_control_plane_requests_get_proper_statuses(
    control_plane: ControlPlaneHarness, rpc: str
) -> None:
    """Each unary control-plane RPC, called by a principal allowed to, with arbitrary
    requests: a proper status, never UNKNOWN or INTERNAL."""
    method = control_plane.stub.__getattribute__(rpc)
    descriptor = cp_pb.DESCRIPTOR.services_by_name["ControlPlaneService"].methods_by_name[rpc]
    metadata = control_plane.auth(_caller(rpc))

    @settings(SETTINGS, max_examples=25)
    @given(messages(descriptor.input_type))
    def check(request: Message) -> None:
        code, details = _code(lambda: method(request, metadata=metadata, timeout=10))
        _assert_proper(code, details, f"{rpc}({request!r:.200})")

    check()
    assert is_serving(control_plane.address)


@pytest.mark.slow
def test_random_upload_streams_get_proper_statuses(control_plane: ControlPlaneHarness) -> None:
    """UploadArtifact with arbitrary streams of headers and chunks: a proper status."""
    metadata = control_plane.auth("alice")

    @settings(SETTINGS, max_examples=30)
    @given(st.lists(messages(cp_pb.UploadArtifactRequest.DESCRIPTOR), max_size=4))
    def check(requests: list[Message]) -> None:
        code, details = _code(
            lambda: control_plane.stub.UploadArtifact(iter(requests), metadata=metadata, timeout=10)
        )
        _assert_proper(code, details, f"UploadArtifact({requests!r:.200})")

    check()
    assert is_serving(control_plane.address)


def _raw_payloads() -> list[bytes]:
    rng = random.Random(7)
    return [rng.randbytes(rng.randint(1, 300)) for _ in range(20)]


RAW_METHODS = [
    "/recmesh.recommend.v1.RecommendService/Recommend",
    "/recmesh.candidates.v1.CandidatesService/GetCandidates",
    "/recmesh.features.v1.FeaturesService/GetFeatures",
    "/recmesh.ranking.v1.RankingService/Rank",
]


def _raw_codes(mesh: ProcessMesh, method: str) -> list[tuple[grpc.StatusCode, str]]:
    service = method.split(".")[1]
    with grpc.insecure_channel(mesh.address_of(service)) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        return [_code(partial(call, payload, timeout=5)) for payload in _raw_payloads()]


@pytest.mark.slow
@pytest.mark.parametrize("method", RAW_METHODS)
def test_undecodable_request_bytes_leave_the_server_serving(
    process_mesh: ProcessMesh, method: str
) -> None:
    """Request bodies that are not valid protobuf are each answered with a status before
    any handler runs, and the server keeps serving."""
    codes = _raw_codes(process_mesh, method)
    assert len(codes) == len(_raw_payloads())
    _all_serving(process_mesh)


@pytest.mark.slow
@pytest.mark.parametrize("method", RAW_METHODS)
def test_undecodable_request_bytes_are_invalid_argument(
    process_mesh: ProcessMesh, method: str
) -> None:
    """Request bodies that are not valid protobuf get a proper status, never UNKNOWN."""
    for code, details in _raw_codes(process_mesh, method):
        _assert_proper(code, details, method)


@pytest.mark.slow
def test_garbage_bytes_on_the_socket_leave_every_server_serving(
    process_mesh: ProcessMesh,
) -> None:
    """Random bytes, a truncated HTTP/2 preface, and a valid preface followed by a
    garbage frame, sent raw over TCP to every server port: each server still answers."""
    rng = random.Random(11)
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    payloads = [
        rng.randbytes(4096),
        preface[:10],
        preface + b"\x00\x00\x04\x99\xff\xff\xff\xff\xff" + rng.randbytes(64),
        preface + b"\xff" * 9 + rng.randbytes(1 << 16),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for name in (*SERVING, "control_plane"):
        host, port = process_mesh.address_of(name).split(":")
        for payload in payloads:
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                try:
                    sock.sendall(payload)
                    sock.settimeout(0.5)
                    sock.recv(4096)
                except OSError:
                    pass  # the server may reset the connection; that is its right
        assert is_serving(process_mesh.address_of(name), timeout=5.0), name
