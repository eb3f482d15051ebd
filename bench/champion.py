"""The serving version a benchmark measures: the champion recmesh trains by default,
promoted the way an experimenter does it, through the control plane.

`recmesh experiment run experiments/xgb-challenger.yaml` (train, evaluate against
the current champion, record), then `recmesh review --approve` by a reviewer and
`recmesh promote` by an operator, all against the mesh's own control plane. The
pointer is then read back with `recmesh pointer`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_mesh.layout import MeshLayout, MeshPorts
from recmesh.files.repo_paths import REPO_ROOT

CHAMPION_SPEC = REPO_ROOT / "experiments" / "xgb-challenger.yaml"
RECMESH = str(Path(sys.executable).parent / "recmesh")


@dataclass(frozen=True)
class ServingPointer:
    version_id: str
    manifest_sha256: str


class PromotionFailedError(RuntimeError):
    pass


def cli_environment(layout: MeshLayout, ports: MeshPorts) -> dict[str, str]:
    """What the `recmesh` CLI needs to talk to this mesh's control plane as its users."""
    env = dict(os.environ)
    env.update(
        {
            "RECMESH_CONTROL_PLANE": f"127.0.0.1:{ports.control_plane}",
            "RECMESH_CREDENTIALS": str(layout.credentials / "tokens"),
            "RECMESH_ARTIFACTS": str(layout.artifacts),
            "RECMESH_STATE_DIR": str(layout.state_dir),
            "RECMESH_DATA_DIR": str(layout.data),
        }
    )
    return env


def _recmesh(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Runs `recmesh ARGS --json` (progress goes to this process's stderr)."""
    done = subprocess.run(
        [RECMESH, *args, "--json"], env=env, cwd=REPO_ROOT, text=True, stdout=subprocess.PIPE
    )
    if done.returncode != 0:
        raise PromotionFailedError(f"`recmesh {' '.join(args)}` exited {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def current_pointer(layout: MeshLayout, ports: MeshPorts) -> ServingPointer:
    pointer = _recmesh(cli_environment(layout, ports), "pointer")
    return ServingPointer(pointer["serving_version"], pointer["manifest_sha256"])


def promote_default_champion(layout: MeshLayout, ports: MeshPorts) -> ServingPointer:
    """Trains and evaluates the default challenger, has bob approve and olga promote it;
    returns the pointer that names it. Raises PromotionFailedError when any step fails or
    the challenger does not pass."""
    env = cli_environment(layout, ports)
    run = _recmesh(
        env,
        "experiment",
        "run",
        str(CHAMPION_SPEC),
        "--as",
        "alice",
        "--reports",
        str(layout.state_dir / "reports"),
    )
    if run["verdict"] != "PASS":
        raise PromotionFailedError(f"the default challenger did not pass: {run['reasons']}")
    experiment = run["experiment_id"]
    _recmesh(env, "review", experiment, "--approve", "--comment", "benchmark", "--as", "bob")
    _recmesh(env, "promote", experiment, "--as", "olga")
    pointer = current_pointer(layout, ports)
    if pointer.version_id != run["challenger_version"]:
        raise PromotionFailedError(
            f"promoted {run['challenger_version']} but the pointer names {pointer.version_id}"
        )
    return pointer
