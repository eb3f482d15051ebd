"""A refresh through the gate: appended interactions reach serving, a lossy one is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from cli.main import main
from offline.experiment.bundle import make_bundle
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.artifacts.store import LocalArtifactStore
from recmesh.bundle.manifest import BundleManifest
from recmesh.data.dataset import Dataset
from recmesh.snapshot.build import build_snapshot
from recmesh.snapshot.codec import snapshot_from_bytes
from tests.refresh.served import Served, serving_challenger
from tests.services.mesh_calls import recommend, wait_for_version

USER = "196"
NEW_USER = "5000"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, ml100k: Dataset, ml100k_dir: Path
) -> Iterator[Served]:
    with serving_challenger(tmp_path_factory.mktemp("refresh"), ml100k, ml100k_dir) as served:
        served.loop.run(
            wait_for_version(served.mesh.front, served.challenger_version, within_s=60), 90
        )
        yield served


def _refresh_args(served: Served) -> list[str]:
    return served.cli(
        "data", "refresh", "--json",
        "--interaction-log", str(served.interaction_log),
        "--data-dir", str(served.data_dir),
        "--artifacts", str(served.installation.artifacts.root),
    )  # fmt: skip


def _set_policy(served: Served) -> None:
    assert main(served.cli("refresh-policy", "set", "--probe-users", "100",
                           "--max-drop", "0.05")) == 0  # fmt: skip


def test_appended_interactions_reach_serving_through_a_refresh(
    served: Served, ml100k: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """Interactions recorded at the front change nothing until `recmesh data refresh`; the
    refresh serves the champion's exact model with the new data, so the user's new history
    changes their recommendations and what they just consumed is filtered; a new user gets
    recommendations that skip what they did; the refresh is audited and rolls back."""
    mesh, loop, stub = served.mesh, served.loop, served.installation.stub
    _set_policy(served)
    capsys.readouterr()
    assert main(_refresh_args(served)) == 1
    assert "nothing to refresh" in capsys.readouterr().err

    before = loop.run(recommend(mesh.front, USER))
    consumed = [item.item_id for item in before.items[:3]]
    # A minute after ml-100k's last interaction, as a replay of its period would log them.
    at = str(int(ml100k.interactions.timestamps.max()) + 60)
    address = ["--address", mesh.front, "--at", at]
    assert main(["interactions", "record", USER, *(f"{i}:5" for i in consumed), *address]) == 0
    new_user_items = [50, 172, 181, 1, 7]
    assert main(["interactions", "record", NEW_USER, *map(str, new_user_items), *address]) == 0
    capsys.readouterr()
    # Recorded, not served: the answer is the same version's until a refresh.
    assert loop.run(recommend(mesh.front, USER)).serving_version == served.challenger_version

    assert main(_refresh_args(served)) == 0, capsys.readouterr().err
    # The in-process servers log to stdout too: the CLI's answer is its one JSON line.
    result = json.loads(
        next(line for line in capsys.readouterr().out.splitlines() if line.startswith("{"))
    )
    assert result["previous_version"] == served.challenger_version
    assert result["added_interactions"] == 8
    refreshed = result["serving_version"]
    loop.run(wait_for_version(mesh.front, refreshed, within_s=60), 90)

    after = loop.run(recommend(mesh.front, USER))
    assert after.serving_version == refreshed
    assert not after.degraded
    shown = [item.item_id for item in after.items]
    assert not set(shown) & set(consumed)
    assert shown != [item.item_id for item in before.items]
    newcomer = loop.run(recommend(mesh.front, NEW_USER))
    assert not set(i.item_id for i in newcomer.items) & set(new_user_items)

    champion = stub.GetModelVersion(
        pb.GetModelVersionRequest(version_id=served.challenger_version),
        metadata=served.installation.auth("olga"),
    ).model_version
    version = stub.GetModelVersion(
        pb.GetModelVersionRequest(version_id=refreshed), metadata=served.installation.auth("olga")
    ).model_version
    assert version.refresh_of == served.challenger_version
    assert version.model_sha256 == champion.model_sha256 != ""
    assert version.training_dataset_fingerprint == champion.training_dataset_fingerprint
    assert version.lineage.dataset_fingerprint != champion.lineage.dataset_fingerprint
    assert sum(version.lineage.interaction_log_rows.values()) == 8
    entries = stub.ListAuditEntries(
        pb.ListAuditEntriesRequest(), metadata=served.installation.auth("olga")
    ).entries
    assert [e.action for e in entries][-1] == "refresh"
    assert entries[-1].subject == refreshed

    # Rolled back like a promotion; a second refresh then starts from the champion again.
    assert main(served.cli("rollback", "--reason", "check the rollback")) == 0
    assert served.pointer().serving_version == served.challenger_version
    loop.run(wait_for_version(mesh.front, served.challenger_version, within_s=60), 90)


def test_a_truncated_log_is_refused_before_anything_is_built(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once a refresh served log lines, a log that lost them cannot be refreshed from: the
    data the serving snapshot was built from no longer reproduces."""
    _set_policy(served)
    log_file = served.interaction_log / "extra.tsv"
    log_file.write_text("1\t2\t4\t880000000\n1\t3\t4\t880000001\n")
    capsys.readouterr()
    assert main(_refresh_args(served)) == 0, capsys.readouterr().err
    log_file.write_text("1\t2\t4\t880000000\n")
    capsys.readouterr()
    assert main(_refresh_args(served)) == 1
    assert "extra.tsv" in capsys.readouterr().err


def _serving_bundle(served: Served) -> tuple[records_pb2.ServingPointer, BundleManifest, bytes]:
    pointer = served.pointer()
    store = served.installation.artifacts
    manifest = BundleManifest.from_json_bytes(store.get_bytes(pointer.manifest_sha256))
    return pointer, manifest, store.get_bytes(manifest.snapshot.sha256)


def _submit(
    served: Served, pointer: records_pb2.ServingPointer, files: list[tuple[str, bytes]],
    manifest_sha256: str,
) -> grpc.RpcError:  # fmt: skip
    stub, auth = served.installation.stub, served.installation.auth("olga")
    store = LocalArtifactStore(served.installation.artifacts.root)
    for _, content in files:
        store.put_bytes(content)
    with pytest.raises(grpc.RpcError) as error:
        stub.RefreshServing(
            pb.RefreshServingRequest(
                manifest_sha256=manifest_sha256,
                base_version=pointer.serving_version,
                base_pointer_revision=pointer.revision,
                probe=records_pb2.RefreshProbe(
                    metric="ndcg@10",
                    users=100,
                    reference_value=0.3,
                    refreshed_value=0.3,
                    seed=42,
                    holdout_fraction=0.2,
                ),
            ),
            metadata=auth,
        )
    return error.value


def test_the_gate_refuses_a_snapshot_that_drops_interactions_or_another_model(
    served: Served, ml100k: Dataset
) -> None:
    """The control plane compares the two snapshots itself: a refresh built from fewer rows
    than the serving snapshot is refused naming how many were lost, one with other model
    bytes as a new model, one built with other snapshot settings as changing what the
    features mean; each refusal is audited and the pointer stays."""
    _set_policy(served)
    pointer, manifest, snapshot_bytes = _serving_bundle(served)
    serving = snapshot_from_bytes(snapshot_bytes)
    keep = ml100k.interactions.users != 1
    smaller = build_snapshot(ml100k, ml100k.interactions.select(keep), serving.config)
    model = served.installation.artifacts.get_bytes(manifest.model_sha256)
    lossy = make_bundle(smaller, model, manifest.feature_names,
                        manifest.feature_schema_fingerprint,
                        manifest.training_dataset_fingerprint)  # fmt: skip
    error = _submit(served, pointer, list(lossy.files()), lossy.manifest_sha256)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    lost = re.search(r"lost (\d+) of the champion's (\d+) interactions", error.details() or "")
    assert lost is not None, error.details()
    # User 1's 272 ratings, and whatever the earlier tests' refreshes logged.
    assert int(lost.group(1)) >= 272

    other = make_bundle(serving, model + b" ", manifest.feature_names,
                        manifest.feature_schema_fingerprint,
                        manifest.training_dataset_fingerprint)  # fmt: skip
    error = _submit(served, pointer, list(other.files()), other.manifest_sha256)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "only through an experiment" in (error.details() or "")

    resettled = build_snapshot(
        ml100k, ml100k.interactions, replace(serving.config, latent_factors=8)
    )
    other_settings = make_bundle(resettled, model, manifest.feature_names,
                                 manifest.feature_schema_fingerprint,
                                 manifest.training_dataset_fingerprint)  # fmt: skip
    error = _submit(served, pointer, list(other_settings.files()), other_settings.manifest_sha256)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "built with other settings" in (error.details() or "")

    entries = served.installation.stub.ListAuditEntries(
        pb.ListAuditEntriesRequest(), metadata=served.installation.auth("olga")
    ).entries
    assert [e.action for e in entries[-3:]] == ["refresh_refused"] * 3
    assert served.pointer().revision == pointer.revision
