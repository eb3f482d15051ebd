"""The GetFeatures RPC: one float32 row per candidate, as little-endian bytes; and its
batch form GetFeaturesBatch: each item checked as GetFeatures checks it and answered
alone, the rows of every item of one serving version computed into one matrix
(`FeaturePipeline.compute_batch`) and sliced per item as bytes."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import grpc
import numpy as np
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from recmesh.api.common.v1 import arrays_pb2
from recmesh.api.features.v1 import features_pb2, features_pb2_grpc
from recmesh.core.features.loaded import LoadedFeatures
from recmesh.core.features.pipeline import UserCandidates
from recmesh.rpc.errors import InvalidArgumentError, RecmeshError
from recmesh.wire.arrays import ArrayPayloadError, encode_matrix
from recmesh.wire.candidate_codec import WireCandidates, decode_candidates
from recmesh.wire.ids import check_serving_version, check_user_id
from services.common.batch_items import (
    BatchItems,
    ItemSlot,
    computed_apart_on_failure,
    shared_span,
    version_groups,
)
from services.common.versions import VersionRegistry

GET_FEATURES = "/recmesh.features.v1.FeaturesService/GetFeatures"

_Request = features_pb2.GetFeaturesRequest
_Response = features_pb2.GetFeaturesResponse
_Slot = ItemSlot[_Request, _Response]


def checked_candidates(request: _Request) -> WireCandidates:
    """The request's candidates after GetFeatures' checks of the request; raises
    InvalidArgumentError as GetFeatures answers."""
    check_user_id(request.user_id)
    check_serving_version(request.serving_version)
    try:
        return decode_candidates(request.candidates)
    except ArrayPayloadError as exc:
        raise InvalidArgumentError(str(exc)) from exc


class FeaturesServicer(features_pb2_grpc.FeaturesServiceServicer):
    def __init__(
        self,
        versions: VersionRegistry[LoadedFeatures],
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._versions = versions
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(
            "recmesh.features.batch"
        )

    async def GetFeatures(
        self,
        request: _Request,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> _Response:
        candidates = checked_candidates(request)
        loaded = (await self._versions.get(request.serving_version)).value
        indices = loaded.snapshot.item_indices_of(candidates.item_ids)
        matrix = loaded.pipeline.compute(
            request.user_id,
            indices,
            candidates.source_indices,
            candidates.source_scores,
            candidates.sources,
        )
        trace.get_current_span().set_attribute("recmesh.candidates", len(candidates))
        schema = loaded.pipeline.schema
        return _Response(
            serving_version=request.serving_version,
            features=encode_matrix(matrix),
            schema_fingerprint=schema.fingerprint,
            feature_names=list(schema.names) if request.include_feature_names else [],
        )

    async def GetFeaturesBatch(
        self,
        request: features_pb2.GetFeaturesBatchRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> features_pb2.GetFeaturesBatchResponse:
        items: BatchItems[_Request, _Response] = BatchItems.open(
            self._tracer, GET_FEATURES, [(item.request, item.context) for item in request.items]
        )
        try:
            wire: dict[int, WireCandidates] = {}
            for slot in items.slots:
                try:
                    wire[slot.index] = checked_candidates(slot.request)
                except RecmeshError as error:
                    slot.fail(error)
            groups = await version_groups(
                self._versions, items.pending(), lambda r: r.serving_version
            )
            for version_id, loaded, members in groups:
                alive = items.expire(members)
                if alive:
                    self._compute_group(version_id, loaded, alive, wire)
        except BaseException:
            items.abandon()
            raise
        return features_pb2.GetFeaturesBatchResponse(
            results=[
                features_pb2.GetFeaturesBatchResult(status=status, response=response)
                for status, response in items.finish()
            ]
        )

    def _compute_group(
        self,
        version_id: str,
        loaded: LoadedFeatures,
        slots: list[_Slot],
        wire: dict[int, WireCandidates],
    ) -> None:
        """One matrix for every row of the group's items, sliced per item."""
        pipeline = loaded.pipeline
        ready: list[_Slot] = []
        groups: list[UserCandidates] = []
        for slot in slots:
            candidates = wire[slot.index]
            group = UserCandidates(
                slot.request.user_id,
                loaded.snapshot.item_indices_of(candidates.item_ids),
                candidates.source_indices,
                candidates.source_scores,
                candidates.sources,
            )
            try:
                pipeline.check(group)
            except RecmeshError as error:
                slot.fail(error)
                continue
            ready.append(slot)
            groups.append(group)
        if not ready:
            return
        schema = pipeline.schema
        cols = len(schema)
        row_bytes = cols * 4
        group_of = {slot.index: group for slot, group in zip(ready, groups, strict=True)}

        def compute(batch: Sequence[_Slot]) -> list[tuple[bytes, int]]:
            """Each slot's rows as little-endian bytes and their count, from one matrix."""
            computed = pipeline.compute_batch([group_of[slot.index] for slot in batch])
            data = np.ascontiguousarray(computed.matrix, dtype="<f4").tobytes()
            offsets = computed.offsets.tolist()
            return [
                (data[start * row_bytes : stop * row_bytes], stop - start)
                for start, stop in pairwise(offsets)
            ]

        rows = sum(len(wire[slot.index]) for slot in ready)
        with shared_span(
            self._tracer,
            "features.compute_batch",
            ready,
            **{"recmesh.serving_version": version_id, "recmesh.rows": rows},
        ):
            answered = computed_apart_on_failure(ready, compute)
        names = list(schema.names)
        for slot, (data, n_rows) in answered:
            slot.span.set_attribute("recmesh.serving_version", version_id)
            slot.span.set_attribute("recmesh.candidates", n_rows)
            slot.answer(
                _Response(
                    serving_version=version_id,
                    features=arrays_pb2.Float32Matrix(data=data, rows=n_rows, cols=cols),
                    schema_fingerprint=schema.fingerprint,
                    feature_names=names if slot.request.include_feature_names else [],
                )
            )
