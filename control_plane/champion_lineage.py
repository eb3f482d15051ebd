"""Since when the current champion has served, looking past records that only moved a rollout.

An evaluation measures the champion at one pointer revision. Shadow and staged
rollouts write new pointer records that keep the champion (same serving version,
same manifest) and only add, change or drop the challenger beside it, so the
pointer's revision alone would call every such record a new champion and refuse a
promotion the evaluation still covers. The champion's revisions are found by
following `replaces_revision` back through the verified history while each
record replaced one naming the same version and manifest: an evaluation measured at
any of them measured the champion that serves now.
"""

from __future__ import annotations

from collections.abc import Iterable

from recmesh.api.controlplane.v1 import records_pb2


def same_champion(a: records_pb2.ServingPointer, b: records_pb2.ServingPointer) -> bool:
    """Both records serve the same champion (a rollout beside it may differ)."""
    return a.serving_version == b.serving_version and a.manifest_sha256 == b.manifest_sha256


def champion_revisions(
    current: records_pb2.ServingPointer, replaced: Iterable[records_pb2.ServingPointer]
) -> frozenset[int]:
    """The pointer revisions of the unbroken run of records, ending at `current`, that
    serve its version and manifest (`replaced`: verified history values, each with its
    revision set). A record whose predecessor is not in the verified history ends the run."""
    by_revision = {record.revision: record for record in replaced}
    revisions = {current.revision}
    record = current
    while True:
        previous = by_revision.get(record.replaces_revision)
        if previous is None or not same_champion(previous, record):
            return frozenset(revisions)
        revisions.add(previous.revision)
        record = previous
