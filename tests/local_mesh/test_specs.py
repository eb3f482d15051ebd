"""The local mesh's command lines (local_mesh/specs.py)."""

from __future__ import annotations

from pathlib import Path

from local_mesh.layout import MeshLayout, MeshPorts
from local_mesh.specs import service_specs


def _floor(argv: tuple[str, ...]) -> str | None:
    if "--min-pointer-sequence" not in argv:
        return None
    return argv[argv.index("--min-pointer-sequence") + 1]


def test_every_serving_process_gets_the_pointers_sequence_as_its_floor(tmp_path: Path) -> None:
    """With the sequence of the pointer found or set at start, each serving process is
    started with `--min-pointer-sequence` at it; the control plane is not."""
    specs = service_specs(
        MeshLayout(tmp_path), MeshPorts(), str(tmp_path / "p.json"), min_pointer_sequence=41
    )
    floors = {spec.name: _floor(spec.argv) for spec in specs}
    assert floors == {
        "control_plane": None,
        "features": "41",
        "candidates": "41",
        "ranking": "41",
        "recommend": "41",
    }


def test_without_a_known_pointer_no_floor_is_passed(tmp_path: Path) -> None:
    """A damaged pointer at start (no sequence known) starts serving with no floor: each
    process keeps the mark of its own state file."""
    specs = service_specs(MeshLayout(tmp_path), MeshPorts(), str(tmp_path / "p.json"))
    assert all(_floor(spec.argv) is None for spec in specs)
