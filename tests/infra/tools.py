"""The command-line tools the infrastructure tests run, which `make setup` installs
from Debian (scripts/ensure_infra_tools.sh)."""

from __future__ import annotations

import shutil

import pytest


def required_tool(command: str, debian_package: str) -> str:
    """The command's path; skips the calling test, saying how to install it, when the
    command is not on PATH."""
    path = shutil.which(command)
    if path is None:
        pytest.skip(
            f"{command} is not installed (`make setup` installs Debian's {debian_package} "
            "with scripts/ensure_infra_tools.sh)"
        )
    return path
