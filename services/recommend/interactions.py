"""RecordInteractions: what users did, checked and appended to the interaction log.

The front checks each interaction against the version it serves (an unknown item, a
user id that is not a decimal integer where the version's users are integers, a rating
that is not finite, a timestamp in the future are INVALID_ARGUMENT, naming the first
bad one). It records the user as Recommend finds them: where the version's users are
strings, by the string's code (`recmesh.data.external_ids.external_code`; "12345" is
a string there too), else by the integer. Items are int64 on the wire: a string-keyed
item is recorded by the `item_id` Recommend answered (its code), not its `external_id`.
The front appends the whole batch to its own log file on a writer thread of its own, with
one fsync: all or none, on disk before the answer. A batch whose caller gave up
is still written (the write is not cancelled half-way), so a caller that retries
after a timeout may record it twice: the log is at-least-once. A write that fails
(a full disk) leaves nothing and answers UNAVAILABLE naming the file. Nothing
served changes until `recmesh data refresh` builds a snapshot that includes the
log and the control plane promotes it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import numpy as np
import structlog

from recmesh.api.recommend.v1 import interactions_pb2, interactions_pb2_grpc
from recmesh.data.external_ids import external_code
from recmesh.interactions.log_format import LoggedInteraction
from recmesh.interactions.log_writer import InteractionLogWriteError, InteractionLogWriter
from recmesh.rpc.errors import FailedPreconditionError, InvalidArgumentError, UnavailableError
from recmesh.wire.ids import check_logged_user_id, check_user_id
from recmesh.wire.limits import MAX_INTERACTIONS_PER_CALL
from services.common.versions import VersionRegistry
from services.recommend.front_bundle import FrontBundle

log = structlog.get_logger("recmesh.interactions")

#: How far in the future a timestamp may be (clock skew between a caller and the front).
MAX_CLOCK_SKEW_S = 300


class InteractionLogServicer(interactions_pb2_grpc.InteractionLogServiceServicer):
    def __init__(
        self,
        versions: VersionRegistry[FrontBundle],
        writer: InteractionLogWriter | None,
        executor: ThreadPoolExecutor,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`executor` runs the writes: one thread of their own (the caller owns and shuts
        it down), so batches are written in order, and a slow disk or a hung load
        elsewhere never starves one of the other."""
        self._versions = versions
        self._writer = writer
        self._executor = executor
        self._clock = clock

    async def RecordInteractions(
        self,
        request: interactions_pb2.RecordInteractionsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> interactions_pb2.RecordInteractionsResponse:
        if self._writer is None:
            raise FailedPreconditionError(
                "this front keeps no interaction log; start it with --interaction-log DIR"
            )
        count = len(request.interactions)
        if count == 0:
            raise InvalidArgumentError("no interactions given")
        if count > MAX_INTERACTIONS_PER_CALL:
            raise InvalidArgumentError(
                f"{count} interactions; at most {MAX_INTERACTIONS_PER_CALL} per call"
            )
        version = self._versions.current_or_raise().value
        now = int(self._clock())
        rows = [_checked(i, n, version, now) for n, i in enumerate(request.interactions)]
        writer = self._writer
        write = asyncio.get_running_loop().run_in_executor(self._executor, writer.append, rows)
        try:
            await asyncio.shield(write)
        except InteractionLogWriteError as exc:
            log.error("interactions_not_recorded", count=count, error=str(exc))
            raise UnavailableError(f"the interaction log cannot be written: {exc}") from exc
        log.info("interactions_recorded", count=count, log_file=writer.path.name)
        return interactions_pb2.RecordInteractionsResponse(
            recorded=count, log_file=writer.path.name
        )


def _checked(
    interaction: interactions_pb2.Interaction, n: int, version: FrontBundle, now: int
) -> LoggedInteraction:
    where = f"interactions[{n}]"
    user = _logged_user(interaction.user_id, f"{where}.user_id", version.string_user_ids)
    catalogue = version.item_ids
    item = interaction.item_id
    position = int(np.searchsorted(catalogue, item))
    if position >= catalogue.shape[0] or int(catalogue[position]) != item:
        raise InvalidArgumentError(f"{where}.item_id {item} is not in the serving catalogue")
    rating = float(interaction.rating)
    if not math.isfinite(rating):
        raise InvalidArgumentError(f"{where}.rating is not finite")
    if interaction.timestamp < 0:
        raise InvalidArgumentError(f"{where}.timestamp {interaction.timestamp} is negative")
    if interaction.timestamp > now + MAX_CLOCK_SKEW_S:
        raise InvalidArgumentError(
            f"{where}.timestamp {interaction.timestamp} is {interaction.timestamp - now} s in "
            "the future; send when it happened (Unix seconds), or 0 for now"
        )
    timestamp = interaction.timestamp or now
    return LoggedInteraction(user, item, rating if rating != 0.0 else 1.0, timestamp)


def _logged_user(user_id: str, field: str, string_user_ids: bool) -> int:
    """The user's id in the log, as the snapshot (Snapshot.user_index) finds Recommend's
    user: the string's code when the users are strings, else the decimal integer."""
    if string_user_ids:
        return external_code(check_user_id(user_id, field))
    return check_logged_user_id(user_id, field)
