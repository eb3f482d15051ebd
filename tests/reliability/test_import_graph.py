"""Serving processes never load training code: no `offline`, no matplotlib, and
scikit-learn only through xgboost's optional import, which serving can do without.
The control plane never loads `offline` either: the decision rule it shares with the
offline runner lives in `recmesh.decision`, which imports only the standard library. Nothing
outside tests/ imports `tests`: what tests share with benchmarks lives in testkit/."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from recmesh.files.repo_paths import REPO_ROOT

ENTRY_POINTS = (
    "services.recommend.__main__",
    "services.candidates.__main__",
    "services.features.__main__",
    "services.ranking.__main__",
)
TRAINING_ROOTS = ("offline", "sklearn", "matplotlib", "optuna")

# Imports the entry point, then reports which training modules got loaded and which
# module first imported scikit-learn (the caller's frame of the first `import sklearn`).
_PROBE = """
import builtins, json, sys
first = []
real_import = builtins.__import__
def spy(name, globals=None, locals=None, fromlist=(), level=0):
    if not first and level == 0 and name.split(".")[0] == "sklearn":
        first.append((globals or {}).get("__name__", "?"))
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = spy
import importlib
importlib.import_module(sys.argv[1])
roots = {n.split(".")[0] for n in sys.modules}
print(json.dumps({"roots": sorted(roots & set(sys.argv[2:])), "sklearn_by": first}))
"""

# With scikit-learn made unimportable: the entry point imports, and a booster trained
# with xgboost's core API loads through the ranking model's checks and scores.
_WITHOUT_SKLEARN = """
import sys
sys.modules["sklearn"] = None
import importlib
importlib.import_module(sys.argv[1])
import numpy as np, xgboost as xgb
from recmesh.core.features.schema import schema_fingerprint
from recmesh.core.ranking.model import load_ranking_model
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 3)).astype(np.float32)
booster = xgb.train({"max_depth": 2}, xgb.DMatrix(x, label=x[:, 0]), num_boost_round=3)
names = ("a", "b", "c")
model = load_ranking_model(bytes(booster.save_raw("ubj")), names, schema_fingerprint(names))
assert np.isfinite(model.score(x)).all()
assert "sklearn" not in {n.split(".")[0] for n in sys.modules if sys.modules[n] is not None}
print("ok")
"""


def _run(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_entry_point_loads_no_training_code(entry_point: str) -> None:
    """Importing a serving entry point in a fresh interpreter loads no `offline`,
    matplotlib or Optuna module, and scikit-learn only through xgboost's own optional
    import."""
    report = json.loads(_run(_PROBE, entry_point, *TRAINING_ROOTS))
    assert "offline" not in report["roots"]
    assert "matplotlib" not in report["roots"]
    assert "optuna" not in report["roots"]
    assert report["sklearn_by"] in ([], ["xgboost.compat"]), report


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_entry_point_serves_without_scikit_learn(entry_point: str) -> None:
    """With scikit-learn unimportable, the entry point imports and an XGBoost model passes
    the ranking checks and scores: a serving image can leave scikit-learn out."""
    assert _run(_WITHOUT_SKLEARN, entry_point) == "ok"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_serving_module_imports_training_code() -> None:
    """No module under services/ imports `offline`, scikit-learn or matplotlib, at any
    depth of the file (functions and TYPE_CHECKING blocks included)."""
    files = sorted((REPO_ROOT / "services").rglob("*.py"))
    assert len(files) > 20
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(_imported_roots(path) & set(TRAINING_ROOTS))
        for path in files
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}


def test_control_plane_imports_no_training_code() -> None:
    """No module under control_plane/ imports `offline`, scikit-learn or matplotlib, and its
    entry point, imported in a fresh interpreter, loads none of them."""
    files = sorted((REPO_ROOT / "control_plane").rglob("*.py"))
    assert len(files) > 20
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(_imported_roots(path) & set(TRAINING_ROOTS))
        for path in files
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}
    report = json.loads(_run(_PROBE, "control_plane.__main__", *TRAINING_ROOTS))
    assert report["roots"] == []


def test_decision_module_imports_only_the_standard_library() -> None:
    """`recmesh.decision`, shared by the control plane and the offline runner, imports the
    standard library and itself only (no numpy, nothing from `offline`)."""
    files = sorted((REPO_ROOT / "recmesh" / "decision").rglob("*.py"))
    assert len(files) >= 5
    outside = {
        str(path.relative_to(REPO_ROOT)): sorted(
            root
            for root in _imported_roots(path)
            if root not in sys.stdlib_module_names and root != "recmesh"
        )
        for path in files
    }
    assert {path: roots for path, roots in outside.items() if roots} == {}
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        modules = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        ]
        assert all(
            not m.startswith("recmesh.") or m.startswith("recmesh.decision") for m in modules
        ), path


def test_nothing_outside_tests_imports_tests() -> None:
    """No module outside tests/ (benchmarks, scripts, the packages, testkit) imports
    `tests`, at any depth of the file: what tests share with them lives in testkit/."""
    files = sorted(
        path
        for path in REPO_ROOT.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(REPO_ROOT).parts)
        and path.relative_to(REPO_ROOT).parts[0] != "tests"
    )
    assert {path.relative_to(REPO_ROOT).parts[0] for path in files} >= {
        "bench",
        "scripts",
        "testkit",
    }
    offenders = [
        str(path.relative_to(REPO_ROOT)) for path in files if "tests" in _imported_roots(path)
    ]
    assert offenders == []


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_no_module_imports_a_test_module() -> None:
    """Helpers that tests share live in support modules (tests/services/mesh_calls.py,
    tests/mesh_harness.py, ...): no module imports a `test_*` module."""
    files = sorted((REPO_ROOT / "tests").rglob("*.py"))
    assert len(files) > 100
    offenders = sorted(
        f"{path.relative_to(REPO_ROOT)}: {module}"
        for path in files
        for module in _imported_modules(path)
        if module.split(".")[-1].startswith("test_")
    )
    assert offenders == []
