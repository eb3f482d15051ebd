"""Where the repository's own files are (the project runs from its checkout)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
