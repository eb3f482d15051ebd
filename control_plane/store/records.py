"""Typed reads of the control plane's records, following recmesh.etcd.keys.KeySchema."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.experiment_state import ExperimentRecords
from control_plane.store.codec import decode
from control_plane.store.errors import CorruptRecordError
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.kv_types import Reading, StoredValue
from recmesh.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.etcd.pointer_codec import PointerFormatError, decode_pointer
from recmesh.rpc.errors import NotFoundError


@dataclass(frozen=True)
class PointerHistory:
    """The pointer now (None before the first baseline) and every value it replaced,
    oldest first, each with the revision at which it was set."""

    current: records_pb2.ServingPointer | None
    replaced: tuple[records_pb2.ServingPointer, ...]


class RecordReader:
    """Reads and decodes records; a record that must exist raises NotFoundError."""

    def __init__(self, kv: EtcdKV, keys: KeySchema) -> None:
        self._kv = kv
        self._keys = keys

    async def model(self, version_id: str) -> records_pb2.ModelVersion:
        stored = await self._kv.find(self._keys.model(version_id))
        if stored is None:
            raise NotFoundError(
                f"model version {version_id!r} is not registered (see `recmesh models list`)"
            )
        return decode(stored, records_pb2.ModelVersion)

    async def find_model(self, version_id: str) -> records_pb2.ModelVersion | None:
        stored = await self._kv.find(self._keys.model(version_id))
        return None if stored is None else decode(stored, records_pb2.ModelVersion)

    async def models(self) -> list[records_pb2.ModelVersion]:
        stored = await self._kv.list(self._keys.models_prefix)
        return [decode(value, records_pb2.ModelVersion) for value in stored]

    async def experiment(self, experiment_id: str) -> ExperimentRecords:
        """The experiment and everything recorded about it, at one revision."""
        keys = self._keys
        reading = await self._kv.read(
            keys=[
                keys.experiment(experiment_id),
                keys.evaluation(experiment_id),
                keys.promotion(experiment_id),
                keys.pointer,
            ],
            prefixes=[keys.reviews_prefix(experiment_id)],
        )
        stored = reading.find(keys.experiment(experiment_id))
        if stored is None:
            raise NotFoundError(
                f"experiment {experiment_id!r} does not exist (see `recmesh experiment list`)"
            )
        evaluation = reading.find(keys.evaluation(experiment_id))
        return ExperimentRecords(
            experiment=decode(stored, records_pb2.Experiment),
            evaluation=None if evaluation is None else decode(evaluation, records_pb2.Evaluation),
            evaluation_mod_revision=0 if evaluation is None else evaluation.mod_revision,
            reviews=_reviews(reading.under(keys.reviews_prefix(experiment_id))),
            promotion_exists=reading.find(keys.promotion(experiment_id)) is not None,
            pointer=_maybe_pointer(reading.find(keys.pointer)),
            revision=reading.revision,
        )

    async def experiments(self) -> list[ExperimentRecords]:
        """Every experiment with its records, at one revision, in id order."""
        keys = self._keys
        prefixes = [
            keys.experiments_prefix,
            keys.evaluations_prefix,
            keys.all_reviews_prefix,
            keys.promotions_prefix,
        ]
        reading = await self._kv.read(keys=[keys.pointer], prefixes=prefixes)
        evaluations = {_last(v.key): v for v in reading.under(prefixes[1])}
        reviews: dict[str, list[StoredValue]] = {}
        for value in reading.under(prefixes[2]):
            experiment_id = value.key[len(prefixes[2]) :].split("/", 1)[0]
            reviews.setdefault(experiment_id, []).append(value)
        promoted = {_last(v.key) for v in reading.under(prefixes[3])}
        pointer = _maybe_pointer(reading.find(keys.pointer))
        result = []
        for stored in reading.under(prefixes[0]):
            experiment = decode(stored, records_pb2.Experiment)
            experiment_id = experiment.experiment_id
            evaluation = evaluations.get(experiment_id)
            result.append(
                ExperimentRecords(
                    experiment=experiment,
                    evaluation=None
                    if evaluation is None
                    else decode(evaluation, records_pb2.Evaluation),
                    evaluation_mod_revision=0 if evaluation is None else evaluation.mod_revision,
                    reviews=_reviews(tuple(reviews.get(experiment_id, ()))),
                    promotion_exists=experiment_id in promoted,
                    pointer=pointer,
                    revision=reading.revision,
                )
            )
        return result

    async def pointer(self) -> records_pb2.ServingPointer | None:
        return _maybe_pointer(await self._kv.find(self._keys.pointer))

    async def refresh_policy(self) -> records_pb2.RefreshPolicy | None:
        """The recorded refresh policy, None before an operator set one."""
        stored = await self._kv.find(self._keys.refresh_policy)
        return None if stored is None else decode(stored, records_pb2.RefreshPolicy)

    async def refresh(self, version_id: str) -> records_pb2.Refresh | None:
        """The refresh that served `version_id`, None when it was not served by a refresh."""
        stored = await self._kv.find(self._keys.refresh(version_id))
        return None if stored is None else decode(stored, records_pb2.Refresh)

    async def pointer_history(self) -> PointerHistory:
        reading = await self._kv.read(
            keys=[self._keys.pointer], prefixes=[self._keys.pointer_history_prefix]
        )
        replaced = []
        for stored in reading.under(self._keys.pointer_history_prefix):
            pointer = decode(stored, records_pb2.ServingPointer)
            pointer.revision = int(_last(stored.key))
            replaced.append(pointer)
        return PointerHistory(_maybe_pointer(reading.find(self._keys.pointer)), tuple(replaced))

    def pointer_reading(self, reading: Reading) -> records_pb2.ServingPointer | None:
        """The pointer out of a reading that included the pointer key."""
        return _maybe_pointer(reading.find(self._keys.pointer))


def _last(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _reviews(stored: tuple[StoredValue, ...]) -> tuple[records_pb2.Review, ...]:
    """Reviews in the order they were written."""
    ordered = sorted(stored, key=lambda value: value.create_revision)
    return tuple(decode(value, records_pb2.Review) for value in ordered)


def _maybe_pointer(stored: StoredValue | None) -> records_pb2.ServingPointer | None:
    return None if stored is None else stored_pointer(stored)


def stored_pointer(stored: StoredValue) -> records_pb2.ServingPointer:
    """The ServingPointer a stored pointer value holds, with its revision filled in."""
    try:
        return decode_pointer(stored.value, stored.mod_revision)
    except PointerFormatError as exc:
        raise CorruptRecordError(f"{stored.key}: {exc}") from exc
