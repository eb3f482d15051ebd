"""What the image tests read from infra/docker/Dockerfile and .dockerignore: the
instructions, the files the build stage copies from the build context, the base image
and the context's allowlist."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from recmesh.files.repo_paths import REPO_ROOT

DOCKERFILE = REPO_ROOT / "infra" / "docker" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword upper-cased and its arguments, continuation lines
    joined."""

    keyword: str
    arguments: str


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The file's instructions in order; comments (also between continuation lines) are
    left out, as Docker leaves them out."""
    found: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return found


def context_sources(path: Path = DOCKERFILE) -> list[str]:
    """What the Dockerfile copies from the build context (COPY without --from), in order,
    as paths relative to the context (the repository root)."""
    sources: list[str] = []
    for instruction in instructions(path):
        words = instruction.arguments.split()
        if instruction.keyword != "COPY" or any(w.startswith("--from") for w in words):
            continue
        sources += [w.rstrip("/") for w in words[:-1] if not w.startswith("--")]
    return sources


def base_image(path: Path = DOCKERFILE) -> str:
    """The default of `ARG PYTHON_IMAGE`, the image both stages start from."""
    for instruction in instructions(path):
        match = re.fullmatch(r"PYTHON_IMAGE=(\S+)", instruction.arguments)
        if instruction.keyword == "ARG" and match:
            return match.group(1)
    raise AssertionError(f"{path} has no ARG PYTHON_IMAGE=...")


def context_allowlist(path: Path = DOCKERIGNORE) -> list[str]:
    """The paths .dockerignore lets into the build context (its `!` lines)."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def copy_build_context(destination: Path) -> Path:
    """Copies what the build stage copies from the repository into destination (without
    __pycache__, as .dockerignore); returns destination."""
    for source in context_sources():
        origin = REPO_ROOT / source
        if origin.is_dir():
            shutil.copytree(
                origin, destination / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            destination.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination / source)
    return destination
