"""Typed reads of the control plane's records, following recmesh.etcd.keys.KeySchema."""

from __future__ import annotations

from dataclasses import dataclass

from control_plane.champion_lineage import champion_revisions
from control_plane.experiment_state import ExperimentRecords
from control_plane.store.codec import decode
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.kv_types import Reading, StoredValue
from control_plane.store.pointer_values import (
    NEWEST_RECORDS,
    PointerValue,
    current_pointer,
    pointer_value,
)
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.errors import NotFoundError
from recmesh.signing.keys import PublicKeyRing


@dataclass(frozen=True)
class PointerHistory:
    """The pointer now and every verified value it replaced, oldest first, each with the
    revision at which it was set. `current` is None before the first baseline and when
    the stored value is damaged (then `damaged` says why: unverified, replayed or
    missing); `latest_signed` is the newest signed record under `serving/records/`, the
    last one the control plane wrote, which is what serving holds when the pointer was
    overwritten behind it."""

    current: records_pb2.ServingPointer | None
    replaced: tuple[records_pb2.ServingPointer, ...]
    damaged: records_pb2.DamagedRecord | None = None
    #: The pointer key's mod_revision (0 when unset), damaged or not.
    current_revision: int = 0
    latest_signed: records_pb2.ServingPointer | None = None


class RecordReader:
    """Reads and decodes records; a record that must exist raises NotFoundError. Pointer
    values are trusted only when signed by a key of `trusted` (`pointer_values.py`)."""

    def __init__(self, kv: EtcdKV, keys: KeySchema, trusted: PublicKeyRing) -> None:
        self._kv = kv
        self._keys = keys
        self._trusted = trusted

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
                keys.rollout(experiment_id),
                keys.pointer,
            ],
            prefixes=[keys.reviews_prefix(experiment_id), keys.pointer_history_prefix],
            last_of=[keys.pointer_records_prefix],
            last_count=NEWEST_RECORDS,
        )
        stored = reading.find(keys.experiment(experiment_id))
        if stored is None:
            raise NotFoundError(
                f"experiment {experiment_id!r} does not exist (see `recmesh experiment list`)"
            )
        evaluation = reading.find(keys.evaluation(experiment_id))
        rollout = reading.find(keys.rollout(experiment_id))
        pointer = self.pointer_reading(reading).pointer
        return ExperimentRecords(
            experiment=decode(stored, records_pb2.Experiment),
            evaluation=None if evaluation is None else decode(evaluation, records_pb2.Evaluation),
            evaluation_mod_revision=0 if evaluation is None else evaluation.mod_revision,
            reviews=_reviews(reading.under(keys.reviews_prefix(experiment_id))),
            promotion_exists=reading.find(keys.promotion(experiment_id)) is not None,
            pointer=pointer,
            revision=reading.revision,
            champion_revisions=None
            if pointer is None
            else champion_revisions(pointer, self._replaced(reading)),
            rollout=None if rollout is None else decode(rollout, records_pb2.RolloutRecord),
            rollout_mod_revision=0 if rollout is None else rollout.mod_revision,
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
        reading = await self._kv.read(
            keys=[keys.pointer],
            prefixes=prefixes,
            last_of=[keys.pointer_records_prefix],
            last_count=NEWEST_RECORDS,
        )
        evaluations = {_last(v.key): v for v in reading.under(prefixes[1])}
        reviews: dict[str, list[StoredValue]] = {}
        for value in reading.under(prefixes[2]):
            experiment_id = value.key[len(prefixes[2]) :].split("/", 1)[0]
            reviews.setdefault(experiment_id, []).append(value)
        promoted = {_last(v.key) for v in reading.under(prefixes[3])}
        pointer = self.pointer_reading(reading).pointer
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
        """The verified pointer, None when unset; raises DamagedPointerError (DATA_LOSS,
        naming the key and the problem) when the stored value does not parse or verify,
        is older than the newest signed record, or was deleted."""
        return (await self.pointer_value()).trusted()

    async def pointer_value(self) -> PointerValue:
        """The stored pointer, verified or with its damage named."""
        return (await self.pointer_read())[0]

    async def pointer_read(self) -> tuple[PointerValue, int]:
        """The stored pointer and the revision it was read at."""
        reading = await self._kv.read(
            keys=[self._keys.pointer],
            last_of=[self._keys.pointer_records_prefix],
            last_count=NEWEST_RECORDS,
        )
        return self.pointer_reading(reading), reading.revision

    async def refresh_policy(self) -> records_pb2.RefreshPolicy | None:
        """The recorded refresh policy, None before an operator set one."""
        found = await self.refresh_policy_at()
        return None if found is None else found[0]

    async def refresh_policy_at(self) -> tuple[records_pb2.RefreshPolicy, int] | None:
        """The recorded refresh policy and its key's mod_revision (a transaction that
        applies it guards on that), None before an operator set one."""
        stored = await self._kv.find(self._keys.refresh_policy)
        if stored is None:
            return None
        return decode(stored, records_pb2.RefreshPolicy), stored.mod_revision

    async def refresh(self, version_id: str) -> records_pb2.Refresh | None:
        """The refresh that served `version_id`, None when it was not served by a refresh."""
        stored = await self._kv.find(self._keys.refresh(version_id))
        return None if stored is None else decode(stored, records_pb2.Refresh)

    async def pointer_history(self) -> PointerHistory:
        """The pointer, its verified history and the newest signed record, at one revision;
        history values that do not verify are left out."""
        keys = self._keys
        reading = await self._kv.read(
            keys=[keys.pointer],
            prefixes=[keys.pointer_history_prefix],
            last_of=[keys.pointer_records_prefix],
            last_count=NEWEST_RECORDS,
        )
        value = self.pointer_reading(reading)
        return PointerHistory(
            current=value.pointer,
            replaced=self._replaced(reading),
            damaged=value.damaged,
            current_revision=value.mod_revision,
            latest_signed=value.latest_signed,
        )

    def _replaced(self, reading: Reading) -> tuple[records_pb2.ServingPointer, ...]:
        """The verified history values in a reading that included its prefix, oldest first,
        each with the revision it was set at."""
        replaced = []
        for stored in reading.under(self._keys.pointer_history_prefix):
            verified = pointer_value(stored, self._trusted).pointer
            if verified is not None:
                verified.revision = int(_last(stored.key))
                replaced.append(verified)
        return tuple(replaced)

    def pointer_reading(self, reading: Reading) -> PointerValue:
        """The pointer out of a reading that included the pointer key and the last
        `NEWEST_RECORDS` keys under `serving/records/` (`last_of`)."""
        keys = self._keys
        return current_pointer(
            keys.pointer,
            reading.find(keys.pointer),
            reading.last_under(keys.pointer_records_prefix),
            self._trusted,
        )


def _last(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _reviews(stored: tuple[StoredValue, ...]) -> tuple[records_pb2.Review, ...]:
    """Reviews in the order they were written."""
    ordered = sorted(stored, key=lambda value: value.create_revision)
    return tuple(decode(value, records_pb2.Review) for value in ordered)
