"""An earlier revision of recmesh, built beside this one to be measured against it.

    python -m bench.worktree 93be914 [--fresh]   # builds (or finds) it, prints its paths

`built_revision(rev)` checks the revision out with `git worktree add --detach` and
gives it its own virtualenv, set up as its Makefile's `setup` does (`pip install -r
requirements.lock`, then `pip install --no-deps --no-build-isolation -e .`; pip's
own cache is reused). Cached under ~/.cache/recmesh-bench/<full hash>/ (tree/ and
venv/, `ready` written last), so a second run reuses it; a build that fails is
removed (worktree unregistered too). With cache=False the revision is built in a
temporary directory and removed when the context ends, whatever happened.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recmesh.files.repo_paths import REPO_ROOT

CACHE_ROOT = Path.home() / ".cache" / "recmesh-bench"


@dataclass(frozen=True)
class BuiltRevision:
    revision: str  # the full hash
    tree: Path  # its work tree
    python: Path  # its virtualenv's python

    @property
    def short(self) -> str:
        return self.revision[:7]


def resolve(revision: str) -> str:
    """The full hash of `revision` in this repository."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _run(argv: list[str], cwd: Path) -> None:
    print(f"[{cwd.name}] {' '.join(argv)}", file=sys.stderr, flush=True)
    subprocess.run(argv, cwd=cwd, check=True)


def _remove_worktree(tree: Path) -> None:
    subprocess.run(
        ["git", "worktree", "remove", "--force", str(tree)],
        cwd=REPO_ROOT,
        capture_output=True,
    )
    shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=REPO_ROOT, capture_output=True)


def _build(revision: str, home: Path) -> BuiltRevision:
    """Checks out `revision` into home/tree and sets up home/venv; removes both (and the
    worktree's registration) when any step fails."""
    tree, venv = home / "tree", home / "venv"
    home.mkdir(parents=True, exist_ok=True)
    try:
        if tree.exists():  # a build that stopped half-way
            _remove_worktree(tree)
        _run(["git", "worktree", "add", "--detach", str(tree), revision], REPO_ROOT)
        shutil.rmtree(venv, ignore_errors=True)
        _run(["python3", "-m", "venv", str(venv)], home)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "-r", "requirements.lock"], tree)
        _run([*pip, "--no-deps", "--no-build-isolation", "-e", "."], tree)
    except BaseException:
        _remove_worktree(tree)
        shutil.rmtree(home, ignore_errors=True)
        raise
    return BuiltRevision(revision, tree, venv / "bin" / "python")


def cached_revision(revision: str) -> BuiltRevision:
    """`revision` built under CACHE_ROOT, built now unless a finished build is there."""
    full = resolve(revision)
    home = CACHE_ROOT / full
    ready = home / "ready"
    built = BuiltRevision(full, home / "tree", home / "venv" / "bin" / "python")
    if ready.exists() and built.python.exists() and (built.tree / ".git").exists():
        return built
    built = _build(full, home)
    ready.write_text(full + "\n")
    return built


@contextmanager
def built_revision(revision: str, cache: bool = True) -> Iterator[BuiltRevision]:
    """The revision, built (cached, or in a temporary directory removed at the end)."""
    if cache:
        yield cached_revision(revision)
        return
    home = Path(tempfile.mkdtemp(prefix="recmesh-rev-"))
    try:
        yield _build(resolve(revision), home)
    finally:
        _remove_worktree(home / "tree")
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worktree", description=__doc__)
    parser.add_argument("revision")
    args = parser.parse_args()
    built = cached_revision(args.revision)
    print(f"{built.revision} {built.tree} {built.python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
