"""A promotion never forgets what serves: logged interactions stay in the snapshot.

A data refresh serves the champion's model with interaction-log rows the dataset
does not hold (recorded per file in its lineage). A challenger whose snapshot
lacks any of them would drop those users' latest history on promotion; Promote
refuses it, and an experiment run again reads the log and holds them.
"""

from __future__ import annotations

from recmesh.api.controlplane.v1 import records_pb2


def forgotten_log_rows(
    champion: records_pb2.ModelVersion, challenger: records_pb2.ModelVersion
) -> str | None:
    """Why promoting `challenger` over `champion` would forget logged interactions, or
    None when its snapshot holds every log line the champion's holds."""
    has = challenger.lineage.interaction_log_rows
    missing = {
        name: rows - has.get(name, 0)
        for name, rows in sorted(champion.lineage.interaction_log_rows.items())
        if has.get(name, 0) < rows
    }
    if not missing:
        return None
    files = ", ".join(f"{count} of {name}" for name, count in missing.items())
    return (
        f"the serving version {champion.version_id} holds {sum(missing.values())} logged "
        f"interactions that challenger {challenger.version_id}'s snapshot lacks ({files}): "
        "promoting it would forget them; run the experiment again (it reads the interaction "
        "log) and promote that"
    )
