"""Reading a YAML file that must hold one mapping (an experiment spec, a rollout plan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class MappingFileError(ValueError):
    """The file cannot be read, is not YAML, or does not hold a mapping; names the file."""


def load_mapping(path: Path) -> dict[str, Any]:
    import yaml

    try:
        body = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MappingFileError(f"cannot read {path}: {exc}") from exc
    if not isinstance(body, dict):
        raise MappingFileError(f"{path} does not hold a mapping")
    return body
