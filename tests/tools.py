"""The external command-line tools some tests run (kubectl, promtool, SeaweedFS's weed,
hadolint), found once, in one way: a missing tool skips the test, saying how to install
it, except under CI, where it fails the test, so a CI run cannot pass with those tests
silently skipped."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

#: Set (to anything but "", "0" or "false") by CI systems; .ci/run runs there.
CI_ENV = "CI"


def under_ci() -> bool:
    return os.environ.get(CI_ENV, "").strip().lower() not in {"", "0", "false"}


def missing_tool(command: str, how_to_install: str) -> NoReturn:
    """Skips the calling test, or fails it under CI, naming the command and how to
    install it."""
    message = f"{command} is not installed ({how_to_install})"
    if under_ci():
        pytest.fail(f"{message}; ${CI_ENV} is set, so this fails instead of skipping", False)
    pytest.skip(message)


def required_tool(command: str, how_to_install: str) -> Path:
    """The command's path: the one beside this interpreter (a dev dependency's binary in
    the venv), else one on PATH; when there is none, missing_tool."""
    beside = Path(sys.executable).parent / command
    if beside.is_file():
        return beside
    found = shutil.which(command)
    if found is None:
        missing_tool(command, how_to_install)
    return Path(found)
