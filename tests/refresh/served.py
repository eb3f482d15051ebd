"""A real installation with a trained challenger promoted, for the tests of what serves.

Real etcd, the real control plane (default prefix), the real four-service mesh in
this process, ml-100k whole: a small XGBoost challenger is trained by
`recmesh experiment run`, approved by bob and promoted by olga, and the front
keeps an interaction log. Building it takes about 20 s, so a module's tests share
one (a module-scoped fixture over `serving_challenger`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.main import main
from offline.experiment.footprint import THREAD_POOL_VARIABLES
from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
from recmesh.api.controlplane.v1 import records_pb2
from recmesh.data.dataset import Dataset
from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.etcd.local_server import LocalEtcd
from recmesh.signing.keys import PublicKeyRing
from tests.control_plane.harness import LoopThread
from tests.etcd_fixtures import running_etcd
from tests.mesh_harness import RunningMesh, running_mesh
from tests.offline.experiment.installation import Installation, running_installation
from tests.offline.experiment.specs import small_spec, write_spec


@dataclass
class Served:
    """The installation, the mesh in its loop thread, and where things are."""

    installation: Installation
    mesh: RunningMesh
    loop: LoopThread
    interaction_log: Path
    data_dir: Path
    experiment_id: str
    challenger_version: str

    def cli(self, *args: str, who: str = "olga") -> list[str]:
        """A CLI command line that reaches the control plane as `who`."""
        installation = self.installation
        return [
            *args,
            "--control-plane", installation.address,
            "--credentials", str(installation.credentials.client_tokens),
            "--as", who,
        ]  # fmt: skip

    def pointer(self) -> records_pb2.ServingPointer:
        response: pb.GetPointerResponse = self.installation.stub.GetPointer(
            pb.GetPointerRequest(), metadata=self.installation.auth("olga")
        )
        return response.pointer


@contextmanager
def serving_challenger(
    root: Path, ml100k: Dataset, ml100k_dir: Path, split: str = "user_stratified:0.75:seed=42"
) -> Iterator[Served]:
    """The installation with a challenger trained on `split` promoted and served."""
    with running_etcd(root / "etcd", root / "etcd-credentials") as etcd:
        yield from _served(etcd, root, ml100k, ml100k_dir, split)


def _served(
    etcd: LocalEtcd, root: Path, ml100k: Dataset, ml100k_dir: Path, split: str
) -> Iterator[Served]:
    # `main` runs in this process and caps its thread pools; they are restored after.
    saved = {name: os.environ.get(name) for name in THREAD_POOL_VARIABLES}
    try:
        with running_installation(etcd, root, ml100k, DEFAULT_PREFIX) as installation:
            body = small_spec(dataset={"name": "ml-100k"}, split=split)
            body["guardrails"] = [
                {"metric": "coverage", "margin": 0.9, "direction": "higher"},
                {"metric": "latency_p99_ms", "max": 1000},
            ]
            spec = write_spec(root / "spec.yaml", body)
            args = [
                "experiment", "run", str(spec), "--json", "--nice", "0",
                "--data-dir", str(ml100k_dir.parent), "--reports", str(root / "reports"),
                "--code-revision", "test", "--interaction-log", str(root / "interactions"),
                *installation.cli_args("alice"),
            ]  # fmt: skip
            out = root / "run.json"
            with pytest.MonkeyPatch.context() as patch, out.open("w") as printed:
                patch.setattr("sys.stdout", printed)
                assert main(args) == 0
            run = json.loads(out.read_text())
            assert run["verdict"] == "PASS", run
            stub = installation.stub
            stub.SubmitReview(
                pb.SubmitReviewRequest(
                    experiment_id=run["experiment_id"],
                    verdict=records_pb2.REVIEW_VERDICT_APPROVE,
                    comment="ok",
                ),
                metadata=installation.auth("bob"),
            )
            stub.Promote(
                pb.PromoteRequest(experiment_id=run["experiment_id"]),
                metadata=installation.auth("olga"),
            )
            loop = LoopThread()
            log_dir = root / "interactions"
            context = running_mesh(
                etcd,
                installation.artifacts.root,
                root / "impressions.jsonl",
                interaction_log=log_dir,
                pointer_keys=PublicKeyRing.from_files([installation.signing_key.public]),
            )
            mesh = loop.run(context.__aenter__(), timeout=60)
            try:
                yield Served(
                    installation=installation,
                    mesh=mesh,
                    loop=loop,
                    interaction_log=log_dir,
                    data_dir=ml100k_dir.parent,
                    experiment_id=run["experiment_id"],
                    challenger_version=run["challenger_version"],
                )
            finally:
                loop.run(context.__aexit__(None, None, None), timeout=30)
                loop.close()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
